"""Fixtures of the ALFWorld tests."""

from __future__ import annotations

import importlib.util

import pytest
from alfworld_kitchen import kitchen

from agentgym.environments.alfworld.scenes import Scene
from agentgym.testing import require_backend


@pytest.fixture(autouse=True)
def _alfworld_installed() -> None:
    """Both engines read ALFRED's data from the ``alfworld`` package (the PDDL one also runs it)."""
    require_backend(
        importlib.util.find_spec("alfworld") is not None, "alfworld is not installed (agentgym[alfworld])"
    )


@pytest.fixture
def scene() -> Scene:
    """The hand-made kitchen of ``alfworld_kitchen``."""
    return kitchen()
