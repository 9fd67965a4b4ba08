"""One turn of an agent in an env, in pieces any driver can use.

A turn is: build the policy's query from the episode so far
(:func:`build_query`), generate the replies of many episodes in one batch
(:func:`generate`; a server policy answers one query at a time with
``generate_one``), read each reply's env action (:func:`parse_reply`), step the
env, and append the step to the episode (:func:`record_step`). The episode
driver (:class:`~agentgym.rollout.RolloutEngine`, in lock-step turns or
streaming) and the tree search (``agentgym.trainers.mcts``) all turn through
these functions, so a searched step is recorded exactly as a rolled-out one.

Example:
    >>> import agentgym
    >>> from agentgym.policies import ExpertPolicy, SamplingParams
    >>> from agentgym.prompting import PromptConfig
    >>> env, policy = agentgym.make("guess"), ExpertPolicy()
    >>> obs, info = env.reset(seed=0, options={"split": "test", "task_id": 0})
    >>> state = EpisodeState(new_trajectory("agentgym/Guess-v0", policy.name), obs, info)
    >>> while not state.trajectory.steps or not state.trajectory.steps[-1].terminated:
    ...     query = build_query(state, policy, PromptConfig())
    ...     query.info["expert_action"] = env.unwrapped.expert_action()
    ...     [gen] = generate(policy, [query], SamplingParams())
    ...     action = parse_reply(gen, "tags")
    ...     _ = record_step(state, gen, action, env.step(action[0]))
    >>> state.trajectory.outcome
    'won'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import agentgym
from agentgym.exceptions import AgentGymError
from agentgym.policies.base import Generation, Policy, Query, SamplingParams
from agentgym.prompting import ActionFormat, HistoryItem, PromptConfig, parse_action, render_messages
from agentgym.records import Step, Trajectory, source_revision, trusted

StepValue = tuple[str, float, bool, bool, dict[str, Any]]
"""What ``env.step`` returns: observation, reward, terminated, truncated, info."""


@dataclass
class EpisodeState:
    """An episode in progress: its record so far and the observation the agent now sees."""

    trajectory: Trajectory
    observation: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    history: list[HistoryItem] = field(default_factory=list)

    def branch(self) -> EpisodeState:
        """An independent copy, to continue the episode along another branch (search)."""
        traj = self.trajectory.model_copy(update={"steps": list(self.trajectory.steps)})
        return EpisodeState(traj, self.observation, dict(self.info), list(self.history))


def new_trajectory(env_id: str, policy: str, **fields: Any) -> Trajectory:
    """An empty trajectory of ``env_id`` played by ``policy``; ``fields`` fill the rest of the record."""
    record: dict[str, Any] = {
        "env_id": env_id,
        "data_version": "",
        "data_digest": "",
        "env_kwargs": {},
        "seat": None,
        "agentgym_version": agentgym.__version__,
        "source_revision": source_revision(),
        "task_id": 0,
        "split": "train",
        "seed": None,
        "group_id": None,
        "policy": policy,
        "sampling": {},
        "policy_version": None,
        "task": "",
        "steps": [],
        "return_": 0.0,
        "outcome": "lost",
        "failure": None,
        "failure_kind": None,
        "wall_time_s": 0.0,
    }
    return trusted(Trajectory, **{**record, **fields})


def build_query(
    state: EpisodeState,
    policy: Policy,
    prompt: PromptConfig,
    tools: list[dict[str, Any]] | None = None,
    seed: int | None = None,
) -> Query:
    """The policy's view of the episode's next turn (chat messages only for policies that read them).

    ``seed`` names the reply's own random stream (see :class:`~agentgym.policies.base.Query`).
    """
    messages = []
    if policy.wants_messages:
        messages = render_messages(
            state.trajectory.task,
            state.history,
            state.observation,
            state.info.get("admissible_actions"),
            prompt,
        )
    return Query(state.observation, state.info, messages, len(state.trajectory.steps), tools, seed)


def generate(policy: Policy, queries: Sequence[Query], sampling: SamplingParams) -> list[Generation]:
    """One batched generation: a reply per query, in order."""
    generations = policy.generate(list(queries), sampling)
    if len(generations) != len(queries):
        raise AgentGymError(
            f"{policy.name} returned {len(generations)} generations for {len(queries)} queries"
        )
    return generations


def parse_reply(gen: Generation, action_format: ActionFormat) -> tuple[str, bool]:
    """The env action of a generation and whether the reply parsed.

    A reply that does not parse is passed to the env as it is (stripped), so
    the env's own rules answer it and its step limit counts it.

    Example:
        >>> parse_reply(Generation("I will <action>go north</action>"), "tags")
        ('go north', True)
        >>> parse_reply(Generation("  hmm  "), "tags")
        ('hmm', False)
    """
    if gen.action is not None:
        return gen.action, True
    parsed = parse_action(gen.text, action_format, gen.tool_calls)
    return (parsed.action, True) if parsed.valid else (gen.text.strip(), False)


def record_step(state: EpisodeState, gen: Generation, action: tuple[str, bool], value: StepValue) -> bool:
    """Append the step (the state before it, the reply, the env's answer); True when the episode is over."""
    obs, reward, terminated, truncated, info = value
    info_out = {k: v for k, v in info.items() if k != "expert_action"}
    step = trusted(
        Step,
        observation=state.observation,
        state_key=str(state.info.get("state_key", "")),
        admissible_actions=state.info.get("admissible_actions"),
        response=gen.text,
        action=action[0],
        reward=float(reward),
        terminated=bool(terminated),
        truncated=bool(truncated),
        invalid_action=bool(info.get("invalid_action")) or not action[1],
        info=info_out,
        prompt_token_ids=gen.prompt_token_ids,
        action_token_ids=gen.token_ids,
        action_logprobs=gen.logprobs,
    )
    traj = state.trajectory
    traj.steps.append(step)
    traj.return_ += step.reward
    state.history.append(HistoryItem(state.observation, gen.text))
    state.observation, state.info = obs, info
    if terminated or truncated:
        traj.outcome = "won" if info.get("won") else ("truncated" if truncated else "lost")
        return True
    return False
