"""Sandboxes that run an agent's tool calls in isolation (bubblewrap, Docker, local).

The runtime API (:class:`Sandbox`) is the same whatever the backend; :func:`create`
picks one. docs/sandboxes.md has the threat model and what each backend stops.
"""

from agentgym.sandboxes.base import ExecResult, Limits, Sandbox
from agentgym.sandboxes.config import (
    BASE_ENV,
    BwrapConfig,
    DockerConfig,
    LocalConfig,
    SandboxConfig,
)
from agentgym.sandboxes.factory import BACKENDS, create, parse_config

__all__ = [
    # configs
    "BACKENDS",
    "BASE_ENV",
    "BwrapConfig",
    "DockerConfig",
    # runtime
    "ExecResult",
    "Limits",
    "LocalConfig",
    "Sandbox",
    "SandboxConfig",
    "create",
    "parse_config",
]
