"""Parsing helpers shared by the commands."""

from __future__ import annotations

from typing import Any

import yaml

from agentgym.exceptions import ConfigError


def parse_kwargs(pairs: list[str] | None) -> dict[str, Any]:
    """``["high=32", "name=x"]`` → ``{"high": 32, "name": "x"}`` (values read as YAML).

    Example:
        >>> parse_kwargs(["high=32", "scene=small", "flag=true"])
        {'high': 32, 'scene': 'small', 'flag': True}
    """
    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"expected KEY=VALUE, got {pair!r}", hint="e.g. --kw max_steps=30")
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as err:
            raise ConfigError(f"cannot read the value of {key!r}: {err}") from err
    return out
