"""GiGPO vs GRPO vs RLOO (or ArCHer) on the same small setting, with equal environment steps.

The demo's warm start (expert episodes, tokenizer, tiny model, behaviour cloning)
is built once from a demo YAML; each algorithm then trains from that same model
with every seed until ``--env-steps`` environment steps (``max_env_steps``), with
the YAML's ``train`` settings and then ``--set`` (the YAML's ``algo`` section is
its own algorithm's, so ArCHer beside GiGPO starts from ArCHer's defaults and its
``--set algo.*``), and its success is the run's last evaluation (the YAML's
``eval`` split). Baseline, same process: the
warm-started model itself (each run's evaluation at iteration 0).

    python benchmarks/algorithm_comparison.py --config trainers/configs/demo_guess.yaml \\
        --env-steps 12000 --seeds 0 1 2 --out runs/compare [--warm DIR/bc-model] [--algorithms gigpo] \\
        [--set eval.every=10 algo.omega=0.5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from agentgym.trainers.algorithms import get_algorithm
from agentgym.trainers.config import build_config
from agentgym.trainers.demo import load_demo_config, train_layer, warm_start
from agentgym.trainers.runlog import read_jsonl
from agentgym.trainers.trainer import Trainer

ALGORITHMS = ("gigpo", "grpo", "rloo")


def run_one(algorithm: str, seed: int, cfg, model: Path, env_steps: int, out: Path, sets: list[str]) -> dict:
    layers = {"seed": seed, "max_env_steps": env_steps, "iterations": 100_000, "progress": False}
    config = build_config(algorithm, train_section(cfg, algorithm), train_layer(cfg, model), sets, layers)
    started = time.perf_counter()
    final = Trainer(config, out).run()
    records = read_jsonl(out / "metrics.jsonl")
    evals = [r for r in records if r["kind"] == "eval"]
    train = [r for r in records if r["kind"] == "train"]
    return {
        "algorithm": algorithm,
        "seed": seed,
        "start": evals[0]["success_rate"],
        "final": final.success_rate,
        "last3": statistics.mean(r["success_rate"] for r in evals[-3:]),
        "split": config.eval.split,
        "episodes": final.episodes,
        "env_steps": train[-1]["env_steps_total"],
        "iterations": len(train),
        "wall_s": time.perf_counter() - started,
    }


def train_section(cfg, algorithm: str) -> dict:
    """The YAML's ``train`` section for ``algorithm``: its ``algo`` settings belong to the YAML's
    own algorithm, so an algorithm with another config class (ArCHer beside GiGPO) starts from
    its defaults (and ``--set``)."""
    same = get_algorithm(algorithm).config_class is get_algorithm(cfg.algorithm).config_class
    return cfg.train if same else {key: value for key, value in cfg.train.items() if key != "algo"}


def mean_std(values: list[float], fmt: str = "{:.1%}") -> str:
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{fmt.format(statistics.mean(values))} ± {fmt.format(std)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=None, help="Demo YAML (default: the demo's).")
    parser.add_argument("--env-steps", type=int, default=6000, help="Env steps per run.")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--algorithms", nargs="+", default=list(ALGORITHMS))
    parser.add_argument("--out", default="runs/compare")
    parser.add_argument("--warm", default=None, help="Reuse this behaviour-cloned model directory.")
    parser.add_argument("--set", dest="sets", nargs="+", default=[], help="KEY=VALUE over the YAML's train.")
    args = parser.parse_args()
    out = Path(args.out)
    cfg = load_demo_config(args.config)
    if args.warm:
        model, notes = Path(args.warm), {"warm start": args.warm}
    else:
        model, notes = out / "warm" / "bc-model", warm_start(cfg, out / "warm", {})
    print(f"warm start: {notes}")
    rows = []
    for algorithm in args.algorithms:
        for seed in args.seeds:
            out_run = out / f"{algorithm}-seed{seed}"
            row = run_one(algorithm, seed, cfg, model, args.env_steps, out_run, args.sets)
            rows.append(row)
            print(json.dumps(row), flush=True)
    name = "-".join([*args.algorithms, *(f"seed{seed}" for seed in args.seeds)])
    (out / f"results-{name}.json").write_text(json.dumps({"notes": notes, "runs": rows}, indent=1))

    episodes = rows[0]["episodes"]
    split = rows[0]["split"]
    print(f"\n{split} success after {args.env_steps} env steps, {episodes} episodes per evaluation")
    columns = ["algorithm", "warm start", "final evaluation (mean ± std)", "per seed"]
    columns += ["mean of the last 3 evaluations", "env steps", "iterations"]
    print("| " + " | ".join(columns) + " |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for algorithm in args.algorithms:
        mine = [r for r in rows if r["algorithm"] == algorithm]
        per_seed = ", ".join(f"{r['final']:.1%}" for r in mine)
        steps = ", ".join(str(r["env_steps"]) for r in mine)
        its = ", ".join(str(r["iterations"]) for r in mine)
        start, final = mean_std([r["start"] for r in mine]), mean_std([r["final"] for r in mine])
        last3 = mean_std([r["last3"] for r in mine])
        print(f"| {algorithm} | {start} | {final} | {per_seed} | {last3} | {steps} | {its} |")


if __name__ == "__main__":
    main()
