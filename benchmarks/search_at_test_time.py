"""Greedy play vs search at test time for the same checkpoint: success, env steps and wall time per episode.

Each checkpoint (``--model``: a model directory such as the behaviour-cloned
warm start, or ``random``, uniform over the admissible actions; the latest
checkpoint of each training run in ``--runs``) plays the same held-out
episodes (the valid split's first ``--episodes`` tasks, the evaluation's fixed
env seeds) three ways: greedily (temperature 0), at the run's evaluation
temperature, and with the sliding tree search from every state (Agent Q's
test-time search: ``--simulations``, ``--k``, ``--lookahead``; the expansions
sample at temperature 1). Each seed of ``--seeds`` reseeds the sampler (greedy
play is the same for every seed, so it is played once). The search's
environment steps count every branch it steps (expansions, lookahead, commits).

    python benchmarks/search_at_test_time.py --config trainers/configs/demo_alfworld.yaml \\
        --model WARM/bc-model --runs runs/mcts-compare/mcts-dpo-seed0 --episodes 32 \\
        --seeds 0 1 2 --simulations 4 --k 3 --lookahead 1 --out runs/test-time-search
    python benchmarks/search_at_test_time.py --config benchmarks/configs/webshop_compare.yaml \\
        --model random --episodes 100 --simulations 16 --k 3 --lookahead 1 --seed 0
    python benchmarks/search_at_test_time.py --table runs/a/results.json runs/b/results.json

``--table`` prints the markdown table of results files (runs split across processes).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from algorithm_comparison import mean_std

from agentgym.policies import RandomPolicy
from agentgym.policies.base import Policy
from agentgym.policies.hf import TransformersPolicy
from agentgym.trainers.checkpoint import latest_checkpoint
from agentgym.trainers.config import TrainConfig, build_config, read_config
from agentgym.trainers.demo import load_demo_config, train_layer
from agentgym.trainers.evaluate import eval_sampler_seed, evaluate_policy
from agentgym.trainers.learner import Learner
from agentgym.trainers.mcts import SearchConfig

SPLIT = "valid"


def played(config: TrainConfig, policy: Policy, episodes: int, search: SearchConfig | None = None) -> dict:
    """The held-out episodes as the run's evaluations play them: the policy's own replies, or
    ``search`` from every state (its env steps count every branch)."""
    started = time.perf_counter()
    summary = evaluate_policy(config, policy, SPLIT, episodes, search=search)  # type: ignore[arg-type]
    wall = time.perf_counter() - started
    return {
        "success": summary.success_rate,
        "mean_return": summary.mean_return,
        "steps_per_episode": summary.mean_steps,
        "env_steps_per_episode": summary.env_steps / summary.episodes,
        "wall_s_per_episode": wall / summary.episodes,
        "wall_s": wall,
    }


def checkpoints(args: argparse.Namespace) -> list[tuple[str, TrainConfig, str | None]]:
    """(name, config, weights) of ``--model`` and of each run's latest checkpoint.

    The weights are a checkpoint's folder, ``random``, or None for ``--model``'s
    folder itself: a plain model (a LoRA warm start is saved merged), played without adapters.
    """
    out: list[tuple[str, TrainConfig, str | None]] = []
    if args.model:
        cfg = load_demo_config(args.config)
        train = {k: v for k, v in cfg.train.items() if k != "algo"}
        layer = train_layer(cfg, args.model)  # random: no model is loaded
        layer["model"]["lora_rank"] = 0
        weights = "random" if args.model == "random" else None
        out.append((args.model, build_config("mcts-dpo", train, layer), weights))
    for run in map(Path, args.runs):
        checkpoint = latest_checkpoint(run)
        assert checkpoint is not None, f"{run} has no checkpoint"
        out.append((run.name, read_config(run / "config.yaml"), str(checkpoint / "model")))
    return out


def policy_for(config: TrainConfig, weights: str | None) -> tuple[Policy, contextlib.AbstractContextManager]:
    """The checkpoint's policy and the precision context it plays in; ``random``: uniform over the
    admissible actions, from the evaluation sampler's seed."""
    if weights == "random":
        return RandomPolicy(seed=eval_sampler_seed(config)), contextlib.nullcontext()
    learner = Learner(config.model, config.optim, reference=False, weights=weights)
    return TransformersPolicy(learner.model, learner.tokenizer, seed=config.seed), learner.autocast()


def table(rows: list[dict]) -> None:
    """Success and mean return (mean ± std over seeds, per seed) and cost per episode of each
    checkpoint and play.

    A (checkpoint, play, seed) played again by another process counts once (its first row).
    """
    first: dict[tuple, dict] = {}
    for r in rows:
        first.setdefault((r["checkpoint"], r["play"], r["seed"]), r)
    rows = list(first.values())
    columns = [
        "success (mean ± std)",
        "per seed",
        "return (mean ± std)",
        "env steps / episode",
        "s / episode",
    ]
    print("| checkpoint | play | " + " | ".join(columns) + " |")
    print("| --- " * (len(columns) + 2) + "|")
    for key in dict.fromkeys((r["checkpoint"], r["play"]) for r in rows):
        mine = sorted((r for r in rows if (r["checkpoint"], r["play"]) == key), key=lambda r: r["seed"] or 0)
        per_seed = ", ".join(f"{r['success']:.1%}" for r in mine)
        steps = sum(r["env_steps_per_episode"] for r in mine) / len(mine)
        wall = sum(r["wall_s_per_episode"] for r in mine) / len(mine)
        success = mean_std([r["success"] for r in mine])
        score = mean_std([r["mean_return"] for r in mine], "{:.3f}")
        print(f"| {key[0]} | {key[1]} | {success} | {per_seed} | {score} | {steps:.1f} | {wall:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=None, help="Demo YAML of the warm start (default: the demo's).")
    parser.add_argument("--model", default=None, help="A model directory (e.g. the warm start), or random.")
    parser.add_argument("--runs", nargs="*", default=[], help="Training run directories.")
    parser.add_argument("--episodes", type=int, default=32, help="Held-out episodes per evaluation.")
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[0], help="Seeds of the evaluation sampler and the search."
    )
    parser.add_argument("--simulations", type=int, default=4)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--lookahead", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: run seeds as processes).")
    parser.add_argument("--out", default="runs/test-time-search")
    parser.add_argument("--table", nargs="+", default=None, help="Only print the table of results files.")
    args = parser.parse_args()
    if args.table:
        table([row for path in args.table for row in json.loads(Path(path).read_text())])
        return
    torch.set_num_threads(args.threads)
    search = SearchConfig(simulations=args.simulations, k=args.k, lookahead=args.lookahead)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []

    def record(row: dict) -> None:
        rows.append(row)
        print(json.dumps(row), flush=True)
        (out / "results.json").write_text(json.dumps(rows, indent=1))

    for name, config, weights in checkpoints(args):
        greedy = config.model_copy(update={"eval": config.eval.model_copy(update={"temperature": 0.0})})
        policy, precision = policy_for(greedy, weights)
        with torch.no_grad(), precision:
            row = {"checkpoint": name, "play": "greedy (T 0)", "seed": None}
            record({**row, **played(greedy, policy, args.episodes)})
            for seed in args.seeds:
                seeded = config.model_copy(update={"seed": seed})
                if weights == "random":
                    policy = RandomPolicy(seed=eval_sampler_seed(seeded))
                row = {"checkpoint": name, "play": f"sampled (T {config.eval.temperature})", "seed": seed}
                record({**row, **played(seeded, policy, args.episodes)})
                if weights == "random":
                    policy = RandomPolicy(seed=eval_sampler_seed(seeded))
                play = f"search ({args.simulations} sim, k {args.k}, lookahead {args.lookahead})"
                record(
                    {
                        "checkpoint": name,
                        "play": play,
                        "seed": seed,
                        **played(seeded, policy, args.episodes, search),
                    }
                )
    table(rows)


if __name__ == "__main__":
    main()
