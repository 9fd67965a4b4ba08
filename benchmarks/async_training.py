"""Synchronous vs asynchronous GiGPO training: wall-clock and held-out success, same process.

The two-minute demo setting (``configs/demo_guess.yaml``: GuessNumber 1..16, a
tiny Qwen2-shaped model behaviour-cloned on expert episodes, then GiGPO with
4 groups x 8 trajectories per iteration). The cloned model is made once; then,
for each seed, the same GiGPO run is trained synchronously and with each
``async_staleness`` K, one after the other in this process, so all see the same
machine. Every run plays the same number of iterations (the same episodes per
iteration, so about the same env steps; the exact counts are printed). Wall-clock
is the whole ``Trainer.run`` (evaluations included, which the asynchronous
generator overlaps too); success is the last held-out (valid) evaluation, and
training success the mean of the last five iterations' rollouts.

Each run's time is split by side, summed over its iterations: the learner's
``wait`` for rollouts, ``update`` and ``eval``; the generator's ``play``,
``idle`` and ``overhead`` (pipe transfers, loading weights, its start-up), with
the 1-minute load average before and after the run.

``--step-delay-s D`` trains on ``tool_latency.SlowGuessEnv`` instead: GuessNumber
whose every step first sleeps D seconds (simulated tool-call latency), each env
on a thread worker of its own (the iteration's envs wait on their tools at once).

``--set KEY=VALUE`` changes a setting of every run (sync and async alike), as
``agentgym train --set`` does, e.g. ``--set optim.lr=0.00015``.

    python benchmarks/async_training.py [--seeds 3] [--staleness 1 2] [--iterations 20] [--step-delay-s 0.2]
        [--set optim.lr=0.00015]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from agentgym.trainers.config import build_config
from agentgym.trainers.demo import CONFIGS, load_demo_config, train_layer, warm_start
from agentgym.trainers.runlog import read_jsonl
from agentgym.trainers.trainer import Trainer

SLOW_GUESS = "tool_latency:agentgym/SlowGuess-v0"
SIDES = ("rollout_s", "update_s", "generate_s", "generator_idle_s", "generator_overhead_s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="Training seeds 0..n-1.")
    parser.add_argument("--staleness", type=int, nargs="+", default=[1, 2], help="Values of K to compare.")
    parser.add_argument("--iterations", type=int, default=20, help="GiGPO iterations per run.")
    parser.add_argument(
        "--step-delay-s", type=float, default=0.0, help="Simulated latency of every env step (0: none)."
    )
    parser.add_argument(
        "--set", dest="sets", action="append", default=[], metavar="KEY=VALUE", help="A setting of every run."
    )
    args = parser.parse_args()

    demo = load_demo_config(CONFIGS / "demo_guess.yaml")
    root = Path(tempfile.mkdtemp(prefix="async-bench-"))
    warm_start(demo, root, {})
    layer = train_layer(demo, root / "bc-model")
    if args.step_delay_s:
        envs = demo.train["algo"]["group_size"] * demo.train["algo"]["groups_per_iteration"]
        layer["env"] = SLOW_GUESS
        layer["env_kwargs"] = {**layer["env_kwargs"], "step_delay_s": args.step_delay_s}
        layer["rollout"] = {"num_workers": envs}
    print(f"runs in {root}; env {layer['env']} {layer['env_kwargs']}; settings {args.sets}")
    rows: list[tuple[int, int, float, int, float, float]] = []  # K, seed, wall s, steps, valid, train
    for seed in range(args.seeds):
        for k in [0, *args.staleness]:
            sets = [
                f"seed={seed}",
                f"async_staleness={k}",
                f"iterations={args.iterations}",
                "progress=false",
                *args.sets,
            ]
            config = build_config(demo.algorithm, demo.train, layer, sets)
            run = root / f"k{k}-seed{seed}"
            load = os.getloadavg()[0]
            started = time.perf_counter()
            summary = Trainer(config, run).run()
            wall = time.perf_counter() - started
            records = read_jsonl(run / "metrics.jsonl")
            train = [r for r in records if r["kind"] == "train"]
            steps, trained = train[-1]["env_steps_total"], statistics.mean(r["success"] for r in train[-5:])
            rows.append((k, seed, wall, steps, summary.success_rate, trained))
            split = {key: sum(r.get(key, 0.0) for r in train) for key in SIDES}
            evals = [r for r in records if r["kind"] == "eval"]
            split["eval"] = sum(r["wall_time_s"] for r in evals)
            curve = " ".join(f"{r['iteration']}:{r['success_rate']:.0%}" for r in evals)
            print(
                f"K={k} seed={seed}: {wall:.1f} s, {steps} env steps, "
                f"valid success {summary.success_rate:.1%}, training success {trained:.1%}; "
                f"learner: wait {split['rollout_s']:.1f} s, "
                f"update {split['update_s']:.1f} s, eval {split['eval']:.1f} s; generator: play "
                f"{split['generate_s']:.1f} s, idle {split['generator_idle_s']:.1f} s, overhead "
                f"{split['generator_overhead_s']:.1f} s; load {load:.1f} -> {os.getloadavg()[0]:.1f}; "
                f"valid by iteration {curve}",
                flush=True,
            )

    print("\n| K | wall-clock s (per seed) | mean | env steps | valid success | training success | sync/K |")
    print("|---|---|---|---|---|---|---|")
    sync = statistics.mean(r[2] for r in rows if r[0] == 0)
    for k in [0, *args.staleness]:
        mine = [r for r in rows if r[0] == k]
        walls = statistics.mean(r[2] for r in mine)
        print(
            f"| {k} | {', '.join(f'{r[2]:.0f}' for r in mine)} | {walls:.0f} | "
            f"{', '.join(str(r[3]) for r in mine)} | {', '.join(f'{r[4]:.0%}' for r in mine)} | "
            f"{', '.join(f'{r[5]:.0%}' for r in mine)} | {sync / walls:.2f}x |"
        )


if __name__ == "__main__":
    main()
