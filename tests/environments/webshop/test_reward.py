"""The reward, term by term, against hand-computed cases (the original's semantics)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from agentgym.environments.webshop import reward as reward_module
from agentgym.environments.webshop.catalog import CATEGORY_SEP
from agentgym.environments.webshop.matching import (
    builtin_nouns,
    fuzzy_score,
    normalize_color,
    spacy_nouns,
)
from agentgym.environments.webshop.reward import (
    get_attribute_reward,
    get_option_reward,
    get_reward,
    get_type_reward,
)


@pytest.fixture(autouse=True)
def builtin_extractor(monkeypatch):
    """Pin the built-in noun extractor (spaCy's en_core_web_sm tags some words differently)."""
    monkeypatch.setattr(reward_module, "type_nouns", lambda name: tuple(builtin_nouns(name)))


def category(*levels: str) -> str:
    return f" {CATEGORY_SEP} ".join(levels)


SHIRT = {
    "asin": "B0SHIRT001",
    "query": "men's dress shirts",
    "name": "Northfield Slim Fit Dress Shirt, Wrinkle Free",
    "Title": "Northfield Slim Fit Dress Shirt, Wrinkle Free",
    "product_category": category("Clothing, Shoes & Jewelry", "Men", "Clothing", "Shirts"),
    "Attributes": ["wrinkle free", "button closure", "machine wash"],
    "BulletPoints": ["LONG SLEEVE - tested for quality"],
    "Description": "A cotton blend shirt for work.",
}


def goal(**overrides):
    base = {
        "asin": SHIRT["asin"],
        "query": SHIRT["query"],
        "name": SHIRT["name"],
        "product_category": SHIRT["product_category"],
        "attributes": ["wrinkle free", "machine wash"],
        "goal_options": {"color": "navy blue", "size": "large"},
        "price_upper": 40.0,
    }
    return base | overrides


def test_right_product_right_options_under_budget_scores_one():
    reward, info = get_reward(
        SHIRT, goal(), price=29.99, options={"color": "navy blue", "size": "large"}, verbose=True
    )
    assert reward == 1.0
    assert info == {
        "r_type": 1.0,
        "r_att": 1.0,
        "w_att": 2 / 5,
        "query_match": True,
        "category_match": True,
        "title_score": 1.0,
        "r_option": 1.0,
        "w_option": 2 / 5,
        "r_price": True,
        "w_price": 1 / 5,
    }


def test_price_over_the_bound_loses_one_term():
    # (2 attributes + 2 options + 0 price) / (2 + 2 + 1)
    assert get_reward(SHIRT, goal(), price=40.01, options={"color": "navy blue", "size": "large"}) == 4 / 5
    # the bound is inclusive
    assert get_reward(SHIRT, goal(), price=40.0, options={"color": "navy blue", "size": "large"}) == 1.0


def test_buying_before_choosing_options_scores_attributes_and_price_only():
    assert get_reward(SHIRT, goal(), price=10.0, options={}) == 3 / 5


def test_size_is_matched_exactly_other_options_fuzzily():
    # "x-large" != "large" exactly -> size missed; "navy blue" fuzzy-matches itself
    assert get_option_reward(SHIRT, ["navy blue", "large"], {"color": "navy blue", "size": "x-large"}) == (
        0.5,
        1,
    )
    # a non-size option with token-set ratio > 85 counts: "large" vs "Large!" after processing
    assert get_option_reward(SHIRT, ["large"], {"fit": "Large!"}) == (1.0, 1)


def test_colours_are_normalised_before_matching():
    # "light blue" and "navy blue" both normalise to "blue" (first colour word found, alphabetical)
    assert normalize_color("light blue") == normalize_color("navy blue") == "blue"
    assert get_option_reward(SHIRT, ["navy blue"], {"color": "light blue"}) == (1.0, 1)
    # "navy" normalises to "navy", "navy blue" to "blue": no match, as in the original
    assert get_option_reward(SHIRT, ["navy blue"], {"color": "navy"}) == (0.0, 0)


def test_option_found_in_the_text_counts():
    # "cotton blend" is not a goal option but appears in the description
    assert get_option_reward(SHIRT, ["large"], {"material": "cotton blend"}) == (1.0, 1)


def test_attributes_match_fuzzily_or_in_title_features_description():
    # "machine-wash" fuzzy-matches "machine wash"; "long sleeve" is in the features;
    # "slim fit" is in the title; "stain resistant" is nowhere
    wanted = {"attributes": ["machine-wash", "long sleeve", "slim fit", "stain resistant"]}
    assert get_attribute_reward(SHIRT, wanted) == (3 / 4, 3)


def test_type_reward_levels():
    def with_name(name, **kw):
        return {**SHIRT, "name": name, **kw}

    far = category("Home & Kitchen", "Furniture", "Sofas")
    # same query: full type reward even with half the nouns
    assert get_type_reward(with_name("Northfield Shirt"), goal())["r_type"] == 1.0
    # goal nouns: northfield, fit, dress, shirt, wrinkle. Other query and category,
    # 2 of 5 nouns (> 0.2): still 1.0
    info = get_type_reward(with_name("Grey Dress Shirt Sofa", query="sofa", product_category=far), goal())
    assert (info["query_match"], info["category_match"]) == (False, False)
    assert info["title_score"] == pytest.approx(2 / 5) and info["r_type"] == 1.0
    # no shared noun: 0
    info = get_type_reward(with_name("Velvet Loveseat", query="sofa", product_category=far), goal())
    assert info["title_score"] == 0.0 and info["r_type"] == 0.0


def test_type_reward_half_and_tenth():
    far = category("Home & Kitchen", "Furniture", "Sofas")
    many = {**goal(), "name": "Shirt " + " ".join(f"noun{i}" for i in range(9))}  # 10 nouns
    sofa = {**SHIRT, "query": "sofa", "product_category": far}
    # 2 of 10 nouns = 0.2: not > 0.2, no query/category match -> 0.5
    assert get_type_reward({**sofa, "name": "shirt noun0"}, many)["r_type"] == 0.5
    # 1 of 12 nouns < 0.1 -> 0.1
    twelve = {**many, "name": many["name"] + " noun10 noun11"}
    assert get_type_reward({**sofa, "name": "shirt"}, twelve)["r_type"] == 0.1


def test_reward_is_scaled_by_type():
    far = category("Home & Kitchen", "Furniture", "Sofas")
    sofa = {**SHIRT, "query": "sofa", "product_category": far, "name": "Velvet Loveseat"}
    assert get_reward(sofa, goal(), price=1.0, options={"color": "navy blue", "size": "large"}) == 0.0


def test_human_goal_options_are_a_list():
    human = goal(goal_options=["navy blue", "large"])
    assert get_reward(SHIRT, human, price=1.0, options={"color": "navy blue", "size": "large"}) == 1.0


def test_fuzzy_score_matches_thefuzz_processing():
    assert fuzzy_score("Héllo World", "hllo world") == 100  # non-ASCII dropped first
    assert fuzzy_score("", "") == 0
    assert fuzzy_score("wrinkle free", "Wrinkle-Free") == 100


def test_builtin_noun_extractor():
    assert builtin_nouns("The Natural Deodorant Stick for Sensitive Skin") == [
        "deodorant",
        "stick",
        "skin",
    ]


def test_spacy_path_keeps_nouns_and_proper_nouns():
    # spacy_nouns reads only .text and .pos_ of the tagged tokens (spaCy import costs seconds)
    doc = [
        SimpleNamespace(text=t, pos_=p) for t, p in [("Grey", "ADJ"), ("Native", "PROPN"), ("Sofa", "NOUN")]
    ]
    assert spacy_nouns(doc) == ["native", "sofa"]
