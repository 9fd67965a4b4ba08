"""TextWorldEnv's cost per step over raw ``textworld`` on the same games and commands.

Both sides play the same generated games with the same requested infos
(admissible commands, score, won/lost, objective, policy, walkthrough) and
the same command sequences (random admissible commands drawn once, recorded,
then replayed on each side). The two sides alternate, in one process, and each
keeps its fastest run.

    .venv/bin/python benchmarks/textworld_overhead.py [--games 3] [--steps 300]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import textworld

from agentgym.environments.textworld.env import TextWorldEnv

SETTINGS = {"world_size": 5, "nb_objects": 10, "quest_length": 5}


def record(env: TextWorldEnv, split: str, steps: int, seed: int) -> list[str]:
    """Random admissible commands for ``steps`` steps (episodes restart on the same game)."""
    rng = np.random.default_rng(seed)
    _, info = env.reset(seed=0, options={"split": split, "task_id": 0})
    commands = []
    for _ in range(steps):
        command = str(rng.choice(info["admissible_actions"]))
        commands.append(command)
        _, _, terminated, truncated, info = env.step(command)
        if terminated or truncated:
            commands.append("")  # marks a reset
            _, info = env.reset(seed=0, options={"split": split, "task_id": 0})
    return commands


def time_ours(env: TextWorldEnv, split: str, commands: list[str]) -> float:
    env.reset(seed=0, options={"split": split, "task_id": 0})
    start = time.perf_counter()
    for command in commands:
        if command:
            env.step(command)
        else:
            env.reset(seed=0, options={"split": split, "task_id": 0})
    return time.perf_counter() - start


def time_raw(path: str, commands: list[str]) -> float:
    infos = textworld.EnvInfos(
        admissible_commands=True, won=True, lost=True, score=True, max_score=True,
        objective=True, policy_commands=True, extras=["walkthrough"],
    )  # fmt: skip
    env = textworld.start(path, infos)
    env.reset()
    start = time.perf_counter()
    for command in commands:
        if command:
            env.step(command)
        else:
            env.reset()
    elapsed = time.perf_counter() - start
    env.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=3)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cache = tempfile.mkdtemp(prefix="tw-bench-")
    env = TextWorldEnv(settings=SETTINGS, cache_dir=cache, max_steps=10**6)
    ours = raw = 0.0
    n_steps = 0
    for game in range(args.games):
        split = ("train", "valid", "test")[game % 3]
        commands = record(env, split, args.steps, seed=game)
        path = str(env.game_path)
        n_steps += sum(1 for c in commands if c)
        # alternate the two sides and keep each side's fastest run: the least disturbed by the machine
        runs = [(time_raw(path, commands), time_ours(env, split, commands)) for _ in range(args.repeats)]
        raw += min(r for r, _ in runs)
        ours += min(o for _, o in runs)
    print(f"tw-make custom {SETTINGS}, {args.games} games, {n_steps} steps, best of {args.repeats} runs")
    print(f"raw textworld : {n_steps / raw:8.1f} steps/s")
    print(f"TextWorldEnv  : {n_steps / ours:8.1f} steps/s")
    print(f"overhead      : {100 * (ours / raw - 1):+.1f}% per step")


if __name__ == "__main__":
    main()
