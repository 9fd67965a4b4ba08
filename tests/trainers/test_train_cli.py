"""``agentgym train``: bad input is one line (plus a hint), never a traceback."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from agentgym import registry
from agentgym.environments.guess.env import GuessNumberEnv
from agentgym.exceptions import ConfigError
from agentgym.trainers.cli import app, resolve_config
from agentgym.trainers.evaluate import evaluate_run


class NoStateKeyEnv(GuessNumberEnv):
    """GuessNumber that publishes an empty state_key (as an env without state keys would)."""

    def _info(self, invalid: bool) -> dict[str, Any]:
        return {**super()._info(invalid), "state_key": ""}


@pytest.fixture
def no_state_key_env(scratch_registry: None) -> str:
    """Registered for this test only."""
    registry.register(
        "agentgym/NoStateKey-v0",
        f"{__name__}:NoStateKeyEnv",
        description="test env without state keys",
    )
    return "agentgym/NoStateKey-v0"


def _run(*args: str) -> tuple[int, list[str]]:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output.splitlines()


def test_missing_model_path(tmp_path) -> None:
    code, lines = _run(
        "gigpo", "--env", "guess", "--model", str(tmp_path / "nope"), "--out", str(tmp_path / "r")
    )
    assert code == 2
    assert lines[0] == f"error: model path {str(tmp_path / 'nope')!r} does not exist"
    assert lines[1].startswith("hint: ") and len(lines) == 2
    assert not (tmp_path / "r").exists()  # nothing written for a run that could not start


def test_unknown_key_in_a_config_file(tmp_path, tiny_model_dir) -> None:
    config = tmp_path / "x.yaml"
    config.write_text("algo:\n  omega: 0.5\n  gamma_step: 0.9\n")
    code, lines = _run("gigpo", "--env", "guess", "--model", str(tiny_model_dir), "--config", str(config))
    assert (code, lines) == (
        2,
        ["error: unknown config key 'algo.gamma_step'; did you mean 'algo.gamma'?"],
    )


def test_env_without_state_key(no_state_key_env, tiny_model_dir, tmp_path) -> None:
    args = ["--env", no_state_key_env, "--model", str(tiny_model_dir), "--out", str(tmp_path / "r")]
    code, lines = _run("gigpo", *args)
    assert code == 2 and len(lines) == 1
    assert lines[0] == (
        "error: env 'agentgym/NoStateKey-v0' gives no info['state_key'], which GiGPO's step groups "
        "need; train grpo instead, or --set algo.omega=0"
    )
    # GRPO has no step groups, so the same env is fine for it.
    config, _ = resolve_config("grpo", env=no_state_key_env, model=str(tiny_model_dir))
    assert config.algo.omega == 0.0


def test_unknown_env_and_multiagent_env(tiny_model_dir) -> None:
    code, lines = _run("grpo", "--env", "gues", "--model", str(tiny_model_dir))
    assert code == 2 and lines[0].startswith("error: unknown environment 'gues'; did you mean")
    code, lines = _run("grpo", "--env", "nim", "--model", str(tiny_model_dir))
    assert code == 2 and lines[0].startswith("error: 'nim' is a multi-agent game")


def test_help_lists_config_keys() -> None:
    code, lines = _run("gigpo", "--help")
    assert code == 0
    assert "  algo.omega = 1.0: ω: weight of the step advantage A^S (0 is GRPO)." in lines


def test_resume_needs_a_run_and_the_same_config(tmp_path) -> None:
    with pytest.raises(ConfigError, match="--resume needs --out"):
        resolve_config("gigpo", resume=True)
    with pytest.raises(ConfigError, match=r"has no config\.yaml"):
        resolve_config("gigpo", out=tmp_path, resume=True)
    config, run = resolve_config("gigpo", env="guess", model="m", out=tmp_path / "run")
    run.mkdir()
    from agentgym.trainers.config import dump_config

    dump_config(config, run / "config.yaml")
    same, _ = resolve_config("gigpo", env="guess", model="m", out=run, resume=True)
    assert same == config
    with pytest.raises(ConfigError, match=r"these options change it: algo\.omega"):
        resolve_config("gigpo", out=run, sets=["algo.omega=0.5"], resume=True)
    with pytest.raises(ConfigError, match="is a gigpo run, not rloo"):
        resolve_config("rloo", out=run, resume=True)


def test_evaluate_run_needs_a_run(tmp_path) -> None:
    with pytest.raises(ConfigError, match="is not a training run"):
        evaluate_run(tmp_path)


def test_mounted_as_agentgym_train(tmp_path) -> None:
    from agentgym.cli.main import app as main_app

    result = CliRunner().invoke(main_app, ["train", "rloo", "--env", "guess", "--model", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert result.output.splitlines()[0] == f"error: model path {str(tmp_path / 'x')!r} does not exist"
