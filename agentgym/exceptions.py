"""Every error agentgym raises on purpose.

Each class also inherits the builtin it refines, so ``except ValueError`` keeps
working for callers that do not know agentgym. Messages say what was wrong and
how to fix it; the command line prints them as one line with no traceback.
:func:`config_error` makes that line from a pydantic ValidationError, for every
config model (training config, search options, sandbox options and limits).
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any, Literal, get_args

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError


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


def config_error(
    err: ValidationError,
    model: type[BaseModel],
    noun: str,
    *,
    prefix: str = "",
    unknown: str = "unknown {noun} {key!r}; {hint}",
    invalid: str = "{noun} {key!r}: {msg} (got {value!r})",
    whole: str = "{msg}",
) -> ConfigError:
    """The first error of ``err`` (``model`` failed to validate) as a one-line :class:`ConfigError`.

    ``noun`` says what the keys are ("config key", "search option"); ``prefix`` is
    put before each key (``"algo."`` for a section validated on its own). The
    wording of each case is a format string over ``{noun}``, ``{key}`` (dotted),
    ``{value}`` (the input), ``{msg}`` (pydantic's message), ``{known}`` (the
    keys the model has where the unknown key sits, nested models included) and
    ``{hint}`` ("did you mean 'key'?" for a close key, else "known: ..."):

    - ``unknown``: a key the model does not have (``extra="forbid"``);
    - ``invalid``: a bad value;
    - ``whole``: a check of the whole model, which names no key;
    - a missing key is "{noun} {key!r} is required";
    - a ConfigError raised while validating (a nested model's own, such as a
      sandbox's ``Limits``) is already one line: it is returned as is.

    Example:
        >>> from pydantic import BaseModel, ConfigDict, Field, ValidationError
        >>> class Search(BaseModel):
        ...     model_config = ConfigDict(extra="forbid")
        ...     lookahead: int = Field(3, ge=0)
        >>> def check(**options):
        ...     try:
        ...         Search(**options)
        ...     except ValidationError as err:
        ...         return str(config_error(err, Search, "search option"))
        >>> check(lookahed=1)
        "unknown search option 'lookahed'; did you mean 'lookahead'?"
        >>> check(depth=1)
        "unknown search option 'depth'; known: lookahead"
        >>> check(lookahead=-1)
        "search option 'lookahead': Input should be greater than or equal to 0 (got -1)"
    """
    first = err.errors()[0]
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, ConfigError):
        return cause
    loc = [str(part) for part in first["loc"]]
    key = prefix + ".".join(loc)
    if first["type"] == "extra_forbidden":
        known = _keys_at(model, loc[:-1])
        close = difflib.get_close_matches(loc[-1], known, n=1)
        names = ", ".join(known)
        hint = f"did you mean {prefix + '.'.join([*loc[:-1], close[0]])!r}?" if close else f"known: {names}"
        return ConfigError(unknown.format(noun=noun, key=key, hint=hint, known=names))
    if first["type"] == "missing":
        return ConfigError(f"{noun} {key!r} is required")
    msg = first["msg"].removeprefix("Value error, ")
    template = invalid if loc else whole
    return ConfigError(template.format(noun=noun, key=key, value=first.get("input"), msg=msg))


def nested_model(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model of a field's annotation (``Settings | None`` too), or None.

    Example:
        >>> from pydantic import BaseModel
        >>> class Settings(BaseModel):
        ...     size: int = 1
        >>> nested_model(Settings | None).__name__, nested_model(int)
        ('Settings', None)
    """
    from pydantic import BaseModel

    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _keys_at(model: type[BaseModel], section: list[str]) -> list[str]:
    """The field names of ``model``'s nested model at ``section`` (a path of field names); [] if none."""
    current: type[BaseModel] | None = model
    for name in section:
        field = current.model_fields.get(name) if current else None
        current = nested_model(field.annotation) if field else None
    return list(current.model_fields) if current else []
