"""``config_error``: a pydantic ValidationError as one line that says what to fix, on hand-built models."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agentgym.exceptions import ConfigError, config_error


class Limits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    memory_mb: int = Field(1024, ge=16)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as err:
            raise config_error(err, type(self), "limit") from None


class Optim(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lr: float = Field(1e-6, gt=0, le=1)


class Run(BaseModel):
    model_config = ConfigDict(extra="forbid")

    env: str
    optim: Optim = Optim()
    limits: Limits | None = None
    history: int | None = None
    samples: str = "step"

    @model_validator(mode="after")
    def _check(self) -> Run:
        if self.samples == "episode" and self.history is not None:
            raise ValueError("samples=episode needs history null")
        return self


def message(data: dict[str, Any], **wording: str) -> str:
    with pytest.raises(ValidationError) as err:
        Run.model_validate(data)
    error = config_error(err.value, Run, "config key", **wording)
    assert isinstance(error, ConfigError) and "\n" not in str(error)
    return str(error)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # a close key is suggested with its whole path, inside nested models too
        ({"env": "g", "optim": {"lrr": 1}}, "unknown config key 'optim.lrr'; did you mean 'optim.lr'?"),
        ({"env": "g", "sample": 1}, "unknown config key 'sample'; did you mean 'samples'?"),
        # no close key: the keys there are listed
        ({"env": "g", "optim": {"zzz": 1}}, "unknown config key 'optim.zzz'; known: lr"),
        ({}, "config key 'env' is required"),
        (
            {"env": "g", "optim": {"lr": 2}},
            "config key 'optim.lr': Input should be less than or equal to 1 (got 2)",
        ),
        # a check of the whole model names no key: its message, "Value error, " dropped
        ({"env": "g", "samples": "episode", "history": 2}, "samples=episode needs history null"),
        # a nested model's own ConfigError is already one line
        (
            {"env": "g", "limits": {"memory_mb": 1}},
            "limit 'memory_mb': Input should be greater than or equal to 16 (got 1)",
        ),
    ],
)
def test_each_kind_of_error_in_one_line(data: dict[str, Any], expected: str) -> None:
    assert message(data) == expected


def test_the_wording_of_each_case_can_be_given() -> None:
    wording = {
        "unknown": "unknown {noun} {key!r}; use one of: {known}",
        "invalid": "invalid {noun} {key}={value!r}: {msg}",
        "whole": "invalid config: {msg}",
    }
    assert (
        message({"env": "g", "optim": {"lrr": 1}}, **wording)
        == "unknown config key 'optim.lrr'; use one of: lr"
    )
    assert message({"env": "g", "optim": {"lr": 0}}, **wording) == (
        "invalid config key optim.lr=0: Input should be greater than 0"
    )
    assert message({"env": "g", "samples": "episode", "history": 1}, **wording) == (
        "invalid config: samples=episode needs history null"
    )


def test_a_prefix_goes_before_the_key_and_the_suggestion() -> None:
    with pytest.raises(ValidationError) as err:
        Optim.model_validate({"lrr": 1})
    assert str(config_error(err.value, Optim, "config key", prefix="optim.")) == (
        "unknown config key 'optim.lrr'; did you mean 'optim.lr'?"
    )
