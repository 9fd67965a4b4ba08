"""Held-out evaluation: which episodes, with which engine, and of a finished run.

The trainer evaluates during training with the same helpers, so
``agentgym eval RUN_DIR`` (:func:`evaluate_run`) plays exactly the episodes a
run's own evaluations played, with the weights of its latest checkpoint.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import agentgym
from agentgym.exceptions import ConfigError
from agentgym.policies.base import Policy, ReplySeeds, SamplingParams
from agentgym.prompting import PromptConfig
from agentgym.records import TrajectoryWriter
from agentgym.registry import resolve
from agentgym.rollout import (
    EnvFactory,
    EpisodeSpec,
    RolloutConfig,
    RolloutEngine,
    Summary,
    WorkerConfig,
    group_episodes,
)
from agentgym.trainers.config import TrainConfig, read_config

if TYPE_CHECKING:
    from agentgym.policies.hf import TransformersPolicy
    from agentgym.trainers.mcts import SearchConfig

EVAL_SEED = 1_000_000
"""Env seed of the first evaluation episode (the i-th adds i): every evaluation plays the same episodes."""


def prompt_config(config: TrainConfig) -> PromptConfig:
    """The prompt settings of a run, for training and evaluation alike."""
    return PromptConfig.model_validate(config.rollout.model_dump(include=set(PromptConfig.model_fields)))


def make_engine(
    config: TrainConfig, policy: Policy, sampling: SamplingParams, num_envs: int
) -> RolloutEngine:
    """A rollout engine for the run's env, prompts and workers."""
    r = config.rollout
    rollout = RolloutConfig(
        **r.model_dump(include=set(WorkerConfig.model_fields)),
        num_envs=r.num_envs or max(num_envs, 1),
        prompt=prompt_config(config),
        sampling=sampling,
        progress=False,
    )
    factory = EnvFactory(resolve(config.env).id, dict(config.env_kwargs), seat=config.seat)
    return RolloutEngine(factory, policy, rollout)


def train_sampling(config: TrainConfig) -> SamplingParams:
    """Training sampling: temperature 1, the run's longest reply."""
    return SamplingParams(temperature=1.0, max_new_tokens=config.rollout.max_new_tokens)


def eval_sampling(config: TrainConfig) -> SamplingParams:
    """Evaluation sampling: the run's eval temperature (0 is greedy)."""
    return SamplingParams(temperature=config.eval.temperature, max_new_tokens=config.rollout.max_new_tokens)


def eval_sampler_seed(config: TrainConfig) -> int:
    """Seed of the evaluation sampler (reset before each evaluation, so all are alike)."""
    return config.seed + 104_729


def eval_episodes(split: str, split_size: int, episodes: int = 0) -> list[EpisodeSpec]:
    """``episodes`` episodes of ``split`` (0: each of its tasks once), cycling through tasks.

    Example:
        >>> [(e.task_id, e.seed) for e in eval_episodes("valid", 2, episodes=3)]
        [(0, 1000000), (1, 1000001), (0, 1000002)]
    """
    n = episodes or split_size
    return group_episodes([i % split_size for i in range(n)], split=split, seed=EVAL_SEED)


def split_size(config: TrainConfig, split: str) -> int:
    """Number of tasks in ``split`` of the run's env."""
    env = agentgym.make(config.env, **config.env_kwargs)
    try:
        return int(env.unwrapped.splits[split])
    finally:
        env.close()


def evaluate_run(
    run_dir: str | Path,
    split: str = "valid",
    episodes: int = 0,
    out: str | Path | None = None,
    search: Mapping[str, Any] | None = None,
) -> Summary:
    """Play ``split`` with the latest checkpoint of a training run.

    Args:
        run_dir: a directory written by ``agentgym train``.
        split: the task split to play.
        episodes: how many episodes (0: each task of the split once).
        out: a JSONL file the trajectories are appended to.
        search: search from every state (test-time search) instead of playing the policy's
            replies, with the run's own tree search (:func:`run_search`) and these of its
            fields replaced (``{}``: none, ``{"simulations": 8}``: 8 simulations).

    Returns:
        The rollout :class:`~agentgym.rollout.Summary`.
    """
    from agentgym.policies.hf import TransformersPolicy
    from agentgym.trainers.checkpoint import latest_checkpoint
    from agentgym.trainers.learner import Learner

    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").is_file():
        raise ConfigError(f"{str(run_dir)!r} is not a training run (no config.yaml)")
    config = read_config(run_dir / "config.yaml")
    tree_search = None if search is None else run_search(config, search)
    checkpoint = latest_checkpoint(run_dir)
    if checkpoint is None:
        raise ConfigError(f"{str(run_dir)!r} has no checkpoint yet")
    learner = Learner(config.model, config.optim, reference=False, weights=str(checkpoint / "model"))
    policy = TransformersPolicy(learner.model, learner.tokenizer, seed=config.seed, name=str(checkpoint))
    with contextlib.ExitStack() as stack:
        writer = stack.enter_context(TrajectoryWriter(out)) if out else None
        stack.enter_context(learner.autocast())
        return evaluate_policy(config, policy, split, episodes, writer=writer, search=tree_search)


def run_search(config: TrainConfig, options: Mapping[str, Any]) -> SearchConfig:
    """The tree search that test-time search on a run uses: its algorithm's own, ``options`` replaced.

    A run of a search algorithm (``mcts-dpo``, ``agent-q``) searches with its
    ``algo.search`` settings; any other run with :class:`~agentgym.trainers.mcts.SearchConfig`'s
    defaults.

    Example:
        >>> from agentgym.trainers.config import build_config
        >>> run = build_config("mcts-dpo", {"env": "guess", "model": {"name_or_path": "m"}},
        ...                    ["algo.search.simulations=6", "algo.search.k=2"])
        >>> search = run_search(run, {"k": 3})
        >>> search.simulations, search.k
        (6, 3)
    """
    from agentgym.trainers.algorithms import get_algorithm
    from agentgym.trainers.mcts import search_config

    return search_config(options, get_algorithm(config.algorithm).needs(config.algo).search)


def evaluate_policy(
    config: TrainConfig,
    policy: TransformersPolicy,
    split: str = "valid",
    episodes: int = 0,
    *,
    writer: TrajectoryWriter | None = None,
    search: SearchConfig | None = None,
) -> Summary:
    """Play ``split`` with ``policy`` as the run's evaluations do: same episodes, prompts and sampling.

    The policy's reply seeds are reset first, so two policies (a model before
    and after training) play exactly the same episodes with the same seeds.

    Args:
        config: the run whose env, prompts, workers and eval sampling are used.
        policy: the model's policy.
        split, episodes: as in :func:`evaluate_run`.
        search: search from every state with this tree search instead of playing the policy's replies.
        writer: where the trajectories are written as they end.

    Returns:
        The rollout :class:`~agentgym.rollout.Summary`; with ``search`` its ``env_steps``
        count every step the search took, each branch beside the committed steps.
    """
    policy.seeds = ReplySeeds(eval_sampler_seed(config))
    specs = eval_episodes(split, split_size(config, split), episodes)
    with make_engine(config, policy, eval_sampling(config), len(specs)) as eng:
        if search is None:
            return eng.run(specs, writer=writer).summary
        from agentgym.trainers.mcts import TreeSearch

        return TreeSearch(eng, search).play(specs, writer=writer).summary
