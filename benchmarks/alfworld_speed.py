"""ALFWorld's native engine against TextWorld's PDDL engine: steps/s and reset time.

Same tasks, same commands, same process. For each generated task, a command
sequence is recorded once on the native engine (the expert with random
admissible and invalid commands mixed in) and replayed on both engines through
``ALFWorldEnv``; the PDDL side is also checked to return the same
observations. Reset time is the time to start a task: for the PDDL engine,
compiling the game and loading it in TextWorld (what a new ALFWorld episode
costs), and re-starting a game already loaded.

    .venv/bin/python benchmarks/alfworld_speed.py [--scene full|small] [--tasks 6]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from agentgym.environments.alfworld.env import ALFWorldEnv


def record(env: ALFWorldEnv, options: dict, steps: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    _, info = env.reset(seed=0, options=options)
    commands = []
    for _ in range(steps):
        u = rng.random()
        if u < 0.5:
            command = env.expert_action()
        elif u < 0.9:
            command = str(rng.choice(info["admissible_actions"]))
        else:
            command = "dance"
        commands.append(command)
        _, _, terminated, truncated, info = env.step(command)
        if terminated or truncated:
            break
    return commands


def replay(env: ALFWorldEnv, options: dict, commands: list[str]) -> tuple[float, float, list[str]]:
    """(seconds to reset, seconds per step, observations)."""
    start = time.perf_counter()
    obs, _ = env.reset(seed=0, options=options)
    reset = time.perf_counter() - start
    seen = [obs]
    start = time.perf_counter()
    for command in commands:
        seen.append(env.step(command)[0])
    return reset, (time.perf_counter() - start) / len(commands), seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", default="full", choices=["full", "small"])
    parser.add_argument("--tasks", type=int, default=6)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    native = ALFWorldEnv(scene=args.scene, max_steps=1000)
    pddl = ALFWorldEnv(scene=args.scene, engine="pddl", max_steps=1000)
    rows: dict[str, list[float]] = {k: [] for k in ("n_step", "p_step", "n_reset", "p_reset", "p_rereset")}
    for k in range(args.tasks):
        options = {"split": ("train", "valid", "test")[k % 3], "task_id": 500 + k}
        commands = record(native, options, args.steps, seed=k)
        runs = [replay(native, options, commands) for _ in range(max(3, 2000 // len(commands)))]
        n_obs = runs[0][2]
        p_reset, p_step, p_obs = replay(pddl, options, commands)
        p_rereset, _, _ = replay(pddl, options, commands[:1])
        assert n_obs == p_obs, "the engines disagree: run tests/environments/alfworld"
        # each side's fastest run is the one least disturbed by the machine's other work
        rows["n_step"].append(min(step for _, step, _ in runs))
        rows["n_reset"].append(min(reset for reset, _, _ in runs))
        rows["p_step"].append(p_step)
        rows["p_reset"].append(p_reset)
        rows["p_rereset"].append(p_rereset)
        task = native.layout.scene.task.type
        print(f"task {k}: {task:<32} {len(commands):3d} steps  "
              f"native {1 / rows['n_step'][-1]:8.0f}/s  pddl {1 / p_step:6.1f}/s")  # fmt: skip
    # native, a task never seen: the scene is generated (the fastest of a few new tasks each)
    cold = []
    for k in range(args.tasks):
        fresh = ALFWorldEnv(scene=args.scene)
        times = []
        for j in range(5):
            start = time.perf_counter()
            fresh.reset(seed=0, options={"split": "train", "task_id": 50_000 + 10 * k + j})
            times.append(time.perf_counter() - start)
        cold.append(min(times))
    rows["n_cold"] = cold
    med = {k: statistics.median(v) for k, v in rows.items()}
    print(f"\nscene={args.scene}, {args.tasks} tasks (median over tasks)")
    print(f"steps/s   native {1 / med['n_step']:10.0f}   pddl {1 / med['p_step']:8.1f}   "
          f"ratio {med['p_step'] / med['n_step']:8.0f}x")  # fmt: skip
    print(f"reset     native {1e3 * med['n_reset']:7.2f} ms (seen task), "
          f"{1e3 * med['n_cold']:.2f} ms (new task)")  # fmt: skip
    print(f"          pddl   {1e3 * med['p_reset']:7.0f} ms (new task), "
          f"{1e3 * med['p_rereset']:.0f} ms (same game again)")  # fmt: skip


if __name__ == "__main__":
    main()
