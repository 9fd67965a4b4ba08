"""The training demo: a tiny transformer learns small ALFWorld tasks on a CPU in minutes.

1. The env's expert plays a few hundred training tasks.
2. A byte-level BPE tokenizer is trained on the text of those episodes, and a
   Qwen2-shaped transformer with random weights is built from a config; or,
   with ``demo.model``, a pretrained model is loaded instead (SmolLM2:
   ``configs/demo_guess_smollm2.yaml``). Its held-out success is measured
   (zero-shot).
3. Behaviour cloning on the expert's steps teaches it the action format and to
   copy names out of the admissible actions: a rough policy. With LoRA
   (``train.model.lora_rank``) the adapters are trained and then merged into
   the saved model.
4. GiGPO trains it further from its own rollouts (new LoRA adapters on the
   cloned model under LoRA); the held-out (valid) success rate is measured
   before and every few iterations during training.
5. ``report.html`` shows the learning curves and sample trajectories with each
   step's A^E and A^S; ``view.html`` is the run in ``agentgym view``, one file.

Everything is set in one YAML file (``configs/demo_alfworld.yaml`` by default;
``configs/demo_guess.yaml`` is a two-minute variant): a ``demo`` section for
steps 1-3 and a ``train`` section in the format of ``agentgym train --config``.
Run it with ``agentgym demo`` (``make demo``)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from rich.console import Console

from agentgym.exceptions import ConfigError
from agentgym.trainers.config import Seed, build_config, load_yaml
from agentgym.trainers.evaluate import prompt_config

CONFIGS = Path(__file__).parent / "configs"
DEFAULT_ENV = "alfworld"


class DemoSettings(BaseModel):
    """Steps 1–3 of the demo: expert data, tokenizer, model size, behaviour cloning."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    env: str = Field(description="Env id or alias.")
    env_kwargs: dict[str, Any] = Field(default_factory=dict, description="Keyword arguments of the env.")
    seat: dict[str, Any] | None = Field(
        None,
        description="Multi-agent games: agentgym.seat's arguments for the demonstrations, its expert "
        "(a bot) playing the learner's seat, e.g. {learner: random, others: fair, expert: fair}.",
    )
    model: str | None = Field(
        None,
        description="Start from this pretrained model (a path, an offline model such as smollm2, or a "
        "hub id) instead of a tiny one built from the settings below (vocab_size, hidden_size, "
        "layers, heads are then unused).",
    )
    expert_episodes: int = Field(16, ge=1, description="Expert episodes (train tasks 0..n-1) to clone.")
    vocab_size: int = Field(512, ge=300, description="BPE vocabulary trained on the episodes' text.")
    single_tokens: str | None = Field(
        None,
        description="A regular expression: each distinct match in the episodes' text becomes one token "
        "of its own, beyond vocab_size (WebShop's product ids: 'b0[0-9a-z]{8}'), so the tiny model "
        "copies one in one step.",
    )
    hidden_size: int = Field(64, ge=8, description="Transformer width.")
    layers: int = Field(2, ge=1, description="Transformer layers.")
    heads: int = Field(4, ge=1, description="Attention heads.")
    lm_epochs: int = Field(
        0,
        ge=0,
        description="Passes of next-token training on every token of the expert steps (prompts "
        "included) before behaviour cloning: the text repeats itself (the instruction in the task, "
        "the page and the search it offers), so a tiny model learns to copy from it.",
    )
    bc_epochs: int = Field(10, ge=0, description="Passes of behaviour cloning over the expert steps.")
    bc_lr: float = Field(3e-3, gt=0, description="Learning rate of behaviour cloning.")
    bc_batch: int = Field(32, ge=1, description="Expert steps per optimizer step.")
    seed: Seed = Field(0, description="Seed of the model's initial weights.")


class DemoConfig(BaseModel):
    """The demo's YAML file: ``demo`` settings and the ``train`` config layer."""

    model_config = ConfigDict(extra="forbid")

    demo: DemoSettings
    algorithm: str = Field("gigpo", description="The RL algorithm of step 4.")
    train: dict[str, Any] = Field(default_factory=dict, description="As in agentgym train --config.")


def run_demo(out_dir: str | Path, *, config: str | Path | None = None) -> Path:
    """Run the whole demo into ``out_dir``; return the path of its HTML report.

    Args:
        out_dir: a new (or empty) directory for the models, the run and the report.
        config: a demo YAML file; default ``configs/demo_alfworld.yaml``.
    """
    from agentgym.trainers.report import success_change, write_report
    from agentgym.trainers.runlog import METRICS, read_jsonl
    from agentgym.trainers.trainer import Trainer
    from agentgym.view import write_export

    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"demo directory {str(out)!r} is not empty", hint="pass another --out or remove it")
    cfg = load_demo_config(config)
    timings: dict[str, float] = {}
    notes = warm_start(cfg, out, timings)
    train_config = build_config(cfg.algorithm, cfg.train, train_layer(cfg, out / "bc-model"))
    with _step(timings, f"{cfg.algorithm} training"):
        Trainer(train_config, out / "run").run()
    evals = [r for r in read_jsonl(out / "run" / METRICS) if r["kind"] == "eval"]
    if evals:
        Console(stderr=True, log_path=False).log(f"{evals[0]['split']} success: {success_change(evals)}")
    notes.update({f"time: {k}": f"{v:.0f} s" for k, v in timings.items()})
    write_export([out / "run"], out / "view.html")
    return write_report(out / "run", out / "report.html", notes=notes)


def load_demo_config(path: str | Path | None = None) -> DemoConfig:
    """A demo YAML file (default: ``configs/demo_alfworld.yaml``), validated."""
    return DemoConfig.model_validate(load_yaml(Path(path) if path else CONFIGS / f"demo_{DEFAULT_ENV}.yaml"))


def train_layer(cfg: DemoConfig, model: str | Path) -> dict[str, Any]:
    """The config layer that points training at the demo's env and a model directory."""
    return {"env": cfg.demo.env, "env_kwargs": cfg.demo.env_kwargs, "model": {"name_or_path": str(model)}}


def warm_start(cfg: DemoConfig, out: Path, timings: dict[str, float]) -> dict[str, str]:
    """Steps 1-3: expert episodes, tokenizer and model, behaviour cloning into ``out/bc-model``.

    Returns notes for the report (data, model size, the cloning loss by epoch).
    """
    from agentgym.policies.hf import TransformersPolicy
    from agentgym.policies.tiny import tiny_model
    from agentgym.trainers.evaluate import evaluate_policy
    from agentgym.trainers.learner import Learner
    from agentgym.trainers.sft import (
        behaviour_clone,
        corpus,
        demonstration_samples,
        every_token,
        expert_trajectories,
    )

    d = cfg.demo
    train_config = build_config(cfg.algorithm, cfg.train, train_layer(cfg, out / "bc-model"))
    prompt = prompt_config(train_config)
    with _threads(train_config.cpu_threads), _step(timings, "expert episodes"):
        experts = expert_trajectories(d.env, d.expert_episodes, env_kwargs=d.env_kwargs, seat=d.seat)
    base = d.model or str(out / "base-model")
    if d.model is None:
        with _threads(train_config.cpu_threads), _step(timings, "tokenizer and model"):
            model, tokenizer = tiny_model(
                corpus(experts, prompt),
                vocab_size=d.vocab_size,
                hidden_size=d.hidden_size,
                layers=d.layers,
                heads=d.heads,
                seed=d.seed,
                single_tokens=d.single_tokens,
            )
            model.save_pretrained(base)
            tokenizer.save_pretrained(base)
    settings = train_config.model.model_copy(update={"name_or_path": base})
    optim = train_config.optim.model_copy(
        update={"lr": d.bc_lr, "mini_batch_size": d.bc_batch, "micro_batch_size": d.bc_batch}
    )
    learner = Learner(settings, optim, reference=False, seed=d.seed)
    with _threads(train_config.cpu_threads), _step(timings, "zero-shot evaluation"):
        policy = TransformersPolicy(learner.model, learner.tokenizer, seed=train_config.seed)
        zero_shot = evaluate_policy(train_config, policy, train_config.eval.split, train_config.eval.episodes)
    Console(stderr=True, log_path=False).log(
        f"{train_config.eval.split} success zero-shot: {zero_shot.success_rate:.1%}"
    )
    with _threads(train_config.cpu_threads), _step(timings, "behaviour cloning"):
        samples = demonstration_samples(experts, learner.tokenizer, prompt)
        text_losses = behaviour_clone(learner, every_token(samples), d.lm_epochs, seed=d.seed)
        losses = behaviour_clone(learner, samples, d.bc_epochs, seed=d.seed)
        learner.save(str(out / "bc-model"), merged=True)
    adapters = sum(p.numel() for p in learner.model.parameters() if p.requires_grad) if learner.lora else 0
    params = f"{sum(p.numel() for p in learner.model.parameters()) - adapters:,} parameters"
    model_note = f"{d.model} (pretrained), {params}"
    if d.model is None:
        shape = f"Qwen2-shaped, {d.layers} layers, width {d.hidden_size}"
        model_note = f"{shape}, {params}, vocabulary {len(learner.tokenizer)}"
    if learner.lora:
        model_note += f", cloned through LoRA adapters of rank {settings.lora_rank} ({adapters:,} parameters)"
    split = train_config.eval.split
    text = {"next-token NLL of the whole text by epoch": ", ".join(f"{x:.3f}" for x in text_losses)}
    return {
        "expert episodes": f"{len(experts)} ({sum(len(t.steps) for t in experts)} steps)",
        "model": model_note,
        f"zero-shot {split} success": f"{zero_shot.success_rate:.1%} ({zero_shot.episodes} episodes)",
        **(text if text_losses else {}),
        "behaviour cloning NLL by epoch": ", ".join(f"{x:.3f}" for x in losses),
    }


@contextlib.contextmanager
def _step(timings: dict[str, float], name: str) -> Iterator[None]:
    """Time one step of the demo and say when it starts and ends (the slow ones print nothing else)."""
    console = Console(stderr=True, log_path=False)
    console.log(f"{name} ...")
    started = time.perf_counter()
    yield
    timings[name] = time.perf_counter() - started
    console.log(f"{name}: {timings[name]:.0f} s")


@contextlib.contextmanager
def _threads(n: int) -> Iterator[None]:
    import torch

    previous = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
