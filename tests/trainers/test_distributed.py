"""Data-parallel training: 2 gloo ranks on CPU against 1 process with the same global batch and seed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from agentgym.prompting import PromptConfig
from agentgym.trainers import sft
from agentgym.trainers.checkpoint import latest_checkpoint
from agentgym.trainers.cli import app
from agentgym.trainers.config import ModelSettings, OptimSettings
from agentgym.trainers.learner import Learner
from agentgym.trainers.runlog import read_jsonl

ITERATIONS = 4


def _command(config: Path, out: Path, *extra: str, algorithm: str = "gigpo") -> list[str]:
    return [
        sys.executable,
        "-m",
        "agentgym.trainers.cli",
        algorithm,
        "--config",
        str(config),
        "--out",
        str(out),
        *extra,
    ]


def _env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in its own process group; whatever it leaves behind is a failure (and is killed)."""
    proc = subprocess.Popen(
        command, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=240)
    finally:
        _assert_group_gone(proc.pid)
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


def _assert_group_gone(pgid: int) -> None:
    """No process of the group ``pgid`` is left (a launcher's ranks included); kill any and fail."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.killpg(pgid, signal.SIGKILL)
    pytest.fail(f"processes of group {pgid} outlived their run")


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(latest_checkpoint(run) / "model" / "model.safetensors")


def _assert_close(a: Path, b: Path) -> None:
    """Equal up to float32 summation order: gloo's all-reduce adds the ranks' gradients in another
    order than one process accumulates them, and Adam carries that through each update (1.2e-5
    measured after 4 updates of the kill-and-resume run)."""
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    assert max((wa[k] - wb[k]).abs().max().item() for k in wa) <= 5e-5
    trained = [
        (r["iteration"], r["env_steps_total"], r["success"], r["tokens"])
        for r in read_jsonl(a / "metrics.jsonl")
        if r["kind"] == "train"
    ]
    assert trained == [
        (r["iteration"], r["env_steps_total"], r["success"], r["tokens"])
        for r in read_jsonl(b / "metrics.jsonl")
        if r["kind"] == "train"
    ]
    assert len(trained) == ITERATIONS


@pytest.fixture(scope="module")
def run_config(write_run_config, tmp_path_factory) -> Path:
    return write_run_config(
        tmp_path_factory.mktemp("dp") / "run.yaml",
        algo={"group_size": 2, "groups_per_iteration": 4},
        # two optimizer steps per iteration, each cut across both ranks' samples
        optim={"lr": 0.001, "micro_batch_size": 3, "mini_batch_size": 7},
        eval={"every": 0, "episodes": 2},
        iterations=ITERATIONS,
    )


@pytest.fixture(scope="module")
def one_process(run_config) -> Path:
    out = run_config.parent / "one"
    result = _run(_command(run_config, out))
    assert result.returncode == 0, result.stderr
    return out


def test_two_gloo_ranks_end_where_one_process_does(run_config, one_process) -> None:
    out = run_config.parent / "two"
    result = _run(_command(run_config, out, "--nproc", "2"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("success") == 1  # rank 0 reports, once
    _assert_close(one_process, out)


def test_sigkill_of_one_rank_stops_the_run_and_resume_continues(run_config, one_process, tmp_path) -> None:
    out = tmp_path / "killed"
    launcher = subprocess.Popen(
        _command(run_config, out, "--nproc", "2"),
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while latest_checkpoint(out) is None and launcher.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert latest_checkpoint(out) is not None, "no checkpoint before the kill"
        listening = _listening([launcher.pid, *_children(launcher.pid)])
        assert listening, "the ranks' gloo sockets were not seen"
        assert all(address.startswith("127.0.0.1:") for address in listening), listening
        os.kill(_rank_pid(launcher.pid, 1), signal.SIGKILL)
        _, err = launcher.communicate(timeout=60)  # rank 0 does not hang on its dead peer
    finally:
        _assert_group_gone(launcher.pid)
    assert launcher.returncode == 1
    assert (
        "error: rank 1 of 2 stopped (signal 9), so the run was stopped; rerun the same command with --resume"
        in err
    )
    stopped = int(latest_checkpoint(out).name.removeprefix("iter_"))
    assert 1 <= stopped < ITERATIONS

    result = _run(_command(run_config, out, "--resume"))  # resumed by one process: any N resumes
    assert result.returncode == 0, result.stderr
    _assert_close(one_process, out)


def test_more_ranks_than_task_groups_is_one_line(run_config, tmp_path) -> None:
    result = CliRunner().invoke(
        app, ["gigpo", "--config", str(run_config), "--out", str(tmp_path / "r"), "--nproc", "5"]
    )
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "error: 5 ranks need at least 5 task groups per iteration (got 4); "
        "lower --nproc or raise algo.groups_per_iteration"
    ]


@pytest.fixture(scope="module")
def cloned_model_dir(tiny_model_dir, guess_kwargs, tmp_path_factory) -> Path:
    """The tiny model cloned from GuessNumber's expert: it wins some episodes, so groups have pairs."""
    settings = ModelSettings(name_or_path=str(tiny_model_dir), device="cpu")
    learner = Learner(settings, OptimSettings(lr=1e-2, mini_batch_size=16, micro_batch_size=16))
    experts = sft.expert_trajectories("guess", 16, env_kwargs=guess_kwargs)
    sft.behaviour_clone(learner, sft.demonstration_samples(experts, learner.tokenizer, PromptConfig()), 12)
    path = tmp_path_factory.mktemp("cloned")
    learner.save(str(path))
    return path


@pytest.mark.parametrize("algorithm", ["rft", "traj-dpo"])
def test_rft_and_trajectory_dpo_train_on_two_ranks(algorithm, write_run_config, cloned_model_dir, tmp_path):
    """The episode-level baselines of MCTS-DPO share task groups like GRPO; a trajectory-level pair
    (a run of chosen rows, then rejected rows) stays whole in the mini-batches cut across ranks."""
    config = write_run_config(
        tmp_path / "run.yaml",
        model={"name_or_path": str(cloned_model_dir)},
        rollout={"max_new_tokens": 16, "history": None},  # a whole <action>guess N</action>
        algo={"group_size": 4, "groups_per_iteration": 2},
        optim={"lr": 0.001, "micro_batch_size": 4, "mini_batch_size": 6},  # fewer rows than a pair
        eval={"every": 0, "episodes": 2},
        iterations=2,
    )
    out = tmp_path / "run"
    result = _run(_command(config, out, "--nproc", "2", algorithm=algorithm))
    assert result.returncode == 0, result.stderr
    train = [r for r in read_jsonl(out / "metrics.jsonl") if r["kind"] == "train"]
    assert [r["iteration"] for r in train] == [1, 2]
    if algorithm == "traj-dpo":
        assert sum(r["pairs"] for r in train) >= 1 and all("dpo_loss" in r for r in train if r["pairs"])


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _listening(pids: list[int]) -> list[str]:
    """The local addresses of every TCP or UDP socket that ``pids`` listen on (``ss -ltunp``)."""
    lines = subprocess.run(["ss", "-ltunpH"], capture_output=True, text=True, check=True).stdout.splitlines()
    marks = tuple(f"pid={pid}," for pid in pids)
    return [line.split()[4] for line in lines if any(mark in line for mark in marks)]


def _rank_pid(launcher: int, rank: int) -> int:
    """The PID of the launcher's child process that runs ``rank``."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for child in _children(launcher):
            try:
                environ = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
            except FileNotFoundError:
                continue
            if f"RANK={rank}".encode() in environ:
                return int(child)
        time.sleep(0.05)
    raise AssertionError(f"no rank {rank} under launcher {launcher}")


def test_two_gloo_ranks_train_lora_adapters(run_config, tmp_path) -> None:
    out = tmp_path / "lora"
    result = _run(
        _command(run_config, out, "--nproc", "2", "--set", "model.lora_rank=4", "--set", "iterations=2")
    )
    assert result.returncode == 0, result.stderr
    adapters = load_file(latest_checkpoint(out) / "model" / "adapter_model.safetensors")
    assert adapters and all(torch.isfinite(t).all() for t in adapters.values())
    assert [r["iteration"] for r in read_jsonl(out / "metrics.jsonl") if r["kind"] == "train"] == [1, 2]
