"""WebShop speed: index build, text-env search and click steps, browser steps.

Usage::

    python benchmarks/webshop_speed.py                      # 100k products, text and browser
    python benchmarks/webshop_speed.py --products 1000000 --build-only

Every figure is printed with a baseline measured in the same process:

- index build: seconds and resident memory (peak and after), index size on disk;
  baseline: generating the same products without indexing (on a sample).
- search step: ``env.step("search[...]")`` from the search page with the goal's
  instruction as the query (distinct queries, so the result cache never hits);
  baseline: the bare tantivy query (``SearchEngine._search``) for the same text.
- click step: every click of the expert's episodes (results -> item, options,
  Buy Now) plus Next > / < Prev on the results; baseline: a GuessNumber step.
- browser step: WebShopBrowser-v0 clicks and searches of the expert's episodes;
  baseline: ``page.goto`` of the same page (a navigation without the click).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

import agentgym
from agentgym.environments.webshop.catalog import SyntheticCatalog, search_text
from agentgym.environments.webshop.search import SearchEngine


def rss_mb() -> float:
    """Resident memory now (MB)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 1e6


def peak_rss_mb() -> float:
    """Peak resident memory of this process (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def ms(samples: list[float], q: float = 0.5) -> float:
    """The q-quantile of samples in seconds, in milliseconds."""
    return (
        statistics.quantiles(samples, n=100)[int(q * 100) - 1] * 1e3
        if len(samples) > 1
        else samples[0] * 1e3
    )


def build(products: int, cache_dir: str) -> None:
    catalog = SyntheticCatalog(products, seed=0)
    sample = min(products, 10_000)
    start = time.perf_counter()
    for i in range(sample):
        search_text(catalog._generate(i)[0])
    generate_s = (time.perf_counter() - start) * products / sample
    before = rss_mb()
    start = time.perf_counter()
    engine = SearchEngine.open_or_build(catalog, cache_dir)
    build_s = time.perf_counter() - start
    size_mb = sum(f.stat().st_size for f in engine.path.iterdir()) / 1e6
    print(f"index build, {products:,} products: {build_s:.1f} s "
          f"(baseline, generating them only: {generate_s:.1f} s; ratio {build_s / generate_s:.2f}); "
          f"index {size_mb:.0f} MB on disk; RSS {before:.0f} MB before, {rss_mb():.0f} MB after, "
          f"peak {peak_rss_mb():.0f} MB")  # fmt: skip


def text_steps(products: int, cache_dir: str, episodes: int) -> None:
    env = agentgym.make("webshop", num_products=products, cache_dir=cache_dir)
    shop = env.unwrapped.shop
    guess = agentgym.make("guess")
    search, bare, click, guess_steps = [], [], [], []
    n_test = env.unwrapped.splits["test"]
    for task in range(episodes):
        obs, info = env.reset(seed=task, options={"split": "test", "task_id": task % n_test})
        query = info["task"] + f" {task}"  # distinct texts: the query cache never hits
        start = time.perf_counter()
        shop.engine._search(query)
        bare.append(time.perf_counter() - start)
        start = time.perf_counter()
        obs, _, _, _, info = env.step(f"search[{query}]")
        search.append(time.perf_counter() - start)
        paging = (
            ["click[next >]", "click[< prev]"]
            if "click[next >]" in info["admissible_actions"]
            else []
        )
        for action in [*paging, "click[back to search]"]:
            start = time.perf_counter()
            env.step(action)
            click.append(time.perf_counter() - start)
        done = False
        while not done:  # the expert's episode; its search (the target's title) is not timed
            action = env.unwrapped.expert_action()
            start = time.perf_counter()
            _, _, done, _, _ = env.step(action)
            if action.startswith("click["):
                click.append(time.perf_counter() - start)
        guess.reset(seed=task)
        start = time.perf_counter()
        guess.step("guess 8")
        guess_steps.append(time.perf_counter() - start)
    print(
        f"search step, {products:,} products: p50 {ms(search):.2f} ms, p95 {ms(search, 0.95):.2f} ms "
        f"(baseline, bare tantivy query: p50 {ms(bare):.2f} ms; ratio {ms(search) / ms(bare):.2f})"
    )
    print(f"click step: p50 {ms(click):.3f} ms, p95 {ms(click, 0.95):.3f} ms over {len(click)} clicks "
          f"(baseline, GuessNumber step: p50 {ms(guess_steps):.3f} ms; "
          f"ratio {ms(click) / ms(guess_steps):.1f}); RSS {rss_mb():.0f} MB")  # fmt: skip
    env.close()


def browser_steps(products: int, cache_dir: str, episodes: int) -> None:
    env = agentgym.make("webshop-browser", num_products=products, cache_dir=cache_dir)
    clicks, searches, navigations = [], [], []
    for task in range(episodes):
        env.reset(seed=task, options={"split": "test", "task_id": task})
        done = False
        while not done:
            action = env.unwrapped.expert_action()
            start = time.perf_counter()
            _, _, done, _, _ = env.step(action)
            (searches if action.startswith("search[") else clicks).append(
                time.perf_counter() - start
            )
            if not done:
                page = env.unwrapped._page
                start = time.perf_counter()
                page.goto(page.url)
                navigations.append(time.perf_counter() - start)
    print(f"browser step, {products:,} products: click p50 {ms(clicks):.0f} ms (p95 {ms(clicks, 0.95):.0f}), "
          f"search p50 {ms(searches):.0f} ms typing the title key by key "
          f"(baseline, page.goto of the same page: p50 {ms(navigations):.0f} ms; "
          f"click ratio {ms(clicks) / ms(navigations):.2f})")  # fmt: skip
    env.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--episodes", type=int, default=300, help="text-env episodes")
    parser.add_argument("--browser-episodes", type=int, default=20)
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache_dir:
        build(args.products, cache_dir)
        if not args.build_only:
            text_steps(args.products, cache_dir, args.episodes)
            browser_steps(args.products, cache_dir, args.browser_episodes)


if __name__ == "__main__":
    main()
