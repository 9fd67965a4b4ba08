"""Any OpenAI-compatible chat-completions endpoint as a policy.

Requests ask for log-probs (``logprobs: true``) and for token ids with vLLM's
``return_token_ids`` extension, which vLLM and ``agentgym serve-model`` honour;
against an endpoint that returns no ids, generations carry text and log-probs
only (fine for evaluation, not for training).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from agentgym.exceptions import ConfigError, ReplyParseError, ServerUnreachableError, StepTimeoutError
from agentgym.policies.base import Generation, Query, ReplySeeds, SamplingParams


class OpenAIPolicy:
    """Chat completions over HTTP, one request per query.

    A :class:`~agentgym.policies.base.ConcurrentPolicy`: the rollout engine sends
    each episode's requests through :meth:`generate_one` as its env steps return
    (``RolloutConfig.max_in_flight`` at once); :meth:`generate` answers a batch
    ``concurrency`` requests at a time. A server that does not answer (not
    running, killed mid-request) raises
    :class:`~agentgym.exceptions.ServerUnreachableError`: the episodes it was
    serving fail as ``server_unreachable``. With a ``seed``, each request carries
    its reply's seed from :class:`ReplySeeds` (copies of one prompt and the turns
    of an episode sample apart; a run against a server that honours seeds, such
    as vLLM, replays from ``seed``).

    Example:
        >>> policy = OpenAIPolicy("http://127.0.0.1:8000/v1", model="tiny")
        >>> policy.name
        'openai:tiny'
    """

    wants_messages = True
    wants_expert = False

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        concurrency: int = 16,
        timeout_s: float = 120.0,
        seed: int | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"base_url must start with http:// or https://, got {base_url!r}")
        key = api_key or os.environ.get("OPENAI_API_KEY", "none")
        self.name = f"openai:{model}"
        self.model = model
        self.client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {key}"},
            timeout=timeout_s,
            # The caller bounds the requests in flight (the engine's max_in_flight, or concurrency).
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=None),
        )
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="openai")
        self.seeds = ReplySeeds(seed)

    def generate(self, queries: Sequence[Query], sampling: SamplingParams) -> list[Generation]:
        """One request per query, each with its reply's seed from the policy's :class:`ReplySeeds`."""
        return list(self.pool.map(lambda q: self.generate_one(q, sampling), queries))

    def generate_one(self, query: Query, sampling: SamplingParams) -> Generation:
        """One request, with the query's reply seed; safe to call from many threads at once."""
        [seed] = self.seeds.draw([query.seed], bits=31)
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [m.model_dump(exclude_none=True) for m in query.messages],
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "max_tokens": sampling.max_new_tokens,
            "logprobs": True,
            "return_token_ids": True,
        }
        if sampling.top_k:
            body["top_k"] = sampling.top_k
        if sampling.stop:
            body["stop"] = sampling.stop
        if seed is not None:
            body["seed"] = seed
        if query.tools:
            body["tools"] = query.tools
        try:
            response = self.client.post("/chat/completions", json=body)
        except httpx.TimeoutException as err:
            raise StepTimeoutError(f"{self.client.base_url} did not answer in time: {err}") from err
        except httpx.TransportError as err:
            raise ServerUnreachableError(
                f"the model server at {self.client.base_url} does not answer "
                f"({type(err).__name__}: {err}): start it again, or point the policy at one that runs"
            ) from err
        if response.status_code >= 400:
            raise ConfigError(
                f"{self.client.base_url}/chat/completions answered {response.status_code}: "
                f"{response.text[:300]}"
            )
        try:
            payload = response.json()
        except ValueError as err:
            raise ReplyParseError(
                f"{self.client.base_url}/chat/completions answered with no JSON: {err}"
            ) from err
        return parse_completion(payload)


def parse_completion(payload: dict[str, Any]) -> Generation:
    """A :class:`Generation` from a chat-completions response body.

    Token ids come from vLLM's ``token_ids``/``prompt_token_ids`` fields, or from
    ``token_id:N`` strings when the server returns tokens as ids. A body that is
    not a chat completion raises :class:`~agentgym.exceptions.ReplyParseError`.

    Example:
        >>> parse_completion({"choices": [{"message": {"content": "hi"}, "finish_reason": "stop",
        ...     "logprobs": {"content": [{"token": "token_id:7", "logprob": -0.5}]}}]}).token_ids
        [7]
        >>> parse_completion({"choices": []})
        Traceback (most recent call last):
        ...
        agentgym.exceptions.ReplyParseError: not a chat completion (IndexError: ...): {'choices': []}
    """
    try:
        return _generation(payload)
    except (LookupError, TypeError, ValueError, AttributeError) as err:
        raise ReplyParseError(
            f"not a chat completion ({type(err).__name__}: {err}): {str(payload)[:300]}"
        ) from err


def _generation(payload: dict[str, Any]) -> Generation:
    choice = payload["choices"][0]
    message = choice.get("message") or {}
    entries = (choice.get("logprobs") or {}).get("content") or []
    logprobs = [float(e["logprob"]) for e in entries] or None
    token_ids = choice.get("token_ids")
    if token_ids is None and entries and all(e["token"].startswith("token_id:") for e in entries):
        token_ids = [int(e["token"].split(":", 1)[1]) for e in entries]
    return Generation(
        text=message.get("content") or "",
        prompt_token_ids=payload.get("prompt_token_ids") or choice.get("prompt_token_ids"),
        token_ids=token_ids,
        logprobs=logprobs,
        tool_calls=message.get("tool_calls") or None,
        finish_reason=choice.get("finish_reason") or "stop",
    )
