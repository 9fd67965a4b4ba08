"""Sandboxes that run an agent's tool calls in isolation (bubblewrap, Docker, local).

The runtime API (:class:`Sandbox`) is the same whatever the backend.
"""

from agentgym.sandboxes.base import ExecResult, Limits, Sandbox

__all__ = ["ExecResult", "Limits", "Sandbox"]
