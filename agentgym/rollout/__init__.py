"""Running policies against environments at scale."""

from agentgym.rollout.engine import (
    EpisodeSpec,
    RolloutConfig,
    RolloutEngine,
    RolloutResult,
    WorkerConfig,
    group_episodes,
)
from agentgym.rollout.summary import Summary, summarize
from agentgym.rollout.turn import (
    EpisodeState,
    build_query,
    generate,
    new_trajectory,
    parse_reply,
    record_step,
)
from agentgym.rollout.workers import Command, EnvFactory, Result

__all__ = [
    # episodes
    "EnvFactory",
    "EpisodeSpec",
    "RolloutConfig",
    "RolloutEngine",
    "RolloutResult",
    "Summary",
    "WorkerConfig",
    "group_episodes",
    "summarize",
    # the slot API
    "Command",
    "Result",
    # one turn, for any driver
    "EpisodeState",
    "build_query",
    "generate",
    "new_trajectory",
    "parse_reply",
    "record_step",
]
