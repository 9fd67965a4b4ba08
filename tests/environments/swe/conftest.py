"""SWE test fixtures: a private Docker engine, and SWE envs closed after each test.

The Docker engine is one these tests start themselves (``PrivateDockerd``: its
own roots and socket in a temporary folder, ``--bridge=none
--iptables=false``), stopped by pid; its image is built from the host's /usr,
never pulled. A missing backend skips locally and fails in CI
(``AGENTGYM_REQUIRE_ALL=1``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from agentgym.testing import require_backend

BACKENDS = [pytest.param("bwrap", marks=pytest.mark.bwrap), pytest.param("docker", marks=pytest.mark.docker)]


@pytest.fixture(scope="session")
def swe_docker() -> Iterator[str]:
    """The base URL of a private Docker engine with the sandbox image built."""
    require_backend(
        shutil.which("dockerd") is not None and os.geteuid() == 0,
        "SWE docker tests need dockerd (apt-get install docker.io) and root",
    )
    from agentgym.sandboxes.docker import connect
    from agentgym.sandboxes.dockerd import PrivateDockerd
    from agentgym.sandboxes.image import build_from_host

    engine = PrivateDockerd().start()
    try:
        client = connect(engine.base_url)
        build_from_host(client)
        client.close()
        yield engine.base_url
    finally:
        engine.stop()


@pytest.fixture
def swe_env(request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """``swe_env(backend="bwrap", **kwargs)``: an SWEEnv (default task set), closed after the test."""
    from agentgym.environments.swe import SWEEnv

    made: list[SWEEnv] = []

    def factory(backend: str = "bwrap", **kwargs: Any) -> SWEEnv:
        if backend == "bwrap":
            require_backend(shutil.which("bwrap") is not None, "no bwrap (apt-get install bubblewrap)")
        else:
            kwargs["sandbox"] = {"base_url": request.getfixturevalue("swe_docker")}
        env = SWEEnv(backend=backend, **kwargs)
        made.append(env)
        return env

    yield factory
    for env in made:
        env.close()
