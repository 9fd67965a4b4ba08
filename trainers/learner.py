"""The model being trained: its weights, reference model, optimizer and update loop.

A :class:`Learner` loads a causal LM (full fine-tuning, or LoRA adapters with
peft), keeps the frozen reference for the KL term (the adapters switched off
under LoRA, a frozen copy otherwise), and runs updates: epochs over an
iteration's samples, mini-batches (one optimizer step each) made of
micro-batches (gradient accumulation), AdamW with gradient-norm clipping and a
warm-up-then-constant schedule. On a GPU the forward passes run under bf16
autocast with fp32 weights.

An :class:`Objective` turns one micro-batch's log-probs into a loss, so every
algorithm uses the same loop: GiGPO's clipped objective and behaviour cloning's
likelihood are both a few lines below.
"""

from __future__ import annotations

import contextlib
import math
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from agentgym.exceptions import ConfigError, TrainingDivergedError, require
from agentgym.policies.hf import load_model
from agentgym.trainers.batching import Sample, TokenBatch, collate
from agentgym.trainers.config import ModelSettings, OptimSettings, PolicyLossSettings
from agentgym.trainers.distributed import Ranks
from agentgym.trainers.losses import policy_loss, token_logprobs, token_mean


class Objective(Protocol):
    """A loss over one micro-batch, normalised by the mini-batch's action-token (or sample) count."""

    needs_reference: bool
    needs_entropy: bool

    def __call__(
        self,
        batch: TokenBatch,
        logprobs: torch.Tensor,
        entropy: torch.Tensor | None,
        ref_logprobs: torch.Tensor | None,
        num_tokens: float,
        num_samples: int,
    ) -> tuple[torch.Tensor, dict[str, float]]: ...


@dataclass
class ClippedObjective:
    """PPO's clipped surrogate + k3 KL + entropy bonus (:func:`.losses.policy_loss`).

    Samples of older weights (asynchronous training) carry behaviour log-probs
    and get the decoupled correction.
    """

    settings: PolicyLossSettings

    @property
    def needs_reference(self) -> bool:
        return self.settings.kl_coef > 0

    @property
    def needs_entropy(self) -> bool:
        return self.settings.entropy_coef > 0

    def __call__(self, batch, logprobs, entropy, ref_logprobs, num_tokens, num_samples):  # type: ignore[no-untyped-def]
        s = self.settings
        return policy_loss(
            logprobs,
            batch.old_logprobs,
            batch.advantages,
            batch.action_mask,
            clip_eps=s.clip_eps,
            dual_clip=s.dual_clip,
            kl_coef=s.kl_coef,
            ref_logprobs=ref_logprobs,
            entropy=entropy,
            entropy_coef=s.entropy_coef,
            num_tokens=num_tokens,
            behaviour_logprobs=batch.behaviour_logprobs,
            weight_cap=s.behaviour_weight_cap,
        )


class LikelihoodObjective:
    """Behaviour cloning: the token mean of -log π(action token)."""

    needs_reference = False
    needs_entropy = False

    def __call__(self, batch, logprobs, entropy, ref_logprobs, num_tokens, num_samples):  # type: ignore[no-untyped-def]
        loss = token_mean(-logprobs, batch.action_mask, num_tokens)
        return loss, {"nll": loss.item()}


def make_optimizer(module: torch.nn.Module, optim: OptimSettings) -> tuple[Any, Any]:
    """AdamW over ``module``'s trainable parameters and its warm-up-then-constant schedule."""
    params = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=optim.lr, weight_decay=optim.weight_decay)
    warmup = optim.warmup_steps
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / warmup) if warmup else 1.0
    )
    return optimizer, scheduler


class Trainable:
    """A module an algorithm trains beside the policy (a critic), checkpointed with it.

    ``optim`` gives it its own AdamW, schedule and gradient clip; without it the
    module is only checkpointed (a target network updated by the algorithm).
    The trainer saves and restores every module an algorithm's ``modules()``
    returns, so a resumed run continues exactly.

    Example:
        >>> net = Trainable(torch.nn.Linear(2, 1), OptimSettings(lr=0.1, weight_decay=0.0))
        >>> before = net.module.weight.detach().clone()
        >>> grad_norm = net.step(net.module(torch.ones(1, 2)).sum())
        >>> bool((net.module.weight != before).all()), round(grad_norm, 4)
        (True, 1.7321)
    """

    def __init__(self, module: torch.nn.Module, optim: OptimSettings | None = None) -> None:
        self.module, self.optim = module, optim
        self.optimizer, self.scheduler = make_optimizer(module, optim) if optim else (None, None)

    def step(self, loss: torch.Tensor) -> float:
        """Backward ``loss``, clip the gradient norm, step optimizer and schedule; returns the norm."""
        if self.optimizer is None or self.optim is None:
            raise ValueError("this module has no optimizer (constructed without optim)")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        params = [p for group in self.optimizer.param_groups for p in group["params"]]
        norm = float(torch.nn.utils.clip_grad_norm_(params, self.optim.grad_clip))
        self.optimizer.step()
        self.scheduler.step()
        return norm

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {"module": self.module.state_dict()}
        if self.optimizer is not None:
            state |= {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict()}
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.module.load_state_dict(state["module"])
        if self.optimizer is not None:
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])


def sample_units(samples: Sequence[Sample]) -> list[list[int]]:
    """Indices of ``samples`` in units that batching never splits: one per group id, else one per sample.

    Example:
        >>> s = [Sample([1], [1.0], None, [0.0], group=g) for g in ("p", None, "p", None)]
        >>> sample_units(s)
        [[0, 2], [1], [3]]
    """
    units: dict[object, list[int]] = {}
    for i, sample in enumerate(samples):
        units.setdefault(sample.group if sample.group is not None else ("sample", i), []).append(i)
    return list(units.values())


def _keep_old_logprobs(samples: Sequence[Sample], batch: TokenBatch, logprobs: torch.Tensor) -> None:
    """Each sample without ``old_logprobs`` takes its row of ``logprobs`` (``[B, T]``, left-padded).

    ``batch`` (the samples collated) takes it in place, as :func:`collate` would
    fill it from the samples now: ``old_logprobs``, and ``behaviour_logprobs``
    where a sample has none of its own.
    """
    width = logprobs.shape[1]
    for i, s in enumerate(samples):
        if s.old_logprobs is None:
            row = logprobs[i, width - len(s) :]
            s.old_logprobs = row.tolist()
            batch.old_logprobs[i, width - len(s) :] = row
            if batch.behaviour_logprobs is not None and s.behaviour_logprobs is None:
                batch.behaviour_logprobs[i, width - len(s) :] = row


def _fill(units: Sequence[list[int]], size: int) -> Iterator[list[int]]:
    """Consecutive whole units per chunk, up to ``size`` indices (a larger unit alone)."""
    for chunk in _chunks([len(u) for u in units], size):
        yield [i for k in chunk for i in units[k]]


def _chunks(sizes: Sequence[int], size: int) -> Iterator[list[int]]:
    """Positions of consecutive units per chunk, up to ``size`` in all (a larger unit alone).

    Example:
        >>> list(_chunks([2, 1, 1, 3, 1], 3))
        [[0, 1], [2], [3], [4]]
    """
    chunk: list[int] = []
    filled = 0
    for k, n in enumerate(sizes):
        if chunk and filled + n > size:
            yield chunk
            chunk, filled = [], 0
        chunk.append(k)
        filled += n
    if chunk:
        yield chunk


def _mini_batches(
    units: list[list[int]], offset: int, sizes: Sequence[int], size: int, rng: np.random.Generator
) -> Iterator[list[int]]:
    """This rank's sample indices of each mini-batch of one epoch, in a seeded order.

    Mini-batches are cut from the whole units of every rank (``sizes``: each
    unit's sample count, ranks in order; this rank's ``units`` are those from
    ``offset``), permuted when there is more than one mini-batch: a group stays
    in one mini-batch however the ranks share the samples, and every rank
    steps through the same mini-batches (its part of one may be empty).

    Example (rank 1 holds units 1 and 2 of four; up to 3 samples a mini-batch; seeded order 2, 0, 1, 3):
        >>> list(_mini_batches([[0, 1], [2]], 1, [1, 2, 1, 2], 3, np.random.default_rng(0)))
        [[2], [0, 1], []]
    """
    total = sum(sizes)
    order = rng.permutation(len(sizes)) if size < total else np.arange(len(sizes))
    for chunk in _chunks([sizes[u] for u in order], size):
        yield [i for k in chunk if 0 <= (u := order[k] - offset) < len(units) for i in units[u]]


class Learner:
    """A trainable causal LM with its tokenizer, reference, optimizer and scheduler.

    Args:
        model: which weights to train and how (full or LoRA, device, precision).
        optim: optimizer and batching settings.
        seed: seeds the LoRA initialisation (global RNG state is left as it was).
        reference: keep a reference model for a KL term.
        weights: load the trained weights from this checkpoint directory
            instead of ``model.name_or_path`` (resuming); the reference is
            always ``model.name_or_path``.
        ranks: the data-parallel ranks whose samples make up each update (one process by default).

    Example (behaviour cloning a tiny model on GuessNumber's expert):
        >>> import shutil, tempfile
        >>> from agentgym.policies.tiny import tiny_model
        >>> from agentgym.prompting import PromptConfig
        >>> from agentgym.trainers.config import ModelSettings, OptimSettings
        >>> from agentgym.trainers import sft
        >>> experts = sft.expert_trajectories("guess", 4)
        >>> model, tokenizer = tiny_model(sft.corpus(experts, PromptConfig()), seed=0)
        >>> tmp = tempfile.mkdtemp(); model.save_pretrained(tmp); _ = tokenizer.save_pretrained(tmp)
        >>> learner = Learner(ModelSettings(name_or_path=tmp), OptimSettings(lr=3e-3), reference=False)
        >>> samples = sft.demonstration_samples(experts, learner.tokenizer, PromptConfig())
        >>> nll = sft.behaviour_clone(learner, samples, epochs=3)
        >>> nll[-1] < nll[0]
        True
        >>> shutil.rmtree(tmp)
    """

    def __init__(
        self,
        model: ModelSettings,
        optim: OptimSettings,
        *,
        seed: int = 0,
        reference: bool = True,
        weights: str | None = None,
        ranks: Ranks = Ranks(),
    ) -> None:
        self.settings, self.optim, self.ranks = model, optim, ranks
        self.device = torch.device(model.device or ("cuda" if torch.cuda.is_available() else "cpu"))
        try:
            torch.empty(0, device=self.device)
        except (AssertionError, RuntimeError) as err:  # torch's answers for a missing device
            raise ConfigError(
                f"model.device {str(self.device)!r} cannot be used here: {str(err).splitlines()[0]}"
            ) from None
        self.bf16 = model.precision == "bf16" or (model.precision == "auto" and self.device.type == "cuda")
        self.lora = model.lora_rank > 0
        if self.lora:
            peft = require("peft", extra="train")
            base, self.tokenizer = load_model(model.name_or_path)
            if weights:
                self.model = peft.PeftModel.from_pretrained(base, weights, is_trainable=True)
            else:
                config = peft.LoraConfig(
                    r=model.lora_rank,
                    lora_alpha=model.lora_alpha,
                    lora_dropout=0.0,
                    target_modules="all-linear",
                    task_type="CAUSAL_LM",
                )
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(seed)
                    self.model = peft.get_peft_model(base, config)
        else:
            self.model, self.tokenizer = load_model(weights or model.name_or_path)
        self.model.to(self.device)
        self.reference = None
        if reference and not self.lora:
            self.reference, _ = load_model(model.name_or_path, device=str(self.device))
            self.reference.eval().requires_grad_(False)
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        self.optimizer, self.scheduler = make_optimizer(self.model, optim)
        self.model.eval()

    # -- forward passes ---------------------------------------------------------------

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """bf16 autocast on GPU when configured; a no-op otherwise."""
        if self.bf16:
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def logprobs(
        self, batch: TokenBatch, *, entropy: bool = False, reference: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``[B, T]`` log-probs of every token given the tokens before it (0 at the padding).

        Only the positions from the batch's first action token on are computed
        (left padding keeps actions at the end, so ``logits_to_keep`` skips the
        prompt's logits). With ``reference`` the reference model answers, without
        gradient.
        """
        ids, mask = batch.input_ids, batch.attention_mask
        width = ids.shape[1]
        first = int(batch.action_mask.any(0).float().argmax()) if batch.action_mask.any() else width - 1
        keep = width - max(first, 1) + 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        if reference and self.reference is None and not self.lora:
            raise ConfigError(
                "reference log-probs were asked for but no reference model was loaded; the algorithm "
                "must declare Needs(reference=True)"
            )
        model = self.reference if reference and not self.lora else self.model
        adapters_off = self.model.disable_adapter() if reference and self.lora else contextlib.nullcontext()
        grad = contextlib.nullcontext() if torch.is_grad_enabled() and not reference else torch.no_grad()
        with grad, adapters_off, self.autocast():
            logits = model(
                input_ids=ids, attention_mask=mask, position_ids=positions, logits_to_keep=keep
            ).logits[:, :-1]
            lp, ent = token_logprobs(logits, ids[:, width - keep + 1 :], entropy=entropy)
        pad = width - lp.shape[1]
        lp = torch.nn.functional.pad(lp, (pad, 0))
        return lp, (torch.nn.functional.pad(ent, (pad, 0)) if ent is not None else None)

    def batches(self, samples: Sequence[Sample]) -> Iterator[TokenBatch]:
        """Micro-batches of ``samples`` (sorted by length to waste less padding).

        Samples of one ``group`` stay in one micro-batch (a group larger than
        ``micro_batch_size`` makes a micro-batch of its own).
        """
        for chunk in self._micro_batches(samples):
            yield collate(chunk, self.pad_id, self.device)

    def _micro_batches(self, samples: Sequence[Sample]) -> Iterator[list[Sample]]:
        units = sorted(sample_units(samples), key=lambda u: max(len(samples[i]) for i in u))
        for chunk in _fill(units, self.optim.micro_batch_size):
            yield [samples[i] for i in chunk]

    def fill_old_logprobs(self, samples: Sequence[Sample]) -> None:
        """Compute ``old_logprobs`` with the current model where a sample has none."""
        missing = [s for s in samples if s.old_logprobs is None]
        with torch.no_grad():
            for start in range(0, len(missing), self.optim.micro_batch_size):
                chunk = missing[start : start + self.optim.micro_batch_size]
                batch = collate(chunk, self.pad_id, self.device)
                _keep_old_logprobs(chunk, batch, self.logprobs(batch)[0])

    # -- the update loop ------------------------------------------------------------

    def update(
        self, samples: Sequence[Sample], objective: Objective, rng: np.random.Generator
    ) -> dict[str, float]:
        """Epochs x mini-batches of optimizer steps on ``samples``; mean statistics.

        Each optimizer step accumulates the gradients of its micro-batches,
        each loss divided by the mini-batch's action-token count (so the step
        follows the mini-batch's token mean), clips the gradient norm and steps
        the optimizer and the schedule. Across data-parallel ranks the
        mini-batches are cut from all ranks' whole groups in rank order, each
        rank computes its part and the gradients are summed before clipping.

        Samples without ``old_logprobs`` (stale samples' π_prox, see
        :func:`.batching.mark_stale`) get them from the weights before the
        update: those of the first optimizer step from that step's own forward
        pass, the others from a forward pass before it (with one step per
        update, as verl's ``on_policy`` case, no pass is done twice). The
        reference model's log-probs are computed once per sample and kept on
        it (``Sample.ref_logprobs``), so epochs after the first skip that pass.
        """
        units = sample_units(samples)
        offset, sizes = self.ranks.concat([len(u) for u in units])
        size = self.optim.mini_batch_size or sum(sizes)
        totals: dict[str, float] = {}
        steps = 0
        self.model.train()
        try:
            for epoch in range(self.optim.epochs):
                minis = list(_mini_batches(units, offset, sizes, size, rng))
                if epoch == 0:  # π_old of the first step's samples: its own forward pass (see _step)
                    first = set(minis[0]) if minis else set()
                    self.fill_old_logprobs([s for i, s in enumerate(samples) if i not in first])
                for mine in minis:
                    mini = [samples[i] for i in mine]
                    for key, value in self._step(mini, objective).items():
                        totals[key] = totals.get(key, 0.0) + value
                    steps += 1
        finally:
            self.model.eval()
        return {key: value / max(steps, 1) for key, value in totals.items()}

    def _step(self, mini: Sequence[Sample], objective: Objective) -> dict[str, float]:
        num_tokens = self.ranks.sum(float(sum(s.num_action_tokens for s in mini)))
        num_samples = int(self.ranks.sum(float(len(mini))))
        stats: dict[str, float] = {}
        self.optimizer.zero_grad(set_to_none=True)
        for chunk in self._micro_batches(mini):
            batch = collate(chunk, self.pad_id, self.device)
            ref = self._reference_logprobs(chunk, batch) if objective.needs_reference else None
            logprobs, entropy = self.logprobs(batch, entropy=objective.needs_entropy)
            if any(s.old_logprobs is None for s in chunk):  # the first step: weights not yet moved
                _keep_old_logprobs(chunk, batch, logprobs.detach())
            loss, micro = objective(batch, logprobs, entropy, ref, num_tokens, num_samples)
            micro["loss"] = loss.item()
            self._require_finite("the loss", micro["loss"])
            loss.backward()
            for key, value in micro.items():
                stats[key] = stats.get(key, 0.0) + value
        stats = self.ranks.sum_stats(stats)
        params = [p for group in self.optimizer.param_groups for p in group["params"]]
        self.ranks.reduce_grads(params)
        stats["grad_norm"] = float(torch.nn.utils.clip_grad_norm_(params, self.optim.grad_clip))
        stats["lr"] = self.scheduler.get_last_lr()[0]
        self._require_finite("the gradient norm", stats["grad_norm"])
        self.optimizer.step()
        self.scheduler.step()  # a finite gradient clipped to grad_clip keeps every weight finite
        return stats

    def _reference_logprobs(self, samples: Sequence[Sample], batch: TokenBatch) -> torch.Tensor:
        """The reference's log-probs of ``batch``, computed once per sample and kept on it."""
        if batch.ref_logprobs is not None:
            return batch.ref_logprobs
        ref = self.logprobs(batch, reference=True)[0]
        width = ref.shape[1]
        for i, s in enumerate(samples):
            s.ref_logprobs = ref[i, width - len(s) :].tolist()
        return ref

    def _require_finite(self, what: str, value: float) -> None:
        """Stop training, before the weights change, once ``value`` is inf or NaN."""
        if not math.isfinite(value):
            raise TrainingDivergedError(
                f"training diverged: {what} is {value}; check that the env's rewards are finite, "
                f"or start a new run with a lower optim.lr (now {self.optim.lr:g})"
            )

    # -- state ------------------------------------------------------------------------

    def save(self, path: str, *, merged: bool = False) -> None:
        """Weights (or LoRA adapters) and tokenizer, loadable with from_pretrained.

        With ``merged``, LoRA adapters are folded into a fresh copy of the base
        weights (peft's ``merge_and_unload``) and the whole model is saved: a
        plain model folder that another run starts from (behaviour cloning with
        LoRA, then RL with new adapters). The learner's own model is unchanged.
        """
        if merged and self.lora:
            peft = require("peft", extra="train")
            with tempfile.TemporaryDirectory() as adapters:
                self.model.save_pretrained(adapters)
                base, _ = load_model(self.settings.name_or_path)
                peft.PeftModel.from_pretrained(base, adapters).merge_and_unload().save_pretrained(path)
        else:
            self.model.save_pretrained(path)
        self.tokenizer.save_pretrained(path)

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
