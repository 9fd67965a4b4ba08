"""``create()``: one call that returns a :class:`Sandbox` whatever the backend."""

from __future__ import annotations

import difflib
import importlib
from typing import Any

from pydantic import ValidationError

from agentgym.exceptions import ConfigError, config_error
from agentgym.sandboxes.base import Limits, Sandbox
from agentgym.sandboxes.config import BwrapConfig, DockerConfig, LocalConfig

BACKENDS = {
    "bwrap": "agentgym.sandboxes.bwrap:BwrapSandbox",
    "docker": "agentgym.sandboxes.docker:DockerSandbox",
    "local": "agentgym.sandboxes.local:LocalSandbox",
}
_CONFIGS = {"bwrap": BwrapConfig, "docker": DockerConfig, "local": LocalConfig}


def parse_config(data: dict[str, Any]) -> Any:
    """Validate a backend config, failing with a one-line :class:`ConfigError`.

    Example:
        >>> parse_config({"backend": "local"}).limits.timeout_s
        30.0
        >>> parse_config({"backend": "bwrap", "gpu": True})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        agentgym.exceptions.ConfigError: unknown option 'gpu' for the bwrap backend; known: ...
    """
    backend = data.get("backend")
    if backend not in BACKENDS:
        close = difflib.get_close_matches(str(backend), BACKENDS, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(f"unknown sandbox backend {backend!r}; {hint}use one of: {', '.join(BACKENDS)}")
    model = _CONFIGS[backend]
    try:
        return model.model_validate(data)
    except ValidationError as err:
        where = f" for the {backend} backend"
        unknown = "unknown option {key!r}" + where + "; {hint}"
        bad_value = "invalid {noun} {key}={value!r}" + where + ": {msg}"
        raise config_error(err, model, "sandbox option", unknown=unknown, invalid=bad_value) from None


def create(
    backend: str = "bwrap",
    image: str | None = None,
    workdir: str | None = None,
    limits: Limits | dict[str, Any] | None = None,
    *,
    config: Any = None,
    **options: Any,
) -> Sandbox:
    """Start a sandbox; use it as a context manager so that it is closed.

    Args:
        backend: ``"bwrap"`` (default, no daemon), ``"docker"``, or ``"local"`` (unsafe: for
            development only).
        image: bwrap: a root filesystem folder (None: the host's /usr and /etc);
            docker: a local image name (default ``agentgym-sandbox:latest``).
        workdir: a host folder copied into ``/workspace`` at creation.
        limits: resource limits (a :class:`Limits` or a dict of its fields).
        config: a whole backend config (``BwrapConfig`` ..., or a dict with ``backend``)
            instead of the arguments above.
        **options: further fields of the backend's config model (``env``, ``ro_binds`` ...).

    Example:
        >>> import warnings; warnings.simplefilter("ignore")
        >>> with create("local") as sb:
        ...     sb.exec("export X=1").exit_code, sb.exec("echo $X").stdout
        (0, '1\\n')
    """
    if config is None:
        data: dict[str, Any] = {"backend": backend, "workdir": workdir, **options}
        if image is not None:
            data["image"] = image
        if limits is not None:
            data["limits"] = limits
        config = parse_config(data)
    elif isinstance(config, dict):
        config = parse_config(config)
    module, _, cls = BACKENDS[config.backend].partition(":")
    return getattr(importlib.import_module(module), cls)(config)
