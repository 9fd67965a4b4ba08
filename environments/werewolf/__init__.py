"""Werewolf: hidden roles, night actions, free-text discussion and votes (multi-agent)."""

from agentgym.environments.werewolf.bots import RuleBot
from agentgym.environments.werewolf.env import WerewolfEnv
from agentgym.environments.werewolf.rules import Werewolf, role_mix

__all__ = ["RuleBot", "Werewolf", "WerewolfEnv", "role_mix"]
