"""Behaviour cloning from expert demonstrations: the warm start before RL.

The env's expert plays some training tasks; each of its steps becomes a sample
whose prompt is exactly what the policy will see during RL (the same
:func:`~agentgym.prompting.render_messages` window) and whose response is the
expert's action written as the model should write it
(:func:`~agentgym.prompting.format_action`), followed by the end-of-turn token.
The policy then minimises the token mean of -log π(response | prompt) with the
shared update loop of :class:`~agentgym.trainers.learner.Learner`.

Example:
    >>> trajs = expert_trajectories("guess", episodes=2)
    >>> [t.outcome for t in trajs]
    ['won', 'won']
    >>> any("guess" in text for text in corpus(trajs))
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from agentgym.policies import ExpertPolicy
from agentgym.prompting import (
    HistoryItem,
    PromptConfig,
    apply_chat_template,
    format_action,
    render_messages,
)
from agentgym.records import Trajectory
from agentgym.registry import resolve
from agentgym.rollout import EnvFactory, RolloutConfig, RolloutEngine, group_episodes
from agentgym.trainers.batching import Sample


def expert_trajectories(
    env: str,
    episodes: int,
    *,
    split: str = "train",
    seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
    tasks: Sequence[int] | None = None,
    seat: dict[str, Any] | None = None,
) -> list[Trajectory]:
    """``episodes`` expert episodes of ``split`` (tasks 0, 1, … unless ``tasks`` is given).

    In a multi-agent game, ``seat`` gives :func:`agentgym.seat`'s arguments; its ``expert``
    (a bot name) plays the learner's seat: behaviour cloning from the rule bots.
    """
    config = RolloutConfig(num_envs=min(episodes, 16), progress=False)
    task_ids = list(tasks) if tasks is not None else list(range(episodes))
    factory = EnvFactory(resolve(env).id, dict(env_kwargs or {}), seat=seat)
    with RolloutEngine(factory, ExpertPolicy(), config) as engine:
        return engine.run(group_episodes(task_ids[:episodes], split=split, seed=seed)).trajectories


def _turns(traj: Trajectory, prompt: PromptConfig) -> list[tuple[list[Any], str]]:
    """(chat messages, reply) of every step, as the policy would see and write them."""
    history: list[HistoryItem] = []
    turns = []
    for step in traj.steps:
        messages = render_messages(traj.task, history, step.observation, step.admissible_actions, prompt)
        reply = format_action(step.action, prompt.action_format)
        turns.append((messages, reply))
        history.append(HistoryItem(step.observation, reply))
    return turns


def corpus(trajectories: Sequence[Trajectory], prompt: PromptConfig | None = None) -> list[str]:
    """Every text the policy reads or writes in ``trajectories``: a tokenizer's training corpus."""
    prompt = prompt or PromptConfig()
    texts = []
    for traj in trajectories:
        for messages, reply in _turns(traj, prompt):
            texts += [m.content for m in messages]
            texts.append(reply)
    return texts


def demonstration_samples(
    trajectories: Sequence[Trajectory], tokenizer: Any, prompt: PromptConfig
) -> list[Sample]:
    """One sample per expert step: the rendered prompt, then the formatted action and EOS."""
    samples = []
    for traj in trajectories:
        for messages, reply in _turns(traj, prompt):
            prompt_ids = apply_chat_template(tokenizer, messages)
            action_ids = [
                *tokenizer(reply, add_special_tokens=False)["input_ids"],
                tokenizer.eos_token_id,
            ]
            n, m = len(prompt_ids), len(action_ids)
            samples.append(
                Sample(
                    [*prompt_ids, *action_ids],
                    [0.0] * n + [1.0] * m,
                    [0.0] * (n + m),
                    [0.0] * (n + m),
                )
            )
    return samples


def every_token(samples: Sequence[Sample]) -> list[Sample]:
    """The same sequences with every token after the first trained (prompts included): plain
    language modelling of the episodes' text.

    Example:
        >>> every_token([Sample([5, 6, 7], [0.0, 0.0, 1.0], [0.0] * 3, [0.0] * 3)])[0].action_mask
        [0.0, 1.0, 1.0]
    """
    out = []
    for s in samples:
        n = len(s)
        out.append(Sample(s.input_ids, [0.0] + [1.0] * (n - 1), [0.0] * n, [0.0] * n))
    return out


def behaviour_clone(learner: Any, samples: Sequence[Sample], epochs: int, seed: int = 0) -> list[float]:
    """Train ``learner`` on ``samples`` for ``epochs`` passes; the mean NLL of each pass.

    Each pass is one :meth:`Learner.update` (its ``optim.mini_batch_size``
    samples per step) in a fresh seeded order.
    """
    from agentgym.trainers.learner import LikelihoodObjective

    losses = []
    for epoch in range(epochs):
        stats = learner.update(samples, LikelihoodObjective(), np.random.default_rng([seed, epoch]))
        losses.append(stats["nll"])
    return losses
