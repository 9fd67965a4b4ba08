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
        statistics.quantiles(samples, n=100)[int(q * 100) - 1] * 1e3 if len(samples) > 1 else samples[0] * 1e3
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
          f"(baseline, generating them only: {generate_s:.1f} s; "
          f"ratio {build_s / generate_s:.2f}); "
          f"index {size_mb:.0f} MB on disk; RSS {before:.0f} MB before, {rss_mb():.0f} MB after, "
          f"peak {peak_rss_mb():.0f} MB")  # fmt: skip


class Timer:
    """Wall-clock and CPU seconds of timed blocks (CPU time is what a loaded shared
    machine does not inflate)."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def __enter__(self) -> Timer:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall.append(time.perf_counter() - self._wall)
        self.cpu.append(time.process_time() - self._cpu)

    def __str__(self) -> str:
        return (f"p50 {ms(self.wall):.3f} ms, p95 {ms(self.wall, 0.95):.3f} ms wall; "
                f"p50 {ms(self.cpu):.3f} ms CPU")  # fmt: skip


def text_steps(products: int, cache_dir: str, episodes: int) -> None:
    env = agentgym.make("webshop", num_products=products, cache_dir=cache_dir)
    shop = env.unwrapped.shop
    guess = agentgym.make("guess")
    long, long_bare, short, short_bare, click, guess_step = (Timer() for _ in range(6))
    n_test = env.unwrapped.splits["test"]
    for task in range(episodes):
        _, info = env.reset(seed=task, options={"split": "test", "task_id": task % n_test})
        goal = env.unwrapped.state.goal
        # distinct texts, so the query cache never hits: the instruction (about 20 words)
        # and an agent-style query (the product type and one attribute, 3-5 words)
        queries = [(info["task"] + f" {task}", long, long_bare)]
        queries.append((f"{goal['query']} {goal['attributes'][0]} {task}", short, short_bare))
        for query, step_timer, bare_timer in queries:
            with bare_timer:
                shop.engine._search(query)
            with step_timer:
                _, _, _, _, info = env.step(f"search[{query}]")
            env.step("click[back to search]")
        env.step(f"search[{info['task']}]")
        paging = ["click[next >]", "click[< prev]"] if "click[next >]" in info["admissible_actions"] else []
        for action in [*paging, "click[back to search]"]:
            with click:
                env.step(action)
        done = False
        while not done:  # the expert's episode; its search (the target's title) is not timed
            action = env.unwrapped.expert_action()
            if action.startswith("search["):
                env.step(action)
                continue
            with click:
                _, _, done, _, _ = env.step(action)
        guess.reset(seed=task)
        with guess_step:
            guess.step("guess 8")
    for name, step_timer, bare_timer in [
        ("instruction", long, long_bare),
        ("short", short, short_bare),
    ]:
        print(f"search step, {products:,} products, {name} queries: {step_timer} "
              f"(baseline, bare tantivy query: {bare_timer}; wall ratio "
              f"{ms(step_timer.wall) / ms(bare_timer.wall):.2f})")  # fmt: skip
    print(
        f"click step: {click} over {len(click.wall)} clicks (baseline, GuessNumber step: "
        f"{guess_step}; wall ratio {ms(click.wall) / ms(guess_step.wall):.1f}); "
        f"RSS {rss_mb():.0f} MB"
    )
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
            (searches if action.startswith("search[") else clicks).append(time.perf_counter() - start)
            if not done:
                page = env.unwrapped._page
                start = time.perf_counter()
                page.goto(page.url)
                navigations.append(time.perf_counter() - start)
    print(f"browser step, {products:,} products: click p50 {ms(clicks):.0f} ms "
          f"(p95 {ms(clicks, 0.95):.0f}), "
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
