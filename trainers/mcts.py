"""Monte Carlo tree search over environment snapshots (MCTS-DPO, Xie et al. 2024; Agent Q, Putta et al. 2024).

Nodes are env states (a snapshot and the episode so far); edges are the agent's
replies. One simulation of a tree:

1. **Selection.** From the root, follow the child of highest PUCT score
   ``Q(c) + c_puct · p(c) · √N(parent) / (1 + N(c))`` (:func:`puct`; UCB1 for
   Agent Q, :func:`ucb1`) down to a node not yet expanded, or to a child not yet
   stepped: that child's parent snapshot is restored into the tree's env slot
   and its action stepped (the new leaf is snapshotted).
2. **Expansion.** ``k`` replies are sampled from the policy (temperature 1);
   replies that parse to the same action are merged into one child whose prior
   is the sum of theirs, each ``p = exp(Σ log p / len^λ)`` (:func:`step_prior`),
   normalised over the node's children.
3. **Value.** The env's reward into the leaf, plus (below a non-terminal leaf)
   the discounted rewards of a ``lookahead``-step policy rollout, mixed with
   weight ``self_eval_weight`` with the policy's own judgement of the step
   (:func:`policy_self_evaluation`).
4. **Backup.** Each node on the path adds its return ``r + γ·G`` from below;
   ``Q`` is the visit-weighted mean of those returns.

The search is *sliding*: after ``simulations`` simulations it commits to the
most visited child of the root and searches again from it (keeping its
subtree), until the episode ends. Many trees (one per episode, each on its own
env slot of a :class:`~agentgym.rollout.RolloutEngine`) are searched at once: a
simulation's expansions and rollouts of every tree form one batched
generation, and its env calls one batch of slot commands, as a rollout turn
does. A committed episode is recorded with the rollout's own per-turn pieces,
so it is a :class:`~agentgym.records.Trajectory` like any other.

Example:
    >>> round(float(puct(0.5, 0.25, 16, 1, c_puct=1.0)), 3)
    1.0
    >>> round(float(step_prior([-0.5, -0.5, -0.5, -0.5], lam=1.0)), 4)
    0.6065
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentgym.exceptions import AgentGymError, config_error
from agentgym.policies.base import Generation, Query
from agentgym.records import Message, TrajectoryWriter
from agentgym.rollout import (
    Command,
    EpisodeSpec,
    EpisodeState,
    Result,
    RolloutEngine,
    RolloutResult,
    build_query,
    generate,
    parse_reply,
    record_step,
    summarize,
)

Selection = Literal["puct", "ucb1"]


# -- the formulas --------------------------------------------------------------------


def puct(q: Any, prior: Any, parent_visits: Any, visits: Any, c_puct: float) -> Any:
    """PUCT score of a child: ``Q(c) + c_puct · p(c) · √N(parent) / (1 + N(c))`` (elementwise).

    Example:
        >>> puct(np.array([0.0, 1.0]), np.array([0.5, 0.5]), 4, np.array([0, 1]), c_puct=2.0).tolist()
        [2.0, 2.0]
    """
    return q + c_puct * prior * np.sqrt(parent_visits) / (1 + np.asarray(visits))


def ucb1(q: Any, parent_visits: Any, visits: Any, c: float) -> Any:
    """UCB1 score of a child: ``Q(c) + c · √(ln N(parent) / N(c))``, infinite while unvisited (Agent Q).

    Example:
        >>> ucb1(np.array([0.5, 0.0]), 4, np.array([1, 0]), c=1.0).round(3).tolist()
        [1.677, inf]
    """
    visits = np.asarray(visits, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        bonus = np.sqrt(np.log(max(parent_visits, 1)) / visits)
    return np.where(visits > 0, q + c * bonus, np.inf)


def step_prior(token_logprobs: Sequence[float], lam: float) -> float:
    """Length-normalised prior of a reply: ``exp(Σ log p / len^λ)``; 1.0 for a reply without tokens.

    Example:
        >>> round(step_prior([-1.0, -1.0, -1.0, -1.0], lam=1.25), 4)
        0.4931
    """
    n = len(token_logprobs)
    return 1.0 if n == 0 else float(np.exp(np.sum(token_logprobs) / n**lam))


# -- the tree ------------------------------------------------------------------------


@dataclass(eq=False)
class Node:
    """An env state of a tree, reached from its parent by one reply."""

    parent: Node | None
    action: str = ""
    """The env action of the edge into this node ('' at the root)."""
    generation: Generation | None = None
    """The first of the replies merged into this edge."""
    replies: int = 0
    """How many of the parent's sampled replies parsed to this action."""
    prior: float = 1.0
    reward: float = 0.0
    """The env's reward for the edge into this node."""
    terminal: bool = False
    """The episode ended here (terminated or truncated)."""
    state: EpisodeState | None = None
    """The episode up to this node; None until the edge is stepped."""
    snapshot: bytes | None = None
    children: list[Node] = field(default_factory=list)
    visits: int = 0
    value_sum: float = 0.0
    self_eval: float | None = None
    critic: float | None = None
    """Agent Q's AI-critic value Q̂ of the edge (set by ``mcts_dpo.critic_values``)."""

    @property
    def q(self) -> float:
        """Visit-weighted mean of the returns backed up through this node (0 while unvisited)."""
        return self.value_sum / self.visits if self.visits else 0.0

    @property
    def depth(self) -> int:
        return 0 if self.parent is None else self.parent.depth + 1

    def best_child(self) -> Node:
        """The child a sliding search commits to: most visited, then highest Q, then highest prior."""
        return max(self.children, key=lambda c: (c.visits, c.q, c.prior))


class SearchConfig(BaseModel):
    """How the search runs (defaults: MCTS-DPO's, see docs/papers.md)."""

    model_config = ConfigDict(extra="forbid")

    simulations: int = Field(64, ge=1, description="Simulations from each committed node before committing.")
    k: int = Field(
        4, ge=1, description="Replies sampled per expansion (merged when they parse to one action)."
    )
    temperature: float = Field(1.0, ge=0, description="Sampling temperature of expansions and lookahead.")
    selection: Selection = Field("puct", description="puct (MCTS-DPO) or ucb1 (Agent Q).")
    c_puct: float = Field(1.0, gt=0, description="Exploration weight of PUCT (or UCB1's c).")
    lam: float = Field(1.25, ge=0, description="λ: length normalisation of the step prior.")
    gamma: float = Field(1.0, ge=0, le=1, description="γ: discount of the backed-up return.")
    lookahead: int = Field(3, ge=0, description="Policy steps rolled out below a new leaf to value it.")
    self_eval_weight: float = Field(
        0.0, ge=0, le=1, description="Weight of the policy's self-evaluation in a leaf's value."
    )
    max_nodes: int = Field(
        10_000, ge=1, description="Most nodes a tree may hold (each keeps a snapshot); more is an error."
    )


def search_config(options: Mapping[str, Any], base: SearchConfig | None = None) -> SearchConfig:
    """``base`` (default: :class:`SearchConfig`'s defaults) with the fields of ``options`` replaced.

    A misspelt option or a bad value is one line that names it.

    Example:
        >>> search_config({"k": 2}, SearchConfig(simulations=8)).model_dump(include={"simulations", "k"})
        {'simulations': 8, 'k': 2}
        >>> search_config({"lookahed": 1})
        Traceback (most recent call last):
        ...
        agentgym.exceptions.ConfigError: unknown search option 'lookahed'; did you mean 'lookahead'?
    """
    try:
        return SearchConfig.model_validate({**(base.model_dump() if base else {}), **options})
    except ValidationError as err:
        bad_value = "invalid value for {key}: {msg} (got {value!r})"
        raise config_error(err, SearchConfig, "search option", invalid=bad_value) from None


Evaluator = Callable[[Sequence[EpisodeState]], list[float]]
"""Judges the last step of each episode: the probability that it was a good step, in [0, 1]."""


@dataclass
class SearchResult:
    """One searched episode: the committed trajectory and the whole tree below its root."""

    root: Node
    committed: list[Node]
    """The root, then each node the sliding search committed to."""
    nodes: int
    env_steps: int

    @property
    def state(self) -> EpisodeState:
        last = self.committed[-1].state
        assert last is not None
        return last


RESTORE_FIX = (
    "; tree search branches from snapshots: fix the env's _set_state, or drop its "
    "_get_state/_set_state so that snapshots replay seed and actions"
)


class SearchBudgetError(AgentGymError, MemoryError):
    """A tree reached ``max_nodes``."""


@dataclass(eq=False)
class _Tree:
    slot: int
    root: Node
    result: SearchResult
    done: bool = False


class TreeSearch:
    """Searches many episodes at once, each on its own env slot of ``engine``, with the engine's policy.

    Example:
        >>> from agentgym.rollout import RolloutConfig
        >>> from agentgym.policies import RandomPolicy
        >>> engine = RolloutEngine("guess", RandomPolicy(seed=0), RolloutConfig(num_envs=2, progress=False))
        >>> search = TreeSearch(engine, SearchConfig(simulations=4, k=3, lookahead=1))
        >>> results = search.run([EpisodeSpec(0, "test", seed=0), EpisodeSpec(1, "test", seed=1)])
        >>> [r.root.visits for r in results], results[0].committed[1].visits > 0
        ([4, 4], True)
        >>> engine.close()
    """

    def __init__(
        self, engine: RolloutEngine, config: SearchConfig, evaluator: Evaluator | None = None
    ) -> None:
        if config.self_eval_weight > 0 and evaluator is None:
            evaluator = policy_self_evaluation(engine)
        self.engine, self.config, self.evaluator = engine, config, evaluator
        self.sampling = engine.config.sampling.model_copy(update={"temperature": config.temperature})

    def run(self, episodes: Sequence[EpisodeSpec]) -> list[SearchResult]:
        """Search every episode to its end, ``num_envs`` trees at a time."""
        n = self.engine.config.num_envs
        results: list[SearchResult] = []
        for start in range(0, len(episodes), n):
            results += self._search(episodes[start : start + n])
        return results

    def play(self, episodes: Sequence[EpisodeSpec], writer: TrajectoryWriter | None = None) -> RolloutResult:
        """Search at test time: play each episode by searching from every state it reaches (Agent Q).

        Returns the committed trajectories and their summary, as
        :meth:`RolloutEngine.run <agentgym.rollout.RolloutEngine.run>` does, whose
        ``env_steps`` count every step the search took (each branch, not only the
        committed ones); each trajectory is written to ``writer`` when its batch of
        trees ends.

        Example:
            >>> from agentgym.rollout import RolloutConfig
            >>> from agentgym.policies import RandomPolicy
            >>> config, two_steps = RolloutConfig(num_envs=2, progress=False), {"max_steps": 2}
            >>> with RolloutEngine("guess", RandomPolicy(seed=0), config, env_kwargs=two_steps) as engine:
            ...     result = TreeSearch(engine, SearchConfig(simulations=16, k=4)).play(
            ...         [EpisodeSpec(t, "test", seed=t) for t in range(2)])
            >>> result.summary.success_rate
            1.0
        """
        started = time.perf_counter()
        n = self.engine.config.num_envs
        trajectories, env_steps = [], 0
        for start in range(0, len(episodes), n):
            batch_started = time.perf_counter()
            for result in self._search(episodes[start : start + n]):
                traj = result.state.trajectory
                traj.wall_time_s = time.perf_counter() - batch_started
                if writer is not None:
                    writer.write(traj)
                trajectories.append(traj)
                env_steps += result.env_steps
        return RolloutResult(trajectories, summarize(trajectories, time.perf_counter() - started, env_steps))

    def _search(self, episodes: Sequence[EpisodeSpec]) -> list[SearchResult]:
        self.engine.describe_env()
        trees = []
        resets = [
            Command(s, "reset", (e.seed, {"split": e.split, "task_id": e.task_id}))
            for s, e in enumerate(episodes)
        ]
        for (slot, spec), result in zip(enumerate(episodes), self._execute(resets), strict=True):
            obs, info = result.value
            state = EpisodeState(self.engine.episode_record(spec), obs, info)
            state.trajectory.task = str(info.get("task", ""))
            state.trajectory.data_digest = str(info.get("data_digest", ""))
            root = Node(None, state=state)
            trees.append(_Tree(slot, root, SearchResult(root, [root], 1, 0)))
        self._snapshot([(t, t.root) for t in trees])
        self._restore([(t, t.root) for t in trees])  # an env whose snapshots cannot restore fails here
        while live := [t for t in trees if not t.done]:
            for _ in range(self.config.simulations):
                self._simulate(live)
            self._commit(live)
        return [t.result for t in trees]

    # -- one simulation of every live tree -------------------------------------------

    def _simulate(self, trees: list[_Tree]) -> None:
        paths = [self._select(t.result.committed[-1]) for t in trees]
        # A leaf not yet stepped: restore its parent, step its action, snapshot it.
        self._materialise([(t, p[-1]) for t, p in zip(trees, paths, strict=True) if p[-1].state is None])
        leaves = [(t, p[-1]) for t, p in zip(trees, paths, strict=True)]
        open_ = [(t, leaf) for t, leaf in leaves if not leaf.terminal]
        self._expand([(t, leaf) for t, leaf in open_ if not leaf.children])
        values = dict.fromkeys((leaf for _, leaf in leaves), 0.0)
        values.update(self._value(open_))
        for path in paths:
            self._backup(path, values[path[-1]])

    def _select(self, node: Node) -> list[Node]:
        path = [node]
        while node.children and not node.terminal:
            c = node.children
            q = np.array([x.q for x in c])
            visits = np.array([x.visits for x in c])
            if self.config.selection == "puct":
                prior = np.array([x.prior for x in c])
                scores = puct(q, prior, node.visits, visits, self.config.c_puct)
            else:
                scores = ucb1(q, node.visits, visits, self.config.c_puct)
            node = c[int(np.argmax(scores))]
            path.append(node)
            if node.state is None:
                break
        return path

    def _expand(self, leaves: list[tuple[_Tree, Node]]) -> None:
        if not leaves:
            return
        k = self.config.k
        queries = [self._query(leaf.state) for _, leaf in leaves for _ in range(k)]
        generations = generate(self.engine.policy, queries, self.sampling)
        for i, (tree, leaf) in enumerate(leaves):
            children: dict[str, Node] = {}
            for gen in generations[i * k : (i + 1) * k]:
                action, _ = parse_reply(gen, self.engine.config.prompt.action_format)
                child = children.setdefault(action, Node(leaf, action, gen, prior=0.0))
                child.replies += 1
                child.prior += step_prior(gen.logprobs or [], self.config.lam)
            total = sum(c.prior for c in children.values())
            for c in children.values():
                c.prior = c.prior / total if total > 0 else 1 / len(children)
            tree.result.nodes += len(children)
            if tree.result.nodes > self.config.max_nodes:
                raise SearchBudgetError(
                    f"the tree of task {tree.root.state.trajectory.task_id if tree.root.state else '?'} "
                    f"reached max_nodes={self.config.max_nodes}; raise max_nodes or lower simulations or k"
                )
            leaf.children = list(children.values())

    def _value(self, leaves: list[tuple[_Tree, Node]]) -> dict[Node, float]:
        """Each open leaf's value below its edge: a lookahead rollout's return, mixed with self-evaluation."""
        values = dict.fromkeys((leaf for _, leaf in leaves), 0.0)
        if self.config.lookahead and leaves:
            self._restore([(t, leaf) for t, leaf in leaves])
            states = {leaf: leaf.state.branch() for _, leaf in leaves if leaf.state is not None}
            running = list(leaves)
            for depth in range(self.config.lookahead):
                if not running:
                    break
                gens = generate(
                    self.engine.policy, [self._query(states[leaf]) for _, leaf in running], self.sampling
                )
                actions = [parse_reply(g, self.engine.config.prompt.action_format) for g in gens]
                steps = [Command(t.slot, "step", a[0]) for (t, _), a in zip(running, actions, strict=True)]
                results = self._execute(steps)
                still = []
                for (t, leaf), gen, action, result in zip(running, gens, actions, results, strict=True):
                    t.result.env_steps += 1
                    values[leaf] += self.config.gamma**depth * float(result.value[1])
                    if not record_step(states[leaf], gen, action, result.value):
                        still.append((t, leaf))
                running = still
        w = self.config.self_eval_weight
        if w > 0 and self.evaluator is not None:
            judged = [leaf for _, leaf in leaves if leaf.parent is not None]
            for leaf, p in zip(
                judged, self.evaluator([leaf.state for leaf in judged if leaf.state]), strict=True
            ):
                leaf.self_eval = p
                values[leaf] = (1 - w) * values[leaf] + w * p
        return values

    def _backup(self, path: list[Node], value: float) -> None:
        g = value
        for node in reversed(path):
            g = node.reward + self.config.gamma * g
            node.visits += 1
            node.value_sum += g

    def _commit(self, trees: list[_Tree]) -> None:
        chosen = [(t, t.result.committed[-1].best_child()) for t in trees]
        self._materialise([(t, c) for t, c in chosen if c.state is None])
        for tree, child in chosen:
            parent = tree.result.committed[-1]
            parent.snapshot = None  # the search never returns above its committed node
            for sibling in parent.children:
                if sibling is not child:
                    _drop_snapshots(sibling)
            tree.result.committed.append(child)
            tree.done = child.terminal

    # -- env slots -------------------------------------------------------------------------

    def _materialise(self, edges: list[tuple[_Tree, Node]]) -> None:
        """Step each edge from its parent's snapshot; the child gets the episode and a snapshot."""
        if not edges:
            return
        self._restore([(t, node.parent) for t, node in edges if node.parent is not None])
        results = self._execute([Command(t.slot, "step", node.action) for t, node in edges])
        for (tree, node), result in zip(edges, results, strict=True):
            assert node.parent is not None and node.parent.state is not None and node.generation is not None
            tree.result.env_steps += 1
            node.state = node.parent.state.branch()
            action = parse_reply(node.generation, self.engine.config.prompt.action_format)
            node.terminal = record_step(node.state, node.generation, action, result.value)
            node.reward = float(result.value[1])
        self._snapshot([(t, n) for t, n in edges if not n.terminal])

    def _snapshot(self, nodes: list[tuple[_Tree, Node]]) -> None:
        for (_, node), result in zip(
            nodes, self._execute([Command(t.slot, "snapshot") for t, _ in nodes]), strict=True
        ):
            node.snapshot = result.value

    def _restore(self, nodes: list[tuple[_Tree, Node]]) -> None:
        self._execute([Command(t.slot, "restore", node.snapshot) for t, node in nodes])

    def _execute(self, commands: list[Command]) -> list[Result]:
        results = self.engine.execute(commands)
        for command, result in zip(commands, results, strict=True):
            if result.error is not None:
                fix = RESTORE_FIX if command.op == "restore" else ""
                error = result.error.splitlines()[0]
                raise AgentGymError(f"search: {command.op} on env slot {command.slot} failed: {error}{fix}")
        return results

    def _query(self, state: EpisodeState | None) -> Query:
        assert state is not None
        return build_query(state, self.engine.policy, self.engine.config.prompt, self.engine.tools)


def _drop_snapshots(node: Node) -> None:
    """Free the snapshots of a subtree the search left (its visits and values stay, for preference pairs)."""
    node.snapshot = None
    for child in node.children:
        _drop_snapshots(child)


SELF_EVAL_PROMPT = (
    "Task: {task}\nObservation: {observation}\nThe agent's action: {action}\nResult: {result}\n"
    "Was this action a good step towards the task? Answer Yes or No."
)


def policy_self_evaluation(engine: RolloutEngine) -> Evaluator:
    """The policy judges a step: the probability of its greedy answer 'Yes' (1 − that of 'No').

    The probability is that of the answer's tokens under the policy; a policy
    without log-probs counts its answer as certain.
    """
    greedy = engine.config.sampling.model_copy(update={"temperature": 0.0, "max_new_tokens": 3})

    def evaluate(states: Sequence[EpisodeState]) -> list[float]:
        queries = []
        for state in states:
            step = state.trajectory.steps[-1]
            text = SELF_EVAL_PROMPT.format(
                task=state.trajectory.task,
                observation=step.observation,
                action=step.action,
                result=state.observation,
            )
            queries.append(
                Query(text, state.info, [Message(role="user", content=text)], len(state.trajectory.steps))
            )
        judged = []
        for gen in generate(engine.policy, queries, greedy):
            p = float(np.exp(np.sum(gen.logprobs))) if gen.logprobs else 1.0
            judged.append(p if gen.text.strip().lower().startswith("yes") else 1 - p)
        return judged

    return evaluate
