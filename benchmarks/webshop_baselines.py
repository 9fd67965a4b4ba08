"""WebShop reference scores: the expert and uniform-random admissible play on 500 goals.

Usage::

    python benchmarks/webshop_baselines.py                  # 10k and 100k products
    python benchmarks/webshop_baselines.py --products 1000000

For each catalog size: the expert's success rate (reward 1.0) and mean reward
on the first 500 test goals, and the mean reward and success rate of a policy
that picks uniformly among the admissible actions (seeded), with the env's
15-step limit. The expert is the ceiling and random play the floor of the
same 500 goals.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile

import numpy as np

import agentgym


def play(env: object, task: int, policy: str, rng: np.random.Generator) -> float:
    _, info = env.reset(seed=task, options={"split": "test", "task_id": task})
    reward, done = 0.0, False
    while not done:
        if policy == "expert":
            action = env.unwrapped.expert_action()
        else:
            actions = info["admissible_actions"]
            action = actions[int(rng.integers(len(actions)))]
        _, reward, terminated, truncated, info = env.step(action)
        done = terminated or truncated
    return reward


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--goals", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache_dir:
        for products in args.products:
            env = agentgym.make("webshop", num_products=products, cache_dir=cache_dir)
            rng = np.random.default_rng(0)
            for policy in ("expert", "random"):
                rewards = [play(env, task, policy, rng) for task in range(args.goals)]
                wins = sum(r == 1.0 for r in rewards) / len(rewards)
                mean = statistics.fmean(rewards)
                print(f"{products:>9,} products, {policy:>6}: success {wins:.1%}, "
                      f"mean reward {mean:.3f} over {len(rewards)} test goals")  # fmt: skip
            env.close()


if __name__ == "__main__":
    main()
