"""The learner on a real tiny model: log-probs, reference, accumulation, LoRA."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from agentgym.exceptions import ConfigError
from agentgym.policies.base import SamplingParams
from agentgym.policies.hf import TransformersPolicy
from agentgym.prompting import PromptConfig
from agentgym.rollout import RolloutConfig, RolloutEngine, group_episodes
from agentgym.trainers import sft
from agentgym.trainers.batching import Sample, collate, mark_stale, step_samples
from agentgym.trainers.config import ModelSettings, OptimSettings, PolicyLossSettings
from agentgym.trainers.learner import ClippedObjective, Learner, _keep_old_logprobs


@pytest.fixture(scope="module")
def rollout(tiny_model_dir: Path, guess_kwargs: dict[str, int]):
    """Trajectories sampled from the tiny model, with their recorded tokens and log-probs."""
    policy = TransformersPolicy(str(tiny_model_dir), seed=3)
    config = RolloutConfig(
        num_envs=4,
        progress=False,
        prompt=PromptConfig(history=2),
        sampling=SamplingParams(max_new_tokens=6),
    )
    with RolloutEngine("guess", policy, config, env_kwargs=guess_kwargs) as engine:
        return engine.run(group_episodes([0, 1], group_size=2, seed=5)).trajectories


def _learner(path: Path, **optim: int) -> Learner:
    settings = OptimSettings(lr=1e-2, **optim)
    return Learner(ModelSettings(name_or_path=str(path), device="cpu"), settings, seed=0)


def _advantages(trajs) -> list[float]:
    n = sum(len(t.steps) for t in trajs)
    return list(np.linspace(-1.0, 1.0, n))


def test_training_logprobs_match_the_recorded_ones(tiny_model_dir, rollout) -> None:
    # Left padding, position ids and logits_to_keep reproduce the sampler's log-probs.
    learner = _learner(tiny_model_dir)
    samples = step_samples(rollout, _advantages(rollout))
    batch = collate(samples, learner.pad_id)
    with torch.no_grad():
        logprobs, _ = learner.logprobs(batch)
    mask = batch.action_mask.bool()
    assert torch.allclose(logprobs[mask], batch.old_logprobs[mask], atol=1e-4)


def test_update_moves_the_policy_but_not_the_reference(tiny_model_dir, rollout) -> None:
    learner = _learner(tiny_model_dir)
    samples = step_samples(rollout, _advantages(rollout))
    batch = collate(samples, learner.pad_id)
    before = [p.detach().clone() for p in learner.model.parameters()]
    ref_before, _ = learner.logprobs(batch, reference=True)
    stats = learner.update(samples, ClippedObjective(PolicyLossSettings()), np.random.default_rng(0))
    assert {"loss", "pg_loss", "kl", "entropy", "clip_frac", "grad_norm", "lr"} <= set(stats)
    assert any(not torch.equal(a, b) for a, b in zip(before, learner.model.parameters(), strict=True))
    ref_after, _ = learner.logprobs(batch, reference=True)
    assert torch.equal(ref_before, ref_after)
    with torch.no_grad():
        now, _ = learner.logprobs(batch)
    assert not torch.allclose(now, ref_after)


def test_the_reference_runs_once_per_sample_across_epochs(tiny_model_dir, rollout) -> None:
    # The reference never changes, so its log-probs are computed in the first epoch and
    # kept on the samples; later epochs (other micro-batches, other widths) reuse them.
    learner = _learner(tiny_model_dir, micro_batch_size=3, epochs=3, mini_batch_size=4)
    samples = step_samples(rollout, _advantages(rollout))
    rows: list[int] = []
    learner.reference.register_forward_hook(
        lambda _m, args, kw, _o: rows.append(len(kw["input_ids"])), with_kwargs=True
    )
    learner.update(samples, ClippedObjective(PolicyLossSettings()), np.random.default_rng(0))
    assert sum(rows) == len(samples)
    for sample in samples:
        fresh = learner.logprobs(collate([sample], learner.pad_id), reference=True)[0][0]
        action = torch.tensor(sample.action_mask).bool()
        assert torch.allclose(torch.tensor(sample.ref_logprobs)[action], fresh[action], atol=1e-6)


def test_micro_batches_accumulate_to_the_same_gradient(tiny_model_dir, rollout) -> None:
    # One optimizer step over all samples, in micro-batches of 1 or of all: the same
    # gradient (each micro-batch's loss is divided by the mini-batch's token count).
    samples = step_samples(rollout, _advantages(rollout))
    objective = ClippedObjective(PolicyLossSettings(kl_coef=0.0, entropy_coef=0.0))
    grads = []
    for micro in (1, len(samples)):
        learner = _learner(tiny_model_dir, micro_batch_size=micro)
        stats = learner.update(samples, objective, np.random.default_rng(0))
        grads.append([p.grad for p in learner.model.parameters()])
        assert stats["grad_norm"] > 0
    for a, b in zip(*grads, strict=True):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-7)


def test_stale_samples_take_pi_prox_from_the_steps_own_forward_pass(tiny_model_dir, rollout) -> None:
    # Samples of older weights (asynchronous rollouts) need π_prox, the weights before the
    # update. With one optimizer step per update that is the step's own forward pass: one
    # pass per micro-batch, not a second pass over every sample, and the same gradient.
    objective = ClippedObjective(PolicyLossSettings(kl_coef=0.0))

    def stale_samples():
        samples = step_samples(rollout, _advantages(rollout))
        for sample in samples:
            sample.version = 0
        assert mark_stale(samples, 1) == len(samples)
        return samples

    grads, passes = [], []
    for separate_pass in (True, False):
        learner = _learner(tiny_model_dir, micro_batch_size=4)
        samples = stale_samples()
        if separate_pass:
            learner.fill_old_logprobs(samples)  # π_prox by a pass of its own before the update
        calls: list[int] = []
        learner.model.register_forward_hook(lambda *_, calls=calls: calls.append(1))
        stats = learner.update(samples, objective, np.random.default_rng(0))
        assert 0.5 < stats["behaviour_weight"] < 2.0
        grads.append([p.grad for p in learner.model.parameters()])
        passes.append(len(calls))
    assert passes[1] == passes[0] == len(list(learner.batches(samples)))
    for a, b in zip(*grads, strict=True):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-7)


def test_a_batch_takes_pi_prox_in_place_as_collating_again_would() -> None:
    # A sample without old log-probs takes its row of the step's forward pass; the step's
    # batch takes it in place (old, and behaviour where the sample has none), bit-equal to
    # collating the samples a second time.
    def samples() -> list[Sample]:
        return [
            Sample([1, 2, 3, 4], [0.0, 0.0, 1.0, 1.0], None, [0.0, 0.0, 1.0, 1.0]),  # first step
            Sample([5, 6], [0.0, 1.0], None, [0.0, -1.0], behaviour_logprobs=[0.0, -0.25]),  # stale
            Sample([7, 8, 9], [0.0, 1.0, 1.0], [0.0, -0.5, -0.75], [0.0, 0.5, 0.5]),  # recorded
        ]

    logprobs = -torch.rand(3, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float32)
    chunk = samples()
    batch = collate(chunk, pad_id=0)
    _keep_old_logprobs(chunk, batch, logprobs)
    again = collate(chunk, pad_id=0)
    assert chunk[0].old_logprobs == logprobs[0].tolist() and chunk[1].old_logprobs == logprobs[1, 2:].tolist()
    assert chunk[2].old_logprobs == [0.0, -0.5, -0.75]
    assert torch.equal(batch.old_logprobs, again.old_logprobs)
    assert torch.equal(batch.behaviour_logprobs, again.behaviour_logprobs)
    assert batch.behaviour_logprobs[0].tolist() == logprobs[0].tolist()  # π_behav is π_prox where not stale


def test_lora_trains_adapters_and_keeps_the_base_as_reference(tiny_model_dir, rollout) -> None:
    settings = ModelSettings(name_or_path=str(tiny_model_dir), device="cpu", lora_rank=4)
    learner = Learner(settings, OptimSettings(lr=1e-2), seed=0)
    assert learner.reference is None  # the adapters switched off are the reference
    trainable = {n for n, p in learner.model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    samples = step_samples(rollout, _advantages(rollout))
    batch = collate(samples, learner.pad_id)
    frozen = {n: p.detach().clone() for n, p in learner.model.named_parameters() if not p.requires_grad}
    ref_before, _ = learner.logprobs(batch, reference=True)
    learner.update(samples, ClippedObjective(PolicyLossSettings()), np.random.default_rng(0))
    for n, p in learner.model.named_parameters():
        if n in frozen:
            assert torch.equal(p, frozen[n]), n
    ref_after, _ = learner.logprobs(batch, reference=True)
    assert torch.equal(ref_before, ref_after)
    with torch.no_grad():
        now, _ = learner.logprobs(batch)
    assert not torch.allclose(now, ref_after)


def test_reference_logprobs_without_a_reference_model_raise(tiny_model_dir, rollout) -> None:
    settings = ModelSettings(name_or_path=str(tiny_model_dir), device="cpu")
    learner = Learner(settings, OptimSettings(), reference=False)
    batch = collate(step_samples(rollout, _advantages(rollout)), learner.pad_id)
    with pytest.raises(ConfigError, match=r"^reference log-probs were asked for but no reference model"):
        learner.logprobs(batch, reference=True)


def test_samples_of_one_group_share_a_micro_batch_and_a_mini_batch(tiny_model_dir, rollout) -> None:
    learner = _learner(tiny_model_dir, micro_batch_size=3, mini_batch_size=4)
    samples = step_samples(rollout, _advantages(rollout))[:8]
    for i, sample in enumerate(samples):  # pairs far apart in length order: 0 with 7, 1 with 6, ...
        sample.group = f"pair{min(i, 7 - i)}"
    by_advantage = {round(s.advantages[-1], 6): s.group for s in samples}  # each sample's is distinct
    batches = list(learner.batches(samples))
    micro = [[by_advantage[round(a, 6)] for a in b.advantages[:, -1].tolist()] for b in batches]
    assert sorted(g for batch in micro for g in batch) == sorted(s.group for s in samples)
    for batch in micro:
        assert all(batch.count(g) == 2 for g in batch)  # both of a pair, never one

    seen: list[list[str]] = []
    learner._step = lambda mini, objective: seen.append([s.group for s in mini]) or {}  # record mini-batches
    learner.update(samples, ClippedObjective(PolicyLossSettings()), np.random.default_rng(0))
    assert len(seen) == 2 and all(all(mini.count(g) == 2 for g in mini) for mini in seen)


def test_lora_behaviour_cloning_saves_a_merged_plain_model(tiny_model_dir, guess_kwargs, tmp_path) -> None:
    # Behaviour cloning through LoRA adapters, saved merged: a plain model folder (no
    # adapters) whose log-probs are those of the base with the trained adapters.
    settings = ModelSettings(name_or_path=str(tiny_model_dir), device="cpu", lora_rank=4)
    optim = OptimSettings(lr=5e-2, mini_batch_size=8, micro_batch_size=8)
    learner = Learner(settings, optim, reference=False)
    experts = sft.expert_trajectories("guess", 4, env_kwargs=guess_kwargs)
    samples = sft.demonstration_samples(experts, learner.tokenizer, PromptConfig(history=2))
    nll = sft.behaviour_clone(learner, samples, epochs=3)
    assert nll[-1] < nll[0]
    learner.save(str(tmp_path / "merged"), merged=True)
    assert not (tmp_path / "merged" / "adapter_config.json").exists()
    merged = Learner(ModelSettings(name_or_path=str(tmp_path / "merged"), device="cpu"), OptimSettings())
    batch = collate(samples, learner.pad_id)
    with torch.no_grad():
        cloned, _ = learner.logprobs(batch)
        plain, _ = merged.logprobs(batch)
        base, _ = learner.logprobs(batch, reference=True)
    mask = batch.action_mask.bool()
    assert torch.allclose(plain[mask], cloned[mask], atol=1e-5)
    assert not torch.allclose(plain[mask], base[mask], atol=1e-2)


def test_the_update_loss_and_gradient_equal_a_direct_full_logits_computation(tiny_model_dir, rollout) -> None:
    # The learner's shortcuts (logits only from the first action token on, one
    # log-softmax for log-probs and entropy) leave the loss and the gradient as a
    # plain computation over every position's logits makes them.
    learner = _learner(tiny_model_dir)
    objective = ClippedObjective(PolicyLossSettings(kl_coef=0.1, entropy_coef=0.01))
    batch = collate(step_samples(rollout, _advantages(rollout)), learner.pad_id)
    tokens = float(batch.action_mask.sum())
    ref, _ = learner.logprobs(batch, reference=True)
    logprobs, entropy = learner.logprobs(batch, entropy=True)
    ours, _ = objective(batch, logprobs, entropy, ref, tokens, len(batch.input_ids))
    ours.backward()
    grads = [p.grad.clone() for p in learner.model.parameters()]
    learner.model.zero_grad()

    ids, mask = batch.input_ids, batch.attention_mask
    logits = learner.model(
        input_ids=ids, attention_mask=mask, position_ids=(mask.cumsum(-1) - 1).clamp(min=0)
    ).logits
    logp = -torch.nn.functional.cross_entropy(logits[:, :-1].transpose(1, 2), ids[:, 1:], reduction="none")
    ent = torch.distributions.Categorical(logits=logits[:, :-1]).entropy()
    pad = torch.nn.functional.pad
    direct, _ = objective(batch, pad(logp, (1, 0)), pad(ent, (1, 0)), ref, tokens, len(ids))
    direct.backward()
    assert torch.allclose(ours, direct, atol=1e-6)
    for ours_grad, p in zip(grads, learner.model.parameters(), strict=True):
        assert torch.allclose(ours_grad, p.grad, rtol=1e-4, atol=1e-7)
