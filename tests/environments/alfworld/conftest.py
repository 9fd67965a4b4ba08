"""Fixtures of the ALFWorld tests."""

from __future__ import annotations

import pytest
from agentgym.environments.alfworld.scenes import Scene
from alfworld_kitchen import kitchen


@pytest.fixture
def scene() -> Scene:
    """The hand-made kitchen of ``alfworld_kitchen``."""
    return kitchen()
