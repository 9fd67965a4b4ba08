"""SWE test fixtures: SWE envs closed after each test (the Docker engine is tests/conftest.py's).

The Docker engine is one these tests start themselves (``PrivateDockerd``: its
own roots and socket in a temporary folder, ``--bridge=none
--iptables=false``), stopped by pid; its image is built from the host's /usr,
never pulled. A missing backend skips locally and fails in CI
(``AGENTGYM_REQUIRE_ALL=1``).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from agentgym.testing import require_backend

BACKENDS = [pytest.param("bwrap", marks=pytest.mark.bwrap), pytest.param("docker", marks=pytest.mark.docker)]


@pytest.fixture
def swe_env(request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """``swe_env(backend="bwrap", **kwargs)``: an SWEEnv (default task set), closed after the test."""
    from agentgym.environments.swe import SWEEnv

    made: list[SWEEnv] = []

    def factory(backend: str = "bwrap", **kwargs: Any) -> SWEEnv:
        if backend == "bwrap":
            require_backend(shutil.which("bwrap") is not None, "no bwrap (apt-get install bubblewrap)")
        else:
            kwargs["sandbox"] = {"base_url": request.getfixturevalue("docker_engine")}
        env = SWEEnv(backend=backend, **kwargs)
        made.append(env)
        return env

    yield factory
    for env in made:
        env.close()
