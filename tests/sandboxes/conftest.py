"""Sandbox test fixtures: sandboxes with small limits (the Docker engine is tests/conftest.py's)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator

import pytest
from sandbox_helpers import SMALL

from agentgym.sandboxes import Sandbox, create
from agentgym.testing import require_backend

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
