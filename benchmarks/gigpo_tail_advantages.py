"""GiGPO's step advantage on repeated invalid actions, by rule, on a run's logged first iteration.

A run's first rollout depends only on its seed and warm start, so runs of any
algorithm or rule from one warm start saw the same trajectories; ``samples.jsonl``
keeps one task group of it (rewards after the invalid-action penalty, state keys,
invalid flags, outcomes). This recomputes that group's A^S with every visit counted
(``truncated=None``: the rule before truncated tails were handled) and with today's
rule (first visits in truncated trajectories, members compared over a common
horizon), and counts the repeats of an invalid action at a state the trajectory
already visited: how many get A^S > 0, and how many of those are horizon-only (the
trajectory acts invalidly at every step from its first visit of that state on, so
its return there is the worst possible per step and only a shorter horizon can lift
it). Baseline: the every-visit rule on the same rows.

    python benchmarks/gigpo_tail_advantages.py runs/six/gigpo-seed0 runs/six/gigpo-seed1 [--gamma 0.95]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from agentgym.trainers.gigpo import step_advantages

TINY = 1e-9
"""A^S above this counts as positive: equal returns can differ in their last bit."""


def load_group(run_dir: Path) -> dict[str, list]:
    """The step rows of the first logged task group of iteration 1, in time order per trajectory."""
    records = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    first = [r for r in records if r["iteration"] == 1 and r["group_id"] == records[0]["group_id"]]
    rows: dict[str, list] = {key: [] for key in ("groups", "trajs", "rewards", "states", "invalid", "cut")}
    for j, record in enumerate(first):
        for step in record["steps"]:
            rows["groups"].append(record["group_id"]), rows["trajs"].append(j)
            rows["rewards"].append(step["reward"]), rows["states"].append(step["state_key"])
            rows["invalid"].append(step["invalid"]), rows["cut"].append(record["outcome"] == "truncated")
    rows["logged"] = [step["A_S"] for record in first for step in record["steps"]]
    return rows


def repeats(rows: dict[str, list]) -> tuple[list[int], list[int]]:
    """(repeated invalid actions at a state already visited, the horizon-only ones among them)."""
    seen: set[tuple[int, str]] = set()
    repeated, horizon_only = [], []
    traj, states, invalid = rows["trajs"], rows["states"], rows["invalid"]
    for i, key in enumerate(zip(traj, states, strict=True)):
        if key in seen and invalid[i]:
            repeated.append(i)
            first = next(k for k in range(len(traj)) if (traj[k], states[k]) == key)
            rest = [k for k in range(first, len(traj)) if traj[k] == traj[i]]
            if all(invalid[k] for k in rest):
                horizon_only.append(i)
        seen.add(key)
    return repeated, horizon_only


def counts(rows: dict[str, list], a_step: np.ndarray) -> dict[str, float | int]:
    """The table's figures for one rule's A^S on the group."""
    repeated, horizon_only = repeats(rows)
    positive = [i for i in repeated if a_step[i] > TINY]
    return {
        "repeats": len(repeated),
        "positive": len(positive),
        "horizon_only": len(set(positive) & set(horizon_only)),
        "largest": max((float(a_step[i]) for i in repeated), default=0.0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="Run directories (their samples.jsonl).")
    parser.add_argument("--gamma", type=float, default=0.95)
    args = parser.parse_args()
    print("| run | repeated invalid actions at a state already visited | with A^S > 0, every visit → now "
          "| horizon-only among them | largest A^S on such a repeat | now == logged |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- |")
    for run in args.runs:
        rows = load_group(run)
        data = rows["groups"], rows["trajs"], rows["rewards"], rows["states"], args.gamma
        before = counts(rows, step_advantages(*data))
        now_a = step_advantages(*data, truncated=rows["cut"])
        now = counts(rows, now_a)
        logged = bool(np.allclose(now_a, rows["logged"], rtol=0, atol=1e-12))
        pairs = [f"{before[key]} → {now[key]}" for key in ("positive", "horizon_only")]
        largest = f"{before['largest']:+.2f} → {now['largest']:+.2f}"
        print(f"| {run.name} | {now['repeats']} | {' | '.join(pairs)} | {largest} | {logged} |")


if __name__ == "__main__":
    main()
