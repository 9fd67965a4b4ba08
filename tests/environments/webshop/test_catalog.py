"""The synthetic catalog, its goals and the loader of the original files."""

from __future__ import annotations

import json

import pytest

from agentgym.environments.webshop import vocab
from agentgym.environments.webshop.catalog import CATEGORY_SEP, SyntheticCatalog
from agentgym.environments.webshop.goals import GoalList, SyntheticGoals, option_combinations
from agentgym.environments.webshop.loader import load_catalog, load_original, write_original
from agentgym.exceptions import ConfigError

SCHEMA = {
    "asin", "name", "Title", "category", "query", "product_category", "Description",
    "BulletPoints", "Attributes", "options", "option_to_image", "pricing", "Price", "Reviews",
    "Rating", "MainImage", "instruction_text", "instruction_attributes",
}  # fmt: skip


def test_products_have_the_original_schema_and_are_deterministic():
    a, b = SyntheticCatalog(1000, seed=3), SyntheticCatalog(1000, seed=3)
    for i in (0, 1, 17, 999):
        product = a.product(i)
        assert set(product) == SCHEMA
        assert json.dumps(product) == json.dumps(b.product(i))
        assert a.price(i) == b.price(i)
        assert product["category"] == vocab.DEPARTMENTS[i % 5].name
        assert product["product_category"].count(CATEGORY_SEP) >= 2
        assert set(product["instruction_attributes"]) <= set(product["Attributes"])
        assert len(product["asin"]) == 10 and product["asin"].startswith("B0")
        low = product["pricing"][0]
        assert low <= a.price(i) <= product["pricing"][-1]
    assert SyntheticCatalog(1000, seed=4).product(0) != a.product(0)
    assert SyntheticCatalog(1000, seed=3).content_hash == a.content_hash
    assert SyntheticCatalog(2000, seed=3).content_hash != a.content_hash


def test_asins_are_a_bijection_of_the_index():
    catalog = SyntheticCatalog(5000, seed=1)
    asins = [catalog.asin(i) for i in range(5000)]
    assert len(set(asins)) == 5000
    assert all(catalog.index_of(a.lower()) == i for i, a in enumerate(asins))
    assert catalog.index_of("B0NOTREAL!") is None and catalog.index_of("hello") is None


def test_catalog_size_is_validated():
    with pytest.raises(ConfigError, match="between 1,000 and 1,000,000"):
        SyntheticCatalog(10)


def test_vocab_options_never_clash():
    buttons = {
        "back to search",
        "< prev",
        "next >",
        "description",
        "features",
        "reviews",
        "buy now",
    }
    for dept in vocab.DEPARTMENTS:
        for kind in dept.types:
            values = [v for group in kind.options.values() for v in group]
            assert len(values) == len(set(values)), kind.noun
            assert not buttons & set(values) and all(v == v.lower() for v in values)


def test_synthetic_goals_split_by_product_and_read_like_the_original():
    catalog = SyntheticCatalog(1000, seed=0)
    goals = SyntheticGoals(catalog, seed=0)
    targets = {split: {goals.goal(split, t)["asin"] for t in range(n)} for split, n in goals.splits.items()}
    assert sum(len(t) for t in targets.values()) == 1000
    assert not (targets["train"] & targets["valid"] or targets["train"] & targets["test"])
    goal = goals.goal("train", 5)
    product = catalog.product(catalog.index_of(goal["asin"]))
    assert goal["instruction_text"].startswith(product["instruction_text"])
    for name, value in goal["goal_options"].items():
        assert f"{name}: {value}" in goal["instruction_text"] and value in product["options"][name]
    assert list(goal["goal_options"]) == sorted(goal["goal_options"])
    if goal["price_upper"] < 1_000_000:
        assert f"price lower than {goal['price_upper']:.2f} dollars" in goal["instruction_text"]
        assert catalog.price(catalog.index_of(goal["asin"])) < goal["price_upper"]


def test_option_combinations_expand_like_the_original():
    combos = option_combinations({"size": ["s", "m"], "color": ["red", "blue"]})
    assert combos[0] == {"color": "red", "size": "s"} and len(combos) == 4
    assert option_combinations({}) == [{}]


def test_original_files_round_trip(tmp_path):
    catalog = SyntheticCatalog(1000, seed=0)
    paths = write_original(catalog, tmp_path, limit=300)
    loaded, goals = load_original(paths["products_path"], paths["attributes_path"])
    assert len(loaded) == 300
    for i in (0, 7, 299):
        original, back = catalog.product(i), loaded.product(i)
        for key in SCHEMA - {"MainImage", "Reviews", "Rating"}:
            assert back[key] == original[key], key
    # synthetic goals: every option combination of every product, shuffled; the original's
    # splits (test 0-499, valid 500-1499) once there are 2,000 goals
    expected = sum(len(option_combinations(loaded.product(i)["options"])) for i in range(300))
    assert isinstance(goals, GoalList) and expected >= 2000
    assert goals.splits == {"test": 500, "valid": 1000, "train": expected - 1500}


def test_original_human_goals_and_reviews(tmp_path):
    catalog = SyntheticCatalog(1000, seed=0)
    paths = write_original(catalog, tmp_path, limit=100)
    loaded, goals = load_original(**paths, num_products=50)
    assert len(loaded) == 50 and sum(goals.splits.values()) == 50
    assert loaded.product(3)["Reviews"] == catalog.product(3)["Reviews"]
    goal = goals.goal("test", 0)
    assert isinstance(goal["goal_options"], list)
    assert not goal["instruction_text"].endswith(".")


def test_loader_drops_bad_and_duplicate_asins_and_parses_prices(tmp_path):
    rest = {"category": "home", "query": "mug", "product_category": "c"}
    raw = [
        {"asin": "B0AAAAAAA1", "name": "Tee", "category": "fashion", "query": " Tees ",
         "product_category": "Clothing", "pricing": "$12.50 - $20.00", "images": ["x"],
         "customization_options": {"Color": [{"value": "Navy/White"}], "Size": None}},
        {"asin": "B0AAAAAAA1", "name": "dup", **rest},
        {"asin": "nan", "name": "bad", **rest},
        {"asin": "B0TOOLONG123", "name": "bad", **rest},
        {"asin": "B0AAAAAAA2", "name": "Mug", **rest},
    ]  # fmt: skip
    (tmp_path / "p.json").write_text(json.dumps(raw))
    (tmp_path / "a.json").write_text(json.dumps({"B0AAAAAAA1": {"attributes": ["soft"]}}))
    (tmp_path / "h.json").write_text(json.dumps({}))
    catalog = load_catalog(tmp_path / "p.json", tmp_path / "a.json")
    assert [catalog.product(i)["asin"] for i in range(len(catalog))] == ["B0AAAAAAA1", "B0AAAAAAA2"]
    tee, mug = catalog.product(0), catalog.product(1)
    assert tee["options"] == {"color": ["navy | white"]} and tee["query"] == "tees"
    assert tee["pricing"] == [12.5, 20.0] and tee["Price"] == "$12.5 to $20.0"
    assert 12.5 <= catalog.price(0) <= 20.0
    assert mug["pricing"] == [100.0] and mug["Attributes"] == ["DUMMY_ATTR"]
    with pytest.raises(ConfigError, match="at least 3 goals"):
        load_original(tmp_path / "p.json", tmp_path / "a.json", tmp_path / "h.json")
    with pytest.raises(ConfigError, match="does not exist"):
        load_catalog(tmp_path / "missing.json", tmp_path / "a.json")
