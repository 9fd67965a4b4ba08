"""Greedy play vs search at test time for one checkpoint: success, env steps and wall time per episode.

The same held-out episodes (the run's evaluation episodes, valid split) are
played by the model directly, greedily (temperature 0), and by the sliding tree search
from every state (Agent Q's test-time search), whose env steps count every
expansion, lookahead step and commit.

    python benchmarks/search_at_test_time.py --config benchmarks/configs/webshop_compare.yaml \\
        --model WARM/bc-model --episodes 32 --simulations 4 --k 3 --lookahead 1

``--model random`` plays uniformly over the admissible actions instead (no model).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from agentgym.policies import RandomPolicy
from agentgym.policies.base import Policy, ReplySeeds
from agentgym.policies.hf import TransformersPolicy
from agentgym.trainers.config import TrainConfig, build_config
from agentgym.trainers.demo import load_demo_config, train_layer
from agentgym.trainers.evaluate import (
    eval_episodes,
    eval_sampler_seed,
    eval_sampling,
    make_engine,
    split_size,
)
from agentgym.trainers.learner import Learner
from agentgym.trainers.mcts import SearchConfig, TreeSearch


def make_policy(config: TrainConfig, model: str) -> Policy:
    """The model in ``config`` with the run's evaluation seeds, or, for ``random``, uniform over
    the admissible actions."""
    if model == "random":
        return RandomPolicy(seed=eval_sampler_seed(config))
    learner = Learner(config.model, config.optim, reference=False, seed=config.seed)
    policy = TransformersPolicy(learner.model, learner.tokenizer, seed=config.seed)
    policy.seeds = ReplySeeds(eval_sampler_seed(config))
    return policy


def play(config: TrainConfig, model: str, episodes: int, search: SearchConfig | None) -> dict:
    """Success, env steps and wall seconds per episode of ``model``, searching or not."""
    policy = make_policy(config, model)
    specs = eval_episodes("valid", split_size(config, "valid"), episodes)
    started = time.perf_counter()
    with make_engine(config, policy, eval_sampling(config), len(specs)) as engine:
        if search is None:
            trajectories = engine.run(specs).trajectories
            env_steps = sum(len(t.steps) for t in trajectories)
        else:
            results = TreeSearch(engine, search).run(specs)
            trajectories = [r.state.trajectory for r in results]
            env_steps = sum(r.env_steps for r in results)
    return {
        "play": "direct"
        if search is None
        else f"search ({search.simulations} simulations, k {search.k}, lookahead {search.lookahead})",
        "success": sum(t.won for t in trajectories) / len(trajectories),
        "mean_return": sum(t.return_ for t in trajectories) / len(trajectories),
        "env_steps_per_episode": env_steps / len(trajectories),
        "wall_s_per_episode": (time.perf_counter() - started) / len(trajectories),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=None, help="Demo YAML (default: the demo's).")
    parser.add_argument("--model", required=True, help="A model directory, or random.")
    parser.add_argument("--episodes", type=int, default=32, help="Held-out (valid) episodes.")
    parser.add_argument("--simulations", type=int, default=4)
    parser.add_argument("--k", type=int, default=3, help="Candidate replies per expansion.")
    parser.add_argument("--lookahead", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0, help="Seed of the evaluation sampler and the search.")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cfg = load_demo_config(args.config)
    layer = {**train_layer(cfg, Path(args.model)), "seed": args.seed, "eval": {"temperature": 0.0}}
    config = build_config(cfg.algorithm, cfg.train, layer)
    search = SearchConfig(simulations=args.simulations, k=args.k, lookahead=args.lookahead)
    for mode in (None, search):
        print(json.dumps({"model": args.model, **play(config, args.model, args.episodes, mode)}), flush=True)


if __name__ == "__main__":
    main()
