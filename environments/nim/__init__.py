"""Nim: the smallest multi-agent agentgym game."""

from agentgym.environments.nim.env import NimEnv, OptimalNimBot

__all__ = ["NimEnv", "OptimalNimBot"]
