"""The sandbox runtime API, the same whatever the backend (bwrap, docker, local).

What runs (this module) is split from where it runs (one module per backend),
as SWE-ReX splits runtime from deployment. A :class:`Sandbox` is one long-lived
shell session for one episode: the working directory and exported variables
persist between :meth:`Sandbox.exec` calls.
"""

from __future__ import annotations

import abc
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from agentgym.exceptions import ConfigError, config_error

MAX_TIMEOUT_S = 86_400.0
Timeout = Annotated[float, Field(gt=0, le=MAX_TIMEOUT_S, allow_inf_nan=False)]
"""Seconds one command may run: finite, positive, at most a day."""
_TIMEOUT = TypeAdapter(Timeout)


def check_timeout(timeout: float, name: str = "exec timeout") -> float:
    """``timeout`` if it is a valid :data:`Timeout`, else a one-line ConfigError.

    Example:
        >>> check_timeout(0.5)
        0.5
        >>> check_timeout(float("inf"))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        agentgym.exceptions.ConfigError: invalid exec timeout=inf: Input should be a finite number (give ...)
    """
    try:
        return _TIMEOUT.validate_python(timeout)
    except ValidationError as err:
        message = err.errors()[0]["msg"]
        hint = f"give seconds, 0 < timeout <= {MAX_TIMEOUT_S:g}"
        raise ConfigError(f"invalid {name}={timeout!r}: {message} ({hint})") from None


class Limits(BaseModel):
    """Resource limits of one sandbox.

    ``/workspace``, ``/tmp`` and ``/dev/shm`` live in RAM (tmpfs), each capped at
    ``disk_mb``; their content counts towards the sandbox's memory, whose cap is
    ``memory_mb + disk_mb``. docs/sandboxes.md says how each backend enforces
    each field (the local backend enforces only the timeout and the output cap).

    Example:
        >>> Limits(memory_mb=256).pids
        256
        >>> Limits(memory_mb=1)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        agentgym.exceptions.ConfigError: invalid sandbox limit memory_mb=1: Input should be ...
    """

    model_config = ConfigDict(extra="forbid")

    timeout_s: Timeout = Field(30.0, description="Default wall time of one exec; the process tree is killed.")
    cpus: float = Field(1.0, gt=0, allow_inf_nan=False, description="CPU cores the sandbox may use.")
    memory_mb: int = Field(1024, ge=16, description="Memory of all processes together, in MiB.")
    pids: int = Field(256, ge=8, description="Most processes and threads at once.")
    disk_mb: int = Field(1024, ge=1, description="Size of /workspace (and of /tmp, /dev/shm), in MiB.")
    output_bytes: int = Field(
        1_000_000, ge=1024, description="Most bytes kept of stdout and of stderr per exec."
    )

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as err:
            unknown = "unknown {noun} {key!r}; use one of: {known}"
            bad_value = "invalid {noun} {key}={value!r}: {msg} (fix the value, e.g. Limits({key}=...))"
            raise config_error(err, type(self), "sandbox limit", unknown=unknown, invalid=bad_value) from None


class ExecResult(BaseModel):
    """What one command did."""

    model_config = ConfigDict(extra="forbid")

    stdout: str
    stderr: str
    exit_code: int = Field(description="The shell's exit status; -1 when killed by the timeout.")
    timed_out: bool = False
    truncated: bool = Field(False, description="Output past Limits.output_bytes was cut, with a marker.")
    duration_s: float = 0.0


class Sandbox(abc.ABC):
    """One isolated shell session with a writable ``/workspace``.

    Use as a context manager; :meth:`close` kills every process of the sandbox.
    A sandbox whose session died raises :class:`agentgym.exceptions.SandboxError` (an
    ``EnvCrashedError``) from every call (a :class:`SandboxPool` then replaces it).
    """

    backend: str = ""
    workdir: str = "/workspace"
    limits: Limits

    @abc.abstractmethod
    def exec(self, cmd: str, timeout: float | None = None) -> ExecResult:
        """Run ``cmd`` in the session's shell (``timeout`` defaults to ``Limits.timeout_s``).

        A timeout that is not a :data:`Timeout` is a ConfigError, raised before anything runs.
        """

    def _timeout(self, timeout: float | None) -> float:
        return self.limits.timeout_s if timeout is None else check_timeout(timeout)

    @abc.abstractmethod
    def read_file(self, path: str, max_bytes: int | None = None) -> bytes:
        """Bytes of a file under the workspace (relative, or absolute under the workdir).

        With ``max_bytes``, at most that many from its start: no more cross into the host.
        """

    @abc.abstractmethod
    def write_file(self, path: str, data: bytes | str) -> None:
        """Write a file under the workspace, creating parent folders."""

    @abc.abstractmethod
    def list_dir(self, path: str = ".") -> list[str]:
        """Names in a folder of the workspace, sorted."""

    @abc.abstractmethod
    def snapshot(self) -> bytes:
        """The workspace as it is now: a tar archive, names relative to the workdir."""

    @abc.abstractmethod
    def restore(self, handle: bytes) -> None:
        """Put the workspace back as it was when ``handle`` was taken."""

    @property
    @abc.abstractmethod
    def alive(self) -> bool:
        """False once the session died or the sandbox was closed."""

    @abc.abstractmethod
    def close(self) -> None:
        """Kill every process of the sandbox and free its resources (idempotent)."""

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
