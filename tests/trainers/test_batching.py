"""Trajectories to tensors: per-step samples and whole-episode sequences, never re-tokenised."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer

from agentgym.exceptions import ConfigError
from agentgym.prompting import (
    HistoryItem,
    PromptConfig,
    apply_chat_template,
    format_action,
    render_messages,
)
from agentgym.records import Trajectory
from agentgym.trainers.batching import StepRows, collate, episode_samples, mark_stale, step_samples
from agentgym.trainers.sft import expert_trajectories


def _as_model_trajectory(traj: Trajectory, tok, prompt: PromptConfig) -> Trajectory:
    """The expert's trajectory as a model that writes canonical tokens would have recorded it."""
    traj = traj.model_copy(deep=True)
    history: list[HistoryItem] = []
    for t, step in enumerate(traj.steps):
        messages = render_messages(traj.task, history, step.observation, step.admissible_actions, prompt)
        reply = format_action(step.action)
        step.response = reply
        step.prompt_token_ids = apply_chat_template(tok, messages)
        step.action_token_ids = [
            *tok(reply, add_special_tokens=False)["input_ids"],
            tok.eos_token_id,
        ]
        step.action_logprobs = [-0.01 * (t + 1) * (k + 1) for k in range(len(step.action_token_ids))]
        history.append(HistoryItem(step.observation, reply))
    return traj


@pytest.fixture(scope="module")
def tok(tiny_model_dir: Path):
    return AutoTokenizer.from_pretrained(tiny_model_dir)


@pytest.fixture(scope="module")
def experts(guess_kwargs: dict[str, int]) -> list[Trajectory]:
    return expert_trajectories("guess", 3, env_kwargs=guess_kwargs, tasks=[4, 5, 6])


def test_step_samples_are_recorded_prompt_then_recorded_action(tok, experts) -> None:
    trajs = [_as_model_trajectory(t, tok, PromptConfig(history=2)) for t in experts]
    rows = StepRows.from_trajectories(trajs)
    advantages = [float(i) for i in range(len(rows))]
    samples = step_samples(trajs, advantages)
    steps = [s for t in trajs for s in t.steps]
    assert len(samples) == len(steps) == len(rows)
    for i, (sample, step) in enumerate(zip(samples, steps, strict=True)):
        n = len(step.prompt_token_ids)
        assert sample.input_ids == step.prompt_token_ids + step.action_token_ids
        assert sample.action_mask == [0.0] * n + [1.0] * len(step.action_token_ids)
        assert sample.old_logprobs[n:] == step.action_logprobs
        assert set(sample.advantages[n:]) == {float(i)} and set(sample.advantages[:n]) == {0.0}


def test_episode_sequence_is_the_chat_with_only_agent_tokens_trained(tok, experts) -> None:
    prompt = PromptConfig(history=None, show_admissible=False)  # a chat that only grows
    trajs = [_as_model_trajectory(t, tok, prompt) for t in experts]
    advantages = list(range(sum(len(t.steps) for t in trajs)))
    samples = episode_samples(trajs, advantages, tok, prompt)
    row = 0
    for traj, sample in zip(trajs, samples, strict=True):
        last = traj.steps[-1]
        # The whole chat is the last prompt followed by the last reply, token for token.
        assert sample.input_ids == last.prompt_token_ids + last.action_token_ids
        trained = [i for i, m in zip(sample.input_ids, sample.action_mask, strict=True) if m]
        assert trained == [i for s in traj.steps for i in s.action_token_ids]
        # The recorded log-probs apply (each step's prompt is the sequence before its reply).
        assert [lp for lp, m in zip(sample.old_logprobs, sample.action_mask, strict=True) if m] == [
            lp for s in traj.steps for lp in s.action_logprobs
        ]
        assert [a for a, m in zip(sample.advantages, sample.action_mask, strict=True) if m] == [
            float(row + t) for t, s in enumerate(traj.steps) for _ in s.action_token_ids
        ]
        row += len(traj.steps)


def test_episode_logprobs_dropped_when_the_contexts_differ(tok, experts) -> None:
    # With admissible actions shown only for the current observation, the chat seen at
    # step t is not a prefix of the final chat: the recorded log-probs do not apply.
    prompt = PromptConfig(history=None)
    trajs = [_as_model_trajectory(t, tok, prompt) for t in experts]
    samples = episode_samples(trajs, [0.0] * sum(len(t.steps) for t in trajs), tok, prompt)
    multi = [s for s, t in zip(samples, trajs, strict=True) if len(t.steps) > 1]
    assert multi and all(s.old_logprobs is None for s in multi)
    trained = [i for i, m in zip(samples[0].input_ids, samples[0].action_mask, strict=True) if m]
    assert trained == [i for s in trajs[0].steps for i in s.action_token_ids]


def test_scripted_trajectories_cannot_be_trained_on(experts) -> None:
    with pytest.raises(ConfigError, match="no recorded token ids"):
        step_samples(experts, [0.0] * sum(len(t.steps) for t in experts))


def test_collate_left_pads_and_masks_padding(tok, experts) -> None:
    trajs = [_as_model_trajectory(t, tok, PromptConfig(history=2)) for t in experts]
    samples = step_samples(trajs, [1.0] * sum(len(t.steps) for t in trajs))
    batch = collate(samples, pad_id=tok.pad_token_id)
    width = max(len(s) for s in samples)
    assert batch.input_ids.shape == (len(samples), width)
    for b, s in enumerate(samples):
        pad = width - len(s)
        assert batch.attention_mask[b].tolist() == [0] * pad + [1] * len(s)
        assert batch.action_mask[b, :pad].sum() == 0
        assert torch.equal(batch.input_ids[b, pad:], torch.tensor(s.input_ids))


def test_samples_keep_their_version_and_stale_ones_their_behaviour_logprobs(tok, experts) -> None:
    trajs = [_as_model_trajectory(t, tok, PromptConfig(history=2)) for t in experts]
    trajs[0].policy_version, trajs[1].policy_version, trajs[2].policy_version = 3, 4, 4
    samples = step_samples(trajs, [1.0] * sum(len(t.steps) for t in trajs))
    versions = [t.policy_version for t in trajs for _ in t.steps]
    assert [s.version for s in samples] == versions
    recorded = [list(s.old_logprobs) for s in samples]
    assert collate(samples, pad_id=tok.pad_token_id).behaviour_logprobs is None  # nothing stale yet

    # Trained at version 4: the version-3 samples' log-probs are the behaviour policy's, and the
    # proximal log-probs are left for the learner to recompute.
    assert mark_stale(samples, 4) == len(trajs[0].steps)
    for s, old, version in zip(samples, recorded, versions, strict=True):
        assert (s.behaviour_logprobs, s.old_logprobs) == ((old, None) if version == 3 else (None, old))
    for s in samples:
        s.old_logprobs = s.old_logprobs or [0.0] * len(s)  # what the learner's recomputation fills
    batch = collate(samples, pad_id=tok.pad_token_id)
    for b, (s, old) in enumerate(zip(samples, recorded, strict=True)):
        assert batch.behaviour_logprobs[b, batch.input_ids.shape[1] - len(s) :].tolist() == pytest.approx(old)
