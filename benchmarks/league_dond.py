"""League self-play vs fixed rule-bot opponents on Deal-or-No-Deal, from one behaviour-cloned tiny model.

1. Warm start (``trainers/configs/league_dond.yaml``): the ``fair`` rule bot plays the
   learner's seat against ``fair``; a tiny model and its tokenizer are made from the
   text and behaviour-cloned on the bot's moves (:func:`~agentgym.trainers.demo.warm_start`).
2. Each seed trains that model twice with the YAML's ``train`` settings: ``league``
   (rule bots, random and the learner's snapshots, PFSP) and ``fixed`` (the same with
   ``league.self_play: false``: the rule bots and random only).
3. Before and after, the model plays each rule bot (``tough``, ``fair``, ``soft``) on
   the valid split in a random seat: its mean score (1 win, 0.5 draw, 0 loss by
   points), its point margin over the bot, and a performance rating against the bots
   as anchors at 1000: ``R = 1000 + 400 log10(S / (1 - S))`` (S clipped to [0.01, 0.99]).

    python benchmarks/league_dond.py --out runs/league-dond --seeds 0 1 2 [--iterations 12] [--episodes 8]
    python benchmarks/league_dond.py --out runs/league-dond --warm runs/league-dond/bc-model \\
        --seeds 1 --no-before
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

from agentgym.policies.base import ReplySeeds, SamplingParams
from agentgym.policies.hf import TransformersPolicy
from agentgym.trainers.checkpoint import latest_checkpoint
from agentgym.trainers.config import TrainConfig, build_config
from agentgym.trainers.demo import load_demo_config, train_layer, warm_start
from agentgym.trainers.evaluate import eval_episodes, make_engine, split_size
from agentgym.trainers.league import game_score
from agentgym.trainers.runlog import read_jsonl
from agentgym.trainers.trainer import Trainer

CONFIG = Path(__file__).parents[1] / "trainers" / "configs" / "league_dond.yaml"
BOTS = ("tough", "fair", "soft")


def match(config: TrainConfig, model: Path, episodes: int) -> dict[str, float]:
    """The model against each rule bot on the valid split: score, margin, performance rating."""
    policy = TransformersPolicy(str(model), seed=config.seed)
    sampling = SamplingParams(
        temperature=config.eval.temperature, max_new_tokens=config.rollout.max_new_tokens
    )
    specs = eval_episodes("valid", split_size(config, "valid"), episodes)
    scores, margins = [], []
    for bot in BOTS:
        policy.seeds = ReplySeeds(config.seed + 104_729)
        seated = config.model_copy(update={"seat": {"learner": "random", "others": bot}})
        with make_engine(seated, policy, sampling, episodes) as engine:
            for traj in engine.run(specs).trajectories:
                info = traj.steps[-1].info
                score, margin = game_score(info["returns"], info["seat"])
                scores.append(score)
                margins.append(margin)
    s = min(max(statistics.mean(scores), 0.01), 0.99)
    return {
        "score": statistics.mean(scores),
        "margin": statistics.mean(margins),
        "rating": 1000 + 400 * math.log10(s / (1 - s)),
    }


def run_one(cfg, model: Path, seed: int, self_play: bool, iterations: int, out: Path) -> dict:
    layers = {"seed": seed, "iterations": iterations, "progress": False, "league": {"self_play": self_play}}
    config = build_config(cfg.algorithm, cfg.train, train_layer(cfg, model), layers)
    started = time.perf_counter()
    Trainer(config, out).run()
    train = [r for r in read_jsonl(out / "metrics.jsonl") if r["kind"] == "train"]
    checkpoint = latest_checkpoint(out)
    assert checkpoint is not None
    return {
        "league": self_play,
        "seed": seed,
        "train_rating": train[-1]["rating/learner"],
        "train_score_last3": statistics.mean(r["league_score"] for r in train[-3:]),
        "members": train[-1]["league_members"],
        "wall_s": time.perf_counter() - started,
        "config": config,
        "final_model": checkpoint / "model",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--iterations", type=int, default=12)
    parser.add_argument("--episodes", type=int, default=8, help="Valid episodes per rule bot per match.")
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument("--warm", type=Path, help="A behaviour-cloned model made before: skip step 1.")
    parser.add_argument("--no-before", action="store_true", help="Skip the warm model's match.")
    args = parser.parse_args()
    torch.set_num_threads(1)  # tiny models: one thread is fastest, and the matches run outside a Trainer
    cfg = load_demo_config(args.config)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.warm is None:
        timings: dict[str, float] = {}
        notes = warm_start(cfg, args.out, timings)
        print(json.dumps({"warm_start": notes, "timings": timings}), flush=True)
    warm = args.warm or args.out / "bc-model"
    if not args.no_before:
        base = build_config(cfg.algorithm, cfg.train, train_layer(cfg, warm))
        print(json.dumps({"before": match(base, warm, args.episodes)}), flush=True)
    rows = []
    for seed in args.seeds:
        for self_play in (True, False):
            name = f"{'league' if self_play else 'fixed'}-seed{seed}"
            row = run_one(cfg, warm, seed, self_play, args.iterations, args.out / name)
            row["after"] = match(row.pop("config"), row.pop("final_model"), args.episodes)
            rows.append(row)
            print(json.dumps(row), flush=True)
    for self_play in (True, False):
        mine = [r for r in rows if r["league"] == self_play]
        summary = {
            key: (
                statistics.mean(r["after"][key] for r in mine),
                statistics.pstdev(r["after"][key] for r in mine),
            )
            for key in ("score", "margin", "rating")
        }
        print(json.dumps({"league": self_play, "after_mean_std": summary}), flush=True)


if __name__ == "__main__":
    main()
