"""The shared training loop: every algorithm is one ``train_iteration`` on top of it.

The :class:`Trainer` owns what all algorithms share: the run directory (config,
metrics, TensorBoard, checkpoints), the :class:`~.learner.Learner`, the rollout
engines (in-process, sampling from the very model being trained), the order of
training tasks, held-out evaluation every ``eval.every`` iterations, and exact
resume. An :class:`Algorithm` gets the trainer and does one iteration as its
paper describes: collect, compute its signal, update.

Determinism: the task order, the env seeds and the sampler's seed are
functions of (seed, iteration), and the checkpoint holds everything else
(weights, optimizer, scheduler, RNG states, cursor), so a resumed run continues
bit for bit (with ``deterministic: true`` on CPU).

With ``async_staleness: K`` > 0 an algorithm that declares its iteration's
task groups (``Needs.group_rollouts``) gets them from a background generator
that plays ahead with weights at most K updates old (:mod:`.async_rollouts`).
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np
import torch
from pydantic import BaseModel

import agentgym
from agentgym.exceptions import ConfigError
from agentgym.policies.base import Policy, ReplySeeds
from agentgym.policies.hf import TransformersPolicy
from agentgym.policies.models import resolve_model
from agentgym.policies.openai import OpenAIPolicy
from agentgym.records import Trajectory
from agentgym.rollout import EpisodeSpec, RolloutResult, Summary, group_episodes
from agentgym.trainers.algorithms import Needs, ReportSpec, get_algorithm
from agentgym.trainers.async_rollouts import AsyncRollouts, torch_threads
from agentgym.trainers.batching import Sample, episode_samples, mark_stale, step_samples
from agentgym.trainers.checkpoint import (
    CHECKPOINTS,
    latest_checkpoint,
    load_state,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from agentgym.trainers.config import TrainConfig, dump_config
from agentgym.trainers.distributed import Ranks, SilentLog
from agentgym.trainers.evaluate import (
    eval_episodes,
    eval_sampler_seed,
    eval_sampling,
    make_engine,
    train_sampling,
)
from agentgym.trainers.league import League, make_league
from agentgym.trainers.learner import Learner, Objective, Trainable
from agentgym.trainers.runlog import Display, RunLog
from agentgym.trainers.vllm_server import VLLMServer


class Algorithm(Protocol):
    """One learning algorithm. ``Config`` is the pydantic model of its ``algo`` section.

    It is constructed before the model loads, with the trainer's ``config`` and
    ``env_info`` (the env's first info) set: the place to refuse an unsuitable
    env in one line. ``trainer.learner`` exists from :meth:`modules` on, which
    the trainer calls once, before restoring a checkpoint.
    """

    Config: ClassVar[type[BaseModel]]
    report: ClassVar[ReportSpec]

    @classmethod
    def needs(cls, config: Any) -> Needs:
        """What the algorithm asks of the loop with ``config``, its ``algo`` section."""
        ...

    def __init__(self, config: Any, trainer: Trainer) -> None: ...

    def modules(self) -> dict[str, Trainable]:
        """Modules trained (or kept) beside the policy, by name; checkpointed and restored by the trainer."""
        ...

    def train_iteration(self, iteration: int) -> dict[str, Any]:
        """Collect, learn, return the iteration's figures, ``env_steps`` and ``failure_kinds`` among them."""
        ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class TaskCursor:
    """Training tasks in a fresh seeded permutation per pass; ``position`` is all its state.

    Example:
        >>> c = TaskCursor(3, seed=0)
        >>> sorted(c.take(3)) == [0, 1, 2], c.position
        (True, 3)
    """

    def __init__(self, n_tasks: int, seed: int, position: int = 0) -> None:
        self.n_tasks, self.seed, self.position = n_tasks, seed, position

    def take(self, k: int) -> list[int]:
        out = []
        for _ in range(k):
            epoch, index = divmod(self.position, self.n_tasks)
            out.append(int(np.random.default_rng([self.seed, epoch]).permutation(self.n_tasks)[index]))
            self.position += 1
        return out


class Trainer:
    """Runs ``config.algorithm`` on ``config.env``, writing everything under ``run_dir``.

    Args:
        config: the resolved configuration.
        run_dir: where the run lives; must be new or empty unless resuming.
        resume: continue from the run's latest checkpoint; a run killed before
            its first one starts over (its partial logs dropped), and a new or
            empty ``run_dir`` starts the run, so the same command goes on after
            a kill at any point.

    Example (one GiGPO iteration of a randomly initialised tiny model on GuessNumber):
        >>> import tempfile
        >>> from agentgym.policies.tiny import tiny_model
        >>> from agentgym.trainers import build_config
        >>> tmp = tempfile.mkdtemp()
        >>> model, tokenizer = tiny_model(["guess 8", "Too high. guess 4"], seed=0)
        >>> model.save_pretrained(f"{tmp}/model"); _ = tokenizer.save_pretrained(f"{tmp}/model")
        >>> config = build_config(
        ...     "gigpo",
        ...     {"env": "guess", "model": {"name_or_path": f"{tmp}/model"}},
        ...     ["iterations=1", "algo.group_size=2", "algo.groups_per_iteration=2", "eval.episodes=2",
        ...      "rollout.max_new_tokens=4", "progress=false"],
        ... )
        >>> summary = Trainer(config, f"{tmp}/run").run()  # rollouts, GiGPO update, evaluation
        >>> summary.episodes
        2
        >>> import shutil; shutil.rmtree(tmp)
    """

    def __init__(self, config: TrainConfig, run_dir: str | Path, *, resume: bool = False) -> None:
        self.config = config
        self.run_dir = Path(run_dir)
        self.ranks = Ranks.from_env()  # data-parallel ranks (trainers/distributed.py); rank 0 writes
        spec = get_algorithm(config.algorithm)
        self.needs = spec.needs(config.algo)
        self.ranks.check_groups(self.needs.task_groups)
        checkpoint = self.ranks.broadcast(self._find_checkpoint(resume) if self.ranks.is_main else None)
        self.env_info, self.splits = _probe_env(config)
        self.league: League | None = None
        """The opponents of a multi-agent run (``league`` section); training rollouts play against it."""
        if config.league is not None:
            if self.ranks.size > 1:
                raise ConfigError("a league trains in one process; drop --nproc")
            self.league = make_league(config, self.run_dir)
        state = load_state(checkpoint) if checkpoint else None
        self.iteration = state["iteration"] if state else 0
        self.env_steps = state["env_steps"] if state else 0
        self.cursor = TaskCursor(self.splits["train"], config.seed, state["cursor"] if state else 0)
        self.algorithm: Algorithm = spec.algorithm_class(config.algo, self)
        _check_async(config, self.needs, self.ranks)
        self.learner = Learner(
            config.model,
            config.optim,
            seed=config.seed,
            reference=self.needs.reference,
            weights=str(checkpoint / "model") if checkpoint else None,
            ranks=self.ranks,
        )
        self.modules = self.algorithm.modules()
        if state:
            self.learner.load_state_dict(state["learner"])
            for name, module in self.modules.items():
                module.load_state_dict(state["modules"][name])
            self.algorithm.load_state_dict(state["algorithm"])
        self._rng = state["rng"] if state else None
        if not state and self.ranks.is_main:  # a new run, or one killed before its first checkpoint
            shutil.rmtree(self.run_dir / CHECKPOINTS, ignore_errors=True)
            self.run_dir.mkdir(parents=True, exist_ok=True)
            dump_config(config, self.run_dir / "config.yaml")
        self.server = self._start_server()
        self.policy, self.eval_policy = self._sampler(), self._sampler()
        resume_from = self.iteration if state else None
        self.log = RunLog(self.run_dir, resume_from) if self.ranks.is_main else SilentLog()
        self.display = Display(enabled=False)
        if self.league is not None:
            if state:
                self.league.load_state_dict(state["league"])
            elif self.ranks.is_main and self.league.settings.self_play:
                self.league.snapshot(0, self.learner)  # the starting model is the first snapshot
        slots = self.needs.envs_per_iteration
        self.engine = make_engine(config, self.policy, train_sampling(config), slots)
        self.eval_specs = eval_episodes(
            config.eval.split, self.splits[config.eval.split], config.eval.episodes
        )
        self.eval_engine = make_engine(config, self.eval_policy, eval_sampling(config), len(self.eval_specs))
        self.async_rollouts = (
            AsyncRollouts(self, config.async_staleness, state.get("async_rollouts", []) if state else [])
            if config.async_staleness
            else None
        )

    # -- services for algorithms ------------------------------------------------------

    def next_tasks(self, k: int) -> list[int]:
        """The next ``k`` training task ids."""
        return self.cursor.take(k)

    def episode_seed(self, iteration: int) -> int:
        """Base env seed of an iteration's episodes (each group adds its index)."""
        return self.config.seed * 1_000_003 + iteration * 10_007

    def reply_seed(self, iteration: int) -> int:
        """Seed of the training sampler's :class:`ReplySeeds` in an iteration."""
        return self.config.seed * 7_919 + iteration

    def rollout(self, episodes: Sequence[EpisodeSpec]) -> RolloutResult:
        """Play ``episodes`` (this rank's groups of them) with the current weights, at temperature 1.

        In a league, each task group plays a seat against an opponent drawn from the league,
        and the games are rated.
        """
        if self.league is not None:
            episodes = self.league.assign(episodes, self.iteration)
        if self.server is not None:
            self.server.ensure_up()
        with self.learner.autocast():
            result = self.engine.run(self.ranks.share(episodes, [e.group_id for e in episodes]))
        if self.league is not None:
            self.league.record(result.trajectories)
        for trajectory in result.trajectories:
            trajectory.policy_version = self.iteration
        return result

    def iteration_rollout(self, iteration: int) -> RolloutResult:
        """The training episodes of ``iteration``: its ``Needs.group_rollouts`` task groups, played.

        Synchronously with the current weights; with ``async_staleness`` K, by
        the background generator with weights at most K updates old (each
        trajectory's ``policy_version`` says which).
        """
        groups, _ = self.needs.group_rollouts or (0, 0)
        if self.async_rollouts is None:
            return self.rollout(self.iteration_episodes(iteration, self.next_tasks(groups)))
        result = self.async_rollouts.take(iteration)
        self.next_tasks(groups)  # the generator's own cursor ran ahead; this one is checkpointed
        return result

    def iteration_episodes(self, iteration: int, tasks: list[int]) -> list[EpisodeSpec]:
        """The episodes of ``iteration``: ``Needs.group_rollouts`` copies of each of ``tasks``."""
        _, size = self.needs.group_rollouts or (0, 1)
        return group_episodes(tasks, split="train", group_size=size, seed=self.episode_seed(iteration))

    def logs_samples(self, iteration: int) -> bool:
        """Whether ``iteration`` keeps annotated sample trajectories (the first and each evaluated one)."""
        every = self.config.eval.every
        return iteration == 0 or bool(every and (iteration + 1) % every == 0)

    def samples(self, trajectories: Sequence[Trajectory], advantages: Sequence[float]) -> list[Sample]:
        """Training samples of ``trajectories`` in the configured mode (per step or per episode).

        Samples played by older weights than the learner's (asynchronous
        rollouts) keep their log-probs as behaviour log-probs (:func:`.batching.mark_stale`).
        """
        if self.config.rollout.samples == "step":
            samples = step_samples(trajectories, advantages)
        else:
            samples = episode_samples(
                trajectories, advantages, self.learner.tokenizer, self.engine.config.prompt
            )
        mark_stale(samples, self.iteration)
        return samples

    def update(self, samples: Sequence[Sample], objective: Objective, iteration: int) -> dict[str, float]:
        """Optimizer steps on ``samples``; mini-batch order seeded by (seed, iteration)."""
        rng = np.random.default_rng([self.config.seed, iteration, 1])
        return self.learner.update(samples, objective, rng)

    # -- the loop -----------------------------------------------------------------------

    def run(self) -> Summary:
        """Train to ``iterations`` (or ``max_env_steps``); returns the last evaluation."""
        cfg = self.config
        title = f"{cfg.algorithm} {cfg.env}"
        self.display = Display(cfg.progress, cfg.iterations, title, start=self.iteration)
        try:
            with self._determinism():
                if self.async_rollouts is not None:
                    self.async_rollouts.start()
                summary = self.evaluate() if self.iteration == 0 else None
                while self.iteration < cfg.iterations and not self._budget_spent():
                    self._train_one()
                    due = cfg.eval.every and self.iteration % cfg.eval.every == 0
                    last = self.iteration == cfg.iterations or self._budget_spent()
                    if due or last:
                        summary = self.evaluate()
                    if self.iteration % cfg.checkpoint_every == 0 or last:
                        self.checkpoint()
                summary = self.ranks.broadcast(summary or self.evaluate(record=False))
                self.ranks.close()
                return summary
        finally:
            self.close()

    def _train_one(self) -> None:
        it = self.iteration
        self.policy.seeds = ReplySeeds(self.reply_seed(it))
        self.display.phase("train")
        started = time.perf_counter()
        metrics = self.ranks.combine(self.algorithm.train_iteration(it))
        self.env_steps += int(metrics["env_steps"])
        metrics["env_steps_total"] = self.env_steps
        self.iteration += 1
        if self.league is not None:
            metrics.update(self.league.end_iteration(self.iteration, self.learner))
        if self.server is not None:
            self.display.phase("sync")
            sync_started = time.perf_counter()
            self._serve(self.server.sync(self.learner, self.iteration))
            metrics["sync_s"] = time.perf_counter() - sync_started
        if self.async_rollouts is not None:
            metrics.update(self.async_rollouts.timing(it))
            self.async_rollouts.publish(self.iteration, self.learner.model)
        metrics["time_s"] = time.perf_counter() - started
        self.log.log("train", self.iteration, metrics)
        self.display.advance({k: metrics[k] for k in ("success", "loss", "kl") if k in metrics})

    def evaluate(self, record: bool = True) -> Summary | None:
        """Play the evaluation episodes with the current weights and (with ``record``) log the summary.

        Rank 0 evaluates; the other ranks of a data-parallel run get None.
        """
        if not self.ranks.is_main:
            return None
        split = self.config.eval.split
        self.display.phase("eval")
        self.eval_policy.seeds = ReplySeeds(eval_sampler_seed(self.config))
        if self.server is not None:
            self.server.ensure_up()
        with self.learner.autocast():
            s = self.eval_engine.run(self.eval_specs).summary
        if record:
            self.log.log(
                "eval", self.iteration, {"split": split, **s.model_dump(exclude={"failure_reasons"})}
            )
        self.display.note(
            f"iteration {self.iteration}: {split} success {s.success_rate:.1%} ({s.episodes} episodes)"
        )
        return s

    def checkpoint(self) -> Path | None:
        """Save everything needed to resume after the current iteration (rank 0 writes; others: None)."""
        if not self.ranks.is_main:
            return None
        self.display.phase("save")
        state = {
            "env_steps": self.env_steps,
            "cursor": self.cursor.position,
            "rng": rng_state(),
            "algorithm": self.algorithm.state_dict(),
            "modules": {name: module.state_dict() for name, module in self.modules.items()},
            "league": self.league.state_dict() if self.league is not None else None,
        }
        if self.async_rollouts is not None:  # played by older weights: resumed as they are
            state["async_rollouts"] = self.async_rollouts.pending()
        return save_checkpoint(
            self.run_dir, self.iteration, self.learner, state, self.config.keep_checkpoints
        )

    def close(self) -> None:
        if self.async_rollouts is not None:
            self.async_rollouts.close()
        self.display.close()
        self.engine.close()
        self.eval_engine.close()
        self.log.close()
        if self.server is not None:
            self.server.close()

    # -- plumbing -----------------------------------------------------------------------

    def _start_server(self) -> VLLMServer | None:
        """With ``rollout.backend: vllm``: the run's vLLM server, holding the current weights."""
        if self.config.rollout.backend != "vllm":
            return None
        if self.needs.in_process_policy:
            raise ConfigError(
                f"{self.config.algorithm} samples from the model in-process, so it cannot roll out through "
                "vLLM; drop --rollout vllm (rollout.backend: transformers)"
            )
        if self.ranks.size > 1:
            raise ConfigError("rollout.backend vllm runs in one process; drop --nproc or --rollout vllm")
        if self.config.async_staleness:
            raise ConfigError(
                "async_staleness plays ahead with in-process copies of the model, not through vLLM; "
                "drop --async-staleness or --rollout vllm"
            )
        server = VLLMServer(
            self.config.rollout.vllm,
            model=resolve_model(self.config.model.name_or_path),
            lora_rank=self.config.model.lora_rank,
            dtype="bfloat16" if self.learner.bf16 else "float32",
            run_dir=self.run_dir,
        )
        try:
            server.sync(self.learner, self.iteration)
        except BaseException:
            server.close()
            raise
        return server

    def _sampler(self) -> Policy:
        """A policy sampling the current weights: in-process, or through the run's vLLM server."""
        if self.server is None:
            return TransformersPolicy(self.learner.model, self.learner.tokenizer, seed=self.config.seed)
        return OpenAIPolicy(self.server.api_url, model=self.server.served, seed=self.config.seed)

    def _serve(self, model: str) -> None:
        """Point the server policies at ``model``, the served name of the weights just synced."""
        self.policy.model = self.eval_policy.model = model

    def _budget_spent(self) -> bool:
        return bool(self.config.max_env_steps) and self.env_steps >= self.config.max_env_steps

    @contextlib.contextmanager
    def _determinism(self) -> Iterator[None]:
        """Seed (or restore) torch's RNG, deterministic mode and threads; restore the caller's after."""
        devices = list(range(torch.cuda.device_count()))
        previous = torch.are_deterministic_algorithms_enabled(), torch.get_num_threads()
        with torch.random.fork_rng(devices=devices):
            if self._rng is None:
                torch.manual_seed(self.config.seed)
            else:
                set_rng_state(self._rng)
            torch.use_deterministic_algorithms(self.config.deterministic)
            if threads := torch_threads(self.config):
                torch.set_num_threads(threads)
            try:
                yield
            finally:
                torch.use_deterministic_algorithms(previous[0])
                torch.set_num_threads(previous[1])

    def _find_checkpoint(self, resume: bool) -> Path | None:
        """The checkpoint to continue from; None starts the run (over) at iteration 0."""
        if not (self.run_dir.exists() and any(self.run_dir.iterdir())):
            return None
        if not resume:
            raise ConfigError(
                f"run directory {str(self.run_dir)!r} is not empty; pass --resume to continue it "
                "or choose another --out"
            )
        if not (self.run_dir / "config.yaml").is_file():
            raise ConfigError(f"cannot resume: {str(self.run_dir)!r} is not a training run (no config.yaml)")
        return latest_checkpoint(self.run_dir)  # None: killed before its first checkpoint


def _check_async(config: TrainConfig, needs: Needs, ranks: Ranks) -> None:
    """Refuse ``async_staleness`` where it cannot apply, in one line."""
    if not config.async_staleness:
        return
    if needs.group_rollouts is None:
        raise ConfigError(
            f"{config.algorithm} does not play its iterations as task groups, so it cannot roll out "
            "ahead; async_staleness applies to gigpo, grpo and rloo: drop --async-staleness"
        )
    if ranks.size > 1:
        raise ConfigError("async_staleness runs in one process; drop --nproc or set --async-staleness 0")
    if config.league is not None:
        raise ConfigError(
            "a league draws opponents as it trains, so it cannot roll out ahead; drop --async-staleness"
        )


def _probe_env(config: TrainConfig) -> tuple[dict[str, Any], dict[str, int]]:
    """The first training info of the env and its split sizes; fails early on a bad env."""
    env = agentgym.make(config.env, **config.env_kwargs)
    if isinstance(env, agentgym.TextAECEnv):
        if config.seat is None:
            env.close()
            raise ConfigError(
                f"{config.env!r} is a multi-agent game; choose the seat to train, e.g. "
                f"--set seat.learner={env.possible_agents[0]} --set seat.others=random"
            )
        env = agentgym.seat(env, **config.seat)
    try:
        _, info = env.reset(seed=config.seed, options={"split": "train", "task_id": 0})
        return info, dict(env.unwrapped.splits)
    finally:
        env.close()
