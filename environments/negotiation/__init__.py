"""Negotiation games: Deal or No Deal and price bargaining (multi-agent), with rule-based bots."""

from agentgym.environments.negotiation.bargain_env import BargainEnv
from agentgym.environments.negotiation.bots import (
    BARGAIN_BOTS,
    DOND_BOTS,
    TEMPERAMENTS,
    BargainBot,
    DondBot,
    Temperament,
)
from agentgym.environments.negotiation.dond import Context, load_contexts
from agentgym.environments.negotiation.dond_env import DealOrNoDealEnv

__all__ = [
    # envs
    "BargainEnv",
    "DealOrNoDealEnv",
    # bots
    "BARGAIN_BOTS",
    "DOND_BOTS",
    "TEMPERAMENTS",
    "BargainBot",
    "DondBot",
    "Temperament",
    # data
    "Context",
    "load_contexts",
]
