"""What a tree search pays to branch: snapshot and restore per env family, beside a step.

For each family, one episode per seed is played with random admissible actions
(the expert's where the action space is open; a seat of each game, its other
seats played by random players) up to ``--depth`` steps, or to one step before
its end. At that state the env is snapshotted and restored ``--repeat`` times:
the snapshot's size in bytes, the median µs of each, and the ratio
``(snapshot + restore) / step`` against the median step of the same episodes.
A restore is checked to give back the state: the next step from it equals the
step taken right after the snapshot. The target (issue 15): at most one step on
ALFWorld, WebShop and TextWorld, at most ten on every family.

Second, tree-search env steps per second per family: :class:`~agentgym.trainers.mcts.TreeSearch`
with a random policy (families with admissible actions; an open action space needs
a model policy) (``--trees`` episodes of the test split searched at once on
thread workers, ``--simulations`` simulations per committed step, k 3, lookahead 2;
generation nearly free, so this is the search's own cost: steps, snapshots and
restores through the slot API), env steps counted by the search, beside the
plain steps per second of the same family (1 / the median step above).

    .venv/bin/python benchmarks/snapshot_cost.py [--depth 8] [--seeds 3] [--repeat 20] [--trees 4]
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import time
from typing import Any

import numpy as np

import agentgym
from agentgym.episode import REPLAY
from agentgym.multiagent import SeatEnv
from agentgym.policies import RandomPolicy
from agentgym.rollout import EnvFactory, EpisodeSpec, RolloutConfig, RolloutEngine

FAMILIES: dict[str, EnvFactory] = {
    "GuessNumber": EnvFactory("guess"),
    "GuessMyCity": EnvFactory("city"),
    "TwentyQuestions": EnvFactory("20q"),
    "ALFWorld": EnvFactory("alfworld"),
    "TextWorld": EnvFactory("textworld"),
    "WebShop": EnvFactory("webshop"),
    "Nim (seat)": EnvFactory("nim", seat={"learner": "player_0", "others": "random"}),
    "DealOrNoDeal (seat)": EnvFactory("dealornodeal", seat={"learner": "player_0", "others": "random"}),
    "Bargain (seat)": EnvFactory("bargain", seat={"learner": "buyer", "others": "random"}),
    "Werewolf (seat)": EnvFactory("werewolf", seat={"learner": "player_0", "others": "random"}),
}


def median_us(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1e6


def pick(env: Any, info: dict[str, Any], rng: np.random.Generator) -> str:
    """A random admissible action; where the action space is open, a game's random action or the expert's."""
    admissible, u = info.get("admissible_actions"), env.unwrapped
    if admissible:
        return str(rng.choice(admissible))
    return u.game.random_action(u.seat, rng) if isinstance(u, SeatEnv) else u.expert_action()


def measure(factory: EnvFactory, depth: int, seeds: int, repeat: int) -> dict[str, Any]:
    env = factory()
    u = env.unwrapped
    steps, snaps, restores, sizes, reached = [], [], [], [], []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        _, info = env.reset(seed=seed, options={"split": "test"})
        actions, done = [], False
        while not done and len(actions) < depth:
            actions.append(pick(env, info, rng))
            start = time.perf_counter()
            _, _, terminated, truncated, info = env.step(actions[-1])
            steps.append(time.perf_counter() - start)
            done = terminated or truncated
        if done:  # branch one step before the end instead
            actions.pop()
            _, info = env.reset(seed=seed, options={"split": "test"})
            for action in actions:
                _, _, _, _, info = env.step(action)
        reached.append(len(actions))
        for _ in range(repeat):
            start = time.perf_counter()
            snap = u.snapshot()
            snaps.append(time.perf_counter() - start)
        sizes.append(len(snap))
        action = pick(env, info, rng)
        expected = env.step(action)
        for _ in range(repeat):
            start = time.perf_counter()
            u.restore(snap)
            restores.append(time.perf_counter() - start)
        assert env.step(action) == expected, f"{factory.env_id}: restore did not give back the state"
    env.close()
    step_us = median_us(steps)
    return {
        "native": pickle.loads(snap)["native"] is not REPLAY,
        "depth": statistics.median(reached),
        "bytes": int(statistics.median(sizes)),
        "snapshot_us": median_us(snaps),
        "restore_us": median_us(restores),
        "step_us": step_us,
        "ratio": (median_us(snaps) + median_us(restores)) / step_us,
    }


def first_info(factory: EnvFactory) -> dict[str, Any]:
    """The first info of a test episode."""
    env = factory()
    _, info = env.reset(seed=0, options={"split": "test"})
    env.close()
    return info


def search_speed(factory: EnvFactory, simulations: int, trees: int) -> tuple[float, int, int]:
    """Seconds, env steps and committed steps of searching ``trees`` test episodes to their end."""
    from agentgym.trainers.mcts import SearchConfig, TreeSearch

    env = factory()
    tasks = env.unwrapped.splits["test"]
    env.close()
    config = RolloutConfig(num_envs=trees, progress=False)
    with RolloutEngine(factory, RandomPolicy(seed=0), config) as engine:
        search = TreeSearch(engine, SearchConfig(simulations=simulations, k=3, lookahead=2))
        start = time.perf_counter()
        results = search.run([EpisodeSpec(t % tasks, "test", seed=t) for t in range(trees)])
        seconds = time.perf_counter() - start
    return seconds, sum(r.env_steps for r in results), sum(len(r.committed) - 1 for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=8, help="Steps played before branching.")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--families", nargs="*", default=list(FAMILIES))
    parser.add_argument("--trees", type=int, default=4, help="Episodes searched at once per family.")
    parser.add_argument("--simulations", type=int, default=8, help="Simulations per committed step.")
    args = parser.parse_args()
    print("| family | snapshot | depth | bytes | snapshot µs | restore µs | step µs | (snap+restore)/step |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    step_us = {}
    for name in args.families:
        r = measure(FAMILIES[name], args.depth, args.seeds, args.repeat)
        step_us[name] = r["step_us"]
        kind = "native" if r["native"] else "replay"
        print(
            f"| {name} | {kind} | {r['depth']:.0f} | {r['bytes']} | {r['snapshot_us']:.0f} | "
            f"{r['restore_us']:.0f} | {r['step_us']:.0f} | {r['ratio']:.2f} |",
            flush=True,
        )
    print(f"\ntree search: {args.trees} trees, {args.simulations} simulations, k 3, lookahead 2")
    print("| family | committed steps | env steps | seconds | search env steps/s | plain steps/s | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in args.families:
        if not first_info(FAMILIES[name]).get("admissible_actions"):
            print(f"| {name} | open action space: needs a model policy | | | | | |")
            continue
        seconds, env_steps, committed = search_speed(FAMILIES[name], args.simulations, args.trees)
        rate, plain = env_steps / seconds, 1e6 / step_us[name]
        print(
            f"| {name} | {committed} | {env_steps} | {seconds:.2f} | {rate:.0f} | {plain:.0f} | "
            f"{rate / plain:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    agentgym.list_envs()
    main()
