"""Command options generated from config models: the models are the one source of defaults and help."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from pydantic import BaseModel, Field, create_model
from typer.core import TyperCommand, TyperOption
from typer.testing import CliRunner

from agentgym.cli.main import LAZY_COMMANDS, load_command
from agentgym.cli.options import model_options
from agentgym.policies.base import SamplingParams
from agentgym.prompting import PromptConfig
from agentgym.rollout import RolloutConfig

FLAGS_USERS_HAVE = {"num_envs", "workers", "num_workers", "history", "temperature", "max_new_tokens"}
"""The model-backed options ``agentgym rollout`` had before they were generated (tests/cli)."""


def _options(command: TyperCommand) -> dict[str, TyperOption]:
    return {p.name: p for p in command.params if isinstance(p, TyperOption) and p.name}


def _leaves(model: BaseModel) -> dict[str, tuple[Any, str | None]]:
    """Every non-model field of ``model`` (nested models walked): (value, description) by name."""
    out = {}
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            out.update(_leaves(value))
        else:
            out[name] = (value, field.description)
    return out


@pytest.mark.parametrize(
    ("command", "defaults"),
    [("rollout", RolloutConfig()), ("eval", RolloutConfig(sampling=SamplingParams(temperature=0.0)))],
)
def test_every_field_of_the_rollout_models_is_an_option_with_its_default_and_help(
    command: str, defaults: RolloutConfig
) -> None:
    options = _options(load_command(LAZY_COMMANDS[command][0]))
    fields = {name: leaf for name, leaf in _leaves(defaults).items() if name not in ("address", "resources")}
    assert fields.keys() >= FLAGS_USERS_HAVE
    for name, (value, description) in fields.items():
        option = options[name]
        assert option.opts[0] == "--" + name.replace("_", "-")
        assert (option.default, option.help) == (value, description), name
    assert options["max_new_tokens"].default == SamplingParams().max_new_tokens == 512
    assert options["history"].default is PromptConfig().history is None


def test_a_field_added_or_a_default_changed_in_the_model_is_the_cli_change() -> None:
    def app_of(model: type[BaseModel]) -> typer.Typer:
        @model_options(model())
        def show(config: BaseModel) -> None:
            print(config.model_dump_json())

        app = typer.Typer(add_completion=False)
        app.command()(show)
        return app

    def options_of(model: type[BaseModel]) -> list[tuple[list[str], Any, str | None]]:
        return [(o.opts, o.default, o.help) for o in _options(typer.main.get_command(app_of(model))).values()]

    before = create_model("Knobs", size=(int, Field(3, ge=1, description="How big.")))
    after = create_model(
        "Knobs",
        size=(int, Field(4, ge=1, description="How big, now.")),
        colour=(str, Field("red", description="Which colour.")),
    )
    assert options_of(before) == [(["--size"], 3, "How big.")]
    assert options_of(after) == [
        (["--size"], 4, "How big, now."),
        (["--colour"], "red", "Which colour."),
    ]
    result = CliRunner().invoke(app_of(after), ["--colour", "blue"])
    assert result.output == '{"size":4,"colour":"blue"}\n'
    result = CliRunner().invoke(app_of(after), ["--size", "0"])
    assert result.exit_code == 1 and str(result.exception) == (
        "invalid value for size: Input should be greater than or equal to 1"
    )
