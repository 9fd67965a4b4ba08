"""MCTS-DPO (Xie et al. 2024): step-level preferences from tree search, trained with a conservative DPO loss.

The search (:mod:`.mcts`) gives each committed node's children visit counts
and values; siblings become preference pairs (chosen: highest Q, rejected:
lowest or a random non-best one; :func:`select_pairs`), at most 8 a tree,
stored as a Hugging Face dataset that trl's ``DPOTrainer`` also reads
(:func:`pairs_dataset`). Agent Q (Putta et al. 2024) ranks the candidates
with the policy as an AI critic (:func:`policy_critic`, :func:`critic_values`)
and chooses pairs by the mixed value ``α·Q + (1−α)·Q̂`` (``PairConfig.alpha``).

Each pair is weighted by how sure the search is of its order, the conservative
weight ``α = min(N_r / (N_c + N_r), 0.5)`` (:func:`conservative_alpha`), in the
per-pair loss ``−(1−α)·log σ(β·h) − α·log σ(−β·h)`` with DPO's implicit reward
margin ``h = (π_c − ref_c) − (π_r − ref_r)`` (:func:`preference_loss`).
:func:`puct` and :func:`step_prior` are the search's, re-exported here beside the loss.

Example:
    >>> conservative_alpha([3, 1], [1, 3]).tolist()
    [0.25, 0.5]
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field

from agentgym.exceptions import ConfigError
from agentgym.policies.base import Query
from agentgym.records import Message
from agentgym.rollout import EpisodeState, RolloutEngine, build_query, generate
from agentgym.trainers.mcts import Node, SearchResult, puct, step_prior

if TYPE_CHECKING:
    import datasets

__all__ = [
    "Critic",
    "PairConfig",
    "PreferencePair",
    "conservative_alpha",
    "critic_values",
    "divergent_logp",
    "draw_tree",
    "pairs_dataset",
    "policy_critic",
    "preference_loss",
    "puct",
    "rank_values",
    "select_pairs",
    "step_prior",
    "tree_record",
]


# -- preference pairs from a searched tree ---------------------------------------------------


class PairConfig(BaseModel):
    """Which sibling steps of a searched tree become preference pairs."""

    model_config = ConfigDict(extra="forbid")

    max_pairs: int = Field(8, ge=1, description="Most pairs taken from one tree (those of largest Q gap).")
    rejected: Literal["lowest", "random"] = Field(
        "lowest", description="The rejected child: lowest Q, or a random one that is not the best."
    )
    min_margin: float = Field(
        0.0,
        ge=0,
        description="Least value gap between chosen and rejected (Agent Q's threshold); 0: any gap.",
    )
    alpha: float = Field(
        1.0,
        ge=0,
        le=1,
        description="Agent Q's α: a child's value is α·Q_MCTS + (1−α)·Q̂ (AI critic); 1: Q alone (MCTS-DPO).",
    )

    def value(self, child: Node) -> float:
        """The value pairs are chosen by: ``α·Q + (1−α)·Q̂``."""
        if self.alpha == 1.0:
            return child.q
        if child.critic is None:
            raise ConfigError(
                "alpha < 1 mixes in the AI critic's values: run critic_values on the results first"
            )
        return self.alpha * child.q + (1 - self.alpha) * child.critic


@dataclass(frozen=True)
class PreferencePair:
    """Two children of one committed node: ``chosen`` has the higher Q."""

    node: Node
    chosen: Node
    rejected: Node


def select_pairs(
    result: SearchResult, config: PairConfig, rng: random.Random | None = None
) -> list[PreferencePair]:
    """The preference pairs of a searched episode, in the order of its committed nodes.

    At each committed node with two or more visited children, chosen is the
    child of highest value (:meth:`PairConfig.value`: Q, or Agent Q's mix with
    the critic) and rejected the lowest (or, with ``rejected="random"``, a
    random child of lower value). A pair needs a value gap above 0 and at least
    ``min_margin``; of those, the ``max_pairs`` of largest gap are kept.
    """
    rng = rng or random.Random(0)
    pairs, gaps = [], []
    for node in result.committed[:-1]:
        visited = [c for c in node.children if c.visits > 0]
        if len(visited) < 2:
            continue
        chosen = max(visited, key=config.value)
        worse = [c for c in visited if config.value(c) < config.value(chosen)]
        if not worse:
            continue
        rejected = min(worse, key=config.value) if config.rejected == "lowest" else rng.choice(worse)
        gap = config.value(chosen) - config.value(rejected)
        if gap >= config.min_margin:
            pairs.append(PreferencePair(node, chosen, rejected))
            gaps.append(gap)
    kept = set(sorted(range(len(pairs)), key=lambda i: gaps[i], reverse=True)[: config.max_pairs])
    return [p for i, p in enumerate(pairs) if i in kept]


def divergent_logp(
    chosen_ids: Sequence[int],
    chosen_logps: Sequence[float],
    rejected_ids: Sequence[int],
    rejected_logps: Sequence[float],
) -> tuple[float, float]:
    """Each reply's log-prob summed from the first token where the two replies differ.

    The shared prefix has the same log-probs under any model, so it cancels in
    DPO's margin; leaving it out keeps the sums to what the pair is about.

    Example:
        >>> divergent_logp([1, 2, 3], [-0.1, -0.2, -0.3], [1, 5], [-0.1, -0.9])
        (-0.5, -0.9)
    """
    start = next(
        (i for i, (a, b) in enumerate(zip(chosen_ids, rejected_ids, strict=False)) if a != b),
        min(len(chosen_ids), len(rejected_ids)),
    )
    return float(sum(chosen_logps[start:])), float(sum(rejected_logps[start:]))


PAIR_COLUMNS = (
    "prompt",
    "chosen",
    "rejected",
    "prompt_token_ids",
    "chosen_token_ids",
    "rejected_token_ids",
    "chosen_logprobs",
    "rejected_logprobs",
    "chosen_visits",
    "rejected_visits",
    "chosen_q",
    "rejected_q",
    "chosen_critic",
    "rejected_critic",
    "ref_chosen_logp",
    "ref_rejected_logp",
    "task_id",
    "depth",
    "pair_id",
)
"""The columns of :func:`pairs_dataset`, in order."""


def pairs_dataset(
    results: Sequence[SearchResult],
    engine: RolloutEngine,
    config: PairConfig,
    rng: random.Random | None = None,
) -> datasets.Dataset:
    """The preference pairs of searched episodes as a Hugging Face dataset that trl's ``DPOTrainer`` reads.

    Columns: ``prompt`` (the chat before the step, or the observation for a
    policy without chats), ``chosen``, ``rejected`` (assistant turns, or the
    reply text), their token ids (``prompt_token_ids``, ``chosen_token_ids``,
    ``rejected_token_ids``, token-exact as generated) and the searching policy's
    log-prob of each (``chosen_logprobs``, ``rejected_logprobs``), ``chosen_visits``,
    ``rejected_visits``, ``chosen_q``, ``rejected_q``, ``chosen_critic``,
    ``rejected_critic`` (Agent Q's Q̂, None without a critic), and ``ref_chosen_logp``,
    ``ref_rejected_logp``: the searching policy's log-probs of each reply at
    collection (:func:`divergent_logp`; the reference while the search policy is
    the starting model, and Agent Q's off-policy reference). ``task_id`` and
    ``depth`` say where the pair comes from; ``pair_id`` is its row.
    """
    import datasets

    rows = []
    for result in results:
        for pair in select_pairs(result, config, rng):
            assert pair.node.state is not None and pair.chosen.generation and pair.rejected.generation
            c, r = pair.chosen.generation, pair.rejected.generation
            query = build_query(pair.node.state, engine.policy, engine.config.prompt, engine.tools)
            chat = bool(query.messages)
            ref_c, ref_r = divergent_logp(
                c.token_ids or [], c.logprobs or [], r.token_ids or [], r.logprobs or []
            )
            rows.append(
                {
                    "prompt": [m.model_dump(exclude_none=True) for m in query.messages]
                    if chat
                    else query.observation,
                    "chosen": [{"role": "assistant", "content": c.text}] if chat else c.text,
                    "rejected": [{"role": "assistant", "content": r.text}] if chat else r.text,
                    "prompt_token_ids": list(c.prompt_token_ids or []),
                    "chosen_token_ids": list(c.token_ids or []),
                    "rejected_token_ids": list(r.token_ids or []),
                    "chosen_logprobs": list(c.logprobs or []),
                    "rejected_logprobs": list(r.logprobs or []),
                    "chosen_visits": pair.chosen.visits,
                    "rejected_visits": pair.rejected.visits,
                    "chosen_q": pair.chosen.q,
                    "rejected_q": pair.rejected.q,
                    "chosen_critic": pair.chosen.critic,
                    "rejected_critic": pair.rejected.critic,
                    "ref_chosen_logp": ref_c,
                    "ref_rejected_logp": ref_r,
                    "task_id": pair.node.state.trajectory.task_id,
                    "depth": pair.node.depth,
                }
            )
    for i, row in enumerate(rows):
        row["pair_id"] = i
    return datasets.Dataset.from_dict({column: [row[column] for row in rows] for column in PAIR_COLUMNS})


# -- a searched tree, for the report ------------------------------------------------------------


def tree_record(result: SearchResult, pairs: Sequence[PreferencePair]) -> dict[str, Any]:
    """A searched tree as JSON: per node its action, visits, Q, prior, critic Q̂, and its part in the run.

    ``committed`` marks the path the sliding search played; ``pair`` is
    ``"chosen"`` or ``"rejected"`` for the children that made a preference pair.
    """
    roles = {p.chosen: "chosen" for p in pairs} | {p.rejected: "rejected" for p in pairs}
    committed = set(result.committed)

    def record(node: Node) -> dict[str, Any]:
        return {
            "action": node.action,
            "visits": node.visits,
            "q": node.q,
            "prior": node.prior,
            "critic": node.critic,
            "committed": node in committed,
            "pair": roles.get(node),
            "children": [record(c) for c in node.children],
        }

    return record(result.root)


def draw_tree(record: dict[str, Any], max_depth: int = 4) -> str:
    """A :func:`tree_record` drawn as text: one line per node, children indented under it.

    Example:
        >>> leaf = {"action": "a", "visits": 2, "q": 1.0, "prior": 0.5, "critic": None,
        ...         "committed": True, "pair": "chosen", "children": []}
        >>> print(draw_tree({**leaf, "action": "", "pair": None, "children": [leaf]}))
        (root) N=2 Q=1.00
        └─ a N=2 Q=1.00 p=0.50 committed chosen
    """

    def label(node: dict[str, Any]) -> str:
        parts = [f"{node['action'] or '(root)'} N={node['visits']} Q={node['q']:.2f}"]
        if node["action"]:
            parts.append(f"p={node['prior']:.2f}")
        if node["critic"] is not None:
            parts.append(f"Q̂={node['critic']:.2f}")
        parts += [
            word
            for word in ("committed" if node["committed"] and node["action"] else "", node["pair"])
            if word
        ]
        return " ".join(parts)

    lines = [label(record)]

    def walk(node: dict[str, Any], indent: str, depth: int) -> None:
        if depth >= max_depth:
            return
        for i, child in enumerate(node["children"]):
            last = i == len(node["children"]) - 1
            lines.append(f"{indent}{'└─' if last else '├─'} {label(child)}")
            walk(child, indent + ("   " if last else "│  "), depth + 1)

    walk(record, "", 0)
    return "\n".join(lines)


# -- Agent Q: the AI critic ---------------------------------------------------------------------

Critic = Callable[[Sequence[EpisodeState], Sequence[Sequence[str]]], list[list[float]]]
"""Agent Q's AI critic: for each state and its candidate replies, a value Q̂ in [0, 1] per candidate."""

CRITIC_PROMPT = (
    "Task: {task}\nObservation: {observation}\nCandidate actions:\n{candidates}\n"
    "Rank the candidate actions from most to least helpful for the task. "
    "Answer with their numbers, best first, separated by commas."
)


def rank_values(ranking: Sequence[int], n: int) -> list[float]:
    """Q̂ of ``n`` candidates from a ranking (0-based indices, best first): 1 for the best down to 0.

    The k-th of n ranked gets ``1 − k/(n−1)``; a candidate left out of the
    ranking (or named twice, after its first place) gets 0, as does an index
    out of range.

    Example:
        >>> rank_values([2, 0], 3)
        [0.5, 0.0, 1.0]
    """
    values = [0.0] * n
    for place, i in enumerate(dict.fromkeys(i for i in ranking if 0 <= i < n)):
        values[i] = 1.0 - place / (n - 1) if n > 1 else 1.0
    return values


def policy_critic(engine: RolloutEngine) -> Critic:
    """The policy as Agent Q's critic: asked greedily to rank the candidates, it gives :func:`rank_values`."""
    greedy = engine.config.sampling.model_copy(update={"temperature": 0.0, "max_new_tokens": 32})

    def critic(states: Sequence[EpisodeState], candidates: Sequence[Sequence[str]]) -> list[list[float]]:
        queries = []
        for state, actions in zip(states, candidates, strict=True):
            listed = "\n".join(f"{i + 1}. {a}" for i, a in enumerate(actions))
            text = CRITIC_PROMPT.format(
                task=state.trajectory.task, observation=state.observation, candidates=listed
            )
            queries.append(
                Query(text, state.info, [Message(role="user", content=text)], len(state.trajectory.steps))
            )
        return [
            rank_values([int(x) - 1 for x in re.findall(r"\d+", gen.text)], len(actions))
            for gen, actions in zip(generate(engine.policy, queries, greedy), candidates, strict=True)
        ]

    return critic


def critic_values(results: Sequence[SearchResult], critic: Critic) -> None:
    """Set the critic's Q̂ on the visited children of every committed node (one batched call)."""
    nodes = [
        node
        for result in results
        for node in result.committed[:-1]
        if sum(c.visits > 0 for c in node.children) >= 2
    ]
    children = [[c for c in node.children if c.visits > 0] for node in nodes]
    states = [node.state for node in nodes if node.state is not None]
    values = critic(states, [[c.action for c in cs] for cs in children]) if nodes else []
    for cs, vs in zip(children, values, strict=True):
        for child, v in zip(cs, vs, strict=True):
            child.critic = v


# -- the loss --------------------------------------------------------------------------------


def conservative_alpha(chosen_visits: Any, rejected_visits: Any) -> np.ndarray:
    """Per-pair weight of the reversed preference: ``min(N_r / (N_c + N_r), 0.5)``, elementwise.

    A pair the search visited evenly (``N_c ≈ N_r``) gets α near 0.5, so its two
    terms cancel; a clear winner gets α near 0 (plain DPO).

    Example:
        >>> conservative_alpha([9, 0], [1, 0]).tolist()
        [0.1, 0.0]
    """
    chosen = np.asarray(chosen_visits, dtype=float)
    rejected = np.asarray(rejected_visits, dtype=float)
    total = chosen + rejected
    ratio = np.divide(rejected, total, out=np.zeros_like(total), where=total > 0)
    return np.minimum(ratio, 0.5)


def preference_loss(
    policy_chosen_logps: torch.Tensor,
    policy_rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
    *,
    beta: float,
    alpha: Any,
) -> torch.Tensor:
    """Conservative DPO loss per pair: ``−(1−α)·log σ(β·h) − α·log σ(−β·h)``.

    ``h = (π_c − ref_c) − (π_r − ref_r)``, each a ``[P]`` tensor of summed reply
    log-probs (P pairs); ``alpha`` is a scalar or a ``[P]`` weight
    (:func:`conservative_alpha`). α = 0 is DPO's sigmoid loss. Returns ``[P]``.

    Example:
        >>> zero = torch.zeros(1)
        >>> round(preference_loss(zero, zero, zero, zero, beta=0.1, alpha=0.0).item(), 4)  # log 2
        0.6931
    """
    h = (policy_chosen_logps - ref_chosen_logps) - (policy_rejected_logps - ref_rejected_logps)
    a = torch.as_tensor(alpha, dtype=h.dtype, device=h.device)
    return -(1 - a) * F.logsigmoid(beta * h) - a * F.logsigmoid(-beta * h)
