"""A run killed with SIGKILL and resumed ends with the same parameters as one never stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
import yaml
from safetensors.torch import load_file

from agentgym.trainers.checkpoint import latest_checkpoint, load_state
from agentgym.trainers.runlog import read_jsonl

ITERATIONS = 6
KILL_AFTER = 2
TIMING = {
    "time_s",
    "rollout_s",
    "advantage_s",
    "update_s",
    "tokens_per_s",
    "wall_time_s",
    "steps_per_s",
}


def _command(config: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "agentgym.trainers.cli",
        "gigpo",
        "--config",
        str(config),
        "--out",
        str(out),
        *extra,
    ]


def _env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def _completed(run: Path) -> int:
    checkpoint = latest_checkpoint(run)
    return int(checkpoint.name.removeprefix("iter_")) if checkpoint else 0


def test_sigkill_then_resume_matches_an_uninterrupted_run(tiny_model_dir, guess_kwargs, tmp_path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "env": "guess",
                "env_kwargs": guess_kwargs,
                "model": {"name_or_path": str(tiny_model_dir)},
                "algo": {"group_size": 3, "groups_per_iteration": 2},
                "optim": {"lr": 0.01, "micro_batch_size": 4, "mini_batch_size": 6},
                "rollout": {"max_new_tokens": 6},
                "eval": {"every": 2, "episodes": 2},
                "iterations": ITERATIONS,
                "checkpoint_every": 1,
                "deterministic": True,
                "cpu_threads": 1,
                "progress": False,
            }
        )
    )
    # The reference: never stopped.
    whole = tmp_path / "whole"
    subprocess.run(_command(config, whole), env=_env(), check=True, capture_output=True, timeout=120)

    # The same run, killed as soon as its second checkpoint exists, then resumed.
    broken = tmp_path / "broken"
    proc = subprocess.Popen(
        _command(config, broken), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while _completed(broken) < KILL_AFTER and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    stopped_at = _completed(broken)
    assert KILL_AFTER <= stopped_at < ITERATIONS
    subprocess.run(
        _command(config, broken, "--resume"),
        env=_env(),
        check=True,
        capture_output=True,
        timeout=120,
    )

    # Same weights, bit for bit; same optimizer state; same logged history.
    a = load_file(latest_checkpoint(whole) / "model" / "model.safetensors")
    b = load_file(latest_checkpoint(broken) / "model" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    opt_a = load_state(latest_checkpoint(whole))["learner"]["optimizer"]["state"]
    opt_b = load_state(latest_checkpoint(broken))["learner"]["optimizer"]["state"]
    assert all(torch.equal(opt_a[i]["exp_avg_sq"], opt_b[i]["exp_avg_sq"]) for i in opt_a)

    def history(run: Path) -> list[dict]:
        return [{k: v for k, v in r.items() if k not in TIMING} for r in read_jsonl(run / "metrics.jsonl")]

    assert history(whole) == history(broken)
    assert [r["iteration"] for r in history(broken) if r["kind"] == "train"] == list(range(1, ITERATIONS + 1))
