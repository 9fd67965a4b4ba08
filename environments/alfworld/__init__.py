"""ALFWorld: household tasks in text, on a native engine or TextWorld's PDDL engine."""

from agentgym.environments.alfworld.env import SPLIT_SIZES, ALFWorldEnv
from agentgym.environments.alfworld.expert import expert_action, solve
from agentgym.environments.alfworld.pddl import PddlGame, game
from agentgym.environments.alfworld.scenes import SCENES, Scene, SceneConfig, generate
from agentgym.environments.alfworld.world import Layout, World

__all__ = [
    "SCENES",
    "SPLIT_SIZES",
    "ALFWorldEnv",
    "Layout",
    "PddlGame",
    "Scene",
    "SceneConfig",
    "World",
    "expert_action",
    "game",
    "generate",
    "solve",
]
