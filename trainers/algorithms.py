"""The algorithms ``agentgym train`` knows, by name, each an entry point plus a preset.

A preset is a handful of overrides of the algorithm's own config defaults: GRPO
and RLOO are GiGPO's code path with ω = 0 (and, for RLOO, a leave-one-out
baseline without std). Nothing is imported until an algorithm is asked for.

Example:
    >>> get_algorithm("rloo").preset
    {'omega': 0.0, 'baseline': 'leave_one_out', 'norm': 'none'}
    >>> get_algorithm("ppo")
    Traceback (most recent call last):
    ...
    agentgym.exceptions.ConfigError: unknown algorithm 'ppo'; choose one of gigpo, grpo, rloo
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentgym.exceptions import ConfigError
from agentgym.registry import load_entry_point


@dataclass(frozen=True)
class AlgorithmSpec:
    """One trainable algorithm: where its class lives and which defaults it overrides."""

    name: str
    entry_point: str
    summary: str
    preset: dict[str, Any] = field(default_factory=dict)

    @property
    def algorithm_class(self) -> Any:
        """The class implementing ``train_iteration`` (see :class:`agentgym.trainers.trainer.Algorithm`)."""
        return load_entry_point(self.entry_point)

    @property
    def config_class(self) -> Any:
        """The pydantic model of the ``algo`` config section."""
        return self.algorithm_class.Config


ALGORITHMS: dict[str, AlgorithmSpec] = {
    spec.name: spec
    for spec in (
        AlgorithmSpec(
            "gigpo",
            "agentgym.trainers.gigpo:GiGPO",
            "GiGPO: episode- and step-level group advantages (Feng et al. 2025).",
        ),
        AlgorithmSpec(
            "grpo",
            "agentgym.trainers.gigpo:GiGPO",
            "GRPO: episode-level group advantage only (GiGPO with omega=0).",
            {"omega": 0.0},
        ),
        AlgorithmSpec(
            "rloo",
            "agentgym.trainers.gigpo:GiGPO",
            "RLOO: leave-one-out episode baseline, no std (GiGPO code path).",
            {"omega": 0.0, "baseline": "leave_one_out", "norm": "none"},
        ),
    )
}


def get_algorithm(name: str) -> AlgorithmSpec:
    """The registered algorithm called ``name``."""
    try:
        return ALGORITHMS[name]
    except KeyError:
        raise ConfigError(f"unknown algorithm {name!r}; choose one of {', '.join(ALGORITHMS)}") from None
