"""MCTS-DPO vs Agent Q vs trajectory-level DPO vs RFT vs GRPO from one warm start, equal environment steps.

Every run trains the same behaviour-cloned model (``--warm``, built by the demo's
warm start) on the demo YAML's env with the YAML's rollout, optimizer and
evaluation settings, each algorithm with its own ``algo`` section below, until
``--env-steps`` environment steps (the tree search's branches count). Its held-out
success and mean return (WebShop's score) are the run's last evaluation (valid
split). Then, for the last MCTS-DPO
checkpoint of each seed, the same valid episodes are played greedily and with
search at test time (``agentgym eval RUN --search mcts``, ``--test-simulations``).

    python benchmarks/mcts_comparison.py --config trainers/configs/demo_alfworld.yaml \\
        --warm WARM/bc-model --env-steps 3000 --seeds 0 1 2 --out runs/mcts-compare
    python benchmarks/mcts_comparison.py --table runs/a/results.json runs/b/results.json

``--table`` prints the markdown table of results files (runs split across processes).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from algorithm_comparison import mean_std

from agentgym.trainers.config import build_config
from agentgym.trainers.demo import load_demo_config, train_layer
from agentgym.trainers.evaluate import evaluate_run
from agentgym.trainers.runlog import read_jsonl
from agentgym.trainers.trainer import Trainer

GROUPS = {"group_size": 8, "groups_per_iteration": 4}
"""The demo's groups for the episode-level methods: 32 episodes per iteration."""

SEARCH = {"trees_per_iteration": 4, "search": {"simulations": 4, "k": 3, "lookahead": 2}}
"""MCTS-DPO's and Agent Q's search: 4 episodes per iteration (Agent Q's preset adds UCB1 and its critic)."""

ALGOS: dict[str, dict] = {
    "grpo": GROUPS,
    "mcts-dpo": SEARCH,
    "agent-q": SEARCH,
    "traj-dpo": GROUPS,
    "rft": GROUPS,
}


def run_one(algorithm: str, seed: int, cfg, model: Path, env_steps: int, episodes: int, out: Path) -> dict:
    train = {k: v for k, v in cfg.train.items() if k != "algo"}
    layers = {
        "seed": seed,
        "max_env_steps": env_steps,
        "iterations": 100_000,
        "progress": False,
        "eval": {"every": 0, "episodes": episodes},
        "algo": ALGOS[algorithm],
    }
    config = build_config(algorithm, train, train_layer(cfg, model), layers)
    started = time.perf_counter()
    final = Trainer(config, out).run()
    records = read_jsonl(out / "metrics.jsonl")
    evals = [r for r in records if r["kind"] == "eval"]
    steps = [r for r in records if r["kind"] == "train"]
    return {
        "algorithm": algorithm,
        "seed": seed,
        "start": evals[0]["success_rate"],
        "final": final.success_rate,
        "start_return": evals[0]["mean_return"],
        "final_return": final.mean_return,
        "episodes": final.episodes,
        "env_steps": steps[-1]["env_steps_total"],
        "iterations": len(steps),
        **({"pairs": sum(r["pairs"] for r in steps)} if "pairs" in steps[-1] else {}),
        "wall_s": time.perf_counter() - started,
    }


def table(rows: list[dict]) -> None:
    """Each algorithm's held-out success and return (mean ± std over its seeds) and budget."""
    columns = ["warm start", "final (mean ± std)", "per seed", "return: warm start", "final"]
    columns += ["env steps", "iterations", "DPO pairs"]
    print("| algorithm | " + " | ".join(columns) + " |")
    print("| --- " * (len(columns) + 1) + "|")
    for algorithm in dict.fromkeys(r["algorithm"] for r in rows):
        mine = sorted((r for r in rows if r["algorithm"] == algorithm), key=lambda r: r["seed"])
        trained = "start" in mine[0]
        cells = [
            algorithm,
            mean_std([r["start"] for r in mine]) if trained else "",
            mean_std([r["final"] for r in mine]),
            ", ".join(f"{r['final']:.1%}" for r in mine),
            mean_std([r["start_return"] for r in mine], "{:.3f}") if trained else "",
            mean_std([r["final_return"] for r in mine], "{:.3f}"),
            ", ".join(str(r.get("env_steps", "")) for r in mine),
            ", ".join(str(r.get("iterations", "")) for r in mine),
            ", ".join(str(r["pairs"]) for r in mine if "pairs" in r),
        ]
        print("| " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=None, help="Demo YAML (default: the demo's).")
    parser.add_argument("--warm", help="The behaviour-cloned model directory (required unless --table).")
    parser.add_argument("--env-steps", type=int, default=3000, help="Env steps per run.")
    parser.add_argument("--episodes", type=int, default=32, help="Held-out episodes per evaluation.")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--algorithms", nargs="+", default=list(ALGOS))
    parser.add_argument("--test-simulations", type=int, default=8, help="Search at test time (0: skip).")
    parser.add_argument("--out", default="runs/mcts-compare")
    parser.add_argument("--table", nargs="+", default=None, help="Only print the table of results files.")
    args = parser.parse_args()
    if args.table:
        table([row for path in args.table for row in json.loads(Path(path).read_text())])
        return
    if args.warm is None:
        parser.error("--warm is required (the behaviour-cloned model directory)")
    out, cfg = Path(args.out), load_demo_config(args.config)
    rows = []
    for seed in args.seeds:
        for algorithm in args.algorithms:
            run = out / f"{algorithm}-seed{seed}"
            row = run_one(algorithm, seed, cfg, Path(args.warm), args.env_steps, args.episodes, run)
            rows.append(row)
            print(json.dumps(row), flush=True)
            (out / "results.json").write_text(json.dumps(rows, indent=1))
        run = out / f"mcts-dpo-seed{seed}"
        if args.test_simulations and run.is_dir():
            started = time.perf_counter()
            search = {"simulations": args.test_simulations}  # the run's own k, lookahead, c_puct, ...
            searched = evaluate_run(run, split="valid", episodes=args.episodes, search=search)
            row = {"algorithm": "mcts-dpo + search", "seed": seed, "final": searched.success_rate}
            row["final_return"] = searched.mean_return
            rows.append({**row, "wall_s": time.perf_counter() - started})
            print(json.dumps(rows[-1]), flush=True)
        (out / "results.json").write_text(json.dumps(rows, indent=1))

    print(f"\nheld-out (valid) success after {args.env_steps} env steps, {args.episodes} episodes")
    table(rows)


if __name__ == "__main__":
    main()
