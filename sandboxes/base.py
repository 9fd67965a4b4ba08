"""The sandbox runtime API, the same whatever the backend (bwrap, docker, local).

What runs (this module) is split from where it runs (one module per backend),
as SWE-ReX splits runtime from deployment. A :class:`Sandbox` is one long-lived
shell session for one episode: state such as the working directory and
exported variables persists between :meth:`Sandbox.exec` calls.
"""

from __future__ import annotations

import abc
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Limits(BaseModel):
    """Resource limits of one sandbox. Every backend enforces every field."""

    model_config = ConfigDict(extra="forbid")

    timeout_s: float = Field(
        30.0, gt=0, description="Default wall time of one exec; the process tree is killed."
    )
    cpus: float = Field(1.0, gt=0, description="CPU cores the sandbox may use.")
    memory_mb: int = Field(1024, ge=16, description="Memory of all processes together, in MiB.")
    pids: int = Field(256, ge=8, description="Most processes and threads at once.")
    disk_mb: int = Field(1024, ge=1, description="Size of the writable workspace, in MiB.")
    output_bytes: int = Field(
        1_000_000, ge=1024, description="Most bytes kept of stdout and of stderr per exec."
    )


class ExecResult(BaseModel):
    """What one command did."""

    model_config = ConfigDict(extra="forbid")

    stdout: str
    stderr: str
    exit_code: int = Field(description="The shell's exit status; -1 when killed by the timeout.")
    timed_out: bool = False
    truncated: bool = Field(
        False, description="Output past Limits.output_bytes was cut, with a marker."
    )
    duration_s: float = 0.0


class Sandbox(abc.ABC):
    """One isolated shell session with a writable ``/workspace``.

    Use as a context manager; :meth:`close` kills every process of the sandbox.
    """

    workdir: str = "/workspace"

    @abc.abstractmethod
    def exec(self, cmd: str, timeout: float | None = None) -> ExecResult:
        """Run ``cmd`` in the session's shell (``timeout`` defaults to ``Limits.timeout_s``)."""

    @abc.abstractmethod
    def read_file(self, path: str) -> bytes:
        """Bytes of a file under the workspace (relative, or absolute under /workspace)."""

    @abc.abstractmethod
    def write_file(self, path: str, data: bytes | str) -> None:
        """Write a file under the workspace, creating parent folders."""

    @abc.abstractmethod
    def list_dir(self, path: str = ".") -> list[str]:
        """Names in a folder of the workspace, sorted."""

    @abc.abstractmethod
    def snapshot(self) -> Any:
        """A handle to the workspace as it is now."""

    @abc.abstractmethod
    def restore(self, handle: Any) -> None:
        """Put the workspace back as it was when ``handle`` was taken."""

    @abc.abstractmethod
    def close(self) -> None:
        """Kill every process of the sandbox and free its resources."""

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
