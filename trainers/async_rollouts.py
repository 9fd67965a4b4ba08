"""Asynchronous rollouts: the next iterations' episodes played while the current one trains.

With ``async_staleness: K`` (K ≥ 1), a generator process plays the training
episodes of the coming iterations with its own copy of the policy while the
learner updates (a process, not a thread: a small model's generation is mostly
Python, which would hold the learner's interpreter lock). Weights have a
version: the number of updates they have had. Iteration ``j`` is played with
version ``max(j - K, start)`` (``start``: the iteration the run started or
resumed at), never newer, so every sample is at most K versions behind the
weights it trains, and which version plays which iteration does not depend on
timing: the same seed and K give the same run. While the generator process
starts (its imports take seconds), the learner plays the first unplayed
iteration itself when its own weights are the ones that play it (iteration
``start`` of a new run, ``start + K`` of a resumed one); which process plays
an iteration changes nothing, as the same weights and seeds give the same rollout.

The generator's copy is refreshed from the learner only when the next
iteration needs a newer version than it holds: after each update the trainer
publishes the new weights (a copy of the trainable tensors) if an unplayed
iteration will need them, and a feeder thread sends them with that iteration's
episodes. Each trajectory records the version that played it
(``Trajectory.policy_version``), and its recorded log-probs become the
behaviour log-probs of AReaL's decoupled loss (:mod:`.losses`).

Checkpoints and resume: a checkpoint after iteration ``i`` holds the finished
rollouts of iterations ``i .. i+K-1``, the ones played with weights older than
the checkpoint's (the trainer waits for them before it writes); a resumed run
trains on them and plays the rest from the checkpoint's weights, so a killed and
resumed run equals one never stopped. Rollouts in flight at the kill that the
checkpoint does not hold are dropped and played again the same way.

Example (two iterations of a tiny model on GuessNumber, one version of staleness):
    >>> import tempfile
    >>> from agentgym.policies.tiny import tiny_model
    >>> from agentgym.trainers import build_config
    >>> from agentgym.trainers.trainer import Trainer
    >>> tmp = tempfile.mkdtemp()
    >>> model, tokenizer = tiny_model(["guess 8", "Too high. guess 4"], seed=0)
    >>> model.save_pretrained(f"{tmp}/model"); _ = tokenizer.save_pretrained(f"{tmp}/model")
    >>> config = build_config(
    ...     "grpo",
    ...     {"env": "guess", "model": {"name_or_path": f"{tmp}/model"}},
    ...     ["iterations=2", "async_staleness=1", "algo.group_size=2", "algo.groups_per_iteration=2",
    ...      "eval.episodes=2", "rollout.max_new_tokens=4", "progress=false"],
    ... )
    >>> Trainer(config, f"{tmp}/run").run().episodes
    2
    >>> import shutil; shutil.rmtree(tmp)
"""

from __future__ import annotations

import copy
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from agentgym.exceptions import AgentGymError
from agentgym.policies.base import ReplySeeds
from agentgym.policies.hf import TransformersPolicy
from agentgym.records import Trajectory
from agentgym.rollout import RolloutResult, Summary

if TYPE_CHECKING:
    from agentgym.trainers.config import TrainConfig
    from agentgym.trainers.trainer import Trainer


class AsyncRollouts:
    """A background generator of an algorithm's iteration rollouts, at most ``staleness`` versions behind.

    Args:
        trainer: the trainer whose iterations are played (its algorithm declares
            ``Needs.group_rollouts``).
        staleness: K, the largest version gap between a sample and the weights it trains.
        pending: finished rollouts of the next iterations, as :meth:`pending` saved them.
    """

    def __init__(self, trainer: Trainer, staleness: int, pending: Sequence[dict[str, Any]] = ()) -> None:
        from agentgym.trainers.trainer import TaskCursor

        self.trainer, self.staleness = trainer, staleness
        self.first = trainer.iteration  # the version the run (re)started with
        self.groups, _ = trainer.needs.group_rollouts or (0, 0)
        self.version = trainer.iteration  # the version the generator's copy holds
        self.weights: dict[int, dict[str, torch.Tensor]] = {}  # published versions not loaded yet
        self.done: dict[int, RolloutResult] = {}
        self.timings: dict[int, dict[str, float]] = {}  # the generator's side of each played iteration
        for item in pending:
            self.done[item["iteration"]] = _result(item)
        self.next = trainer.iteration + len(self.done)  # the next iteration to play
        position = trainer.cursor.position + len(self.done) * self.groups  # this cursor runs ahead
        self.cursor = TaskCursor(trainer.splits["train"], trainer.config.seed, position)
        self.cond = threading.Condition()
        self.error: BaseException | None = None
        self.stopping = False
        self.thread = threading.Thread(target=self._feed, name="agentgym-async-rollouts", daemon=True)
        self.process: Any = None
        self.conn: Any = None

    def start(self) -> None:
        """Start the generator process (with a copy of the learner's weights) and its feeder thread."""
        t, learner = self.trainer, self.trainer.learner
        context = multiprocessing.get_context("spawn")  # fork is unsafe once torch has threads
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=_generator,
            args=(child, copy.deepcopy(learner.model).eval(), learner.tokenizer, t.config),
            kwargs={"slots": t.needs.envs_per_iteration, "bf16": learner.bf16},
            name="agentgym-generator",  # not a daemon: its env workers may be processes
        )
        self.process.start()
        child.close()
        j = self.next
        if j < t.config.iterations and self.played_by(j) == t.iteration:  # while the process starts
            self.done[j] = self._play_here(j)
            self.next = j + 1
        self.thread.start()

    def _play_here(self, iteration: int) -> RolloutResult:
        """Play ``iteration`` in the learner's process, with the learner's (unchanged) weights."""
        t = self.trainer
        t.policy.seeds = ReplySeeds(t.reply_seed(iteration))
        result = t.rollout(t.iteration_episodes(iteration, self.cursor.take(self.groups)))
        self.timings[iteration] = {"generate_s": result.summary.wall_time_s}
        return result

    def played_by(self, iteration: int) -> int:
        """The weights version that plays ``iteration``."""
        return max(iteration - self.staleness, self.first)

    # -- the learner's side -------------------------------------------------------------

    def take(self, iteration: int) -> RolloutResult:
        """The rollout of ``iteration``, waiting for it to finish."""
        with self.cond:
            self.cond.wait_for(lambda: iteration in self.done or self.error is not None)
            if self.error is not None:
                raise self.error
            return self.done.pop(iteration)

    def timing(self, iteration: int) -> dict[str, float]:
        """The generator's side of ``iteration`` once taken (none for one a checkpoint held;
        only ``generate_s`` for one the learner played).

        ``generate_s``: playing it; ``generator_idle_s``: waiting before it for
        the weights that play it (the learner behind) or for the learner to take
        older ones (K ahead); ``generator_overhead_s``: the rest of its round
        trip (pipe transfers, loading the weights; the process's start-up for the first).
        """
        with self.cond:
            return self.timings.pop(iteration, {})

    def publish(self, version: int, model: torch.nn.Module) -> None:
        """Offer the weights of ``version`` (just updated); copied if an unplayed iteration needs them."""
        iteration = version + self.staleness  # the first iteration played by this version
        with self.cond:
            if iteration >= self.trainer.config.iterations or iteration < self.next:
                return
        state = {name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad}
        with self.cond:
            self.weights[version] = state
            self.cond.notify_all()

    def pending(self) -> list[dict[str, Any]]:
        """The finished rollouts of the iterations played with weights older than the learner's.

        Waits for the ones still playing: these are what a checkpoint must hold to resume exactly.
        """
        t = self.trainer
        last = min(t.iteration + self.staleness, t.config.iterations)
        with self.cond:
            self.cond.wait_for(lambda: self.next >= last or self.error is not None)
            if self.error is not None:
                raise self.error
            return [{"iteration": j, **_saved(self.done[j])} for j in range(t.iteration, last)]

    def close(self) -> None:
        """Stop the generator (after the rollout it is playing) and its envs."""
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        if self.thread.is_alive():
            self.thread.join()
        if self.process is not None:
            self.conn.close()  # the generator ends when its pipe closes
            self.process.join()

    # -- the generator's side -----------------------------------------------------------

    def _feed(self) -> None:
        """The feeder thread: sends each iteration (and newer weights) to the generator, collects it."""
        t = self.trainer
        try:
            while True:
                with self.cond:
                    j = self.next
                    version = self.played_by(j)
                    idle = time.perf_counter()
                    self.cond.wait_for(lambda: self.stopping or self._can_play(j))  # noqa: B023 (called here)
                    sent = time.perf_counter()
                    if self.stopping:
                        return
                    state = self.weights.pop(version, None)
                    for old in [v for v in self.weights if v < version]:
                        del self.weights[old]
                episodes = t.iteration_episodes(j, self.cursor.take(self.groups))
                try:
                    self.conn.send((episodes, t.reply_seed(j), state))
                    reply = self.conn.recv()
                except (EOFError, OSError):
                    self.process.join()
                    raise AgentGymError(
                        f"the rollout generator process exited (code {self.process.exitcode}) mid-rollout; "
                        "rerun with --resume"
                    ) from None
                if isinstance(reply, str):
                    raise AgentGymError(f"the rollout generator failed: {reply}")
                self.version = version
                result = _result(reply)
                for trajectory in result.trajectories:
                    trajectory.policy_version = version
                generate = result.summary.wall_time_s
                timing = {
                    "generate_s": generate,
                    "generator_idle_s": sent - idle,
                    "generator_overhead_s": time.perf_counter() - sent - generate,
                }
                with self.cond:
                    self.done[j] = result
                    self.timings[j] = timing
                    self.next = j + 1
                    self.cond.notify_all()
        except BaseException as err:  # handed to the learner's thread, which raises it
            with self.cond:
                self.error = err
                self.cond.notify_all()

    def _can_play(self, iteration: int) -> bool:
        """Whether ``iteration`` is part of the run and the weights it is played by are here."""
        version = self.played_by(iteration)
        return iteration < self.trainer.config.iterations and (
            version == self.version or version in self.weights
        )


def torch_threads(config: TrainConfig) -> int:
    """Torch threads of the learner and of the generator: ``cpu_threads``, 0 for torch's default.

    Unset (0) under ``async_staleness``, each side takes half the CPUs this
    process may use: torch's default on both would run twice as many threads
    as there are CPUs.

    Example:
        >>> from agentgym.trainers import build_config
        >>> base = {"env": "guess", "model": {"name_or_path": "m"}}
        >>> config = build_config("grpo", base, ["async_staleness=1"])
        >>> torch_threads(config) == max(1, len(os.sched_getaffinity(0)) // 2)
        True
    """
    if config.cpu_threads or not config.async_staleness:
        return config.cpu_threads
    return max(1, len(os.sched_getaffinity(0)) // 2)


def _generator(conn: Any, model: Any, tokenizer: Any, config: TrainConfig, *, slots: int, bf16: bool) -> None:
    """The generator process: plays the episodes it is sent, with the weights it is sent.

    Each message is ``(episodes, reply seed, trainable tensors or None)``; each
    answer the rollout (as :func:`_saved` writes it) or one line saying what failed.
    It ends when the trainer closes the pipe (or dies).
    """
    from agentgym.trainers.evaluate import make_engine, train_sampling

    if threads := torch_threads(config):
        torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(config.deterministic)
    policy = TransformersPolicy(model, tokenizer, seed=config.seed)
    engine = make_engine(config, policy, train_sampling(config), slots)
    device = next(model.parameters()).device
    params = dict(model.named_parameters())
    try:
        while True:
            try:
                episodes, seed, state = conn.recv()
            except (EOFError, OSError):
                return
            try:
                if state is not None:
                    with torch.no_grad():
                        for name, value in state.items():
                            params[name].copy_(value)
                policy.seeds = ReplySeeds(seed)
                autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)
                with autocast:
                    result = engine.run(episodes)
                conn.send(_saved(result))
            except Exception as err:  # reported to the trainer in one line
                conn.send(f"{type(err).__name__}: {err}")
                return
    finally:
        engine.close()


def _saved(result: RolloutResult) -> dict[str, Any]:
    return {
        "trajectories": [t.to_json() for t in result.trajectories],
        "summary": result.summary.model_dump_json(),
    }


def _result(item: dict[str, Any]) -> RolloutResult:
    return RolloutResult(
        [Trajectory.model_validate_json(t) for t in item["trajectories"]],
        Summary.model_validate_json(item["summary"]),
    )
