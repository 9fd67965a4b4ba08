"""ArCHer's critic and actor step cost per transition, beside a GiGPO update on the same tokens.

One process, one model, one set of transitions. The policy plays Twenty
Questions episodes; every step of them is a transition (s, a, r, s'). Then, on
all of those transitions at once, each timed ``--repeats`` times in turn:

- ArCHer's critic step (:meth:`ArCHer.critic_step`): a fresh utterance ã is sampled at each
  state for V's target, the target critic reads s' and (s, ã), the critic reads (s, a) and
  takes an optimizer step, then the Polyak step;
- ArCHer's actor step (:meth:`ArCHer.actor_step`): a fresh ã at each state, the critic's
  A(s, ã), a REINFORCE update of the policy on ã's tokens;
- a GiGPO update (its clipped objective with the reference-model KL, its default) on the
  recorded prompt and action tokens of the same steps, as its iteration trains on them.

Per transition = seconds / transitions; the ratio is ArCHer's (critic + actor) over GiGPO's.
Sampling ã alone (part of each ArCHer step) is timed too: GiGPO samples nothing in its update.
Both updates take one optimizer step over all transitions with the same micro-batch size.

    python benchmarks/archer_step.py [--model tiny | PATH_OR_OFFLINE_MODEL] [--critic tiny | policy | HF_ID]
        [--width 64] [--layers 2] [--episodes 8] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch

from agentgym.policies.base import ReplySeeds
from agentgym.policies.tiny import tiny_model
from agentgym.rollout import group_episodes
from agentgym.trainers.archer import ArCHer, transitions
from agentgym.trainers.config import build_config
from agentgym.trainers.trainer import Trainer

ENV = "twentyquestions"


def _trainer(algorithm: str, model: str, sets: list[str], run: Path) -> Trainer:
    base = {"env": ENV, "env_kwargs": {"max_steps": 6}, "model": {"name_or_path": model}}
    common = [
        "rollout.history=null",
        "rollout.max_new_tokens=16",
        "optim.lr=1e-5",
        "optim.micro_batch_size=8",
    ]
    common += ["eval.episodes=1", "progress=false", "cpu_threads=1"]
    return Trainer(build_config(algorithm, base, [*common, *sets]), run)


def _median_s(step: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(model: str, critic: str, episodes: int, repeats: int, work: Path) -> dict[str, float]:
    """Seconds per transition of ArCHer's critic step, actor step and a GiGPO update, same run."""
    archer = _trainer("archer", model, [f"algo.critic_encoder={critic}"], work / "archer")
    gigpo = _trainer("gigpo", model, ["algo.group_size=2", "algo.groups_per_iteration=2"], work / "gigpo")
    algo = archer.algorithm
    assert isinstance(algo, ArCHer)
    archer.policy.seeds = ReplySeeds(0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        result = archer.rollout(group_episodes(range(episodes), split="train", seed=0))
        trajectories = [t for t in result.trajectories if not t.failed]
        batch = transitions(trajectories, archer.learner.tokenizer)
        advantages = np.random.default_rng(0).standard_normal(len(batch))
        samples = gigpo.samples(trajectories, advantages)
        objective = gigpo.algorithm.objective  # type: ignore[attr-defined]
        sample_s = _median_s(lambda: algo.sample_utterances(batch), repeats)
        critic_s = _median_s(lambda: algo.critic_step(batch), repeats)
        actor_s = _median_s(lambda: algo.actor_step(batch, 0), repeats)
        gigpo_s = _median_s(lambda: gigpo.update(samples, objective, 0), repeats)
    archer.close()
    gigpo.close()
    n = len(batch)
    return {
        "transitions": n,
        "action_tokens": sum(s.num_action_tokens for s in samples),
        "sample_ms": sample_s / n * 1000,
        "critic_ms": critic_s / n * 1000,
        "actor_ms": actor_s / n * 1000,
        "gigpo_ms": gigpo_s / n * 1000,
        "ratio": (critic_s + actor_s) / gigpo_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny", help="tiny, or a model folder / offline model name")
    parser.add_argument("--critic", default=None, help="critic encoder (default: tiny for tiny, else policy)")
    parser.add_argument("--width", type=int, default=64, help="hidden size of the tiny model")
    parser.add_argument("--layers", type=int, default=2, help="layers of the tiny model")
    parser.add_argument("--episodes", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    critic = args.critic or ("tiny" if args.model == "tiny" else "policy")
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model
        if model == "tiny":
            texts = [
                "I am thinking of an object.",
                "Is it an animal?",
                "No.",
                "<action>Is it a cat?</action>",
            ]
            net, tok = tiny_model(texts, hidden_size=args.width, layers=args.layers, heads=2, seed=0)
            net.save_pretrained(f"{tmp}/model")
            tok.save_pretrained(f"{tmp}/model")
            model = f"{tmp}/model"
        r = measure(model, critic, args.episodes, args.repeats, Path(tmp))
    size = f"tiny (width {args.width}, {args.layers} layers)" if args.model == "tiny" else args.model
    print(f"{size} policy, {critic} critic encoder, {ENV}, {device}, median of {args.repeats}")
    print(
        "| transitions | action tokens | ms per transition: critic | actor | (of each, sampling ã) ", end=""
    )
    print("| GiGPO | ArCHer / GiGPO |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(
        f"| {r['transitions']} | {r['action_tokens']} | {r['critic_ms']:.1f} | {r['actor_ms']:.1f} "
        f"| {r['sample_ms']:.1f} | {r['gigpo_ms']:.1f} | {r['ratio']:.2f}x |"
    )


if __name__ == "__main__":
    main()
