"""Every error agentgym raises on purpose.

Each class also inherits the builtin it refines, so ``except ValueError`` keeps
working for callers that do not know agentgym. Messages say what was wrong and
how to fix it; the command line prints them as one line with no traceback.
"""

from __future__ import annotations

from typing import Literal, get_args


class AgentGymError(Exception):
    """Base class of agentgym's errors.

    Attributes:
        hint: an optional next step for the user, printed by the CLI under the message.
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class UnknownEnvError(AgentGymError, LookupError):
    """An environment id or alias that is not registered."""


class ConfigError(AgentGymError, ValueError):
    """A configuration value or argument that cannot be used."""


class ContractError(AgentGymError, TypeError):
    """An environment or policy broke the agentgym contract (a bug in that code)."""


class MissingDependencyError(AgentGymError, ImportError):
    """An optional dependency (an extra) is not installed."""


class EnvCrashedError(AgentGymError, RuntimeError):
    """An environment, its worker or its server failed while running an episode."""


class SandboxError(EnvCrashedError):
    """A sandbox (its session shell, container or workspace) died under an environment."""


class ServerUnreachableError(EnvCrashedError):
    """An env server or a model server that does not answer (not running, killed, or the address is wrong)."""


class StepTimeoutError(AgentGymError, TimeoutError):
    """An environment step or a policy call ran past its time limit."""


class ReplyParseError(AgentGymError, ValueError):
    """A policy backend's reply that cannot be read as a generation at all.

    Not a reply whose text holds no valid action: that is an invalid action, and
    the episode goes on. This is the protocol itself broken, e.g. an
    OpenAI-compatible server answering with a body that is not a chat completion.
    """


class SessionNotFoundError(AgentGymError, LookupError):
    """An env-server session id that does not exist or has expired."""


class SnapshotError(AgentGymError, ValueError):
    """A snapshot that cannot be restored into this environment."""


class NotAllowedError(AgentGymError, PermissionError):
    """A request the env server's operator does not allow, e.g. a constructor argument clients may not set."""


class TrainingDivergedError(AgentGymError, FloatingPointError):
    """A training loss or gradient became infinite or NaN."""


FailureKind = Literal[
    "env_crash", "env_timeout", "sandbox", "server_unreachable", "policy_error", "parse_error"
]
"""Why an episode failed (``Trajectory.failure_kind``); every kind is kept out of training."""

FAILURE_KINDS: tuple[FailureKind, ...] = get_args(FailureKind)


def failure_kind(err: BaseException, *, source: Literal["env", "policy"]) -> FailureKind:
    """The kind of failure ``err`` is, raised by the env side or by the policy.

    Example:
        >>> failure_kind(StepTimeoutError("step took 61 s"), source="env")
        'env_timeout'
        >>> failure_kind(ReplyParseError("no choices"), source="policy")
        'parse_error'
        >>> failure_kind(ServerUnreachableError("connection refused"), source="policy")
        'server_unreachable'
        >>> failure_kind(RuntimeError("boom"), source="env")
        'env_crash'
    """
    if isinstance(err, ServerUnreachableError):
        return "server_unreachable"
    if source == "policy":
        return "parse_error" if isinstance(err, ReplyParseError) else "policy_error"
    if isinstance(err, TimeoutError):
        return "env_timeout"
    if isinstance(err, SandboxError):
        return "sandbox"
    return "env_crash"


def require(module: str, extra: str):
    """Import an optional dependency or fail with the extra that provides it.

    Args:
        module: the module to import, e.g. ``"torch"``.
        extra: the agentgym extra that installs it, e.g. ``"train"``.

    Returns:
        The imported module.

    Example:
        >>> require("json", extra="dev").__name__
        'json'
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise MissingDependencyError(
            f"{module} is not installed ({err})",
            hint=f"pip install 'agentgym[{extra}]'",
        ) from err
