"""ArCHer end to end on a tiny model: the report shows Q, V, A; bad input is one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from agentgym.cli.main import app
from agentgym.core import ResetOptions, TextEnv
from agentgym.exceptions import ConfigError
from agentgym.registry import register
from agentgym.trainers.checkpoint import latest_checkpoint, load_state
from agentgym.trainers.config import build_config
from agentgym.trainers.report import write_report
from agentgym.trainers.runlog import read_jsonl
from agentgym.trainers.trainer import Trainer

SMALL = [
    "algo.rollout_trajectories=4",
    "algo.critic_steps=2",
    "algo.critic_batch_size=8",
    "algo.actor_steps=1",
    "algo.actor_batch_size=8",
    "algo.warmup_iterations=1",
    "algo.critic_encoder=tiny",
    "algo.critic_max_length=64",
    "rollout.max_new_tokens=6",
    "optim.lr=0.01",
    "optim.micro_batch_size=4",
    "iterations=2",
    "eval.every=1",
    "eval.episodes=2",
    "checkpoint_every=1",
    "progress=false",
]


def _config(model: Path, env: str = "guess", env_kwargs: dict[str, Any] | None = None, *sets: str):
    base = {
        "env": env,
        "env_kwargs": {"max_steps": 4} if env_kwargs is None else env_kwargs,
        "model": {"name_or_path": str(model)},
    }
    return build_config("archer", base, [*SMALL, *sets])


def test_archer_trains_critic_then_actor_and_reports_q_v_a(tiny_model_dir, tmp_path) -> None:
    run = tmp_path / "run"
    Trainer(_config(tiny_model_dir), run).run()

    # The actor moved only after warm-up (iteration 2 of 2), the critic every iteration.
    before = load_file(tiny_model_dir / "model.safetensors")
    after = load_file(latest_checkpoint(run) / "model" / "model.safetensors")
    assert any(not torch.equal(before[k], after[k]) for k in before)
    train = [r for r in read_jsonl(run / "metrics.jsonl") if r["kind"] == "train"]
    assert "pg_loss" not in train[0] and "pg_loss" in train[1]
    assert all(r["critic_loss"] > 0 and {"q", "v"} <= r.keys() for r in train)
    assert train[1]["buffer"] == sum(r["env_steps"] for r in train)

    # The target critic trails the critic by Polyak steps: close, not equal.
    modules = load_state(latest_checkpoint(run))["modules"]
    critic, target = modules["critic"]["module"], modules["target_critic"]["module"]
    assert critic.keys() == target.keys() and "optimizer" not in modules["target_critic"]
    assert any(not torch.equal(critic[k], target[k]) for k in critic)

    # The replay buffer lives in the run directory; the report shows Q, V and A per step.
    assert len((run / "replay_buffer.jsonl").read_text().splitlines()) == train[1]["buffer"]
    html = write_report(run).read_text()
    assert "<th>Q</th><th>V</th><th>A</th>" in html and "A(s, ã)" not in html.split("<h2>")[0]
    assert "<th>A^E</th>" not in html


def test_archer_trains_a_seat_of_deal_or_no_deal_from_the_command_line(tiny_model_dir, tmp_path) -> None:
    run = tmp_path / "dond"
    sets = [f"--set={s}" for s in [*SMALL, "iterations=1", "algo.rollout_trajectories=2"]]
    result = CliRunner().invoke(
        app,
        ["train", "archer", "--env", "dealornodeal", "--model", str(tiny_model_dir), "--out", str(run),
         *sets, "--set", "seat.learner=player_0", "--set", "seat.others=fair"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    records = read_jsonl(run / "metrics.jsonl")
    assert [r["iteration"] for r in records if r["kind"] == "train"] == [1]
    assert latest_checkpoint(run) is not None


@pytest.mark.parametrize(
    ("env", "env_kwargs"),
    [
        ("twentyquestions", "{max_steps: 4}"),
        ("guessmycity", "{max_steps: 4}"),
        ("alfworld", "{scene: small, max_steps: 8}"),  # the expert wins train task 0 in 5 steps
    ],
)
def test_archer_trains_from_the_command_line(env: str, env_kwargs: str, tiny_model_dir, tmp_path) -> None:
    """One tiny iteration from the command line on each env ArCHer is acceptance-tested on."""
    run = tmp_path / env
    sets = [*SMALL, "iterations=1", "algo.rollout_trajectories=2", "algo.warmup_iterations=0"]
    result = CliRunner().invoke(
        app,
        ["train", "archer", "--env", env, "--model", str(tiny_model_dir), "--out", str(run),
         "--set", f"env_kwargs={env_kwargs}", *(f"--set={s}" for s in sets)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    train = [r for r in read_jsonl(run / "metrics.jsonl") if r["kind"] == "train"]
    assert [r["iteration"] for r in train] == [1] and train[0]["critic_loss"] > 0 and "pg_loss" in train[0]
    assert len((run / "replay_buffer.jsonl").read_text().splitlines()) == train[0]["buffer"] > 0
    assert latest_checkpoint(run) is not None


def test_multiagent_game_without_a_seat_is_one_line(tiny_model_dir, tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"^'dealornodeal' is a multi-agent game; choose the seat to train"):
        Trainer(_config(tiny_model_dir, "dealornodeal", {}), tmp_path / "run")


class SilentEnv(TextEnv):
    """Says nothing back and pays nothing: an env without a reward signal."""

    def __init__(self) -> None:
        super().__init__(max_steps=3)
        self.splits = {"train": 1, "valid": 1, "test": 1}

    def _reset(self, task_id: int, options: ResetOptions) -> tuple[str, dict[str, Any]]:
        return "silence", self._info()

    def _step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        return "silence", 0.0, action == "stop", False, self._info()

    def expert_action(self) -> str:
        return "stop"

    def data_digest(self) -> str:
        return "silent"

    def _info(self) -> dict[str, Any]:
        return {"task": "wait", "admissible_actions": ["stop"], "state_key": "s", "won": False,
                "invalid_action": False}  # fmt: skip


@pytest.fixture
def silent_env(scratch_registry: None) -> None:
    """SilentEnv registered for one test only (a module-level registration reached every test's registry)."""
    register("agentgym/Silent-v0", f"{__name__}:SilentEnv", description="test env without rewards")


@pytest.mark.usefixtures("silent_env")
def test_env_without_reward_signal_is_one_line(tiny_model_dir, tmp_path) -> None:
    with pytest.raises(ConfigError) as err:
        Trainer(_config(tiny_model_dir, "agentgym/Silent-v0", {}), tmp_path / "run")
    assert str(err.value) == (
        "env 'agentgym/Silent-v0' paid no reward over an expert episode (1 steps, every reward 0); "
        "ArCHer's critic learns from rewards: choose an env (or env_kwargs) that pays them"
    )


def test_unknown_critic_encoder_fails_before_training(tiny_model_dir, tmp_path) -> None:
    config = _config(tiny_model_dir, "guess", None, "algo.critic_encoder=no-such/encoder")
    with pytest.raises(ConfigError, match=r"^critic encoder 'no-such/encoder' is neither 'tiny'"):
        Trainer(config, tmp_path / "run")
    assert not (tmp_path / "run" / "metrics.jsonl").exists()


def test_corrupt_replay_buffer_on_resume_is_one_line(tiny_model_dir, tmp_path) -> None:
    run = tmp_path / "run"
    config = _config(tiny_model_dir, "guess", None, "iterations=1")
    Trainer(config, run).run()
    path = run / "replay_buffer.jsonl"
    path.write_text(path.read_text()[:-40])
    with pytest.raises(ConfigError, match=r"^replay buffer '.*replay_buffer.jsonl' is corrupt"):
        Trainer(config.model_copy(update={"iterations": 2}), run, resume=True)


def test_archer_under_data_parallel_ranks_is_one_line(tiny_model_dir, tmp_path) -> None:
    """Its critic and replay buffer live in one process: refused up front, not trained apart."""
    command = [sys.executable, "-m", "agentgym", "train", "archer", "--env", "guess", "--model",
               str(tiny_model_dir), "--out", str(tmp_path / "run"), "--nproc", "2"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert result.stderr.startswith(
        "error: only group methods (gigpo, grpo, rloo, rft, traj-dpo) run data-parallel"
    ), result.stderr
    assert not (tmp_path / "run").exists()
