"""Constants and helpers shared by the sandbox tests (fixtures live in conftest.py)."""

from __future__ import annotations

import os

import pytest

from agentgym.sandboxes import Limits

SMALL = Limits(timeout_s=20, cpus=1, memory_mb=128, pids=64, disk_mb=16, output_bytes=64_000)
ISOLATED = [
    pytest.param("bwrap", marks=pytest.mark.bwrap),
    pytest.param("docker", marks=pytest.mark.docker),
]
ALL = [*ISOLATED, "local"]


def host_processes(pattern: str) -> list[int]:
    """Host pids whose command line contains ``pattern`` (arguments joined by spaces)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    line = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if pattern in line:
                found.append(int(name))
    return found
