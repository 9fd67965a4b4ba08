"""TextWorld: games made by TextWorld's generators, played in its engine."""

from agentgym.environments.textworld.env import TextWorldEnv, clean
from agentgym.environments.textworld.games import SETTINGS, game_file, settings_for

__all__ = ["SETTINGS", "TextWorldEnv", "clean", "game_file", "settings_for"]
