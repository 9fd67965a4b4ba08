"""Success of the expert and of a uniform random admissible-command policy, per task type.

Native engine, ``max_steps=50`` (ALFWorld's usual budget), test split (unseen
floor plans). The random policy draws from ``info["admissible_actions"]``.

    .venv/bin/python benchmarks/alfworld_policies.py [--scene full|small] [--tasks 200]
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np

from agentgym.environments.alfworld import alfred
from agentgym.environments.alfworld.env import ALFWorldEnv


def episode(env: ALFWorldEnv, task_id: int, rng: np.random.Generator | None) -> tuple[bool, int]:
    """Play one task with the expert (``rng=None``) or at random; return (won, steps)."""
    _, info = env.reset(seed=0, options={"split": "test", "task_id": task_id})
    for step in range(1, env.max_steps + 1):
        actions = info["admissible_actions"]
        action = env.expert_action() if rng is None else actions[int(rng.integers(len(actions)))]
        _, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            return info["won"], step
    return False, env.max_steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", default="full", choices=["full", "small"])
    parser.add_argument("--tasks", type=int, default=200, help="tasks per type")
    args = parser.parse_args()
    print(f"scene={args.scene}, {args.tasks} test tasks per type, max_steps=50")
    print(f"{'task type':<32} {'expert':>7} {'steps (median, max)':>20} {'random':>7}")
    for task_type in alfred.TASK_TYPES:
        env = ALFWorldEnv(scene=args.scene, task_types=[task_type], max_steps=50)
        rng = np.random.default_rng(0)
        expert = [episode(env, i, None) for i in range(args.tasks)]
        random = [episode(env, i, rng)[0] for i in range(args.tasks)]
        steps = [n for _, n in expert]
        won = sum(w for w, _ in expert) / args.tasks
        print(f"{task_type:<32} {won:7.1%} {statistics.median(steps):>12.0f}, {max(steps):>5d} "
              f"{sum(random) / args.tasks:7.1%}")  # fmt: skip


if __name__ == "__main__":
    main()
