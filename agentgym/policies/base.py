"""The policy protocol: a batch of queries in, one generation per query out."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from agentgym.records import Message


class SamplingParams(BaseModel):
    """How a model samples its reply, on every call.

    The seed is not here: a policy seeds its sampler once, when it is made
    (``seed=`` of each model policy and of :func:`~agentgym.policies.make_policy`),
    and every call continues that stream. A per-call seed would replay the same
    random stream at every turn of an episode.
    """

    model_config = ConfigDict(extra="forbid")

    temperature: float = Field(1.0, ge=0.0, description="0 is greedy decoding.")
    top_p: float = Field(1.0, gt=0.0, le=1.0, description="Nucleus sampling mass.")
    top_k: int = Field(0, ge=0, description="Keep the k most likely tokens; 0 keeps all.")
    max_new_tokens: int = Field(
        512, ge=1, description="Longest reply in tokens (a reply cut short is an invalid action)."
    )
    stop: list[str] = Field(default_factory=list, description="Stop strings (kept in the reply).")


@dataclass
class Query:
    """One environment's turn, as a policy sees it.

    ``messages`` is filled only for policies that read chats
    (``wants_messages``); ``info`` is the env's latest info, with
    ``expert_action`` added for policies that ask for it (``wants_expert``).
    ``seed`` names the query's own random stream (the rollout engine derives it
    from the episode and the turn): a policy that honours it samples the reply
    the same whatever other queries share the batch, so an episode plays the
    same in any batch, on any data-parallel rank.
    """

    observation: str
    info: dict[str, Any]
    messages: list[Message] = field(default_factory=list)
    episode_step: int = 0
    tools: list[dict[str, Any]] | None = None
    seed: int | None = None


def stable_seed(*parts: object) -> int:
    """A 63-bit seed that is a fixed function of ``parts`` (their ``repr``), the same in every process.

    Example:
        >>> a, b = stable_seed("train:4:100", 0, 3), stable_seed("train:4:100", 1, 3)
        >>> a == stable_seed("train:4:100", 0, 3), a != b, 0 <= a < 2**63
        (True, True, True)
    """
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


class ReplySeeds:
    """The seed of each reply, for every model backend: a function of the run's seed and the query's.

    A policy makes one, from its ``seed``, when it is made. A reply's seed is a
    fixed function of that run seed and the query's own :attr:`Query.seed` (the
    rollout engine derives it from the episode, its copy within the group and
    the turn): the turns of an episode and the copies of a group sample apart,
    a run replays from its seed, and a reply does not depend on which batch or
    data-parallel rank it lands in. A query without a seed (a caller outside the
    engine) takes the policy's next unnamed seed, so asking again samples anew.
    With ``seed=None`` replies carry no seed (a server draws its own). Seeds are
    63-bit; ``bits=31`` gives seeds every server accepts.

    Example:
        >>> seeds = ReplySeeds(0)
        >>> seeds.draw([7, 8]) == ReplySeeds(0).draw([7, 8]) != ReplySeeds(1).draw([7, 8])
        True
        >>> seeds.draw([None]) != seeds.draw([None]), ReplySeeds(None).draw([7])
        (True, [None])
    """

    def __init__(self, seed: int | None) -> None:
        self.seed = seed
        self.unnamed = 0  # queries without a seed drawn so far
        self._lock = threading.Lock()  # draws come from many threads (ConcurrentPolicy)

    def draw(self, own_seeds: Sequence[int | None], bits: int = 63) -> list[int | None]:
        """The ``bits``-bit reply seeds of queries whose own seeds (:attr:`Query.seed`) are ``own_seeds``."""
        if self.seed is None:
            return [None] * len(own_seeds)
        out: list[int | None] = []
        for own in own_seeds:
            if own is None:
                with self._lock:
                    unnamed, self.unnamed = self.unnamed, self.unnamed + 1
                out.append(stable_seed(self.seed, "unnamed", unnamed) >> (63 - bits))
            else:
                out.append(stable_seed(self.seed, own) >> (63 - bits))
        return out


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


@runtime_checkable
class ConcurrentPolicy(Policy, Protocol):
    """A policy that answers one query at a time, from many threads at once: a model server.

    The rollout engine keeps such a server busy: each episode sends its next
    request as soon as its env step returns, up to ``RolloutConfig.max_in_flight``
    requests at once, and the server batches them as they come (vLLM's
    continuous batching). A reply depends only on its query (its seed
    included), never on which requests share the server, so an episode plays
    the same as in the turn-by-turn batched path.
    """

    def generate_one(self, query: Query, sampling: SamplingParams) -> Generation:
        """The reply to one query; safe to call from many threads at once."""
        ...
