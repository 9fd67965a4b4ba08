"""Keeping a vLLM server busy: agentgym against a bare client, streaming against lock-step turns.

client (a): tokens/s of a rollout through agentgym (``openai:`` policy, streaming engine)
    against a bare client that sends the same requests (the bodies agentgym sent,
    seeds included, so the same completions) to the same server, each episode's
    turns in order, as many episodes at once as the engine has envs; both after a
    first rollout that warmed vLLM's prefix cache with these prompts. Target ≥ 0.9×.
streaming (b): tokens/s of the streaming engine against today's lock-step turns (the same
    policy through :class:`~agentgym.testing.LockStep`) on an env of uneven step
    latency (``trivial_env`` with steps of uniform random length below
    ``--max-delay-s``), each env on a thread worker of its own.

Both against one running vLLM server, started as in ``docs/benchmarks.md``::

    python benchmarks/vllm_throughput.py {client,streaming} --url http://127.0.0.1:8011/v1 [--episodes 16]
"""

from __future__ import annotations

import argparse
import json
import queue
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import httpx  # noqa: E402
import trivial_env  # noqa: E402, F401

from agentgym.policies import OpenAIPolicy, Policy, SamplingParams  # noqa: E402
from agentgym.rollout import EnvFactory, RolloutConfig, RolloutEngine, group_episodes  # noqa: E402
from agentgym.testing import LockStep  # noqa: E402


def agentgym_rollout(
    policy: Policy, factory: EnvFactory, args: argparse.Namespace, **config: Any
) -> tuple[float, int]:
    """Seconds and generated tokens of ``--episodes`` episodes through the engine."""
    sampling = SamplingParams(max_new_tokens=args.max_new_tokens)
    rollout = RolloutConfig(num_envs=args.num_envs, progress=False, sampling=sampling, **config)
    with RolloutEngine(factory, policy, rollout) as engine:
        start = time.perf_counter()
        result = engine.run(group_episodes(range(args.episodes), split="train", seed=0))
        seconds = time.perf_counter() - start
    assert result.summary.failed == 0, result.summary.failure_reasons
    return seconds, result.summary.generated_tokens


def bare_client(url: str, episodes: list[list[bytes]], concurrency: int) -> tuple[float, int]:
    """Seconds and completion tokens of each episode's requests sent in order, ``concurrency`` at once."""
    todo: queue.SimpleQueue[list[bytes]] = queue.SimpleQueue()
    for bodies in episodes:
        todo.put(bodies)
    tokens = [0] * concurrency
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    client = httpx.Client(base_url=url, timeout=600, limits=limits)
    headers = {"Content-Type": "application/json"}

    def drive(i: int) -> None:
        while True:
            try:
                bodies = todo.get_nowait()
            except queue.Empty:
                return
            for body in bodies:
                response = client.post("/chat/completions", content=body, headers=headers)
                response.raise_for_status()
                tokens[i] += response.json()["usage"]["completion_tokens"]

    threads = [threading.Thread(target=drive, args=(i,)) for i in range(concurrency)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    client.close()
    return seconds, sum(tokens)


def recorded_requests(policy: OpenAIPolicy) -> list[tuple[str, bytes]]:
    """Every request body the policy sends from now on, with the thread that sent it, in order."""
    sent: list[tuple[str, bytes]] = []
    hook = lambda request: sent.append((threading.current_thread().name, request.content))  # noqa: E731
    policy.client.event_hooks["request"].append(hook)
    return sent


def by_episode(sent: list[tuple[str, bytes]]) -> list[list[bytes]]:
    """The request bodies of each episode, in order.

    The streaming engine plays each episode on one thread, its turns in order; an
    episode starts with a request that shows no earlier reply.
    """
    episodes: list[list[bytes]] = []
    current: dict[str, list[bytes]] = {}
    for thread, body in sent:
        if not any(m["role"] == "assistant" for m in json.loads(body)["messages"]):
            current[thread] = []
            episodes.append(current[thread])
        current[thread].append(body)
    return episodes


def client(args: argparse.Namespace, env: str) -> None:
    print(
        f"(a) agentgym vs a bare client: {args.episodes} episodes x {args.steps} steps, "
        f"{args.num_envs} at once, {args.max_new_tokens} new tokens, temperature 1"
    )
    # A first rollout records the requests and fills vLLM's prefix cache; then the rollout (the same
    # requests again: same seed) and the bare client alternate, every one against a warm cache.
    factory = EnvFactory(env, {"max_steps": args.steps})
    policy = OpenAIPolicy(args.url, model=args.model, seed=0)
    sent = recorded_requests(policy)
    agentgym_rollout(policy, factory, args)
    episodes = by_episode(sent)
    for rep in range(2):
        seconds, tokens = agentgym_rollout(OpenAIPolicy(args.url, model=args.model, seed=0), factory, args)
        bare_s, bare_tokens = bare_client(args.url, episodes, args.num_envs)
        ours, bare = tokens / seconds, bare_tokens / bare_s
        print(
            f"  run {rep}: agentgym {tokens} tokens in {seconds:.1f} s = {ours:.1f} tok/s; bare client "
            f"{bare_tokens} tokens in {bare_s:.1f} s = {bare:.1f} tok/s; ratio {ours / bare:.2f}x",
            flush=True,
        )


def streaming(args: argparse.Namespace, env: str) -> None:
    print(f"(b) streaming vs lock-step turns: steps of uniform random length below {args.max_delay_s} s")
    factory = EnvFactory(env, {"max_steps": args.steps, "max_delay_s": args.max_delay_s})
    figures = {}
    # Streaming first: the lock-step run then finds these prompts in vLLM's prefix cache.
    for label, wrap in (("streaming", lambda p: p), ("lock-step", LockStep)):
        policy = wrap(OpenAIPolicy(args.url, model=args.model, seed=0))
        seconds, tokens = agentgym_rollout(policy, factory, args, num_workers=args.num_envs)
        figures[label] = tokens / seconds
        print(f"  {label}: {tokens} tokens in {seconds:.1f} s = {figures[label]:.1f} tok/s", flush=True)
    print(f"  ratio streaming / lock-step: {figures['streaming'] / figures['lock-step']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("figure", choices=["client", "streaming"], help="(a) or (b) above")
    parser.add_argument("--url", required=True, help="the server's /v1 URL")
    parser.add_argument("--model", default="smollm2", help="the served model name")
    parser.add_argument("--episodes", type=int, default=16)
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=4, help="steps per episode")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--max-delay-s", type=float, default=2.0, help="longest env step in (b)")
    args = parser.parse_args()
    env = "trivial_env:agentgym/Trivial-v0"
    warm_up = {"model": args.model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    httpx.post(f"{args.url}/chat/completions", json=warm_up, timeout=600).raise_for_status()
    (client if args.figure == "client" else streaming)(args, env)


if __name__ == "__main__":
    main()
