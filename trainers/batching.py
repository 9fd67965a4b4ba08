"""From trajectories to token tensors, in two modes.

- **Per step** (:func:`step_samples`, GiGPO's setting): every env step is one
  sample, its recorded prompt token ids followed by its recorded action token
  ids; only the action tokens are trained.
- **Per episode** (:func:`episode_samples`): the whole chat of an episode as one
  sequence. The environment's text (system prompt, observations, the chat
  template's glue) is tokenised here and masked out; the agent's replies are
  the recorded token ids, spliced in verbatim.

Generated text is never re-tokenised: the tokens trained are the tokens sampled.
Each sample keeps the policy version that sampled it (its trajectory's
``policy_version``); :func:`mark_stale` turns the recorded log-probs of samples
from older weights into behaviour log-probs for the decoupled loss.
Every array of a :class:`Sample` is aligned with ``input_ids``; position ``i``
of ``action_mask``, ``old_logprobs`` and ``advantages`` describes token ``i``,
which the model predicts from the positions before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from agentgym.exceptions import ConfigError
from agentgym.prompting import HistoryItem, PromptConfig, render_messages
from agentgym.records import Message, Step, Trajectory


@dataclass(frozen=True)
class StepRows:
    """One row per step of some trajectories, trajectory after trajectory, in time order.

    ``traj_ids`` number the trajectories 0..n-1 in the order given.

    Example:
        >>> from agentgym.records import Step, Trajectory
        >>> step = Step(observation="o", state_key="s", response="r", action="a", reward=1.0)
        >>> t = Trajectory(env_id="e", data_version="1", task_id=0, split="train", seed=0,
        ...                group_id="g", policy="p", steps=[step, step])
        >>> rows = StepRows.from_trajectories([t, t])
        >>> rows.traj_ids, rows.rewards.tolist()
        ([0, 0, 1, 1], [1.0, 1.0, 1.0, 1.0])
    """

    group_ids: list[str]
    traj_ids: list[int]
    rewards: np.ndarray
    state_keys: list[str]
    invalid: np.ndarray
    truncated: np.ndarray
    """Per row: its trajectory was cut by the time limit."""

    @classmethod
    def from_trajectories(cls, trajectories: Sequence[Trajectory]) -> StepRows:
        steps = [(i, t, s) for i, t in enumerate(trajectories) for s in t.steps]
        return cls(
            group_ids=[_group_of(t) for _, t, _ in steps],
            traj_ids=[i for i, _, _ in steps],
            rewards=np.array([s.reward for _, _, s in steps], dtype=np.float64),
            state_keys=[s.state_key for _, _, s in steps],
            invalid=np.array([s.invalid_action for _, _, s in steps], dtype=bool),
            truncated=np.array([t.outcome == "truncated" for _, t, _ in steps], dtype=bool),
        )

    def __len__(self) -> int:
        return len(self.traj_ids)


def _group_of(traj: Trajectory) -> str:
    """The trajectory's group, and in multi-agent games its role: groups never mix roles.

    The role is ``info["role"]`` (Werewolf) or else ``info["seat"]`` of its first step, so a
    group's baselines and anchor-state groups compare a role only with itself.

    Example:
        >>> from agentgym.records import Step, Trajectory
        >>> step = Step(observation="o", state_key="s", response="r", action="a", reward=0.0,
        ...             info={"seat": "player_1", "role": "seer"})
        >>> _group_of(Trajectory(env_id="e", data_version="1", task_id=3, split="train", seed=9,
        ...                      policy="p", steps=[step]))
        'train:3:9|seer'
    """
    group = traj.group_id or f"{traj.split}:{traj.task_id}:{traj.seed}"
    info = traj.steps[0].info if traj.steps else {}
    role = info.get("role", info.get("seat"))
    return group if role is None else f"{group}|{role}"


@dataclass
class Sample:
    """One training sequence; every list has one entry per token.

    ``old_logprobs`` is None when the recorded log-probs do not apply to this
    exact context (see :func:`episode_samples`); the learner then recomputes them.
    ``version`` is the number of updates the sampling weights had had;
    ``behaviour_logprobs`` are the sampling policy's log-probs when it is older
    than the proximal policy of ``old_logprobs`` (see :func:`mark_stale`).
    ``ref_logprobs`` are the reference model's, kept by the learner after its
    first pass over the sample (the reference never changes, so later epochs
    reuse them). Samples sharing a ``group`` (a preference pair, a search
    group) are kept in one micro-batch and one mini-batch.
    """

    input_ids: list[int]
    action_mask: list[float]
    old_logprobs: list[float] | None
    advantages: list[float]
    group: str | None = None
    version: int | None = None
    behaviour_logprobs: list[float] | None = None
    ref_logprobs: list[float] | None = None

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def num_action_tokens(self) -> int:
        return int(sum(self.action_mask))


def mark_stale(samples: Sequence[Sample], version: int) -> int:
    """Samples of weights older than ``version``: recorded log-probs become behaviour log-probs.

    Their ``old_logprobs`` (the proximal policy's) are left for the learner to
    recompute with the current weights; samples of ``version`` itself (or of no
    known version) are left alone. Returns how many samples were stale.

    Example:
        >>> s = [Sample([1, 2], [0.0, 1.0], [0.0, -0.5], [0.0, 1.0], version=v) for v in (3, 4)]
        >>> mark_stale(s, 4), s[0].behaviour_logprobs, s[0].old_logprobs, s[1].behaviour_logprobs
        (1, [0.0, -0.5], None, None)
    """
    stale = [s for s in samples if s.version is not None and s.version < version]
    for s in stale:
        s.behaviour_logprobs, s.old_logprobs = s.old_logprobs, None
    return len(stale)


def _recorded(step: Step) -> tuple[list[int], list[int], list[float]]:
    if step.prompt_token_ids is None or step.action_token_ids is None or step.action_logprobs is None:
        raise ConfigError(
            "a step has no recorded token ids or log-probs; train on trajectories of a model "
            "policy (TransformersPolicy or VLLMPolicy), not of a scripted one"
        )
    return step.prompt_token_ids, step.action_token_ids, step.action_logprobs


def step_samples(trajectories: Sequence[Trajectory], advantages: Sequence[float]) -> list[Sample]:
    """One sample per step: recorded prompt + recorded action, the action's tokens trained.

    Args:
        trajectories: trajectories of a model policy.
        advantages: one value per step row (see :class:`StepRows`), broadcast
            to that step's action tokens.
    """
    samples = []
    rows = [s for t in trajectories for s in t.steps]
    if len(rows) != len(advantages):
        raise ValueError(f"{len(advantages)} advantages for {len(rows)} steps")
    versions = [t.policy_version for t in trajectories for _ in t.steps]
    for step, adv, version in zip(rows, advantages, versions, strict=True):
        prompt, action, logprobs = _recorded(step)
        n, m = len(prompt), len(action)
        samples.append(
            Sample(
                input_ids=[*prompt, *action],
                action_mask=[0.0] * n + [1.0] * m,
                old_logprobs=[0.0] * n + list(logprobs),
                advantages=[0.0] * n + [float(adv)] * m,
                version=version,
            )
        )
    return samples


_SENTINEL = "<<agentgym-action-{}>>"


def episode_samples(
    trajectories: Sequence[Trajectory],
    advantages: Sequence[float],
    tokenizer: Any,
    prompt: PromptConfig,
) -> list[Sample]:
    """One sample per trajectory: its whole chat, with only the agent's tokens trained.

    The chat is the one the model saw at the last step with the full history
    (``prompt.history`` is ignored): system prompt, then each observation and
    reply in turn. Replies are the recorded action token ids; everything else is
    tokenised here and masked out. The recorded log-probs are kept when every
    step's recorded prompt is exactly the sequence before its reply (chats that
    only grow, e.g. ``show_admissible=False``); otherwise ``old_logprobs`` is None.
    """
    config = prompt.model_copy(update={"history": None})
    samples, row = [], 0
    for traj in trajectories:
        steps = traj.steps
        history = [HistoryItem(s.observation, _SENTINEL.format(i)) for i, s in enumerate(steps[:-1])]
        last = steps[-1]
        messages = render_messages(traj.task, history, last.observation, last.admissible_actions, config)
        messages.append(Message(role="assistant", content=_SENTINEL.format(len(steps) - 1)))
        chat = [m.model_dump(exclude_none=True) for m in messages]
        text = tokenizer.apply_chat_template(chat, tokenize=False)
        ids: list[int] = []
        mask: list[float] = []
        old: list[float] = []
        adv: list[float] = []
        consistent = True
        eos = tokenizer.eos_token
        for i, step in enumerate(steps):
            before, marker, text = text.partition(_SENTINEL.format(i))
            if not marker:
                raise ConfigError("the chat template dropped an assistant turn; use samples: step")
            if (
                i
                and eos
                and steps[i - 1].action_token_ids
                and steps[i - 1].action_token_ids[-1] == tokenizer.eos_token_id
            ):
                before = before.removeprefix(eos)  # the reply already ends with EOS
            env_ids = tokenizer(before, add_special_tokens=False)["input_ids"] if before else []
            recorded_prompt, action, logprobs = _recorded(step)
            ids += env_ids
            consistent = consistent and recorded_prompt == ids
            mask += [0.0] * len(env_ids) + [1.0] * len(action)
            old += [0.0] * len(env_ids) + list(logprobs)
            adv += [0.0] * len(env_ids) + [float(advantages[row + i])] * len(action)
            ids += action
        row += len(steps)
        samples.append(Sample(ids, mask, old if consistent else None, adv, version=traj.policy_version))
    if row != len(advantages):
        raise ValueError(f"{len(advantages)} advantages for {row} steps")
    return samples


@dataclass
class TokenBatch:
    """Left-padded ``[B, T]`` tensors of some samples (see :func:`collate`)."""

    input_ids: Any
    attention_mask: Any
    action_mask: Any
    old_logprobs: Any
    advantages: Any
    behaviour_logprobs: Any = None
    """None when no sample has behaviour log-probs of its own (all from the proximal policy)."""
    ref_logprobs: Any = None
    """None unless every sample has reference log-probs already."""


def collate(samples: Sequence[Sample], pad_id: int, device: Any = "cpu") -> TokenBatch:
    """Stack samples into left-padded tensors; padding is masked everywhere.

    Left padding keeps every per-step sample's action at the end of the batch,
    where the learner computes logits.

    Example:
        >>> s = Sample([5, 6, 7], [0.0, 1.0, 1.0], [0.0, -0.5, -0.7], [0.0, 2.0, 2.0])
        >>> b = collate([s, Sample([5, 6], [0.0, 1.0], [0.0, -0.1], [0.0, 1.0])], pad_id=0)
        >>> b.input_ids.tolist(), b.action_mask.tolist()
        ([[5, 6, 7], [0, 5, 6]], [[0.0, 1.0, 1.0], [0.0, 0.0, 1.0]])
    """
    import torch

    width = max(len(s) for s in samples)

    def pad(rows: list[list[Any]], value: Any, dtype: Any) -> Any:
        return torch.tensor([[value] * (width - len(r)) + r for r in rows], dtype=dtype, device=device)

    return TokenBatch(
        input_ids=pad([s.input_ids for s in samples], pad_id, torch.long),
        attention_mask=pad([[1] * len(s) for s in samples], 0, torch.long),
        action_mask=pad([s.action_mask for s in samples], 0.0, torch.float32),
        old_logprobs=pad([s.old_logprobs or [0.0] * len(s) for s in samples], 0.0, torch.float32),
        advantages=pad([s.advantages for s in samples], 0.0, torch.float32),
        behaviour_logprobs=pad(
            [s.behaviour_logprobs or s.old_logprobs or [0.0] * len(s) for s in samples], 0.0, torch.float32
        )
        if any(s.behaviour_logprobs is not None for s in samples)
        else None,
        ref_logprobs=pad([s.ref_logprobs or [] for s in samples], 0.0, torch.float32)
        if all(s.ref_logprobs is not None for s in samples)
        else None,
    )
