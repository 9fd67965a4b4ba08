"""The algorithms ``agentgym train`` knows, by name, and what each declares to the shared loop.

An algorithm is an entry point plus a preset. A preset is a config layer
applied over the defaults, before any file or flag: a handful of overrides of
the algorithm's own settings (GRPO and RLOO are GiGPO's code path with ω = 0,
and for RLOO a leave-one-out baseline without std) and of the shared sections
where its paper differs from the generic default (GiGPO prompts with the last
2 steps; a generic rollout shows them all). Nothing is imported until an
algorithm is asked for.

What an algorithm needs from the loop (:class:`Needs`) and what its report
shows (:class:`ReportSpec`) are declared here in plain data, so the trainer,
evaluation and the report read only these, never an algorithm's config fields.

Example:
    >>> get_algorithm("rloo").preset
    {'rollout': {'history': 2}, 'algo': {'omega': 0.0, 'baseline': 'leave_one_out', 'norm': 'none'}}
    >>> get_algorithm("ppo")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    agentgym.exceptions.ConfigError: unknown algorithm 'ppo'; choose one of gigpo, grpo, rloo, rft, ...
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentgym.exceptions import ConfigError
from agentgym.registry import load_entry_point

if TYPE_CHECKING:
    from agentgym.trainers.mcts import SearchConfig


@dataclass(frozen=True)
class Needs:
    """What an algorithm asks of the shared training loop (its classmethod ``needs(config)``).

    A function of the ``algo`` config alone, so the command line reads it before
    any process starts (``--nproc`` checks ``task_groups``) and the trainer
    before the model loads.

    Example:
        >>> needs = Needs(reference=True, envs_per_iteration=128, group_rollouts=(16, 8))
        >>> needs.task_groups, needs.in_process_policy, needs.search
        (16, False, None)
    """

    reference: bool = False
    """Load a frozen reference model (KL terms, reference log-probs)."""
    envs_per_iteration: int = 1
    """Episodes an iteration plays at once: the size of the training rollout engine."""
    group_rollouts: tuple[int, int] | None = None
    """(task groups, episodes per group) an iteration plays from the task cursor through
    ``trainer.iteration_rollout``: declared, the trainer can play them ahead (``async_staleness``)."""
    in_process_policy: bool = False
    """Samples from the trainer's in-process model itself, so it cannot roll out through a server."""
    search: SearchConfig | None = None
    """The tree search that plays its training episodes: search at test time on its runs
    (``agentgym eval RUN --search mcts``) starts from these settings."""

    @property
    def task_groups(self) -> int | None:
        """Task groups an iteration plays, which data-parallel ranks share; None: iterations hold no
        groups (state such as a replay buffer lives in one process), so the algorithm runs in one."""
        return self.group_rollouts[0] if self.group_rollouts else None


@dataclass(frozen=True)
class ReportSpec:
    """What a run's report draws for an algorithm (its class attribute ``report``).

    ``figures``: (title, ((label, metric key), ...)) per figure of train metrics.
    ``columns``: (header, key) per per-step column of the sample trajectories
    (keys of the steps that the algorithm logs with ``trainer.log.samples``).
    ``note``: the paragraph above the sample trajectories.
    """

    figures: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    columns: tuple[tuple[str, str], ...] = ()
    note: str = ""


@dataclass(frozen=True)
class AlgorithmSpec:
    """One trainable algorithm: where its class lives and which defaults it overrides.

    ``preset`` is a nested config layer by section (``algo``, ``rollout``, ...).
    """

    name: str
    entry_point: str
    summary: str
    preset: dict[str, Any] = field(default_factory=dict)
    league: bool = False
    """It can train in a league on a multi-agent game (its rollouts go through ``Trainer.rollout``)."""

    @property
    def algorithm_class(self) -> Any:
        """The class implementing ``train_iteration`` (see :class:`agentgym.trainers.trainer.Algorithm`)."""
        return load_entry_point(self.entry_point)

    @property
    def config_class(self) -> Any:
        """The pydantic model of the ``algo`` config section."""
        return self.algorithm_class.Config

    def needs(self, config: Any) -> Needs:
        """What the algorithm asks of the loop with ``config`` (its ``algo`` section)."""
        needs: Needs = self.algorithm_class.needs(config)
        return needs


GIGPO_ROLLOUT = {"rollout": {"history": 2}}
"""GiGPO's prompt: the task, the last 2 steps and the observation (verl-agent ``env.history_length: 2``)."""

ALGORITHMS: dict[str, AlgorithmSpec] = {
    spec.name: spec
    for spec in (
        AlgorithmSpec(
            "gigpo",
            "agentgym.trainers.gigpo:GiGPO",
            "GiGPO: episode- and step-level group advantages (Feng et al. 2025).",
            GIGPO_ROLLOUT,
            league=True,
        ),
        AlgorithmSpec(
            "grpo",
            "agentgym.trainers.gigpo:GiGPO",
            "GRPO: episode-level group advantage only (GiGPO with omega=0).",
            {**GIGPO_ROLLOUT, "algo": {"omega": 0.0}},
            league=True,
        ),
        AlgorithmSpec(
            "rloo",
            "agentgym.trainers.gigpo:GiGPO",
            "RLOO: leave-one-out episode baseline, no std (GiGPO code path).",
            {**GIGPO_ROLLOUT, "algo": {"omega": 0.0, "baseline": "leave_one_out", "norm": "none"}},
            league=True,
        ),
        AlgorithmSpec(
            "rft",
            "agentgym.trainers.gigpo:GiGPO",
            "Rejection-sampling fine-tuning: the policy's won episodes cloned, lost ones ignored "
            "(GiGPO code path, return as the advantage, no baseline, KL or entropy).",
            {
                **GIGPO_ROLLOUT,
                "algo": {
                    "omega": 0.0,
                    "baseline": "none",
                    "norm": "none",
                    "invalid_action_penalty": 0.0,
                    "kl_coef": 0.0,
                    "entropy_coef": 0.0,
                },
            },
            league=True,
        ),
        AlgorithmSpec(
            "archer",
            "agentgym.trainers.archer:ArCHer",
            "ArCHer: off-policy utterance critic, token-level REINFORCE actor (Zhou et al. 2024).",
            league=True,
        ),
        AlgorithmSpec(
            "mcts-dpo",
            "agentgym.trainers.tree_dpo:TreeDPO",
            "MCTS-DPO: tree search over env snapshots, step-level pairs, conservative DPO (Xie et al. 2024).",
        ),
        AlgorithmSpec(
            "traj-dpo",
            "agentgym.trainers.tree_dpo:TrajectoryDPO",
            "Trajectory-level DPO: per task group, the best episode preferred to the worst (outcome DPO).",
            league=True,
        ),
        AlgorithmSpec(
            "agent-q",
            "agentgym.trainers.tree_dpo:TreeDPO",
            "Agent Q: MCTS with UCB1 and an AI-critic prior, off-policy DPO (Putta et al. 2024).",
            {
                "algo": {
                    "search": {"selection": "ucb1"},
                    "pairs": {"alpha": 0.5, "min_margin": 0.1},
                    "conservative": False,
                    "reference": "collection",
                }
            },
        ),
    )
}


def get_algorithm(name: str) -> AlgorithmSpec:
    """The registered algorithm called ``name``."""
    try:
        return ALGORITHMS[name]
    except KeyError:
        raise ConfigError(f"unknown algorithm {name!r}; choose one of {', '.join(ALGORITHMS)}") from None


def data_parallel_algorithms() -> list[str]:
    """The algorithms whose iterations (with their defaults) hold task groups that data-parallel ranks share.

    Example:
        >>> data_parallel_algorithms()
        ['gigpo', 'grpo', 'rloo', 'rft', 'traj-dpo']
    """
    from agentgym.trainers.config import algo_config

    return [name for name, spec in ALGORITHMS.items() if spec.needs(algo_config(name, {})).task_groups]
