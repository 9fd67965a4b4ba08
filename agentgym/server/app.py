"""The env server: any registered environment, as sessions over HTTP (FastAPI).

Routes (all JSON; the OpenAPI schema is at ``/openapi.json``)::

    GET    /health                      liveness
    GET    /envs                        the environments this server offers
    POST   /sessions                    CreateSession -> SessionCreated
    POST   /sessions/{id}/reset         ResetRequest -> ResetResponse
    POST   /sessions/{id}/step          StepRequest -> StepResponse
    GET    /sessions/{id}/expert        -> ExpertResponse
    GET    /sessions/{id}/snapshot      -> Snapshot (signed)
    POST   /sessions/{id}/restore       Snapshot -> Closed(closed=False)
    DELETE /sessions/{id}               -> Closed
    POST   /sessions/step               StepMany -> SteppedMany (one step on each of many sessions)
    WS     /ws                          a persistent connection: Call -> Answer, one per message

The WebSocket carries the same routes (``Call.op`` names one) with the same
answers, errors and session semantics: each answer carries the status the HTTP
route would give, and messages over ``max_request_bytes`` answer 413 too. It
saves the per-request cost of HTTP; ``RemoteEnv`` uses it when the server offers
it (``SessionCreated.transports``).

Errors are JSON ``ErrorBody`` answers: 404 unknown env or session, 400 bad
options, seed or snapshot, 403 a constructor argument clients may not set,
409 out-of-order calls, 413 request too large, 422 malformed JSON, 429 too many
sessions, 500 when the env itself raised and 504 when an env call overran
``step_timeout_s`` (the session is then closed: its state is unknown; an
overrunning call is stopped through ``TextEnv.abort``). Sessions idle past
``idle_ttl_s`` are closed. ``/health`` counts open sessions and ``closing``
ones: envs whose overrunning call has not stopped yet.

Clients set only the constructor arguments that the env's registration opens to
them (``client_kwargs``) and those the operator allows (``allow_kwargs``); the
operator's ``fixed_kwargs`` go to every env and no client overrides them.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import os
import secrets
import threading
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, WebSocket
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

import agentgym
from agentgym.exceptions import (
    AgentGymError,
    ConfigError,
    ContractError,
    EnvCrashedError,
    NotAllowedError,
    SessionNotFoundError,
    SnapshotError,
    StepTimeoutError,
    UnknownEnvError,
)
from agentgym.registry import EnvInfo, resolve
from agentgym.server import models as m

STATUS = {
    UnknownEnvError: 404,
    SessionNotFoundError: 404,
    ConfigError: 400,
    SnapshotError: 400,
    NotAllowedError: 403,
    ContractError: 409,
    StepTimeoutError: 504,
}


class TooManySessionsError(AgentGymError):
    """The server holds ``max_sessions`` sessions already."""


STATUS[TooManySessionsError] = 429


@dataclass(eq=False)
class Session:
    env: Any
    env_id: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_used: float = field(default_factory=time.monotonic)
    running: Future[Any] | None = None
    """The latest call into the env (done when none is in progress)."""
    closed: bool = False


class SessionStore:
    """Open sessions, each used by one request at a time, closed when idle too long."""

    abort_grace_s = 5.0
    """How long closing waits for an aborted call to stop before it answers anyway."""

    def __init__(self, max_sessions: int, idle_ttl_s: float) -> None:
        self.max_sessions = max_sessions
        self.idle_ttl_s = idle_ttl_s
        self.sessions: dict[str, Session] = {}
        self.closing: set[Session] = set()
        """Closed sessions whose env call has not stopped yet: their env is closed when it does."""
        self.lock = threading.Lock()

    def add(self, env: Any, env_id: str) -> str:
        with self.lock:
            if len(self.sessions) >= self.max_sessions:
                env.close()
                raise TooManySessionsError(
                    f"the server holds its maximum of {self.max_sessions} sessions",
                    hint="close sessions you no longer use, or start the server with a higher --max-sessions",
                )
            session_id = uuid.uuid4().hex
            self.sessions[session_id] = Session(env, env_id)
            return session_id

    @contextlib.contextmanager
    def use(self, session_id: str) -> Any:
        with self.lock:
            session = self.sessions.get(session_id)
        if session is None:
            raise SessionNotFoundError(
                f"no session {session_id!r} (closed, expired after {self.idle_ttl_s:.0f} s idle, "
                "or never opened)",
                hint="open a new one with POST /sessions",
            )
        with session.lock:
            session.last_used = time.monotonic()
            try:
                yield session
            finally:
                session.last_used = time.monotonic()

    def close(self, session_id: str) -> bool:
        with self.lock:
            session = self.sessions.pop(session_id, None)
        if session is None:
            return False
        self._retire(session)
        return True

    def discard(self, session: Session) -> None:
        """Drop a session whose env crashed or overran (its lock is held by the caller)."""
        with self.lock:
            sid = next((k for k, s in self.sessions.items() if s is session), None)
            if sid is not None:
                del self.sessions[sid]
        self._retire(session)

    def _retire(self, session: Session) -> None:
        """Close the env of a session that left the store, stopping a call in progress first."""
        running = session.running
        if running is None or running.done():
            self._close_env(session)
            return
        with self.lock:
            self.closing.add(session)
        with contextlib.suppress(Exception):
            session.env.unwrapped.abort()
        done, _ = wait([running], timeout=self.abort_grace_s)
        if done:  # closed here, not in a done callback: wait() returns before callbacks run
            self._close_env(session)
        else:
            running.add_done_callback(lambda _: self._close_env(session))

    def _close_env(self, session: Session) -> None:
        with self.lock:
            if session.closed:
                return
            session.closed = True
            self.closing.discard(session)
        with contextlib.suppress(Exception):
            session.env.close()

    def expire(self) -> int:
        now = time.monotonic()
        with self.lock:
            stale = [
                sid
                for sid, s in self.sessions.items()
                if now - s.last_used > self.idle_ttl_s and not s.lock.locked()
            ]
        return sum(self.close(sid) for sid in stale)

    def close_all(self) -> None:
        for sid in list(self.sessions):
            self.close(sid)


class BodySizeLimit:
    """ASGI middleware: answer 413 to a request body over ``limit`` bytes.

    The body is read here, up to the limit, before the app sees it, so a chunked
    body (no Content-Length) is refused like a declared one.
    """

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and int(declared) > self.limit:
            await self._reject(f"request body of {int(declared)} bytes", scope, receive, send)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                await self._reject("streamed request body", scope, receive, send)
                return
            more = message.get("more_body", False)
        body = b"".join(chunks)
        delivered = False

        async def replay() -> dict[str, Any]:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _reject(self, what: str, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await JSONResponse(too_large(what, self.limit).model_dump(), status_code=413)(scope, receive, send)


def too_large(what: str, limit: int) -> m.ErrorBody:
    """The 413 answer to a request body or WebSocket message over the server's limit."""
    return m.ErrorBody(
        error="RequestTooLarge",
        message=f"{what} exceeds the server's limit of {limit} bytes",
        hint="send shorter actions, or start the server with a higher --max-request-bytes",
    )


def error_answer(err: AgentGymError) -> m.Answer:
    """An agentgym error as the status and body its route answers."""
    status = next((code for cls, code in STATUS.items() if isinstance(err, cls)), 500)
    body = m.ErrorBody(error=type(err).__name__, message=str(err), hint=err.hint)
    return m.Answer(status=status, body=body.model_dump())


def malformed(problems: Sequence[Any]) -> m.Answer:
    """The 422 answer to a request that does not parse; ``problems`` as pydantic lists them."""
    where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in problems[:5])
    body = m.ErrorBody(
        error="ValidationError",
        message=f"malformed request: {where}",
        hint="see /docs for the request schemas",
    )
    return m.Answer(status=422, body=body.model_dump())


def create_app(
    env_ids: Sequence[str] | None = None,
    *,
    max_sessions: int = 256,
    idle_ttl_s: float = 600.0,
    max_request_bytes: int = 1 << 20,
    step_timeout_s: float = 30.0,
    secret: bytes | None = None,
    allow_kwargs: Sequence[str] = (),
    fixed_kwargs: Mapping[str, Any] | None = None,
) -> Any:
    """The env server as an ASGI app.

    Args:
        env_ids: environments to offer (ids or aliases); all registered ones if None.
        max_sessions: sessions open at once; more are refused with 429.
        idle_ttl_s: a session unused this long is closed.
        max_request_bytes: larger request bodies are refused with 413.
        step_timeout_s: longest env call (reset, step, expert ...); one that overruns
            is stopped, its session closed, and it answers 504.
        secret: key that signs snapshots (random per server if None; set
            ``AGENTGYM_SERVER_SECRET`` to share it between replicas).
        allow_kwargs: constructor arguments clients may set beyond each env's
            ``client_kwargs``; others are refused with 403.
        fixed_kwargs: constructor arguments given to every env this server
            offers; clients cannot override them.

    Example:
        >>> from fastapi.testclient import TestClient
        >>> client = TestClient(create_app(["guess"]))
        >>> sid = client.post("/sessions", json={"env_id": "guess"}).json()["session_id"]
        >>> client.post(f"/sessions/{sid}/reset", json={"seed": 0}).json()["info"]["won"]
        False
    """
    if not 0 < step_timeout_s < float("inf"):
        raise ConfigError(f"step_timeout_s must be a positive number of seconds, got {step_timeout_s}")
    offered = None if env_ids is None else {resolve(e).id for e in env_ids}
    key = secret or os.environ.get("AGENTGYM_SERVER_SECRET", "").encode() or secrets.token_bytes(32)
    store = SessionStore(max_sessions, idle_ttl_s)
    allowed = set(allow_kwargs)
    fixed = dict(fixed_kwargs or {})
    calls = ThreadPoolExecutor(max_workers=max_sessions, thread_name_prefix="agentgym-session")
    batches = ThreadPoolExecutor(max_workers=max_sessions, thread_name_prefix="agentgym-batch")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async def sweep() -> None:
            while True:
                await asyncio.sleep(min(idle_ttl_s / 4, 30.0))
                await asyncio.to_thread(store.expire)

        task = asyncio.create_task(sweep())
        yield
        task.cancel()
        await asyncio.to_thread(store.close_all)
        calls.shutdown(wait=False)
        batches.shutdown(wait=False)

    app = FastAPI(title="agentgym env server", version=agentgym.__version__, lifespan=lifespan)
    app.state.store = store

    @app.exception_handler(AgentGymError)
    async def agentgym_error(request: Request, err: AgentGymError) -> JSONResponse:
        answer = error_answer(err)
        return JSONResponse(answer.body, status_code=answer.status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, err: RequestValidationError) -> JSONResponse:
        answer = malformed(err.errors())
        return JSONResponse(answer.body, status_code=answer.status)

    def open_kwargs(info: EnvInfo) -> list[str]:
        return sorted({*info.client_kwargs, *allowed} - set(fixed))

    def constructor_kwargs(info: EnvInfo, requested: dict[str, Any]) -> dict[str, Any]:
        """The operator's fixed arguments and the client's, each open to clients."""
        opened = open_kwargs(info)
        for name in requested:
            if name in fixed:
                raise NotAllowedError(
                    f"{name!r} is fixed by this server's operator ({name}={fixed[name]!r}); leave it out"
                )
            if name not in opened:
                raise NotAllowedError(
                    f"clients may not set {name!r} on {info.id} "
                    f"(open to clients: {', '.join(opened) or 'none'}); "
                    f"its operator can allow it with `agentgym serve --allow-kwarg {name}`"
                )
        return {**fixed, **requested}

    def run_env(session: Session, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Call into the env under the deadline; a crash or an overrun closes the session (500, 504)."""
        session.running = future = calls.submit(fn, *args, **kwargs)
        try:
            return future.result(timeout=step_timeout_s)
        except (StepTimeoutError, EnvCrashedError):  # the env's own deadline, or abort()
            store.discard(session)
            raise
        except FutureTimeout:  # after the env's errors: StepTimeoutError is a TimeoutError too
            store.discard(session)
            raise StepTimeoutError(
                f"{session.env_id} did not answer within {step_timeout_s:.1f} s; "
                "the call was aborted and the session closed",
                hint="open a new session; the env's state after an overrun is unknown",
            ) from None
        except AgentGymError:
            raise
        except Exception as err:
            store.discard(session)
            raise EnvCrashedError(
                f"{session.env_id} raised {type(err).__name__}: {err}; the session was closed",
                hint="open a new session; the env's state after a crash is unknown",
            ) from err

    @app.get("/health")
    def health() -> m.Health:
        return m.Health(ok=True, sessions=len(store.sessions), closing=len(store.closing))

    @app.get("/envs")
    def envs() -> list[m.EnvListing]:
        return [
            m.EnvListing(
                id=e.id,
                description=e.description,
                aliases=list(e.aliases),
                multiagent=e.multiagent,
                client_kwargs=open_kwargs(e),
            )
            for e in agentgym.list_envs()
            if not e.multiagent and (offered is None or e.id in offered)
        ]

    @app.post("/sessions")
    def create_session(req: m.CreateSession) -> m.SessionCreated:
        info = resolve(req.env_id)
        if info.multiagent or (offered is not None and info.id not in offered):
            raise UnknownEnvError(
                f"this server does not offer {info.id}",
                hint="GET /envs lists what it offers (multi-agent games are served through agentgym.seat)",
            )
        env = agentgym.make(info.id, **constructor_kwargs(info, req.kwargs))
        u = env.unwrapped
        spec = m.EnvSpec(
            env_id=info.id,
            data_version=u.data_version,
            max_steps=u.max_steps,
            max_action_length=env.action_space.max_length,
            max_observation_length=env.observation_space.max_length,
            splits=dict(u.splits),
            tools=u.tools,
            has_expert=type(u).expert_action is not agentgym.TextEnv.expert_action,
        )
        return m.SessionCreated(
            session_id=store.add(env, info.id), spec=spec, transports=["http", "websocket"]
        )

    @app.post("/sessions/{session_id}/reset")
    def reset(session_id: str, req: m.ResetRequest) -> m.ResetResponse:
        with store.use(session_id) as s:
            obs, info = run_env(s, s.env.reset, seed=req.seed, options=req.options)
        return m.ResetResponse(observation=obs, info=info)

    @app.post("/sessions/{session_id}/step")
    def step(session_id: str, req: m.StepRequest) -> m.StepResponse:
        with store.use(session_id) as s:
            obs, reward, terminated, truncated, info = run_env(s, s.env.step, req.action)
        return m.StepResponse(
            observation=obs, reward=reward, terminated=terminated, truncated=truncated, info=info
        )

    @app.get("/sessions/{session_id}/expert")
    def expert(session_id: str) -> m.ExpertResponse:
        with store.use(session_id) as s:
            return m.ExpertResponse(action=run_env(s, s.env.unwrapped.expert_action))

    @app.get("/sessions/{session_id}/snapshot")
    def snapshot(session_id: str) -> m.Snapshot:
        with store.use(session_id) as s:
            data = run_env(s, s.env.unwrapped.snapshot)
        mac = hmac.new(key, data, hashlib.sha256).digest()
        return m.Snapshot(snapshot=base64.b64encode(mac + data).decode())

    @app.post("/sessions/{session_id}/restore")
    def restore(session_id: str, req: m.Snapshot) -> m.Closed:
        try:
            raw = base64.b64decode(req.snapshot, validate=True)
        except ValueError as err:
            raise SnapshotError(f"snapshot is not base64: {err}") from err
        mac, data = raw[:32], raw[32:]
        if not hmac.compare_digest(mac, hmac.new(key, data, hashlib.sha256).digest()):
            raise SnapshotError(
                "snapshot signature does not match: it was not made by this server",
                hint="restore only snapshots taken from this server (or share AGENTGYM_SERVER_SECRET)",
            )
        with store.use(session_id) as s:
            run_env(s, s.env.unwrapped.restore, data)
        return m.Closed(closed=False)

    @app.delete("/sessions/{session_id}")
    def close(session_id: str) -> m.Closed:
        if not store.close(session_id):
            raise SessionNotFoundError(f"no session {session_id!r}")
        return m.Closed()

    def answer(route: Any, *args: Any) -> m.Answer:
        """A route's answer, its errors included, as a value."""
        try:
            return m.Answer(status=200, body=route(*args).model_dump(mode="json"))
        except AgentGymError as err:
            return error_answer(err)

    @app.post("/sessions/step")
    def step_many(req: m.StepMany) -> m.SteppedMany:
        ids = [s.session_id for s in req.steps]
        if len(set(ids)) < len(ids):
            raise ContractError(
                "a session appears more than once in one batch; send its next action in the next batch"
            )

        def one(s: m.SessionAction) -> m.Answer:
            return answer(step, s.session_id, m.StepRequest(action=s.action))

        return m.SteppedMany(results=list(batches.map(one, req.steps)))

    ops: dict[str, tuple[type[BaseModel] | None, Any]] = {
        "create": (m.CreateSession, lambda sid, req: create_session(req)),
        "reset": (m.ResetRequest, reset),
        "step": (m.StepRequest, step),
        "step_many": (m.StepMany, lambda sid, req: step_many(req)),
        "expert": (None, expert),
        "snapshot": (None, snapshot),
        "restore": (m.Snapshot, restore),
        "close": (None, close),
    }

    def call(raw: str | bytes) -> m.Answer:
        """One WebSocket message, answered as its HTTP route would answer it."""
        try:
            msg = m.Call.model_validate_json(raw)
        except ValidationError as err:
            return malformed(err.errors())
        request, route = ops[msg.op]
        if request is None:
            return answer(route, msg.session_id)
        try:
            body = request.model_validate(msg.body or {})
        except ValidationError as err:
            return malformed([{**e, "loc": ("body", *e["loc"])} for e in err.errors()])
        return answer(route, msg.session_id, body)

    @app.websocket("/ws")
    async def websocket(ws: WebSocket) -> None:
        await ws.accept()
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            raw = message.get("text") or message.get("bytes") or b""
            size = len(raw) if isinstance(raw, bytes) else len(raw.encode())
            if size > max_request_bytes:
                body = too_large(f"message of {size} bytes", max_request_bytes)
                reply = m.Answer(status=413, body=body.model_dump())
            else:
                reply = await run_in_threadpool(call, raw)
            await ws.send_text(reply.model_dump_json())

    return BodySizeLimit(app, max_request_bytes)
