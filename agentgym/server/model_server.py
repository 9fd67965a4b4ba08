"""``agentgym serve-model``: a local transformers model behind an OpenAI-compatible API.

Enough of ``/v1/chat/completions`` for rollouts without vLLM: sampling
parameters, stop strings, ``logprobs`` of the sampled tokens, and vLLM's
``return_token_ids`` extension (``prompt_token_ids`` on the response and
``token_ids`` on the choice), so :class:`~agentgym.policies.OpenAIPolicy`
records token-exact trajectories. Concurrent requests are batched into one
generation (up to ``max_batch`` requests gathered for ``batch_wait_s``).
Streaming and ``n > 1`` are refused with 400. A request's ``seed`` is accepted and
not used: batched requests draw from the policy's one sampler, seeded at start.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
import uuid
from concurrent.futures import Future
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

import agentgym
from agentgym.policies.base import Generation, SamplingParams


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant", "tool"]
    content: str | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None


class ChatRequest(BaseModel):
    """The supported subset of OpenAI's chat-completions request (plus vLLM's extensions)."""

    model_config = ConfigDict(extra="forbid")

    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    temperature: float = Field(1.0, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    top_k: int = Field(0, ge=-1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    logprobs: bool = False
    top_logprobs: int = Field(0, ge=0, le=0, description="Only 0 is supported.")
    n: int = Field(1, ge=1, le=1, description="Only 1 is supported.")
    stream: Literal[False] = False
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    user: str | None = None
    return_token_ids: bool = False

    def sampling(self) -> SamplingParams:
        """The request's sampling; without max_tokens, :class:`SamplingParams`'s reply length."""
        stop = [self.stop] if isinstance(self.stop, str) else list(self.stop or [])
        length = self.max_completion_tokens or self.max_tokens
        return SamplingParams(
            temperature=self.temperature,
            top_p=self.top_p,
            top_k=max(self.top_k, 0),
            stop=stop,
            **({"max_new_tokens": length} if length else {}),
        )


class Batcher:
    """Gathers concurrent requests into batched ``generate_ids`` calls on one thread."""

    def __init__(self, policy: Any, max_batch: int, wait_s: float) -> None:
        self.policy, self.max_batch, self.wait_s = policy, max_batch, wait_s
        self.inbox: queue.Queue[tuple[list[int], SamplingParams, Future[Generation]]] = queue.Queue()
        threading.Thread(target=self._loop, daemon=True, name="agentgym-batcher").start()

    def submit(self, prompt: list[int], sampling: SamplingParams) -> Future[Generation]:
        future: Future[Generation] = Future()
        self.inbox.put((prompt, sampling, future))
        return future

    def _loop(self) -> None:
        while True:
            batch = [self.inbox.get()]
            deadline = time.monotonic() + self.wait_s
            while len(batch) < self.max_batch:
                try:
                    batch.append(self.inbox.get(timeout=max(deadline - time.monotonic(), 0)))
                except queue.Empty:
                    break
            groups: dict[str, list[tuple[list[int], SamplingParams, Future[Generation]]]] = {}
            for item in batch:
                groups.setdefault(item[1].model_dump_json(), []).append(item)
            for items in groups.values():
                try:
                    gens = self.policy.generate_ids([p for p, _, _ in items], items[0][1])
                except Exception as err:
                    for _, _, future in items:
                        future.set_exception(err)
                    continue
                for (_, _, future), gen in zip(items, gens, strict=True):
                    future.set_result(gen)


def create_model_app(
    policy: Any,
    *,
    model_name: str,
    max_batch: int = 32,
    batch_wait_s: float = 0.005,
) -> FastAPI:
    """An OpenAI-compatible app over a :class:`~agentgym.policies.TransformersPolicy`.

    Example:
        >>> from fastapi.testclient import TestClient
        >>> from agentgym.policies import TransformersPolicy
        >>> from agentgym.policies.tiny import tiny_model
        >>> app = create_model_app(TransformersPolicy(*tiny_model(["hi there"])), model_name="tiny")
        >>> body = {"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3,
        ...         "logprobs": True, "return_token_ids": True}
        >>> choice = TestClient(app).post("/v1/chat/completions", json=body).json()["choices"][0]
        >>> len(choice["token_ids"]) == len(choice["logprobs"]["content"])
        True
    """
    batcher = Batcher(policy, max_batch, batch_wait_s)
    tokenizer = policy.tokenizer
    app = FastAPI(title="agentgym model server", version=agentgym.__version__)

    def error(status: int, kind: str, message: str) -> JSONResponse:
        return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors()[:5])
        return error(400, "invalid_request_error", f"malformed request: {problems}")

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [{"id": model_name, "object": "model", "owned_by": "agentgym"}],
        }

    @app.post("/v1/chat/completions", response_model=None)
    async def chat(req: ChatRequest) -> Any:
        if req.model != model_name:
            return error(404, "model_not_found", f"this server serves {model_name!r}, not {req.model!r}")
        chat = [msg.model_dump(exclude_none=True) for msg in req.messages]
        prompt = policy.encode_chat(chat, req.tools)
        gen = await asyncio.wrap_future(batcher.submit(prompt, req.sampling()))
        choice: dict[str, Any] = {
            "index": 0,
            "message": {"role": "assistant", "content": gen.text},
            "finish_reason": gen.finish_reason,
            "logprobs": None,
        }
        if req.logprobs:
            tokens = tokenizer.convert_ids_to_tokens(gen.token_ids)
            choice["logprobs"] = {
                "content": [
                    {"token": t, "logprob": lp, "bytes": list(t.encode()), "top_logprobs": []}
                    for t, lp in zip(tokens, gen.logprobs or [], strict=True)
                ]
            }
        body: dict[str, Any] = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model_name,
            "choices": [choice],
            "usage": {
                "prompt_tokens": len(prompt),
                "completion_tokens": len(gen.token_ids or []),
                "total_tokens": len(prompt) + len(gen.token_ids or []),
            },
        }
        if req.return_token_ids:
            choice["token_ids"] = gen.token_ids
            body["prompt_token_ids"] = prompt
        return body

    return app
