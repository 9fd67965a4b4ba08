"""A run killed with SIGKILL and resumed ends with the same parameters as one never stopped."""

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

from agentgym.trainers.checkpoint import latest_checkpoint, load_state
from agentgym.trainers.runlog import read_jsonl

ITERATIONS = 6
KILL_AFTER = 2
TIMING = {
    "time_s",
    "rollout_s",
    "advantage_s",
    "update_s",
    "generate_s",
    "generator_idle_s",
    "generator_overhead_s",
    "search_s",
    "critic_s",
    "actor_s",
    "tokens_per_s",
    "wall_time_s",
    "steps_per_s",
}


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


def _completed(run: Path) -> int:
    checkpoint = latest_checkpoint(run)
    return int(checkpoint.name.removeprefix("iter_")) if checkpoint else 0


@pytest.fixture(scope="module")
def run_config(write_run_config, tmp_path_factory) -> Path:
    return write_run_config(
        tmp_path_factory.mktemp("kill") / "run.yaml",
        algo={"group_size": 3, "groups_per_iteration": 2},
        optim={"lr": 0.01, "micro_batch_size": 4, "mini_batch_size": 6},
        eval={"every": 2, "episodes": 2},
        iterations=ITERATIONS,
    )


@pytest.fixture(scope="module")
def whole(run_config) -> Path:
    """The reference: the run never stopped."""
    out = run_config.parent / "whole"
    subprocess.run(_command(run_config, out), env=_env(), check=True, capture_output=True, timeout=120)
    return out


def test_sigkill_then_resume_matches_an_uninterrupted_run(run_config, whole, tmp_path) -> None:
    # The same run, killed as soon as its second checkpoint exists, then resumed.
    broken = tmp_path / "broken"
    proc = subprocess.Popen(
        _command(run_config, broken), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
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
        _command(run_config, broken, "--resume"),
        env=_env(),
        check=True,
        capture_output=True,
        timeout=120,
    )

    _assert_same_run(whole, broken)


def test_killed_at_any_point_the_same_command_goes_on(run_config, whole, tmp_path) -> None:
    """Kills during start-up, before the first checkpoint, mid-checkpoint and at the end."""
    broken = tmp_path / "broken"
    command = _command(run_config, broken, "--resume")  # the one command, from the first start on
    checkpoints = broken / "checkpoints"

    def started() -> bool:
        return (broken / "metrics.jsonl").is_file()

    def torn() -> set[tuple[str, int, int]]:
        """Checkpoints being written (or left half-written by a kill)."""
        if not checkpoints.is_dir():
            return set()
        entries = [e for e in os.scandir(checkpoints) if e.name.startswith(".tmp-")]
        return {(e.name, e.inode(), e.stat().st_ctime_ns) for e in entries}

    launched = time.monotonic()
    _kill_when(command, lambda: time.monotonic() - launched > 1.0)  # start-up: imports, model load
    _kill_when(command, started)  # evaluated at iteration 0, no checkpoint yet
    assert _completed(broken) == 0 and (broken / "config.yaml").is_file()
    for _ in range(3):  # while a checkpoint is written (the window is short: a few tries)
        left = torn()  # the run clears these before it writes its next checkpoint
        _kill_when(command, lambda left=left: bool(torn() - left), pause=0.001)
        if torn() - left:
            break
    assert torn() - left, "no kill landed while a checkpoint was written"
    latest = latest_checkpoint(broken)
    assert latest is None or load_state(latest)["iteration"] == _completed(broken)
    _kill_when(command, lambda: _completed(broken) == ITERATIONS)  # finished, maybe still exiting
    subprocess.run(command, env=_env(), check=True, capture_output=True, timeout=120)
    _assert_same_run(whole, broken)


def _kill_when(command: list[str], ready, pause: float = 0.01) -> None:
    """Start ``command``, SIGKILL it as soon as ``ready()`` (polled every ``pause`` seconds)."""
    proc = subprocess.Popen(command, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not ready() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(pause)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)


def _assert_same_run(whole: Path, broken: Path) -> None:
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


def test_sigkill_then_resume_is_exact_for_archer(write_run_config, tmp_path) -> None:
    algo = {
        "rollout_trajectories": 3,
        "capacity": 20,  # smaller than the transitions played: eviction is resumed too
        "critic_steps": 2,
        "critic_batch_size": 6,
        "actor_steps": 1,
        "actor_batch_size": 6,
        "warmup_iterations": 1,
        "critic_encoder": "tiny",
        "critic_max_length": 64,
    }
    config = write_run_config(
        tmp_path / "run.yaml",
        algo=algo,
        optim={"lr": 0.01, "micro_batch_size": 4},
        eval={"every": 2, "episodes": 2},
        iterations=ITERATIONS,
    )
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    subprocess.run(
        _command(config, whole, algorithm="archer"), env=_env(), check=True, capture_output=True, timeout=180
    )
    command = _command(config, broken, "--resume", algorithm="archer")
    _kill_when(command, lambda: _completed(broken) >= KILL_AFTER)
    assert KILL_AFTER <= _completed(broken) < ITERATIONS
    subprocess.run(command, env=_env(), check=True, capture_output=True, timeout=180)

    # Actor, critic, target critic and the critic's optimizer bit for bit; the same replay buffer file.
    _assert_same_run(whole, broken)
    state_a, state_b = load_state(latest_checkpoint(whole)), load_state(latest_checkpoint(broken))
    for name in ("critic", "target_critic"):
        a, b = state_a["modules"][name]["module"], state_b["modules"][name]["module"]
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    opt_a, opt_b = (s["modules"]["critic"]["optimizer"]["state"] for s in (state_a, state_b))
    assert opt_a.keys() == opt_b.keys()
    assert all(torch.equal(opt_a[i]["exp_avg"], opt_b[i]["exp_avg"]) for i in opt_a)
    assert state_a["algorithm"] == state_b["algorithm"]
    assert (whole / "replay_buffer.jsonl").read_bytes() == (broken / "replay_buffer.jsonl").read_bytes()


def test_sigkill_then_resume_is_exact_for_a_league_on_dealornodeal(write_league_config, tmp_path) -> None:
    # Snapshots join at iterations 0, 2, 4 and 6 and play the learner's opponents from their folders.
    config = write_league_config(tmp_path / "run.yaml", iterations=ITERATIONS)
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    subprocess.run(
        _command(config, whole, "--league", algorithm="grpo"),
        env=_env(),
        check=True,
        capture_output=True,
        timeout=300,
    )
    command = _command(config, broken, "--league", "--resume", algorithm="grpo")
    _kill_when(command, lambda: _completed(broken) >= KILL_AFTER + 1)
    assert KILL_AFTER < _completed(broken) < ITERATIONS
    subprocess.run(command, env=_env(), check=True, capture_output=True, timeout=300)

    # Weights, optimizer and history (ratings, league figures) as never stopped; the same league.
    _assert_same_run(whole, broken)
    state_a, state_b = load_state(latest_checkpoint(whole)), load_state(latest_checkpoint(broken))
    assert state_a["league"] == state_b["league"]
    assert state_a["league"]["snapshots"] == [f"snapshot-{i:06d}" for i in (0, 2, 4, 6)]
    for name in state_a["league"]["snapshots"]:
        a = load_file(whole / "league" / name / "model.safetensors")
        b = load_file(broken / "league" / name / "model.safetensors")
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_sigkill_then_resume_is_exact_with_async_rollouts(write_run_config, tmp_path) -> None:
    """The checkpoint holds the rollouts its older weights played; the rest are played again alike."""
    staleness = 2
    config = write_run_config(
        tmp_path / "run.yaml",
        algo={"group_size": 3, "groups_per_iteration": 2},
        optim={"lr": 0.01, "micro_batch_size": 4, "mini_batch_size": 6},
        eval={"every": 2, "episodes": 2},
        iterations=ITERATIONS,
        async_staleness=staleness,
    )
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    subprocess.run(_command(config, whole), env=_env(), check=True, capture_output=True, timeout=180)
    command = _command(config, broken, "--resume")
    _kill_when(command, lambda: _completed(broken) >= KILL_AFTER)
    assert KILL_AFTER <= _completed(broken) < ITERATIONS
    pending = load_state(latest_checkpoint(broken))["async_rollouts"]
    assert [p["iteration"] for p in pending] == [_completed(broken) + k for k in range(staleness)]
    subprocess.run(command, env=_env(), check=True, capture_output=True, timeout=180)

    _assert_same_run(whole, broken)
    train = [r for r in read_jsonl(whole / "metrics.jsonl") if r["kind"] == "train"]
    assert [r["policy_version"] for r in train] == [max(j - staleness, 0) for j in range(ITERATIONS)]


def test_sigkill_then_resume_is_exact_for_mcts_dpo(write_run_config, tmp_path) -> None:
    search = {"simulations": 3, "k": 3, "lookahead": 1, "self_eval_weight": 0.5}
    config = write_run_config(
        tmp_path / "run.yaml",
        algo={"trees_per_iteration": 2, "search": search, "refresh_every": 2},
        optim={"lr": 0.01, "micro_batch_size": 4},
        eval={"every": 2, "episodes": 2},
        iterations=ITERATIONS,
    )
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    subprocess.run(
        _command(config, whole, algorithm="mcts-dpo"),
        env=_env(),
        check=True,
        capture_output=True,
        timeout=180,
    )
    command = _command(config, broken, "--resume", algorithm="mcts-dpo")
    _kill_when(command, lambda: _completed(broken) >= KILL_AFTER)
    assert KILL_AFTER <= _completed(broken) < ITERATIONS
    subprocess.run(command, env=_env(), check=True, capture_output=True, timeout=180)

    # Policy, optimizer and the frozen search policy bit for bit; the same preference pairs.
    _assert_same_run(whole, broken)
    a, b = (
        load_state(latest_checkpoint(run))["modules"]["search_policy"]["module"] for run in (whole, broken)
    )
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    pairs = sorted(p.name for p in (whole / "pairs").iterdir())
    assert pairs == sorted(p.name for p in (broken / "pairs").iterdir()) and len(pairs) == ITERATIONS
    for name in pairs:
        assert (whole / "pairs" / name).read_bytes() == (broken / "pairs" / name).read_bytes()
