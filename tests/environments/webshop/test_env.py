"""The text env: conformance, page flow, bad input, snapshots and the expert."""

from __future__ import annotations

import json

import pytest

import agentgym
from agentgym.environments.webshop.search import MAX_QUERY_TERMS, SearchEngine, query_words
from agentgym.exceptions import ConfigError
from agentgym.testing import check_env


@pytest.fixture
def env(store_kwargs):
    env = agentgym.make("webshop", **store_kwargs)
    yield env
    env.close()


def start(env, task_id=0, split="test"):
    return env.reset(seed=0, options={"split": split, "task_id": task_id})


def test_conformance(store_kwargs):
    check_env("webshop", **store_kwargs)


def test_expert_buys_the_target_with_its_options_on_500_goals(env):
    for task_id in range(500):
        obs, info = start(env, task_id, split="train")
        while info["page"] != "done":
            obs, reward, _, truncated, info = env.step(env.unwrapped.expert_action())
            assert not info["invalid_action"] and not truncated, (task_id, obs)
        assert reward == 1.0 and info["won"], (task_id, info["reward_info"])
        goal = env.unwrapped.state.goal
        assert info["purchased"] == {"asin": goal["asin"], "options": goal["goal_options"]}


def test_instruction_expert_searches_the_instructions_words_and_buys_a_fitting_product(store_kwargs):
    # expert="instruction" reads no hidden data for its query: it searches what the page offers
    # (the instruction without its price clause) and opens the first listing that fits the goal
    env = agentgym.make("webshop", expert="instruction", **store_kwargs)
    others = 0
    for split, task_id in [("valid", i) for i in range(100)] + [("train", i) for i in range(100)]:
        obs, info = start(env, task_id, split=split)
        assert env.unwrapped.expert_action() == info["admissible_actions"][0]
        while info["page"] != "done":
            obs, reward, _, truncated, info = env.step(env.unwrapped.expert_action())
            assert not info["invalid_action"] and not truncated, (split, task_id, obs)
        assert reward == 1.0 and info["won"], (split, task_id, info["reward_info"])
        others += info["purchased"]["asin"] != env.unwrapped.state.goal["asin"]
    assert others > 0  # another product that fits, listed above the target, is bought
    with pytest.raises(ConfigError, match="unknown WebShop expert 'oracle': use 'title' or 'instruction'"):
        agentgym.make("webshop", expert="oracle", **store_kwargs)


def test_observation_format_and_page_flow(env, store):
    obs, info = start(env)
    instruction = info["task"]
    assert obs == f"WebShop [SEP] Instruction: [SEP] {instruction} [SEP] Search"
    assert info["page"] == "search" and "and price lower than" in instruction
    without_price = instruction[: instruction.index(", and price lower than")]
    assert info["admissible_actions"] == [f"search[{without_price}]"]

    obs, _, _, _, info = env.step("search[Aluminum FREE deodorant]")
    parts = obs.split(" [SEP] ")
    assert parts[:5] == [
        "Instruction:",
        instruction,
        "Back to Search",
        "Page 1 (Total results: 50)",
        "Next >",
    ]
    assert len(parts) == 5 + 3 * 10 and info["page"] == "results"
    first = parts[5]  # ASIN, title, price for each of 10 products
    assert parts[7].startswith("$") and store[0].product(first)["Title"] == parts[6]
    assert info["admissible_actions"][:2] == ["click[back to search]", "click[next >]"]
    assert f"click[{first.lower()}]" in info["admissible_actions"]

    obs, _, _, _, info = env.step("click[Next >]")
    assert obs.split(" [SEP] ")[3:6] == ["Page 2 (Total results: 50)", "< Prev", "Next >"]
    obs, _, _, _, info = env.step("click[< Prev]")
    assert obs.split(" [SEP] ")[3] == "Page 1 (Total results: 50)"

    obs, _, _, _, info = env.step(f"click[{first}]")
    product = store[0].product(first)
    assert info["page"] == "item"
    assert obs.endswith(
        f"{product['Title']} [SEP] Price: {product['Price']} [SEP] Rating: {product['Rating']}"
        " [SEP] Description [SEP] Features [SEP] Reviews [SEP] Buy Now"
    )
    for sub, shown in [
        ("Description", product["Description"]),
        ("Features", product["BulletPoints"][0]),
    ]:
        obs, _, _, _, info = env.step(f"click[{sub}]")
        assert info["page"] == "item_sub" and shown in obs
        assert info["admissible_actions"] == ["click[back to search]", "click[< prev]"]
        obs, _, _, _, info = env.step("click[< Prev]")
        assert info["page"] == "item"
    obs, _, _, _, info = env.step("click[< prev]")
    assert info["page"] == "results"
    obs, _, _, _, info = env.step("click[back to search]")
    assert info["page"] == "search" and obs.startswith("WebShop [SEP] ")


def test_options_are_kept_through_sub_pages_and_reset_by_results(env, store):
    shop, goals = store
    goal = goals.goal("test", 0)
    start(env)
    env.step(f"search[{shop.product(goal['asin'])['Title']}]")
    env.step(f"click[{goal['asin']}]")
    name, value = next(iter(goal["goal_options"].items()))
    _, _, _, _, info = env.step(f"click[{value}]")
    key_with_option = info["state_key"]
    env.step("click[reviews]")
    _, _, _, _, info = env.step("click[< prev]")
    assert info["state_key"] == key_with_option
    assert env.unwrapped.state.view.options == ((name, value),)
    env.step("click[< prev]")
    env.step(f"click[{goal['asin']}]")
    assert env.unwrapped.state.view.options == ()


def test_bad_input_is_flagged_and_changes_nothing(env):
    obs, info = start(env)
    page = obs
    for action, why in [
        ("search[]", "the search is empty"),
        ("search[   ]", "the search is empty"),
        ("click[buy now]", "there is no 'buy now' to click"),
        ("buy the deodorant", "is not an action"),
    ]:
        obs, reward, terminated, _, info = env.step(action)
        assert info["invalid_action"] and reward == 0.0 and not terminated, action
        message, shown = obs.split("\n", 1)
        assert message.startswith("Invalid action: ") and why in message and shown == page
    obs, _, _, _, info = env.step("search[" + "x" * 10_000 + "]")
    assert info["invalid_action"] and "the limit is 4096" in obs
    obs, _, _, _, info = env.step("search[red shoes]")
    obs, _, _, _, info = env.step("click[Unknown Button]")
    assert info["invalid_action"] and "there is no 'unknown button' to click" in obs
    obs, _, _, _, info = env.step("search[another query]")
    assert info["invalid_action"] and "no search bar on this page" in obs


def test_long_queries_are_capped_and_punctuation_only_finds_nothing(env, store):
    words = [f"word{i}" for i in range(500)]
    assert query_words(" ".join(words) + " deodorant") == words[:MAX_QUERY_TERMS]
    start(env)
    long_query = " ".join(["deodorant", *words])[:4000]
    obs, _, _, _, info = env.step(f"search[{long_query}]")
    assert not info["invalid_action"] and info["page"] == "results"
    env.step("click[back to search]")
    obs, _, _, _, info = env.step("search[!!! ???]")
    assert not info["invalid_action"] and "Page 1 (Total results: 0)" in obs
    assert info["admissible_actions"] == ["click[back to search]"]


def test_buying_before_choosing_options_scores_without_the_option_terms(env, store):
    shop, goals = store
    for task_id in range(20):
        goal = goals.goal("test", task_id)
        if goal["goal_options"]:
            break
    start(env, task_id)
    env.step(f"search[{shop.product(goal['asin'])['Title']}]")
    env.step(f"click[{goal['asin']}]")
    obs, reward, terminated, _, info = env.step("click[Buy Now]")
    n_attr, n_opt = len(goal["attributes"]), len(goal["goal_options"])
    assert terminated and not info["invalid_action"] and not info["won"]
    assert reward == pytest.approx((n_attr + 1) / (n_attr + n_opt + 1))
    assert info["reward_info"]["r_option"] == 0.0
    assert obs == f"Thank you for shopping with us! [SEP] Your score (min 0.0, max 1.0) [SEP] {reward}"


def test_snapshot_restores_mid_episode(env):
    start(env, 3)
    env.step(env.unwrapped.expert_action())
    snap = env.unwrapped.snapshot()
    future = [env.step(env.unwrapped.expert_action()) for _ in range(2)]
    env.unwrapped.restore(snap)
    replayed = [env.step(env.unwrapped.expert_action()) for _ in range(2)]
    assert json.dumps(future) == json.dumps(replayed)


def test_same_seed_same_episode(store_kwargs):
    def run():
        env = agentgym.make("webshop", **store_kwargs)
        out = [start(env, 5)]
        for action in [
            "search[bluetooth speaker]",
            "click[next >]",
            "click[< prev]",
            "click[back to search]",
        ]:
            out.append(env.step(action))
        return json.dumps(out)

    assert run() == run()


def test_index_is_built_once_and_reused(store, store_kwargs, tmp_path):
    shop, _ = store
    path = shop.engine.path
    assert path.name == f"index-{shop.catalog.content_hash}" and (path / "complete").exists()
    stamp = (path / "complete").stat().st_mtime_ns
    again = SearchEngine.open_or_build(shop.catalog, store_kwargs["cache_dir"])
    assert (path / "complete").stat().st_mtime_ns == stamp and again.path == path
    assert again.search("deodorant") == shop.engine.search("deodorant")


def test_bad_arguments_name_the_fix(store_kwargs):
    with pytest.raises(ConfigError, match="products_path and attributes_path go together"):
        agentgym.make("webshop", products_path="items_shuffle.json")
    with pytest.raises(ConfigError, match="between 1,000 and 1,000,000"):
        agentgym.make("webshop", num_products=10, cache_dir=store_kwargs["cache_dir"])


def test_env_on_the_original_files_with_human_goals(tmp_path, store_kwargs):
    from agentgym.environments.webshop.catalog import SyntheticCatalog
    from agentgym.environments.webshop.loader import write_original

    paths = write_original(SyntheticCatalog(1000, seed=5), tmp_path / "data", limit=200)
    kwargs = {key: str(path) for key, path in paths.items()} | {"cache_dir": store_kwargs["cache_dir"]}
    check_env("webshop", episodes=1, **kwargs)
    env = agentgym.make("webshop", **kwargs)
    assert env.unwrapped.splits == {"test": 20, "valid": 20, "train": 160}
    for task_id in range(20):
        obs, info = env.reset(seed=0, options={"split": "test", "task_id": task_id})
        assert isinstance(env.unwrapped.state.goal["goal_options"], list)  # human goals
        while info["page"] != "done":
            obs, reward, _, _, info = env.step(env.unwrapped.expert_action())
        assert reward == 1.0, (task_id, info["reward_info"])
