"""Conformance checks as library code, so every env's own test is one line.

``check_env`` runs every ``check_*`` below against a single-agent env id;
``check_aec_env`` does the same for a multi-agent game (PettingZoo's own
``api_test`` included). Each check raises ``AssertionError`` with a message
that says what is wrong and where to look.

Example:
    >>> check_env("guess", episodes=2)
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

import agentgym
from agentgym.core import INFO_KEYS
from agentgym.episode import SPLITS

Trace = list[tuple[Any, ...]]


def check_env(env_id: str, *, episodes: int = 3, max_steps: int = 60, seed: int = 0, **kwargs: Any) -> None:
    """Run every single-agent check on ``agentgym.make(env_id, **kwargs)``."""
    env = agentgym.make(env_id, **kwargs)
    try:
        check_spaces(env)
        check_splits(env)
        for episode in range(episodes):
            check_info_keys(env, seed + episode, max_steps)
        check_determinism(lambda: agentgym.make(env_id, **kwargs), seed, max_steps)
        check_snapshot(env, seed, max_steps)
        check_bad_actions(env, seed)
        check_global_rng_untouched(env, seed, max_steps)
    finally:
        env.close()


def check_spaces(env: Any) -> None:
    """Observation and action spaces are agentgym string spaces."""
    from agentgym.spaces import UnicodeText

    for name in ("observation_space", "action_space"):
        space = getattr(env, name)
        assert isinstance(space, UnicodeText), (
            f"{name} is {space!r}; text envs use agentgym.spaces.UnicodeText "
            "(most likely TextEnv.__init__ was not called)"
        )


def check_splits(env: Any) -> None:
    """Every split has tasks, and an out-of-range task id is refused with a message."""
    splits = env.unwrapped.splits
    for split in SPLITS:
        assert splits.get(split, 0) > 0, f"split {split!r} has no tasks: {dict(splits)}"
    try:
        env.reset(seed=0, options={"split": "test", "task_id": splits["test"]})
    except agentgym.ConfigError as err:
        assert "out of range" in str(err), f"unhelpful message for a bad task_id: {err}"
    else:
        raise AssertionError("reset accepted a task_id past the end of its split")


def _policy_actions(info: dict[str, Any], rng: np.random.Generator) -> str:
    actions = info.get("admissible_actions") or ["look"]
    return actions[int(rng.integers(len(actions)))]


def rollout_trace(env: Any, seed: int, max_steps: int, split: str = "train") -> Trace:
    """Reset with ``seed`` and play random admissible actions (from a generator seeded
    with ``seed``); return every (observation, reward, terminated, truncated, info)."""
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed, options={"split": split})
    trace: Trace = [(obs, info)]
    for _ in range(max_steps):
        out = env.step(_policy_actions(info, rng))
        trace.append(out)
        obs, _, terminated, truncated, info = out
        if terminated or truncated:
            break
    return trace


def check_info_keys(env: Any, seed: int, max_steps: int) -> None:
    """Every info has the contract's keys with the right types and is JSON-serialisable."""
    for item in rollout_trace(env, seed, max_steps):
        obs, info = item[0], item[-1]
        assert env.observation_space.contains(obs), f"observation not in {env.observation_space}"
        for key in INFO_KEYS:
            assert key in info, f"info lacks {key!r}: {sorted(info)}"
        assert isinstance(info["task"], str), "info['task'] must be str"
        admissible = info["admissible_actions"]
        assert admissible is None or all(isinstance(a, str) for a in admissible), (
            "info['admissible_actions'] must be a list of str or None"
        )
        assert isinstance(info["state_key"], str) and info["state_key"], "state_key must be a non-empty str"
        assert isinstance(info["won"], bool) and isinstance(info["invalid_action"], bool)
        try:
            json.dumps(info)
        except TypeError as err:
            raise AssertionError(f"info is not JSON-serialisable ({err}); the env server needs it") from err


def check_determinism(make: Callable[[], Any], seed: int, max_steps: int) -> None:
    """Two fresh envs, same seed and actions: identical observations, rewards and infos."""
    first, second = make(), make()
    try:
        a = rollout_trace(first, seed, max_steps)
        b = rollout_trace(second, seed, max_steps)
    finally:
        first.close()
        second.close()
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True), (
        "same seed and actions gave different results: the env uses a generator other than "
        "self.np_random, or state leaks between instances"
    )


def check_snapshot(env: Any, seed: int, max_steps: int) -> None:
    """Restoring a mid-episode snapshot and replaying gives the same future."""
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed, options={"split": "valid"})
    for _ in range(2):
        obs, _, terminated, truncated, info = env.step(_policy_actions(info, rng))
        if terminated or truncated:
            return
    snap = env.unwrapped.snapshot()
    assert isinstance(snap, bytes), "snapshot() must return bytes"
    actions: list[str] = []
    future = []
    for _ in range(min(max_steps, 10)):
        action = _policy_actions(info, rng)
        actions.append(action)
        out = env.step(action)
        future.append(out)
        info = out[4]
        if out[2] or out[3]:
            break
    env.unwrapped.restore(snap)
    replayed = [env.step(a) for a in actions]
    assert json.dumps(future, sort_keys=True) == json.dumps(replayed, sort_keys=True), (
        "restore() did not return to the snapshot's state"
    )


def check_bad_actions(env: Any, seed: int) -> None:
    """Malformed and over-long actions never raise and set ``invalid_action``."""
    limit = env.action_space.max_length
    for bad in ("", "   ", "\x00\x01 %s {} [] ]] ))", "é" * 50, "x" * (limit + 1)):
        env.reset(seed=seed)
        obs, reward, terminated, truncated, info = env.step(bad)
        assert isinstance(obs, str) and obs, f"action {bad[:20]!r} gave an empty observation"
        assert info["invalid_action"], f"action {bad[:20]!r} was not flagged invalid"


def check_global_rng_untouched(env: Any, seed: int, max_steps: int) -> None:
    """Playing an episode leaves Python's and numpy's global generators alone."""
    import random

    random.seed(1234)
    np.random.seed(1234)
    before = (random.getstate(), np.random.get_state()[1].tobytes())
    rollout_trace(env, seed, max_steps)
    after = (random.getstate(), np.random.get_state()[1].tobytes())
    assert before == after, "the env draws from the global random/numpy state; use self.np_random"


def check_aec_env(env_id: str, *, games: int = 3, seed: int = 0, **kwargs: Any) -> None:
    """PettingZoo's ``api_test``, the info keys for every seat, determinism, snapshots and
    the error for a step after the game ended."""
    from pettingzoo.test import api_test

    env = agentgym.make(env_id, **kwargs)
    api_test(env, num_cycles=100)
    check_aec_step_after_end(agentgym.make(env_id, **kwargs), seed)
    for game in range(games):
        trace_a = aec_trace(agentgym.make(env_id, **kwargs), seed + game)
        trace_b = aec_trace(agentgym.make(env_id, **kwargs), seed + game)
        assert json.dumps(trace_a, sort_keys=True) == json.dumps(trace_b, sort_keys=True), (
            "same seed and actions gave different games: the game uses a generator other than self.np_random"
        )
        for _, _, _, info in trace_a:
            for key in INFO_KEYS:
                assert key in info, f"infos lack {key!r}: {sorted(info)}"
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(3):
        if not env.agents:
            break
        _aec_move(env, rng)
    snap = env.snapshot()
    future = aec_trace(env, None, rng=np.random.default_rng(1), reset=False)
    env.restore(snap)
    replayed = aec_trace(env, None, rng=np.random.default_rng(1), reset=False)
    assert json.dumps(future, sort_keys=True) == json.dumps(replayed, sort_keys=True), (
        "restore() did not return the game to the snapshot's state"
    )


def check_aec_step_after_end(env: Any, seed: int) -> None:
    """A step after the game ended raises the contract's error, and a reset starts a new game."""
    aec_trace(env, seed)
    for action in ("look", None):
        try:
            env.step(action)
        except agentgym.ContractError as err:
            assert "the game is over" in str(err), f"unhelpful message for a step after the game: {err}"
        except Exception as err:
            raise AssertionError(
                f"a step after the game ended raised {type(err).__name__}: {err}; raise "
                "agentgym.ContractError (TextAECEnv.step does so when no agents are left)"
            ) from err
        else:
            raise AssertionError("a step after the game ended was accepted; raise agentgym.ContractError")
    env.reset(seed=seed)
    assert env.agents, "reset after a finished game left no agents"


def _aec_move(env: Any, rng: np.random.Generator) -> tuple[Any, ...]:
    agent = env.agent_selection
    obs, reward, terminated, truncated, info = env.last()
    action = None if terminated or truncated else _policy_actions(info, rng)
    env.step(action)
    return agent, obs, reward, info


def aec_trace(
    env: Any,
    seed: int | None,
    *,
    rng: np.random.Generator | None = None,
    reset: bool = True,
    max_moves: int = 2000,
) -> list[tuple[Any, ...]]:
    """Play random admissible moves to the end; return (agent, obs, reward, info) per move."""
    rng = rng or np.random.default_rng(seed)
    if reset:
        env.reset(seed=seed)
    trace = []
    for _ in range(max_moves):
        if not env.agents:
            break
        trace.append(_aec_move(env, rng))
    return trace


@contextlib.contextmanager
def serve_in_thread(app: Any, port: int = 0) -> Iterator[str]:
    """Run an ASGI app with uvicorn on 127.0.0.1:``port`` in a thread; yield its URL.

    ``port=0`` binds a free port chosen by the kernel at bind time (no window in
    which another process can take a port picked in advance) and yields it.
    """
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on 127.0.0.1:{port}")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def wait_for_server(url: str, timeout_s: float = 60.0) -> None:
    """Wait until the env server at ``url`` answers ``/health`` (one started in another process)."""
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/health", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not start in {timeout_s:.0f} s")


def check_server_roundtrip(env_id: str, *, seed: int = 0, max_steps: int = 30, **kwargs: Any) -> None:
    """The env served over HTTP on loopback behaves exactly as the local env."""
    from agentgym.server import RemoteEnv, create_app

    with serve_in_thread(create_app([env_id], allow_kwargs=list(kwargs))) as url:
        remote = RemoteEnv(url, env_id, **kwargs)
        try:
            served = rollout_trace(remote, seed, max_steps)
            snapshot_ok = _snapshot_roundtrip(remote, seed)
        finally:
            remote.close()
    local = rollout_trace(agentgym.make(env_id, **kwargs), seed, max_steps)
    assert json.dumps(served, sort_keys=True) == json.dumps(local, sort_keys=True), (
        "the env served over HTTP differs from the local env: is every info value JSON-serialisable "
        "and does the env depend on anything but its seed?"
    )
    assert snapshot_ok, "snapshot/restore over HTTP did not return to the same state"


def _snapshot_roundtrip(env: Any, seed: int) -> bool:
    rng = np.random.default_rng(seed)
    _, info = env.reset(seed=seed)
    snap = env.snapshot()
    action = _policy_actions(info, rng)
    first = env.step(action)
    env.restore(snap)
    return env.step(action) == first


def fresh_logprobs(model: Any, prompt_ids: Sequence[int], token_ids: Sequence[int]) -> Any:
    """Each token's log-probability after ``prompt_ids`` in one forward pass (fp32), as a tensor.

    What a policy's recorded ``logprobs`` must equal (temperature 1, before top-p/top-k).

    Example:
        >>> from agentgym.policies.tiny import tiny_model
        >>> model, tok = tiny_model(["go north"], seed=0)
        >>> fresh_logprobs(model, [1, 2, 3], [4, 5]).shape
        torch.Size([2])
    """
    import torch

    ids = torch.tensor([[*prompt_ids, *token_ids]])
    with torch.no_grad():
        logits = model(ids).logits[0].float()
    logp = torch.log_softmax(logits[len(prompt_ids) - 1 : -1], dim=-1)
    return logp.gather(-1, torch.tensor(list(token_ids))[:, None])[:, 0]


class LockStep:
    """A policy seen through its batched ``generate`` only, so the rollout engine turns it in lock-step.

    For comparing a server policy's streaming rollout with the per-turn batched one.

    Example:
        >>> from agentgym.policies import ConcurrentPolicy, OpenAIPolicy
        >>> policy = OpenAIPolicy("http://127.0.0.1:8000/v1", model="m")
        >>> isinstance(policy, ConcurrentPolicy), isinstance(LockStep(policy), ConcurrentPolicy)
        (True, False)
    """

    def __init__(self, policy: Any) -> None:
        self.policy = policy
        self.name, self.wants_messages, self.wants_expert = (
            policy.name,
            policy.wants_messages,
            policy.wants_expert,
        )

    def generate(self, queries: Sequence[Any], sampling: Any) -> list[Any]:
        return self.policy.generate(queries, sampling)


def require_backend(available: bool, reason: str) -> None:
    """Skip the calling test when a backend is missing, or fail under ``AGENTGYM_REQUIRE_ALL=1``.

    CI sets ``AGENTGYM_REQUIRE_ALL=1`` so that a missing backend (docker, chromium,
    bubblewrap, an extra) is a failure there, never a silent skip.
    """
    import pytest

    if available:
        return
    if os.environ.get("AGENTGYM_REQUIRE_ALL") == "1":
        pytest.fail(f"required backend missing: {reason} (AGENTGYM_REQUIRE_ALL=1)")
    pytest.skip(reason)


__all__: Sequence[str] = [
    "aec_trace",
    "check_aec_env",
    "check_aec_step_after_end",
    "check_bad_actions",
    "check_determinism",
    "check_env",
    "check_global_rng_untouched",
    "check_info_keys",
    "check_server_roundtrip",
    "check_snapshot",
    "check_spaces",
    "check_splits",
    "fresh_logprobs",
    "require_backend",
    "rollout_trace",
    "serve_in_thread",
]
