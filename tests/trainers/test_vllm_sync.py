"""Training through a real vLLM server (``rollout.backend: vllm``): weight sync, refusal, a server gone.

One vLLM CPU server (``.venv-vllm``, SmolLM2, eager, fp32, LoRA up to rank 8) is
started for the module by :class:`~agentgym.trainers.vllm_server.VLLMServer` and
given to each run by URL. After a one-iteration run, the server's log-probs of a
fixed reply under the synced weights equal the trainer's (1e-3) and differ from
the pre-update ones, for LoRA adapters and for full weights. The last test kills
the server mid-rollout.
"""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import httpx
import pytest
import torch
from typer.testing import CliRunner

from agentgym.cli.main import app
from agentgym.exceptions import ConfigError, ServerUnreachableError
from agentgym.prompting import apply_chat_template
from agentgym.records import Message
from agentgym.testing import require_backend
from agentgym.trainers.batching import Sample, collate
from agentgym.trainers.checkpoint import latest_checkpoint
from agentgym.trainers.config import build_config
from agentgym.trainers.runlog import read_jsonl
from agentgym.trainers.trainer import Trainer
from agentgym.trainers.vllm_server import (
    REPO_VLLM_PYTHON,
    VLLMServer,
    VLLMSettings,
    adapter_name,
    save_untied,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_torch_thread")]

# vLLM on this CPU: 1 GiB of KV cache, one OpenMP thread, its caches in the test's tmp.
SERVER_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_CPU_OMP_THREADS_BIND": "nobind", "OMP_NUM_THREADS": "1"}
RUN = [
    "algo.group_size=2",
    "algo.groups_per_iteration=1",
    "rollout.max_new_tokens=8",
    "env_kwargs={max_steps: 2}",
    "optim.lr=0.005",
    "iterations=1",
    "eval.episodes=1",
    "checkpoint_every=1",
    "cpu_threads=1",
    "progress=false",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, smollm2) -> Iterator[VLLMServer]:
    """SmolLM2 saved untied (as full-weight syncs save it), served with LoRA up to rank 8."""
    require_backend(REPO_VLLM_PYTHON.exists(), f"no {REPO_VLLM_PYTHON} (make vllm)")
    tmp = tmp_path_factory.mktemp("vllm-sync")
    save_untied(smollm2[0], tmp / "smollm2")
    smollm2[1].save_pretrained(tmp / "smollm2")
    env = {**SERVER_ENV, "VLLM_CACHE_ROOT": str(tmp / "cache")}
    settings = VLLMSettings(args=["--enforce-eager", "--max-model-len", "2048"])
    server = VLLMServer(settings, model=str(tmp / "smollm2"), lora_rank=8, dtype="float32", run_dir=tmp)
    with mock.patch.dict(os.environ, env):
        server.ensure_up()
    yield server
    server.close()
    assert server.process is None


def run_config(server: VLLMServer, *sets: str):
    base = {"env": "guess", "model": {"name_or_path": "smollm2"}}
    return build_config(
        "gigpo", base, [*RUN, "rollout.backend=vllm", f"rollout.vllm.url={server.url}", *sets]
    )


def fixed_reply(tokenizer) -> tuple[list[int], list[int]]:
    prompt = apply_chat_template(tokenizer, [Message(role="user", content="Guess a number from 1 to 16.")])
    return prompt, tokenizer.encode("<action>guess 8</action>", add_special_tokens=False)


def server_logprobs(server: VLLMServer, model: str, prompt: list[int], reply: list[int]) -> torch.Tensor:
    """The served model's log-prob of each reply token after ``prompt`` (``prompt_logprobs``)."""
    ids = [*prompt, *reply]
    body = {"model": model, "prompt": ids, "max_tokens": 1, "prompt_logprobs": 0, "temperature": 0}
    response = httpx.post(f"{server.url}/v1/completions", json=body, timeout=120)
    response.raise_for_status()
    rows = response.json()["choices"][0]["prompt_logprobs"]
    return torch.tensor([rows[i][str(ids[i])]["logprob"] for i in range(len(prompt), len(ids))])


def trainer_logprobs(trainer: Trainer, prompt: list[int], reply: list[int]) -> torch.Tensor:
    """The learner's log-probs of the same tokens (the trainer's own forward pass)."""
    sample = Sample(
        [*prompt, *reply], [0.0] * len(prompt) + [1.0] * len(reply), None, [0.0] * len(prompt + reply)
    )
    with torch.no_grad():
        lp, _ = trainer.learner.logprobs(collate([sample], trainer.learner.pad_id, trainer.learner.device))
    return lp[0, -len(reply) :]


def assert_synced(server: VLLMServer, trainer: Trainer, config) -> None:
    """Before the update, server and trainer agree; after one update and its sync too, and both moved."""
    prompt, reply = fixed_reply(trainer.learner.tokenizer)
    before = trainer_logprobs(trainer, prompt, reply)
    torch.testing.assert_close(
        server_logprobs(server, trainer.server.served, prompt, reply), before, atol=1e-3, rtol=0
    )
    trainer.run()
    after = trainer_logprobs(trainer, prompt, reply)
    served = server_logprobs(server, trainer.server.served, prompt, reply)
    torch.testing.assert_close(served, after, atol=1e-3, rtol=0)
    assert (after - before).abs().max() > 1e-2  # the update moved the policy, and the server with it


def test_lora_sync_gives_the_server_the_trainers_logprobs(server: VLLMServer, tmp_path: Path) -> None:
    config = run_config(server, "model.lora_rank=8")
    trainer = Trainer(config, tmp_path / "run")
    assert trainer.server.served == adapter_name(0)
    assert_synced(server, trainer, config)
    assert trainer.server.served == adapter_name(1)
    assert [p.name for p in (tmp_path / "run" / "vllm").iterdir()] == ["v1"]  # older versions removed
    assert latest_checkpoint(tmp_path / "run") is not None


def test_a_refused_sync_stops_the_run_in_one_line(server: VLLMServer, tmp_path: Path) -> None:
    # The server takes adapters up to rank 8: a rank-16 run is refused before anything is trained.
    out = tmp_path / "run"
    args = ["train", "grpo", "--env", "guess", "--model", "smollm2", "--out", str(out), "--rollout", "vllm"]
    args += [f"--set={s}" for s in [*RUN, "model.lora_rank=16", f"rollout.vllm.url={server.url}"]]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    [line] = result.output.strip().splitlines()
    assert line == (
        f"error: the vLLM server at {server.url} refused to load the LoRA adapter (500: Call to add_lora "
        "method failed: Worker failed with error 'LoRA rank 16 is greater than max_lora_rank 8.', please "
        "check the stack trace above for the root cause); start the server with --enable-lora "
        "--max-lora-rank 16 (or more) and VLLM_ALLOW_RUNTIME_LORA_UPDATING=1"
    )
    assert latest_checkpoint(out) is None and not (out / "checkpoints").exists()


def test_a_refused_sync_on_resume_leaves_the_checkpoint_intact(server: VLLMServer, tmp_path: Path) -> None:
    # A rank-16 run trained in-process, then resumed through the server, which refuses its adapters.
    in_process = build_config(
        "grpo",
        {"env": "guess", "model": {"name_or_path": "smollm2", "lora_rank": 16}},
        [*RUN, "eval.every=0"],
    )
    run = tmp_path / "run"
    Trainer(in_process, run).run()
    files = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in run.rglob("*") if p.is_file()}
    with pytest.raises(ConfigError, match="refused to load the LoRA adapter"):
        Trainer(run_config(server, "model.lora_rank=16", "iterations=2"), run, resume=True)
    checkpoint_files = {p: d for p, d in files.items() if "checkpoints" in p.parts}
    assert checkpoint_files and all(
        hashlib.sha256(p.read_bytes()).hexdigest() == d for p, d in checkpoint_files.items()
    )


def test_full_weight_sync_gives_the_server_the_trainers_logprobs(server: VLLMServer, tmp_path: Path) -> None:
    trainer = Trainer(run_config(server, "model.lora_rank=0", "algo.kl_coef=0"), tmp_path / "run")
    assert trainer.server.served == "policy"  # the served base model, with the run's weights
    try:
        assert_synced(server, trainer, trainer.config)
    finally:  # the base weights back, for the tests after this one
        body = {"method": "reload_weights", "kwargs": {"weights_path": str(server.model)}}
        httpx.post(f"{server.url}/collective_rpc", json=body, timeout=600).raise_for_status()
        httpx.post(f"{server.url}/reset_prefix_cache", timeout=60).raise_for_status()


def test_a_server_gone_mid_rollout_fails_its_episodes_and_stops_the_run(
    server: VLLMServer, tmp_path: Path
) -> None:
    # Last: this kills the module's server. Long replies, so the kill lands while requests are in flight.
    config = run_config(
        server, "model.lora_rank=8", "rollout.max_new_tokens=256", "rollout.vllm.reconnect_timeout_s=0"
    )
    trainer = Trainer(config, tmp_path / "run")
    outcome: list[BaseException] = []

    def train() -> None:
        try:
            trainer.run()
        except BaseException as err:  # handed to the test
            outcome.append(err)

    thread = threading.Thread(target=train)
    seen = server.log.stat().st_size  # the lines of the tests before this one
    thread.start()
    # A request's access-log line comes as it ends: the next turn's request is then on its way.
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        with open(server.log, "rb") as log:
            if b"POST /v1/chat/completions HTTP" in log.read()[seen:]:
                break
        time.sleep(0.2)
    os.killpg(server.process.pid, signal.SIGKILL)
    thread.join(timeout=600)
    [err] = outcome
    assert isinstance(err, ServerUnreachableError)
    # The evaluation before training was in flight: its episode failed, and the run stopped in one line.
    [evaluation] = [r for r in read_jsonl(tmp_path / "run" / "metrics.jsonl") if r["kind"] == "eval"]
    assert evaluation["failed"] == evaluation["failure_kinds"]["server_unreachable"] == 1
    assert str(err) == (
        f"the vLLM server at {server.url} does not answer; start it, or drop rollout.vllm.url to let the run "
        "start one"
    )
