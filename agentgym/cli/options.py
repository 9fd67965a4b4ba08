"""Parsing helpers shared by the commands, and command options generated from config models."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Collection
from typing import Annotated, Any, Literal, TypeVar, get_args, get_origin

import typer
import yaml
from pydantic import BaseModel, ValidationError

from agentgym.exceptions import ConfigError

F = TypeVar("F", bound=Callable[..., Any])


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


def model_options(defaults: BaseModel, *, skip: Collection[str] = ()) -> Callable[[F], F]:
    """Give a typer command one option per field of ``defaults``; it receives the config they make.

    Fields of nested models are flattened (``RolloutConfig.sampling.temperature``
    is ``--temperature``). Each option's default is the value in ``defaults`` and
    its help the field's description, so adding or changing a field of the model
    is the whole job. The command is called with ``config``: ``defaults`` with
    the options given, validated by the model (a bad value is one line naming it).
    Fields named in ``skip`` get no option (the command handles them itself).

    Example:
        >>> from pydantic import Field
        >>> class Knobs(BaseModel):
        ...     size: int = Field(3, ge=1, description="How big.")
        >>> @model_options(Knobs())
        ... def show(config: Knobs) -> None:
        ...     print(config)
        >>> from typer.testing import CliRunner
        >>> app = typer.Typer(add_completion=False)
        >>> _ = app.command()(show)
        >>> print(CliRunner().invoke(app, ["--size", "5"]).output)
        size=5
        <BLANKLINE>
    """
    leaves = _leaves(defaults, (), set(skip))
    names = [path[-1] for path, _, _ in leaves]
    if len(set(names)) != len(names):
        raise ValueError(f"{type(defaults).__name__} has fields of the same name in different sections")

    def decorate(command: F) -> F:
        signature = inspect.signature(command, eval_str=True)
        own = [p for name, p in signature.parameters.items() if name != "config"]
        added = [
            inspect.Parameter(
                path[-1],
                inspect.Parameter.KEYWORD_ONLY,
                default=value,
                annotation=Annotated[_option_type(field), typer.Option(help=field.description or "")],
            )
            for path, field, value in leaves
        ]

        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> Any:
            data = defaults.model_dump()
            for path, _, _ in leaves:
                node = data
                for key in path[:-1]:
                    node = node[key]
                node[path[-1]] = kwargs.pop(path[-1])
            try:
                config = type(defaults).model_validate(data)
            except ValidationError as err:
                first = err.errors()[0]
                raise ConfigError(f"invalid value for {first['loc'][-1]}: {first['msg']}") from None
            return command(config=config, **kwargs)

        params = [*own, *added]
        wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        del wrapper.__wrapped__  # typer reads the signature above, not the command's
        return wrapper  # type: ignore[return-value]

    return decorate


def changed_options(config: BaseModel, defaults: BaseModel) -> list[str]:
    """The options of :func:`model_options` whose value in ``config`` differs from ``defaults``.

    A switch turned off is named as it was typed (``--no-progress``).

    Example:
        >>> from agentgym.rollout import RolloutConfig
        >>> changed_options(RolloutConfig(num_envs=2, prompt={"history": 1}, progress=False), RolloutConfig())
        ['--num-envs', '--history', '--no-progress']
    """
    out = []
    for path, _, value in _leaves(defaults, (), set()):
        node: Any = config
        for key in path:
            node = getattr(node, key)
        if node != value:
            off = isinstance(node, bool) and not node
            out.append(("--no-" if off else "--") + path[-1].replace("_", "-"))
    return out


def _leaves(
    model: BaseModel, prefix: tuple[str, ...], skip: set[str]
) -> list[tuple[tuple[str, ...], Any, Any]]:
    """(path, field, value) of every field of ``model`` that is not a model, nested models walked."""
    out = []
    for name, field in type(model).model_fields.items():
        if name in skip:
            continue
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            out += _leaves(value, (*prefix, name), skip)
        else:
            out.append(((*prefix, name), field, value))
    return out


def _option_type(field: Any) -> Any:
    """The type typer parses an option as: choices (``Literal``) as text, which the model checks."""
    annotation = field.annotation
    if get_origin(annotation) is Literal:
        return str
    args = get_args(annotation)
    if type(None) in args and any(get_origin(a) is Literal for a in args):
        return str | None
    return annotation
