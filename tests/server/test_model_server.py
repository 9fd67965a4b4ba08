"""``agentgym serve-model`` and the OpenAI-compatible client, on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import torch

from agentgym.policies import OpenAIPolicy, Query, SamplingParams, TransformersPolicy
from agentgym.records import Message
from agentgym.rollout import RolloutConfig, RolloutEngine, group_episodes
from agentgym.server.model_server import ChatRequest, create_model_app
from agentgym.testing import serve_in_thread


@pytest.fixture
def served(tiny, tmp_path: Path, free_port: int):
    model, tok = tiny
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    policy = TransformersPolicy(str(tmp_path), seed=0)
    with serve_in_thread(create_model_app(policy, model_name="tiny"), free_port) as url:
        yield url, policy.model


def test_client_records_tokens_and_logprobs_that_match_a_forward_pass(served) -> None:
    url, model = served
    client = OpenAIPolicy(f"{url}/v1", model="tiny", concurrency=4, seed=3)
    queries = [
        Query(t, {}, [Message(role="user", content=t)]) for t in ["hello", "guess 8 " * 5, "4 is too low"]
    ]
    for gen in client.generate(queries, SamplingParams(max_new_tokens=10)):
        assert gen.token_ids and gen.prompt_token_ids and len(gen.logprobs) == len(gen.token_ids)
        ids = torch.tensor([gen.prompt_token_ids + gen.token_ids])
        with torch.no_grad():
            logp = torch.log_softmax(model(ids).logits[0, len(gen.prompt_token_ids) - 1 : -1].float(), -1)
        expected = logp.gather(-1, torch.tensor(gen.token_ids)[:, None])[:, 0]
        assert torch.allclose(torch.tensor(gen.logprobs), expected, atol=1e-4)


def test_rollout_through_the_served_model(served) -> None:
    url, _ = served
    client = OpenAIPolicy(f"{url}/v1", model="tiny")
    config = RolloutConfig(
        progress=False, num_envs=3, sampling=SamplingParams(max_new_tokens=6), prompt={"history": 1}
    )
    with RolloutEngine("guess", client, config) as engine:
        result = engine.run(group_episodes(range(3), split="test"))
    assert result.summary.failed == 0
    assert all(s.action_token_ids and s.prompt_token_ids for t in result.trajectories for s in t.steps)


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (
            {"model": "gpt-9", "messages": [{"role": "user", "content": "hi"}]},
            404,
            "serves 'tiny', not 'gpt-9'",
        ),
        ({"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "stream": True}, 400, "stream"),
        (
            {"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "n": 2},
            400,
            "n: Input should be less",
        ),
        ({"model": "tiny", "messages": []}, 400, "messages: List should have at least 1 item"),
        ({"model": "tiny", "messages": [{"role": "robot", "content": "hi"}]}, 400, "role"),
    ],
)
def test_bad_requests_are_explained(served, body: dict, status: int, message: str) -> None:
    url, _ = served
    r = httpx.post(f"{url}/v1/chat/completions", json=body)
    assert r.status_code == status and message in r.json()["error"]["message"]


def test_models_route(served) -> None:
    url, _ = served
    assert httpx.get(f"{url}/v1/models").json()["data"][0]["id"] == "tiny"


def test_a_request_without_max_tokens_gets_the_one_default_reply_length() -> None:
    hi = [{"role": "user", "content": "hi"}]
    assert ChatRequest(model="tiny", messages=hi).sampling().max_new_tokens == SamplingParams().max_new_tokens
    assert ChatRequest(model="tiny", messages=hi, max_tokens=3).sampling().max_new_tokens == 3
