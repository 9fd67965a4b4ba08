"""SWE env speed: reset, tool step and grading (p50) per backend, and task-factory throughput.

Each figure is printed beside a baseline measured in the same process on the
same sandbox backend: reset against creating a bare sandbox, a tool step
against ``exec("true")``, grading against one bare pytest run of the same
tests in an already prepared sandbox. The factory's throughput is mutants
tried per minute on toolz with an empty cache.

    python benchmarks/swe_speed.py --backends bwrap,docker --tasks 6

docker starts a private engine (``--bridge=none --iptables=false``) and builds
its image from the host's /usr; both go away at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import tempfile
import time
from collections.abc import Iterator

from agentgym.environments.swe import SUBMIT, FactoryConfig, SWEEnv, make_tasks
from agentgym.environments.swe.patches import split_diff
from agentgym.environments.swe.runtime import open_task, run_tests


def p50(values: list[float]) -> float:
    return statistics.median(values)


@contextlib.contextmanager
def backend_options(backend: str) -> Iterator[dict]:
    if backend != "docker":
        yield {}
        return
    from agentgym.sandboxes.docker import connect
    from agentgym.sandboxes.dockerd import PrivateDockerd
    from agentgym.sandboxes.image import build_from_host

    with PrivateDockerd() as engine:
        client = connect(engine.base_url)
        build_from_host(client)
        client.close()
        yield {"base_url": engine.base_url}


def measure_env(backend: str, n_tasks: int) -> dict:
    with backend_options(backend) as options:
        env = SWEEnv(backend=backend, sandbox=options)
        spec = env.sandbox_spec
        picks = [(s, i) for s, count in env.splits.items() for i in range(count)]
        step = max(1, len(picks) // n_tasks)
        picks = picks[::step][:n_tasks]
        bare_create, bare_exec, cold, warm, steps, grading, bare_tests = [], [], [], [], [], [], []
        for split, task_id in picks:
            t = time.perf_counter()
            with spec.create() as sb:
                bare_create.append(time.perf_counter() - t)
                for _ in range(5):
                    t = time.perf_counter()
                    sb.exec("true")
                    bare_exec.append(time.perf_counter() - t)
            for times in (cold, warm):  # the first reset of a task builds its checkout
                t = time.perf_counter()
                env.reset(seed=0, options={"split": split, "task_id": task_id})
                times.append(time.perf_counter() - t)
            assert env.task is not None
            path = next(iter(split_diff(env.task.patch)))
            for action in (
                json.dumps({"name": "bash", "arguments": {"command": "ls"}}),
                json.dumps({"name": "view", "arguments": {"path": path, "start_line": 1, "end_line": 40}}),
                env.expert_action(),
            ):
                t = time.perf_counter()
                env.step(action)
                steps.append(time.perf_counter() - t)
            while (action := env.expert_action()) != SUBMIT:
                env.step(action)
            t = time.perf_counter()
            *_, info = env.step(SUBMIT)
            grading.append(time.perf_counter() - t)
            assert info["won"], info["grading"]
            with open_task(env.task, spec) as sb:
                tests = [*env.task.FAIL_TO_PASS, *env.task.PASS_TO_PASS]
                t = time.perf_counter()
                run_tests(sb, env.task, tests, timeout=600)
                bare_tests.append(time.perf_counter() - t)
        env.close()
    return {
        "backend": backend,
        "tasks": len(picks),
        "reset_cold_p50_s": p50(cold),
        "reset_p50_s": p50(warm),
        "bare_create_p50_s": p50(bare_create),
        "tool_step_p50_s": p50(steps),
        "bare_exec_p50_s": p50(bare_exec),
        "grading_p50_s": p50(grading),
        "bare_pytest_p50_s": p50(bare_tests),
    }


def measure_factory(n: int) -> dict:
    with tempfile.TemporaryDirectory() as cache:
        old = os.environ.get("AGENTGYM_CACHE_DIR")
        os.environ["AGENTGYM_CACHE_DIR"] = cache
        try:
            tasks, stats = make_tasks(FactoryConfig(project="toolz==1.2.0", n=n, seed=1))
        finally:
            if old is None:
                del os.environ["AGENTGYM_CACHE_DIR"]
            else:
                os.environ["AGENTGYM_CACHE_DIR"] = old
    return {
        "project": stats.project,
        "tasks": len(tasks),
        "mutants_tried": stats.tried,
        "baseline_s": stats.baseline_seconds,
        "total_s": stats.seconds,
        "mutants_per_min": stats.per_minute,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="bwrap,docker")
    parser.add_argument("--tasks", type=int, default=6, help="Tasks per backend.")
    parser.add_argument("--factory-tasks", type=int, default=8, help="Tasks the factory makes.")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for backend in args.backends.split(","):
        r = measure_env(backend, args.tasks)
        reset, create = r["reset_p50_s"], r["bare_create_p50_s"]
        step, bare = r["tool_step_p50_s"], r["bare_exec_p50_s"]
        grading, pytest_run = r["grading_p50_s"], r["bare_pytest_p50_s"]
        print(
            f"{backend} ({r['tasks']} tasks): reset p50 {reset * 1e3:.0f} ms ({reset / create:.1f}x a bare "
            f"sandbox's {create * 1e3:.0f} ms; a task's first reset {r['reset_cold_p50_s'] * 1e3:.0f} ms), "
            f"tool step p50 {step * 1e3:.0f} ms ({step / bare:.1f}x exec('true') {bare * 1e3:.1f} ms), "
            f"grading p50 {grading:.2f} s ({grading / pytest_run:.2f}x a bare pytest run, {pytest_run:.2f} s)"
        )
    f = measure_factory(args.factory_tasks)
    print(
        f"factory ({f['project']}, empty cache): {f['mutants_per_min']:.1f} mutants tried/min after a "
        f"{f['baseline_s']:.0f} s baseline; {f['tasks']} tasks from {f['mutants_tried']} mutants "
        f"in {f['total_s']:.0f} s"
    )
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
