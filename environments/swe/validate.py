"""Checking a task set end to end: the expert resolves every task, the no-op policy none.

Both play real episodes of :class:`~agentgym.environments.swe.env.SWEEnv`, so
this checks the tasks (the gold patch resolves, the unpatched repository does
not) and the environment's tools and grading at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from agentgym.environments.swe.env import SUBMIT, SWEEnv


@dataclass
class TaskCheck:
    """The outcome of one task's two episodes."""

    instance_id: str
    split: str
    expert_resolved: bool
    noop_resolved: bool
    expert_steps: int
    seconds: float

    @property
    def valid(self) -> bool:
        """The expert resolved the task and the no-op did not."""
        return self.expert_resolved and not self.noop_resolved


def play(env: SWEEnv, split: str, task_id: int, expert: bool) -> tuple[bool, int]:
    """One episode with the expert (or the no-op policy): (resolved, steps)."""
    env.reset(seed=0, options={"split": split, "task_id": task_id})
    steps = 0
    while True:
        action = env.expert_action() if expert else SUBMIT
        _, _, terminated, truncated, info = env.step(action)
        steps += 1
        if terminated or truncated:
            return bool(info["won"]), steps


def validate_tasks(
    tasks: str | None,
    *,
    backend: str = "bwrap",
    sandbox: dict[str, Any] | None = None,
    limit: int | None = None,
    echo: Callable[[str], Any] = print,
) -> list[TaskCheck]:
    """Check every task of a file (the first ``limit`` of each split); echo one JSON line each."""
    env = SWEEnv(tasks, backend=backend, sandbox=sandbox)
    results = []
    try:
        for split, count in env.splits.items():
            for task_id in range(min(count, limit or count)):
                start = time.monotonic()
                expert, steps = play(env, split, task_id, expert=True)
                noop, _ = play(env, split, task_id, expert=False)
                assert env.task is not None
                check = TaskCheck(env.task.instance_id, split, expert, noop, steps, time.monotonic() - start)
                echo(json.dumps({**asdict(check), "valid": check.valid, "seconds": round(check.seconds, 1)}))
                results.append(check)
    finally:
        env.close()
    return results
