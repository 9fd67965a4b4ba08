"""The policy protocol: a batch of queries in, one generation per query out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from agentgym.records import Message


class SamplingParams(BaseModel):
    """How a model samples its reply."""

    model_config = ConfigDict(extra="forbid")

    temperature: float = Field(1.0, ge=0.0, description="0 is greedy decoding.")
    top_p: float = Field(1.0, gt=0.0, le=1.0, description="Nucleus sampling mass.")
    top_k: int = Field(0, ge=0, description="Keep the k most likely tokens; 0 keeps all.")
    max_new_tokens: int = Field(256, ge=1, description="Longest reply in tokens.")
    stop: list[str] = Field(default_factory=list, description="Stop strings (kept in the reply).")
    seed: int | None = Field(None, description="Seed of the sampler; None draws from the OS.")


@dataclass
class Query:
    """One environment's turn, as a policy sees it.

    ``messages`` is filled only for policies that read chats
    (``wants_messages``); ``info`` is the env's latest info, with
    ``expert_action`` added for policies that ask for it (``wants_expert``).
    """

    observation: str
    info: dict[str, Any]
    messages: list[Message] = field(default_factory=list)
    episode_step: int = 0
    tools: list[dict[str, Any]] | None = None


@dataclass
class Generation:
    """A policy's reply to one query.

    Model policies fill ``token_ids`` and ``logprobs`` (the log-probability of
    each generated token under the model's own distribution, temperature 1,
    before top-p/top-k) and ``prompt_token_ids``: the exact tokens to train on,
    never re-tokenised. Policies that choose env actions directly (expert,
    random, scripted) set ``action`` and the reply is not parsed.
    """

    text: str
    action: str | None = None
    prompt_token_ids: list[int] | None = None
    token_ids: list[int] | None = None
    logprobs: list[float] | None = None
    tool_calls: list[dict[str, Any]] | None = None
    finish_reason: str = "stop"


@runtime_checkable
class Policy(Protocol):
    """Anything that answers a batch of queries.

    Attributes:
        name: recorded in every trajectory.
        wants_messages: the engine renders chat messages for it.
        wants_expert: the engine asks the env for ``expert_action`` each turn.
    """

    name: str
    wants_messages: bool
    wants_expert: bool

    def generate(self, queries: Sequence[Query], sampling: SamplingParams) -> list[Generation]:
        """One generation per query, in order."""
        ...
