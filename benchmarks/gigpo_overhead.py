"""GiGPO's advantage computation as a share of a training iteration.

Baseline: the whole iteration it belongs to (rollout + advantages + update), timed
by the trainer itself in this process (``advantage_s`` and ``time_s`` of each
iteration's metrics). The policy is a tiny model, so the iteration is about as
short as an iteration gets: with a real model the share is smaller still.
Batch as in the paper: 16 task groups x 8 trajectories per iteration.

A second table times the advantage alone on synthetic batches of ALFWorld's
size (128 trajectories x up to 50 steps) against the paper's iteration time.

    python benchmarks/gigpo_overhead.py [--iterations 4]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from agentgym.policies.tiny import tiny_model
from agentgym.prompting import PromptConfig
from agentgym.trainers.config import build_config
from agentgym.trainers.gigpo import gigpo_advantages
from agentgym.trainers.runlog import read_jsonl
from agentgym.trainers.sft import corpus, expert_trajectories
from agentgym.trainers.trainer import Trainer

PAPER_ITERATION_S = 362.83
"""GiGPO paper: one ALFWorld iteration of the 1.5B model (its advantage took 0.54 s of it)."""


def measured_share(iterations: int, work: Path) -> list[tuple[int, float, float]]:
    """(step rows, advantage seconds, iteration seconds) of each iteration of a real run."""
    experts = expert_trajectories("guess", 12)
    model, tok = tiny_model(corpus(experts, PromptConfig(history=2)), hidden_size=64, layers=2, seed=0)
    model.save_pretrained(work / "model")
    tok.save_pretrained(work / "model")
    base = {"env": "guess", "model": {"name_or_path": str(work / "model")}}
    sets = [
        "algo.group_size=8",
        "algo.groups_per_iteration=16",
        "rollout.max_new_tokens=12",
        "optim.lr=1e-4",
        "optim.micro_batch_size=64",
        f"iterations={iterations}",
        "eval.every=0",
        "eval.episodes=1",
        "cpu_threads=1",
        "progress=false",
    ]
    Trainer(build_config("gigpo", base, sets), work / "run").run()
    rows = [r for r in read_jsonl(work / "run" / "metrics.jsonl") if r["kind"] == "train"]
    return [(r["env_steps"], r["advantage_s"], r["time_s"]) for r in rows]


def synthetic(
    trajectories: int, steps: int, group_size: int, states: int, seed: int = 0
) -> tuple[int, float]:
    """(rows, median seconds) of gigpo_advantages on a random batch of the given shape.

    Trajectory lengths are uniform in [steps/2, steps]; state keys are drawn from
    ``states`` per group, so steps share anchor states as in a real group; a trajectory
    that does not win is marked truncated, so step groups mix horizons as at a time limit.
    """
    rng = np.random.default_rng(seed)
    groups, trajs, rewards, keys, truncated = [], [], [], [], []
    for t in range(trajectories):
        length = int(rng.integers(steps // 2, steps + 1))
        g = t // group_size
        won = bool(rng.integers(0, 2))
        groups += [f"g{g}"] * length
        trajs += [t] * length
        rewards += [0.0] * (length - 1) + [10.0 * won]
        keys += [f"{g}:{int(k)}" for k in rng.integers(0, states, length)]
        truncated += [not won] * length
    times = []
    for _ in range(5):
        start = time.perf_counter()
        gigpo_advantages(groups, trajs, rewards, keys, truncated=truncated)
        times.append(time.perf_counter() - start)
    return len(trajs), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=4)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        rows = measured_share(args.iterations, Path(tmp))
    print("GiGPO advantage vs its own training iteration (tiny model, GuessNumber, 16 groups x 8)")
    print("| iteration | step rows | advantage ms | iteration s | share |")
    print("| --- | --- | --- | --- | --- |")
    for i, (n, adv, total) in enumerate(rows, start=1):
        print(f"| {i} | {n} | {adv * 1000:.1f} | {total:.1f} | {adv / total:.3%} |")
    shares = [adv / total for _, adv, total in rows]
    print(f"mean share: {statistics.mean(shares):.3%} (target: at most 1%)\n")

    print("Advantage alone on ALFWorld-sized batches (128 trajectories in groups of 8)")
    print("| steps per trajectory | distinct states per group | rows | advantage ms | share of 362.83 s |")
    print("| --- | --- | --- | --- | --- |")
    for steps, states in ((15, 20), (50, 50), (50, 500)):
        n, seconds = synthetic(128, steps, 8, states)
        share = seconds / PAPER_ITERATION_S
        print(f"| {steps} | {states} | {n} | {seconds * 1000:.1f} | {share:.4%} |")


if __name__ == "__main__":
    main()
