"""A tiny GiGPO run end to end: rollouts from the model being trained, updates, logs, checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from agentgym import registry
from agentgym.cli.main import app
from agentgym.environments.guess.env import GuessNumberEnv
from agentgym.exceptions import FAILURE_KINDS, ConfigError
from agentgym.records import load_trajectories
from agentgym.trainers.checkpoint import latest_checkpoint, load_state
from agentgym.trainers.config import build_config, read_config
from agentgym.trainers.evaluate import evaluate_run
from agentgym.trainers.runlog import read_jsonl
from agentgym.trainers.trainer import Trainer

NO_FAILURES = dict.fromkeys(FAILURE_KINDS, 0)
SMALL = [
    "algo.group_size=3",
    "algo.groups_per_iteration=2",
    "rollout.max_new_tokens=6",
    "optim.lr=0.01",
    "iterations=2",
    "eval.every=1",
    "eval.episodes=2",
    "checkpoint_every=1",
    "progress=false",
]


def _config(algorithm: str, model: Path, guess_kwargs: dict[str, int], *sets: str):
    base = {"env": "guess", "env_kwargs": guess_kwargs, "model": {"name_or_path": str(model)}}
    return build_config(algorithm, base, [*SMALL, *sets])


def test_gigpo_run_trains_logs_and_checkpoints(tiny_model_dir, guess_kwargs, tmp_path) -> None:
    config = _config("gigpo", tiny_model_dir, guess_kwargs)
    run = tmp_path / "run"
    summary = Trainer(config, run).run()
    assert summary.episodes == 2

    # The weights moved, and the policy drifted from the reference (KL > 0).
    before = load_file(tiny_model_dir / "model.safetensors")
    after = load_file(latest_checkpoint(run) / "model" / "model.safetensors")
    assert any(not torch.equal(before[k], after[k]) for k in before)
    records = read_jsonl(run / "metrics.jsonl")
    train = [r for r in records if r["kind"] == "train"]
    evals = [r for r in records if r["kind"] == "eval"]
    assert [r["iteration"] for r in train] == [1, 2]
    assert [r["iteration"] for r in evals] == [0, 1, 2]
    assert train[-1]["kl"] > 0
    assert train[0]["env_steps"] > 0 and train[1]["env_steps_total"] == sum(r["env_steps"] for r in train)

    # The run directory holds everything: resolved config, TensorBoard, samples, checkpoint.
    assert read_config(run / "config.yaml") == config
    assert list((run / "tb").glob("events.out.tfevents.*"))
    samples = read_jsonl(run / "samples.jsonl")
    assert samples and {"A_E", "A_S", "reward", "state_key"} <= set(samples[0]["steps"][0])
    state = load_state(latest_checkpoint(run))
    assert state["iteration"] == 2 and state["cursor"] == 4
    assert {"optimizer", "scheduler"} <= set(state["learner"]) and "torch" in state["rng"]

    # agentgym eval RUN_DIR plays the same episodes with the same weights.
    again = evaluate_run(run, split="valid", episodes=2)
    assert again.success_rate == summary.success_rate and again.mean_steps == summary.mean_steps
    out = tmp_path / "eval.jsonl"
    args = ["eval", str(run), "--split", "valid", "--episodes", "2", "--out", str(out)]
    cli = CliRunner().invoke(app, args)
    assert cli.exit_code == 0, cli.output
    assert "(valid)" in cli.output and f"{summary.success_rate:.1%}" in cli.output
    assert len(load_trajectories(out)) == 2
    cli = CliRunner().invoke(app, ["eval", str(run), "--seed", "3"])
    assert cli.exit_code == 1 and "is a training run" in str(cli.exception)
    cli = CliRunner().invoke(app, ["eval", str(run), "--history", "1", "--max-new-tokens", "3"])
    assert cli.exit_code == 1 and cli.exception.hint == "drop --history, --max-new-tokens"
    cli = CliRunner().invoke(app, ["eval", str(run), "--no-progress"])  # named as typed
    assert cli.exit_code == 1 and cli.exception.hint == "drop --no-progress"


@pytest.mark.parametrize("algorithm", ["grpo", "rloo"])
def test_grpo_and_rloo_are_the_same_loop(algorithm, tiny_model_dir, guess_kwargs, tmp_path) -> None:
    config = _config(algorithm, tiny_model_dir, guess_kwargs, "iterations=1", "eval.every=0")
    Trainer(config, tmp_path / "run").run()
    train = [r for r in read_jsonl(tmp_path / "run" / "metrics.jsonl") if r["kind"] == "train"]
    assert len(train) == 1 and train[0]["grad_norm"] > 0


def test_episode_samples_train_too(tiny_model_dir, guess_kwargs, tmp_path) -> None:
    sets = ["rollout.samples=episode", "rollout.history=null", "iterations=1", "eval.every=0"]
    config = _config("gigpo", tiny_model_dir, guess_kwargs, *sets)
    Trainer(config, tmp_path / "run").run()
    train = [r for r in read_jsonl(tmp_path / "run" / "metrics.jsonl") if r["kind"] == "train"]
    assert train[0]["grad_norm"] > 0 and train[0]["tokens"] > 0


def test_max_env_steps_stops_the_run(tiny_model_dir, guess_kwargs, tmp_path) -> None:
    config = _config("grpo", tiny_model_dir, guess_kwargs, "iterations=50", "max_env_steps=1", "eval.every=0")
    Trainer(config, tmp_path / "run").run()
    train = [r for r in read_jsonl(tmp_path / "run" / "metrics.jsonl") if r["kind"] == "train"]
    assert len(train) == 1


def test_a_used_run_directory_is_refused(tiny_model_dir, guess_kwargs, tmp_path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty; pass --resume"):
        Trainer(_config("gigpo", tiny_model_dir, guess_kwargs), tmp_path / "run")


def test_lora_run_saves_adapters_resumes_and_evaluates(tiny_model_dir, guess_kwargs, tmp_path) -> None:
    sets = ["model.lora_rank=4", "iterations=1", "eval.every=0"]
    config = _config("gigpo", tiny_model_dir, guess_kwargs, *sets)
    run = tmp_path / "run"
    Trainer(config, run).run()
    assert (latest_checkpoint(run) / "model" / "adapter_model.safetensors").is_file()
    longer = config.model_copy(update={"iterations": 2})
    Trainer(longer, run, resume=True).run()
    assert load_state(latest_checkpoint(run))["iteration"] == 2
    assert evaluate_run(run, episodes=2).episodes == 2


def test_a_torn_last_log_line_is_dropped(tmp_path) -> None:
    from agentgym.trainers.runlog import RunLog

    (tmp_path / "metrics.jsonl").write_text('{"kind": "train", "iteration": 1}\n{"kind": "tr')
    RunLog(tmp_path, resume_from=1).close()
    assert read_jsonl(tmp_path / "metrics.jsonl") == [{"kind": "train", "iteration": 1}]


class CrashOnEvenGuess(GuessNumberEnv):
    """GuessNumber whose simulator dies at the first step of every even target."""

    def _step(self, action: str):
        if self.game.target % 2 == 0:
            raise RuntimeError("simulator crashed")
        return super()._step(action)


def test_crashed_episodes_are_counted_and_kept_out_of_training(
    scratch_registry, tiny_model_dir, guess_kwargs, tmp_path
) -> None:
    registry.register("agentgym/CrashyGuess-v0", f"{__name__}:CrashOnEvenGuess", description="test env")
    model = {"name_or_path": str(tiny_model_dir)}
    base = {"env": "agentgym/CrashyGuess-v0", "env_kwargs": guess_kwargs, "model": model}
    sets = [*SMALL, "algo.groups_per_iteration=4", "eval.every=0"]
    run = tmp_path / "run"
    Trainer(build_config("gigpo", base, sets), run).run()  # 8 of the 9 train targets: both parities

    train = [r for r in read_jsonl(run / "metrics.jsonl") if r["kind"] == "train"]
    failed = sum(r["failed"] for r in train)
    assert failed > 0 and failed % 3 == 0  # whole groups: every copy of an even target crashed
    assert all(r["failure_kinds"] == {**NO_FAILURES, "env_crash": r["failed"]} for r in train)
    evals = [r for r in read_jsonl(run / "metrics.jsonl") if r["kind"] == "eval"]
    assert evals and all(r["failure_kinds"] == {**NO_FAILURES, "env_crash": r["failed"]} for r in evals)
    assert any(r["grad_norm"] > 0 for r in train)  # the other groups trained
    sampled = read_jsonl(run / "samples.jsonl")
    assert sampled and all(s["outcome"] != "failed" for s in sampled)
