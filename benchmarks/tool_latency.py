"""GuessNumber with simulated tool-call latency: every step first waits ``step_delay_s``.

Agent envs spend time per step outside the model: a tool call in a sandbox, a
web page loading, a test suite running. This benchmark-only env adds a fixed
sleep (no CPU use, as a tool call's wait) before each GuessNumber step, so that
asynchronous training can be measured where env steps have latency. Seeds,
observations, rewards and the expert are GuessNumber's. Importing this module
registers ``agentgym/SlowGuess-v0`` (the trainer, its workers and its generator
name it ``tool_latency:agentgym/SlowGuess-v0``).
"""

from __future__ import annotations

import time
from typing import Any

from agentgym.environments.guess.env import GuessNumberEnv
from agentgym.registry import register


class SlowGuessEnv(GuessNumberEnv):
    """GuessNumber whose steps each wait ``step_delay_s`` seconds first (simulated latency)."""

    def __init__(self, step_delay_s: float = 0.1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.step_delay_s = step_delay_s

    def _step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        time.sleep(self.step_delay_s)
        return super()._step(action)


register(
    "agentgym/SlowGuess-v0",
    "tool_latency:SlowGuessEnv",
    description="benchmark env: GuessNumber with a fixed step delay",
    aliases=("slow-guess",),
)
