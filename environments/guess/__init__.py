"""GuessNumber: the smallest complete agentgym environment."""

from agentgym.environments.guess.env import GuessNumberEnv

__all__ = ["GuessNumberEnv"]
