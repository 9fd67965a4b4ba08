"""How many generated tasks the two ALFWorld engines play identically, on any scene size.

The CI test (``tests/environments/alfworld/test_alfworld_equivalence.py``)
covers 60 small and medium tasks; this script runs the same comparison on
full scenes, where the PDDL engine takes seconds per step. Each task: ten
mixed commands (native expert, random admissible, invalid), then the PDDL
env's expert to the end; every step's (observation, reward, flags, info) must
be equal, ``state_key`` included.

    .venv/bin/python benchmarks/alfworld_equivalence.py [--scene full] [--tasks 3]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from agentgym.environments.alfworld import alfred
from agentgym.environments.alfworld.env import ALFWorldEnv


def compare(task_type: str, scene: str, options: dict, seed: int) -> tuple[bool, bool, int]:
    """(identical at every step, won, steps) for one task."""
    kw = {"scene": scene, "task_types": [task_type], "max_steps": 60}
    envs = ALFWorldEnv(**kw), ALFWorldEnv(engine="pddl", **kw)
    rng = np.random.default_rng(seed)
    outs = [env.reset(seed=0, options=options) for env in envs]
    same, info, steps = outs[0] == outs[1], outs[0][1], 0
    while same and steps < 60:
        if steps >= 10:
            action = envs[1].expert_action()
        else:
            pick = rng.random()
            action = envs[0].expert_action() if pick < 0.55 else str(rng.choice(info["admissible_actions"]))
            action = "dance" if pick > 0.9 else action
        outs = [env.step(action) for env in envs]
        same = json.dumps(outs[0], sort_keys=True) == json.dumps(outs[1], sort_keys=True)
        info, steps = outs[0][4], steps + 1
        if outs[0][2] or outs[0][3]:
            break
    for env in envs:
        env.close()
    return same, info["won"], steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", default="full", choices=["full", "small"])
    parser.add_argument("--tasks", type=int, default=3, help="tasks per type")
    args = parser.parse_args()
    total = identical = won = 0
    start = time.perf_counter()
    for task_type in alfred.TASK_TYPES:
        for k in range(args.tasks):
            options = {"split": ("train", "valid", "test")[k % 3], "task_id": 100 + k}
            same, win, steps = compare(task_type, args.scene, options, seed=k)
            total, identical, won = total + 1, identical + same, won + win
            print(f"{task_type:<32} {options['split']:<5} {steps:3d} steps  identical={same} won={win}")
    elapsed = time.perf_counter() - start
    print(f"\nscene={args.scene}: {identical}/{total} tasks identical at every step, "
          f"{won}/{total} won by the expert on the PDDL engine ({elapsed:.0f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
