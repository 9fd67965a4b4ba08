"""Running policies against environments at scale."""

from agentgym.rollout.engine import (
    EpisodeSpec,
    RolloutConfig,
    RolloutEngine,
    RolloutResult,
    group_episodes,
)
from agentgym.rollout.summary import Summary, summarize
from agentgym.rollout.workers import EnvFactory

__all__ = [
    "EnvFactory",
    "EpisodeSpec",
    "RolloutConfig",
    "RolloutEngine",
    "RolloutResult",
    "Summary",
    "group_episodes",
    "summarize",
]
