"""The rollout engine: many environments against one policy.

With a local batched policy (transformers, tiny, scripted) the engine turns in
lock-step: it asks the policy once for every active environment (one batched
generation), then steps all of them in parallel on their workers. With a
policy that serves requests one by one (:class:`~agentgym.policies.ConcurrentPolicy`:
``openai:`` against vLLM) each episode runs on its own thread instead and
sends its next request as soon as its env step returns, up to
``max_in_flight`` at once, so the server is never idle waiting for a turn's
slowest env or longest reply. Each reply depends only on its episode, copy and
turn (its seed), so both paths give the same trajectories, whether envs run on
threads, subprocesses or Ray actors.

A step that raises, times out or loses its worker fails only its episode: the
trajectory is kept with ``outcome="failed"`` and the reason, never used for
training, and the slot gets a fresh env for its next episode. Trajectories are
written as they finish.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agentgym.exceptions import AgentGymError, ConfigError, FailureKind, failure_kind
from agentgym.policies.base import ConcurrentPolicy, Generation, Policy, Query, SamplingParams, stable_seed
from agentgym.prompting import PromptConfig, offered_tools
from agentgym.records import Trajectory, TrajectoryWriter
from agentgym.registry import load_entry_point, resolve
from agentgym.rollout.cluster import RayConfig
from agentgym.rollout.summary import Summary, progress_bar, summarize
from agentgym.rollout.turn import (
    EpisodeState,
    build_query,
    generate,
    new_trajectory,
    parse_reply,
    record_step,
)
from agentgym.rollout.workers import Command, EnvFactory, Result, WorkerKind, make_worker, wait_for_any


class WorkerConfig(BaseModel):
    """Where a rollout's envs run, and how long a step may take."""

    model_config = ConfigDict(extra="forbid")

    workers: WorkerKind = Field("thread", description="Where envs run: thread, process or ray.")
    num_workers: int = Field(
        1, ge=1, le=256, description="Threads, processes or Ray actors hosting the envs."
    )
    ray: RayConfig = Field(default_factory=RayConfig, description="The Ray cluster of workers='ray'.")
    step_timeout_s: float = Field(
        60.0, gt=0, allow_inf_nan=False, description="Longest env step before its episode fails."
    )


class RolloutConfig(WorkerConfig):
    """How a rollout runs: its workers, its prompts, its sampling.

    The one source of these defaults: the training config's ``rollout`` section
    is composed from :class:`WorkerConfig` and :class:`~agentgym.prompting.PromptConfig`,
    and the ``rollout`` and ``eval`` commands' options are generated from this model.
    """

    num_envs: int = Field(8, ge=1, le=4096, description="Environments stepped at once.")
    max_in_flight: int = Field(
        64,
        ge=1,
        le=4096,
        description="Most requests in flight at once to a policy that serves them one by one (openai:).",
    )
    prompt: PromptConfig = Field(default_factory=PromptConfig)
    sampling: SamplingParams = Field(default_factory=SamplingParams)
    progress: bool = Field(True, description="Show a progress bar.")


@dataclass(frozen=True)
class EpisodeSpec:
    """One episode to run: which task, from which seed, in which group.

    ``options`` are further reset options of the env (a seat's opponents, see
    :class:`~agentgym.multiagent.SeatResetOptions`).
    """

    task_id: int
    split: str = "train"
    seed: int | None = None
    group_id: str | None = None
    options: dict[str, Any] | None = field(default=None, hash=False)


def group_episodes(
    task_ids: Sequence[int], *, split: str = "train", group_size: int = 1, seed: int = 0
) -> list[EpisodeSpec]:
    """``group_size`` copies of each task with the same seed and group id (for group methods).

    Example:
        >>> [(e.task_id, e.seed, e.group_id) for e in group_episodes([4, 9], group_size=2, seed=100)]
        [(4, 100, 'train:4:100'), (4, 100, 'train:4:100'), (9, 101, 'train:9:101'), (9, 101, 'train:9:101')]
    """
    specs = []
    for i, task_id in enumerate(task_ids):
        group = f"{split}:{task_id}:{seed + i}"
        specs += [EpisodeSpec(task_id, split, seed + i, group)] * group_size
    return specs


def _copy_numbers(episodes: Sequence[EpisodeSpec]) -> list[int]:
    """For each spec, how many equal specs come before it (its place in its group)."""
    seen: dict[EpisodeSpec, int] = {}
    out = []
    for spec in episodes:
        out.append(seen.get(spec, 0))
        seen[spec] = out[-1] + 1
    return out


def _turn_seed(live: _Live) -> int:
    """The seed of an episode's next reply: a function of its spec, its place in its group and the turn."""
    spec = live.spec
    return stable_seed(
        spec.split, spec.task_id, spec.seed, spec.group_id, live.copy, len(live.trajectory.steps)
    )


@dataclass
class RolloutResult:
    """Every trajectory of a run (in the order of the episode specs) and their summary."""

    trajectories: list[Trajectory]
    summary: Summary


@dataclass(kw_only=True)
class _Live(EpisodeState):
    """An episode in progress in one slot."""

    spec: EpisodeSpec
    started: float = field(default_factory=time.perf_counter)
    index: int = 0
    copy: int = 0  # how many equal specs come before this one (the group member)

    def fail(self, failure: str, kind: FailureKind | None) -> None:
        traj = self.trajectory
        traj.outcome, traj.failure, traj.failure_kind = "failed", failure, kind


_Todo = tuple[int, EpisodeSpec, int]
"""An episode to run: its index in the run, its spec, its place in its group."""


def _started(live: _Live, result: Result) -> bool:
    """Take a reset's result into its episode; False when the reset failed (and so the episode)."""
    if result.error is not None:
        live.fail(f"reset failed: {result.error}", result.kind)
        return False
    live.observation, live.info = result.value
    live.trajectory.task = str(live.info.get("task", ""))
    live.trajectory.data_digest = str(live.info.get("data_digest", ""))
    return True


def _stepped(live: _Live, gen: Generation, action: tuple[str, bool], result: Result) -> bool:
    """Take a step's result into its episode; True when the episode is over (it ended, or the step failed)."""
    if result.error is not None:
        live.fail(f"step failed: {result.error}", result.kind)
        return True
    return record_step(live, gen, action, result.value)


def _policy_failed(live: _Live, err: Exception) -> None:
    live.fail(f"policy raised {type(err).__name__}: {err}", failure_kind(err, source="policy"))


class RolloutEngine:
    """Runs episodes of one environment against one policy.

    Example:
        >>> from agentgym.policies import ExpertPolicy
        >>> engine = RolloutEngine("guess", ExpertPolicy(), RolloutConfig(num_envs=4, progress=False))
        >>> result = engine.run(group_episodes(range(6), split="test", seed=0))
        >>> result.summary.success_rate, result.summary.episodes
        (1.0, 6)
        >>> engine.close()
    """

    def __init__(
        self,
        env: str | EnvFactory,
        policy: Policy,
        config: RolloutConfig | None = None,
        *,
        env_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if isinstance(env, str):
            env = EnvFactory(resolve(env).id, dict(env_kwargs or {}))
        elif env_kwargs:
            raise ConfigError("pass env_kwargs inside the EnvFactory, not beside it")
        if not isinstance(policy, Policy):
            raise ConfigError(f"{policy!r} is not a policy: it needs name and generate()")
        self.factory = env
        self.env_id = resolve(env.env_id).id if not env.server_urls else env.env_id
        self.policy = policy
        self.config = config or RolloutConfig()
        self.data_version = ""
        self.tools: list[dict[str, Any]] | None = None
        """The tools offered to the model (set by :meth:`describe_env`)."""
        self._sampling = self.config.sampling.model_dump()
        multiagent = not env.server_urls and resolve(env.env_id).multiagent
        self._seat = json.loads(json.dumps(env.seat, default=_player_name)) if multiagent else None
        self.workers = [
            make_worker(self.config.workers, env, self.config.ray) for _ in range(self.config.num_workers)
        ]
        self._homes: dict[int, int] = {}
        self._lost: dict[int, str] = {}  # slots whose env went with a restarted worker, and why
        self._placing = threading.Lock()  # guards _homes and _lost
        self._worker_locks = [threading.Lock() for _ in self.workers]

    def close(self) -> None:
        for worker in self.workers:
            worker.close()

    def __enter__(self) -> RolloutEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(
        self,
        episodes: Sequence[EpisodeSpec],
        writer: TrajectoryWriter | None = None,
        on_episode: Callable[[Trajectory], None] | None = None,
    ) -> RolloutResult:
        """Run every episode; write each trajectory to ``writer`` as it finishes."""
        started = time.perf_counter()
        self.describe_env()
        copies = _copy_numbers(episodes)
        todo = [(index, spec, copies[index]) for index, spec in enumerate(episodes)]
        done: dict[int, Trajectory] = {}
        with progress_bar(self.config.progress, len(episodes), self.env_id) as progress:

            def finish(live: _Live) -> None:
                traj = live.trajectory
                traj.wall_time_s = time.perf_counter() - live.started
                done[live.index] = traj
                if writer is not None:
                    writer.write(traj)
                if on_episode is not None:
                    on_episode(traj)
                progress(traj)

            if isinstance(self.policy, ConcurrentPolicy):
                self._stream(self.policy, todo, finish)
            else:
                self._turns(todo, finish)
        trajectories = [done[i] for i in range(len(episodes))]
        return RolloutResult(trajectories, summarize(trajectories, time.perf_counter() - started))

    def _turns(self, todo: list[_Todo], finish: Callable[[_Live], None]) -> None:
        """Lock-step turns: one batched generation for every active env, then one step each."""
        waiting = todo[::-1]
        slots: dict[int, _Live] = {}
        while waiting or slots:
            # Fill free slots with new episodes and reset them.
            resets = []
            for slot in range(self.config.num_envs):
                if slot not in slots and waiting:
                    slots[slot] = self._new_live(*waiting.pop())
                    resets.append(self._reset_command(slot, slots[slot].spec))
            for result in self.execute(resets):
                if not _started(slots[result.slot], result):
                    finish(slots.pop(result.slot))
            if not slots:
                continue
            order = sorted(slots)
            queries = [self._query(slots[s]) for s in order]
            try:
                generations = generate(self.policy, queries, self.config.sampling)
            except Exception as err:
                for slot in order:
                    _policy_failed(slots[slot], err)
                    finish(slots.pop(slot))
                continue
            replies = {
                s: (g, parse_reply(g, self.config.prompt.action_format))
                for s, g in zip(order, generations, strict=True)
            }
            steps = [Command(s, "step", replies[s][1][0], self.policy.wants_expert) for s in order]
            for result in self.execute(steps):
                if _stepped(slots[result.slot], *replies[result.slot], result):
                    finish(slots.pop(result.slot))

    def _stream(self, policy: ConcurrentPolicy, todo: list[_Todo], finish: Callable[[_Live], None]) -> None:
        """Each episode on a thread of its own, its next request sent as soon as its step returns."""
        free: queue.SimpleQueue[int] = queue.SimpleQueue()
        for slot in range(self.config.num_envs):
            free.put(slot)
        in_flight = threading.Semaphore(self.config.max_in_flight)
        stop = threading.Event()
        pool = ThreadPoolExecutor(self.config.num_envs, thread_name_prefix="agentgym-episode")
        try:
            futures = [pool.submit(self._play, policy, item, free, in_flight, stop) for item in todo]
            for future in as_completed(futures):
                finish(future.result())
        finally:
            stop.set()  # after an error here, the episodes in progress end at their next turn
            pool.shutdown(wait=True, cancel_futures=True)

    def _play(
        self,
        policy: ConcurrentPolicy,
        item: _Todo,
        free: queue.SimpleQueue[int],
        in_flight: threading.Semaphore,
        stop: threading.Event,
    ) -> _Live:
        """One episode from reset to its end, in a free slot (the streaming path)."""
        slot = free.get()
        try:
            live = self._new_live(*item)
            [result] = self.execute([self._reset_command(slot, live.spec)])
            if not _started(live, result):
                return live
            while not stop.is_set():
                query = self._query(live)
                try:
                    with in_flight:
                        gen = policy.generate_one(query, self.config.sampling)
                except Exception as err:
                    _policy_failed(live, err)
                    return live
                action = parse_reply(gen, self.config.prompt.action_format)
                [result] = self.execute([Command(slot, "step", action[0], policy.wants_expert)])
                if _stepped(live, gen, action, result):
                    return live
            return live
        finally:
            free.put(slot)

    # -- one turn ------------------------------------------------------------------

    def _new_live(self, index: int, spec: EpisodeSpec, copy: int) -> _Live:
        return _Live(trajectory=self.episode_record(spec), spec=spec, index=index, copy=copy)

    def _reset_command(self, slot: int, spec: EpisodeSpec) -> Command:
        options = {**(spec.options or {}), "split": spec.split, "task_id": spec.task_id}
        return Command(slot, "reset", (spec.seed, options), self.policy.wants_expert)

    def _query(self, live: _Live) -> Query:
        return build_query(live, self.policy, self.config.prompt, self.tools, _turn_seed(live))

    def episode_record(self, spec: EpisodeSpec) -> Trajectory:
        """The empty trajectory of an episode of this engine (call :meth:`describe_env` first)."""
        return new_trajectory(
            self.env_id,
            self.policy.name,
            data_version=self.data_version,
            env_kwargs=self.factory.kwargs,
            seat=self._seat,
            task_id=spec.task_id,
            split=spec.split,
            seed=spec.seed,
            group_id=spec.group_id,
            sampling=self._sampling,
        )

    # -- the slot API ---------------------------------------------------------------

    def execute(self, commands: Sequence[Command]) -> list[Result]:
        """Run commands on env slots (reset, step, snapshot, restore), their workers in parallel.

        This is the engine's slot API, for drivers other than :meth:`run` (tree
        search). A slot is placed on a worker at each reset or restore (its own,
        ``s % num_workers``, while that one runs) and keeps its env between calls.
        Each command gets one :class:`Result`, a failure (the env raised, overran
        ``step_timeout_s`` or lost its worker) as an error result; a failed slot
        gets a fresh env, and the other slots of a worker that had to restart fail
        their commands until their next reset or restore. Safe to call from many
        threads (the streaming path does); each worker runs one batch at a time.
        A snapshot of one slot restores into any slot, whatever the worker kind
        (through an env server too: its snapshots are signed by the server).

        Example:
            >>> from agentgym.policies import ExpertPolicy
            >>> engine = RolloutEngine("guess", ExpertPolicy(), RolloutConfig(num_envs=2, progress=False))
            >>> _ = engine.execute([Command(0, "reset", (0, {"task_id": 1}))])
            >>> [snap] = engine.execute([Command(0, "snapshot")])
            >>> first = engine.execute([Command(0, "step", "guess 5")])[0].value
            >>> _ = engine.execute([Command(1, "restore", snap.value)])
            >>> engine.execute([Command(1, "step", "guess 5")])[0].value == first
            True
            >>> engine.close()
        """
        if not commands:
            return []
        batches: dict[int, list[Command]] = {}
        with self._placing:
            for command in commands:
                if command.op in ("reset", "restore") or command.slot not in self._homes:
                    self._homes[command.slot] = self._place(command.slot)
                batches.setdefault(self._homes[command.slot], []).append(command)
        limit = self.config.step_timeout_s
        with contextlib.ExitStack() as held:
            # A worker runs one batch at a time; callers on several threads (the streaming
            # path) take their workers in one order, so none waits on another's.
            for w in sorted(batches):
                held.enter_context(self._worker_locks[w])
            results, batches = self._without_lost_envs(batches)
            for w, batch in batches.items():
                self.workers[w].send(batch)
            for w, batch in batches.items():
                worker = self.workers[w]
                try:
                    answers = worker.recv(timeout=limit * len(batch))
                except AgentGymError as err:
                    worker.restart()
                    kind = failure_kind(err, source="env")
                    results += [Result(c.slot, error=str(err), kind=kind) for c in batch]
                    self._forget_envs(w, {c.slot for c in batch}, err)
                    continue
                for answer in answers:
                    if answer.error is None and answer.seconds > limit:
                        answer = Result(
                            answer.slot,
                            error=f"env step took {answer.seconds:.1f} s (limit {limit:.1f} s)",
                            kind="env_timeout",
                        )
                    results.append(answer)
        return results

    def _without_lost_envs(
        self, batches: dict[int, list[Command]]
    ) -> tuple[list[Result], dict[int, list[Command]]]:
        """Error results for the commands of slots whose env went with a restarted worker, and the rest.

        Such a slot fails each command until a reset or restore gives it an env again.
        """
        lost, kept = [], {}
        with self._placing:
            for w, batch in batches.items():
                for command in batch:
                    if command.op in ("reset", "restore"):
                        self._lost.pop(command.slot, None)
                    elif command.slot in self._lost:
                        lost.append(Result(command.slot, error=self._lost[command.slot], kind="env_crash"))
                        continue
                    kept.setdefault(w, []).append(command)
        return lost, kept

    def _forget_envs(self, worker: int, failed: set[int], err: AgentGymError) -> None:
        """After a worker restarted, its other slots have no env until their next reset or restore."""
        why = f"its env was lost when its worker restarted after another env failed: {err}"
        with self._placing:
            for slot, home in self._homes.items():
                if home == worker and slot not in failed:
                    self._lost[slot] = why

    def _place(self, slot: int) -> int:
        """The worker for a slot's next episode: its own while it runs, else the least busy one that runs.

        A worker whose Ray actor was lost with its node waits for a node with room; its
        slots move to the others meanwhile and come back once it runs again.
        """
        own = slot % len(self.workers)
        if self.workers[own].ready:
            return own
        running = [w for w, worker in enumerate(self.workers) if worker.ready]
        if not running:
            return wait_for_any(self.workers)
        load = [sum(home == w for home in self._homes.values()) for w in range(len(self.workers))]
        return min(running, key=lambda w: (load[w], w))

    def describe_env(self) -> None:
        """Read the env's data version and the tools offered to the model once (they do not change)."""
        if self.data_version:
            return
        if self.factory.server_urls:
            env = self.factory()
            try:
                self.data_version, env_tools = env.data_version, env.tools
            finally:
                env.close()
        else:
            cls = load_entry_point(resolve(self.env_id).entry_point)
            self.data_version, env_tools = cls.data_version, getattr(cls, "tools", None)
        self.tools = offered_tools(env_tools, self.config.prompt)


def _player_name(player: Any) -> str:
    """How a seat's player that is not a bot name (a policy, a callable) is recorded."""
    return str(getattr(player, "name", type(player).__name__))
