"""Web mode in a real Chromium: the same pages and rewards as text mode."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

import agentgym
from agentgym.environments.webshop.browser import _CHROMIUM, browser_available
from agentgym.testing import check_env, require_backend

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def envs(store_kwargs):
    require_backend(browser_available(), "playwright or /usr/bin/chromium is missing")
    text = agentgym.make("webshop", **store_kwargs)
    browser = agentgym.make("webshop-browser", render_mode="png", **store_kwargs)
    yield text, browser
    browser.close()
    text.close()


def script(goal_index: int, goal: dict, search: str, results_admissible: list[str]) -> list[str]:
    """Actions from the first results page: open the target (else the last product), choose
    the goal's options (invalid on another product; skipped on every fourth goal, which buys
    before choosing), buy. The first goals also page, open sub-pages and try bad input."""
    target = f"click[{goal['asin'].lower()}]"
    product = target if target in results_admissible else results_admissible[-1]
    detour = {
        0: ["click[Next >]", "click[< Prev]"],
        1: [product, "click[Reviews]", "click[< Prev]", "click[< prev]"],
        2: [product, "click[description]", "click[back to search]", search],
        3: ["click[no such button]", "search[too late]"],
        4: [product, "click[Features]", "click[< prev]", "click[< prev]"],
    }.get(goal_index, [])
    options = [] if goal_index % 4 == 3 else [f"click[{v}]" for v in goal["goal_options"].values()]
    return [*detour, product, *options, "click[buy now]"]


def test_text_and_browser_visit_the_same_pages_and_give_the_same_rewards(envs):
    text, browser = envs
    shop = text.unwrapped.shop
    rewards, pages = [], set()

    def both(action: str) -> tuple:
        out = text.step(action)
        assert json.dumps(out) == json.dumps(browser.step(action)), (goal_index, action, out[0])
        pages.add(out[4]["page"])
        return out

    for goal_index in range(30):
        options = {"split": "test", "task_id": goal_index}
        first = text.reset(seed=goal_index, options=options)
        assert json.dumps(first) == json.dumps(browser.reset(seed=goal_index, options=options))
        goal = text.unwrapped.state.goal
        # the last word of the product's query ("overalls", "deodorant"): short to type
        search = f"search[{shop.product(goal['asin'])['query'].split()[-1]}]"
        if goal_index % 10 == 5:
            assert both("search[]")[4]["invalid_action"]
        out = both(search)
        for action in script(goal_index, goal, search, out[4]["admissible_actions"]):
            out = both(action)
        assert out[2], "the episode ends with Buy Now"
        rewards.append(out[1])
    assert pages == {"search", "results", "item", "item_sub", "done"}
    assert len(set(rewards)) > 3 and 1.0 in rewards, rewards


def test_render_returns_a_png_screenshot(envs):
    _, browser = envs
    browser.reset(seed=0, options={"split": "test", "task_id": 1})
    png = browser.render()
    assert isinstance(png, bytes) and png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000


def test_snapshot_restores_into_a_fresh_browser_env(envs, store_kwargs):
    _, browser = envs
    browser.reset(seed=0, options={"split": "test", "task_id": 3})
    browser.step(browser.unwrapped.expert_action())
    browser.step(browser.unwrapped.expert_action())
    snap = browser.unwrapped.snapshot()
    expected = browser.step(browser.unwrapped.expert_action())
    fresh = agentgym.make("webshop-browser", **store_kwargs)
    try:
        fresh.unwrapped.restore(snap)
        assert json.dumps(fresh.unwrapped.step(fresh.unwrapped.expert_action())) == json.dumps(expected)
    finally:
        fresh.close()


def test_an_env_made_in_a_worker_thread_runs_there(envs, store_kwargs):
    text, _ = envs
    expected = text.reset(seed=0, options={"split": "test", "task_id": 7})

    def reset_in_this_thread() -> tuple:
        env = agentgym.make("webshop-browser", **store_kwargs)
        try:
            return env.reset(seed=0, options={"split": "test", "task_id": 7})
        finally:
            env.close()

    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(reset_in_this_thread).result(timeout=120) == expected


def test_conformance_in_the_browser(envs, store_kwargs):
    check_env("webshop-browser", episodes=1, max_steps=3, **store_kwargs)


def test_closing_the_last_browser_env_stops_its_threads_chromium(store_kwargs):
    require_backend(browser_available(), "playwright or /usr/bin/chromium is missing")
    import asyncio

    def in_a_fresh_thread() -> None:
        envs = [agentgym.make("webshop-browser", **store_kwargs) for _ in range(2)]
        for env in envs:
            env.reset(seed=0)
        envs[0].close()
        assert _CHROMIUM.playwright is not None  # the other env still uses it
        envs[1].close()
        assert _CHROMIUM.playwright is None and _CHROMIUM.users == 0
        asyncio.run(asyncio.sleep(0))  # no Playwright loop left holding this thread

    with ThreadPoolExecutor(1) as pool:
        pool.submit(in_a_fresh_thread).result(timeout=120)
