"""A trivial environment for measuring the machinery around envs, not envs.

Every episode is 50 steps (``max_steps``) of constant observations, each
taking up to ``max_delay_s`` seconds (uneven step latency); importing this module
registers it as ``agentgym/Trivial-v0`` (workers name it
``trivial_env:agentgym/Trivial-v0``).
"""

from __future__ import annotations

import time
from typing import Any

from agentgym.core import TextEnv
from agentgym.episode import ResetOptions
from agentgym.registry import register

INFO = {
    "task": "step",
    "admissible_actions": ["step"],
    "state_key": "s",
    "won": False,
    "invalid_action": False,
}


class TrivialEnv(TextEnv):
    """``max_steps`` steps of "ok", reward 0, then truncation by the step limit.

    Each step sleeps a uniform random time below ``max_delay_s``, drawn from the
    episode's seed (the same delays for the same episodes).
    """

    def __init__(self, max_steps: int = 50, max_delay_s: float = 0.0) -> None:
        super().__init__(max_steps=max_steps)
        self.max_delay_s = max_delay_s
        self.splits = {"train": 1000, "valid": 10, "test": 10}

    def _reset(self, task_id: int, options: ResetOptions) -> tuple[str, dict[str, Any]]:
        return "ok", dict(INFO)

    def _step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self.max_delay_s:
            time.sleep(float(self.np_random.uniform(0.0, self.max_delay_s)))
        return "ok", 0.0, False, False, dict(INFO)

    def data_digest(self) -> str:
        return "trivial"


register("agentgym/Trivial-v0", "trivial_env:TrivialEnv", description="benchmark env", aliases=("trivial",))
