"""Engine overhead per env step: in-process, subprocess workers, Ray workers, and HTTP round trips.

Baseline: a bare Python loop stepping the same trivial env with the same
scripted policy, in this process. Overhead = engine time per step − baseline.

    python benchmarks/engine_overhead.py [--episodes 200] [--skip-ray]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ["PYTHONPATH"] = os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])

import httpx  # noqa: E402
import trivial_env  # noqa: E402, F401

import agentgym  # noqa: E402
from agentgym.policies import ScriptedPolicy  # noqa: E402
from agentgym.rollout import EnvFactory, RolloutConfig, RolloutEngine, group_episodes  # noqa: E402
from agentgym.server import RemoteEnv  # noqa: E402

ENV = "trivial_env:agentgym/Trivial-v0"
STEPS = 50


def step_action(query) -> str:
    return "step"


def baseline(episodes: int) -> float:
    """Seconds per step of a bare loop: reset, then the policy and env.step 50 times."""
    env = agentgym.make(ENV)
    policy = ScriptedPolicy(step_action)
    from agentgym.policies import Query, SamplingParams

    sampling = SamplingParams()
    start = time.perf_counter()
    for i in range(episodes):
        obs, info = env.reset(seed=i, options={"task_id": i % 1000})
        for t in range(STEPS):
            action = policy.generate([Query(obs, info, episode_step=t)], sampling)[0].action
            obs, *_, info = env.step(action)
    return (time.perf_counter() - start) / (episodes * STEPS)


def engine(episodes: int, workers: str, num_workers: int, num_envs: int = 8) -> float:
    config = RolloutConfig(progress=False, num_envs=num_envs, workers=workers, num_workers=num_workers)
    specs = group_episodes([i % 1000 for i in range(episodes)])
    with RolloutEngine(EnvFactory(ENV), ScriptedPolicy(step_action), config) as eng:
        eng.run(group_episodes([0], split="train"))  # warm up workers
        start = time.perf_counter()
        result = eng.run(specs)
        elapsed = time.perf_counter() - start
    steps = sum(len(t.steps) for t in result.trajectories)
    assert steps == episodes * STEPS and result.summary.failed == 0
    return elapsed / steps


def http_round_trips(n: int) -> tuple[float, float, float]:
    """p50 and p99 of RemoteEnv.step against `agentgym serve` in another process, and local step time."""
    port = 8765
    code = (
        "import sys, uvicorn, trivial_env; from agentgym.server import create_app; "
        f"uvicorn.run(create_app(['trivial']), host='127.0.0.1', port={port}, log_level='warning')"
    )
    server = subprocess.Popen([sys.executable, "-c", code], cwd=HERE)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{url}/health")
                break
            except httpx.TransportError:
                time.sleep(0.05)
        env = RemoteEnv(url, "trivial")
        times = []
        env.reset(seed=0)
        for i in range(n):
            if i % STEPS == STEPS - 1:
                env.reset(seed=i)
            start = time.perf_counter()
            env.step("step")
            times.append(time.perf_counter() - start)
        env.close()
    finally:
        server.kill()
        server.wait()
    local = agentgym.make(ENV)
    local.reset(seed=0)
    start = time.perf_counter()
    for i in range(n):
        if i % STEPS == STEPS - 1:
            local.reset(seed=i)
        local.step("step")
    local_step = (time.perf_counter() - start) / n
    times.sort()
    return statistics.median(times), times[int(0.99 * len(times))], local_step


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--http-steps", type=int, default=3000)
    parser.add_argument("--skip-ray", action="store_true")
    args = parser.parse_args()

    base = baseline(args.episodes)
    print(f"baseline (bare loop, same env and policy): {base * 1e6:8.1f} µs/step")
    rows = [("thread workers (1 thread)", "thread", 1), ("subprocess workers (2)", "process", 2)]
    if not args.skip_ray:
        rows.append(("Ray workers (2 actors)", "ray", 2))
    for name, kind, n in rows:
        per_step = engine(args.episodes, kind, n)
        print(
            f"{name:28s} {per_step * 1e6:8.1f} µs/step  overhead {(per_step - base) * 1e6:8.1f} µs/step"
            f"  ({per_step / base:5.1f}x baseline)"
        )
    p50, p99, local = http_round_trips(args.http_steps)
    print(
        f"HTTP RemoteEnv.step on loopback: p50 {p50 * 1e3:.3f} ms, p99 {p99 * 1e3:.3f} ms"
        f"  (local step {local * 1e6:.1f} µs; p50 is {p50 / local:.0f}x local)"
    )


if __name__ == "__main__":
    main()
