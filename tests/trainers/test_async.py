"""Asynchronous training (``async_staleness`` K): rollouts played ahead by a background generator."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from agentgym.exceptions import AgentGymError, ConfigError
from agentgym.trainers.async_rollouts import AsyncRollouts, torch_threads
from agentgym.trainers.checkpoint import latest_checkpoint
from agentgym.trainers.cli import app
from agentgym.trainers.config import build_config, read_config
from agentgym.trainers.learner import Learner
from agentgym.trainers.runlog import read_jsonl
from agentgym.trainers.trainer import Trainer

GENERATOR = ("generate_s", "generator_idle_s", "generator_overhead_s")
TIMING = {"time_s", "rollout_s", "advantage_s", "update_s", "tokens_per_s", "wall_time_s", "steps_per_s"}
TIMING |= set(GENERATOR)
RUN = [
    "algo.group_size=3",
    "algo.groups_per_iteration=2",
    "rollout.max_new_tokens=6",
    "optim.lr=0.01",
    "optim.micro_batch_size=4",
    "optim.mini_batch_size=6",
    "iterations=4",
    "eval.every=2",
    "eval.episodes=2",
    "checkpoint_every=2",
    "deterministic=true",
    "cpu_threads=1",
    "progress=false",
]


def _config(model: Path, guess_kwargs: dict[str, int], *sets: str, algorithm: str = "gigpo"):
    base = {"env": "guess", "env_kwargs": guess_kwargs, "model": {"name_or_path": str(model)}}
    run = RUN if algorithm == "gigpo" else [s for s in RUN if not s.startswith("algo.")]
    return build_config(algorithm, base, [*run, *sets])


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(latest_checkpoint(run) / "model" / "model.safetensors")


def _history(run: Path) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIMING} for r in read_jsonl(run / "metrics.jsonl")]


def _same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_the_generator_at_staleness_0_is_the_synchronous_run(tiny_model_dir, guess_kwargs, tmp_path) -> None:
    """K = 0 through the whole asynchronous machinery (generator process, versions) changes nothing."""
    config = _config(tiny_model_dir, guess_kwargs)
    Trainer(config, tmp_path / "sync").run()
    trainer = Trainer(config, tmp_path / "generator")
    trainer.async_rollouts = AsyncRollouts(trainer, staleness=0)
    trainer.run()
    assert not trainer.async_rollouts.thread.is_alive() and not trainer.async_rollouts.process.is_alive()
    assert _same_weights(_weights(tmp_path / "sync"), _weights(tmp_path / "generator"))
    assert _history(tmp_path / "sync") == _history(tmp_path / "generator")
    train = [r for r in _history(tmp_path / "sync") if r["kind"] == "train"]
    assert [r["policy_version"] for r in train] == [0, 1, 2, 3]


@pytest.mark.parametrize("staleness", [1, 2])
def test_same_seed_and_staleness_give_the_same_run(staleness, tiny_model_dir, guess_kwargs, tmp_path) -> None:
    config = _config(tiny_model_dir, guess_kwargs, f"async_staleness={staleness}")
    for name in ("a", "b"):
        Trainer(config, tmp_path / name).run()
    assert _same_weights(_weights(tmp_path / "a"), _weights(tmp_path / "b"))
    assert _history(tmp_path / "a") == _history(tmp_path / "b")

    # Iteration j was played by weights max(j - K, 0), and every stale sample got the decoupled
    # correction (the mean behaviour weight π_prox/π_behav is logged; fresh samples need none).
    train = [r for r in _history(tmp_path / "a") if r["kind"] == "train"]
    versions = [max(j - staleness, 0) for j in range(4)]
    assert [r["policy_version"] for r in train] == versions
    assert ["behaviour_weight" in r for r in train] == [v < j for j, v in enumerate(versions)]
    assert all(r["behaviour_weight"] > 0 for r in train if "behaviour_weight" in r)
    sync = tmp_path / "sync"
    Trainer(_config(tiny_model_dir, guess_kwargs), sync).run()
    assert not _same_weights(_weights(sync), _weights(tmp_path / "a"))

    # Each side's time per iteration: the learner's wait and update, the generator's play,
    # idle time and overhead (its first round trip includes the process's start-up).
    timed = [r for r in read_jsonl(tmp_path / "a" / "metrics.jsonl") if r["kind"] == "train"]
    # The learner played the first iteration itself while the generator process started.
    assert all(r["rollout_s"] >= 0 and r["update_s"] >= 0 and r["generate_s"] > 0 for r in timed)
    assert set(GENERATOR) & set(timed[0]) == {"generate_s"}
    assert all(r[key] >= 0 for r in timed[1:] for key in GENERATOR)
    assert not any(key in r for r in read_jsonl(sync / "metrics.jsonl") for key in GENERATOR)


def test_unset_cpu_threads_give_each_side_half_the_cpus(
    tiny_model_dir, guess_kwargs, tmp_path, monkeypatch
) -> None:
    """torch's default threads in both the learner and the generator would oversubscribe the CPUs."""
    config = _config(tiny_model_dir, guess_kwargs, "async_staleness=1", "cpu_threads=0", "iterations=1")
    half = max(1, len(os.sched_getaffinity(0)) // 2)
    assert torch_threads(config) == half
    assert torch_threads(config.model_copy(update={"async_staleness": 0})) == 0
    assert torch_threads(config.model_copy(update={"cpu_threads": 3})) == 3
    seen: list[int] = []
    update = Learner.update
    monkeypatch.setattr(Learner, "update", lambda *a: seen.append(torch.get_num_threads()) or update(*a))
    Trainer(config, tmp_path / "run").run()
    assert seen == [half]


def test_staleness_is_refused_where_iterations_are_not_task_groups(
    tiny_model_dir, guess_kwargs, tmp_path
) -> None:
    config = _config(
        tiny_model_dir,
        guess_kwargs,
        "async_staleness=1",
        "algo.critic_encoder=tiny",
        algorithm="archer",
    )
    with pytest.raises(ConfigError) as err:
        Trainer(config, tmp_path / "run")
    assert str(err.value) == (
        "archer does not play its iterations as task groups, so it cannot roll out ahead; "
        "async_staleness applies to gigpo, grpo and rloo: drop --async-staleness"
    )
    assert not (tmp_path / "run").exists()


def test_the_cli_flag_sets_the_config_key(tiny_model_dir, guess_kwargs, tmp_path) -> None:
    args = ["grpo", "--env", "guess", "--model", str(tiny_model_dir), "--out", str(tmp_path / "run")]
    sets = ["iterations=2", "algo.group_size=2", "algo.groups_per_iteration=1", "eval.episodes=1"]
    sets += ["rollout.max_new_tokens=4", "progress=false", "cpu_threads=1"]
    result = CliRunner().invoke(app, [*args, "--async-staleness", "1", *(f"--set={s}" for s in sets)])
    assert result.exit_code == 0, result.output
    assert read_config(tmp_path / "run" / "config.yaml").async_staleness == 1
    train = [r for r in read_jsonl(tmp_path / "run" / "metrics.jsonl") if r["kind"] == "train"]
    assert [r["policy_version"] for r in train] == [0, 0]


def test_a_dead_generator_stops_the_run_in_one_line(tiny_model_dir, guess_kwargs, tmp_path) -> None:
    trainer = Trainer(_config(tiny_model_dir, guess_kwargs, "async_staleness=1"), tmp_path / "run")

    def kill_generator() -> None:
        deadline = time.monotonic() + 60
        while getattr(trainer.async_rollouts.process, "pid", None) is None and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(trainer.async_rollouts.process.pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_generator)
    killer.start()
    with pytest.raises(AgentGymError) as err:
        trainer.run()
    killer.join()
    assert str(err.value) == (
        "the rollout generator process exited (code -9) mid-rollout; rerun with --resume"
    )
