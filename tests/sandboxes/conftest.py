"""Sandbox test fixtures: small limits, and a private dockerd started once per session.

The Docker engine is the one these tests start themselves (``PrivateDockerd``:
its own data/exec roots and socket in a temporary folder, ``--bridge=none
--iptables=false``), stopped by pid at the end; the image is built locally from
the host's ``/usr`` and never pulled. A missing backend skips locally and fails
under ``AGENTGYM_REQUIRE_ALL=1`` (CI).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator

import pytest
from agentgym.sandboxes import Sandbox, create
from sandbox_helpers import SMALL

from agentgym.testing import require_backend


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[str]:
    """The base URL of a private Docker engine with the sandbox image built."""
    from agentgym.sandboxes.docker import connect
    from agentgym.sandboxes.dockerd import PrivateDockerd
    from agentgym.sandboxes.image import build_from_host

    require_backend(
        shutil.which("dockerd") is not None and os.geteuid() == 0,
        "Docker tests need dockerd (apt-get install docker.io) and root",
    )
    engine = PrivateDockerd().start()
    try:
        client = connect(engine.base_url)
        build_from_host(client)
        client.close()
        yield engine.base_url
    finally:
        engine.stop()


MakeSandbox = Callable[..., Sandbox]


@pytest.fixture
def make(request: pytest.FixtureRequest) -> Iterator[MakeSandbox]:
    """``make(backend, **options)``: a sandbox with SMALL limits, closed after the test."""
    made: list[Sandbox] = []

    def factory(backend: str, **options: object) -> Sandbox:
        options.setdefault("limits", SMALL)
        if backend == "bwrap":
            require_backend(shutil.which("bwrap") is not None, "no bwrap (apt-get install bubblewrap)")
        if backend == "docker":
            options.setdefault("base_url", request.getfixturevalue("docker_engine"))
        sandbox = create(backend, **options)
        made.append(sandbox)
        return sandbox

    yield factory
    for sandbox in made:
        sandbox.close()
