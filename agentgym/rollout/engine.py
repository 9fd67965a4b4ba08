"""The rollout engine: many environments against one policy, turn by turn.

Each turn the engine asks the policy once for every active environment (one
batched generation), then steps all of them in parallel on their workers.
Turns are synchronous, so the same episodes, seeds and policy give the same
trajectories whether envs run on threads, subprocesses or Ray actors.

A step that raises, times out or loses its worker fails only its episode: the
trajectory is kept with ``outcome="failed"`` and the reason, never used for
training, and the slot gets a fresh env for its next episode. Trajectories are
written as they finish.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agentgym.exceptions import AgentGymError, ConfigError, FailureKind, failure_kind
from agentgym.policies.base import Policy, SamplingParams, stable_seed
from agentgym.prompting import PromptConfig, offered_tools
from agentgym.records import Trajectory, TrajectoryWriter
from agentgym.registry import load_entry_point, resolve
from agentgym.rollout.cluster import RayConfig
from agentgym.rollout.summary import Summary, summarize
from agentgym.rollout.turn import (
    EpisodeState,
    build_query,
    generate,
    new_trajectory,
    parse_reply,
    record_step,
)
from agentgym.rollout.workers import Command, EnvFactory, Result, WorkerKind, make_worker, wait_for_any


class RolloutConfig(BaseModel):
    """How a rollout runs."""

    model_config = ConfigDict(extra="forbid")

    num_envs: int = Field(8, ge=1, le=4096, description="Environments stepped at once.")
    workers: WorkerKind = Field("thread", description="Where envs run: thread, process or ray.")
    num_workers: int = Field(1, ge=1, le=256, description="Threads, processes or actors hosting the envs.")
    ray: RayConfig = Field(default_factory=RayConfig, description="The Ray cluster of workers='ray'.")
    step_timeout_s: float = Field(
        60.0, gt=0, allow_inf_nan=False, description="Longest env step before its episode fails."
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
        queue = list(enumerate(episodes))[::-1]
        copies = _copy_numbers(episodes)
        done: dict[int, Trajectory] = {}
        slots: dict[int, _Live] = {}
        with _progress(self.config.progress, len(episodes), self.env_id) as progress:

            def finish(
                slot: int, live: _Live, failure: str | None = None, kind: FailureKind | None = None
            ) -> None:
                traj = live.trajectory
                if failure is not None:
                    traj.outcome, traj.failure, traj.failure_kind = "failed", failure, kind
                traj.wall_time_s = time.perf_counter() - live.started
                del slots[slot]
                done[live.index] = traj
                if writer is not None:
                    writer.write(traj)
                if on_episode is not None:
                    on_episode(traj)
                progress(traj)

            while queue or slots:
                # Fill free slots with new episodes and reset them.
                resets = []
                for slot in range(self.config.num_envs):
                    if slot not in slots and queue:
                        index, spec = queue.pop()
                        slots[slot] = self._new_live(index, spec)
                        slots[slot].copy = copies[index]
                        options = {**(spec.options or {}), "split": spec.split, "task_id": spec.task_id}
                        resets.append(Command(slot, "reset", (spec.seed, options), self.policy.wants_expert))
                for result in self.execute(resets):
                    live = slots[result.slot]
                    if result.error is not None:
                        finish(result.slot, live, f"reset failed: {result.error}", result.kind)
                    else:
                        live.observation, live.info = result.value
                        live.trajectory.task = str(live.info.get("task", ""))
                        live.trajectory.data_digest = str(live.info.get("data_digest", ""))
                if not slots:
                    continue
                # One batched generation for every active env, then one step each.
                order = sorted(slots)
                prompt = self.config.prompt
                queries = [
                    build_query(slots[s], self.policy, prompt, self.tools, _turn_seed(slots[s]))
                    for s in order
                ]
                try:
                    generations = generate(self.policy, queries, self.config.sampling)
                except Exception as err:
                    kind = failure_kind(err, source="policy")
                    for slot in order:
                        finish(slot, slots[slot], f"policy raised {type(err).__name__}: {err}", kind)
                    continue
                actions = {
                    s: parse_reply(g, prompt.action_format) for s, g in zip(order, generations, strict=True)
                }
                gens = dict(zip(order, generations, strict=True))
                steps = [Command(s, "step", actions[s][0], self.policy.wants_expert) for s in order]
                for result in self.execute(steps):
                    live = slots[result.slot]
                    if result.error is not None:
                        finish(result.slot, live, f"step failed: {result.error}", result.kind)
                        continue
                    if record_step(live, gens[result.slot], actions[result.slot], result.value):
                        finish(result.slot, live)
        trajectories = [done[i] for i in range(len(episodes))]
        return RolloutResult(trajectories, summarize(trajectories, time.perf_counter() - started))

    # -- one turn ------------------------------------------------------------------

    def _new_live(self, index: int, spec: EpisodeSpec) -> _Live:
        return _Live(trajectory=self.episode_record(spec), spec=spec, index=index)

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
        gets a fresh env. A snapshot of one slot restores into any slot, whatever
        the worker kind (through an env server too: its snapshots are signed by
        the server).

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
        for command in commands:
            if command.op in ("reset", "restore") or command.slot not in self._homes:
                self._homes[command.slot] = self._place(command.slot)
            batches.setdefault(self._homes[command.slot], []).append(command)
        for w, batch in batches.items():
            self.workers[w].send(batch)
        limit = self.config.step_timeout_s
        results = []
        for w, batch in batches.items():
            worker = self.workers[w]
            try:
                answers = worker.recv(timeout=limit * len(batch))
            except AgentGymError as err:
                worker.restart()
                kind = failure_kind(err, source="env")
                results += [Result(c.slot, error=str(err), kind=kind) for c in batch]
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


class _progress:
    """A rich progress bar over episodes with the running success rate (or nothing)."""

    def __init__(self, enabled: bool, total: int, label: str) -> None:
        self.enabled, self.total, self.label = enabled, total, label
        self.won = self.finished = 0

    def __enter__(self) -> Callable[[Trajectory], None]:
        if self.enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("success {task.fields[rate]}"),
                TimeElapsedColumn(),
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=self.total, rate="-")
        return self.update

    def update(self, traj: Trajectory) -> None:
        self.finished += 1
        self.won += traj.won
        if self.enabled:
            self.bar.update(self.task, advance=1, rate=f"{self.won / self.finished:.0%}")

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.bar.stop()
