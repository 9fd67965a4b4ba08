"""Test environments: some misbehave on purpose (the engine's and server's failure tests), one never changes.

Importing this module registers them; workers name them as
``helper_envs:agentgym/<Name>-v0`` so subprocesses import it too.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from agentgym.child import ChildProcess
from agentgym.core import TextEnv, state_digest
from agentgym.episode import ResetOptions
from agentgym.registry import register
from agentgym.sandboxes import Sandbox, create


class Spinner:
    """Hosted in a :class:`ChildProcess`: ``spin`` never returns, like dumb-frotz on ``\\help``."""

    def spin(self) -> None:
        while True:
            pass


def child_pids() -> list[int]:
    """The :class:`ChildProcess` children of this process still running, read from ``/proc``."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue  # gone while read
        if ppid == os.getpid() and b"agentgym.child" in cmdline:
            pids.append(int(stat.parent.name))
    return pids


class CountEnv(TextEnv):
    """Say `next` five times. Uses the replay snapshot fallback (no native state).

    With ``spin_at``, reset starts a native-like engine (a :class:`Spinner` child
    process) and step ``spin_at`` spins in it forever, until :meth:`abort` kills it
    as TextWorld's engine is killed. ``step_sleep_s[i]`` is how long each step of
    task ``i`` takes (uneven step latency).
    """

    def __init__(
        self,
        crash_at: int | None = None,
        hang_at: int | None = None,
        die_at: int | None = None,
        spin_at: int | None = None,
        step_sleep_s: list[float] | None = None,
    ) -> None:
        super().__init__(max_steps=10, max_action_length=64)
        self.splits = {"train": 4, "valid": 2, "test": 2}
        self.crash_at, self.hang_at, self.die_at, self.spin_at = crash_at, hang_at, die_at, spin_at
        self.step_sleep_s = step_sleep_s or []
        self.engine: ChildProcess | None = None
        self.count = 0
        self.salt = 0

    def _reset(self, task_id: int, options: ResetOptions) -> tuple[str, dict[str, Any]]:
        self.count = 0
        self.salt = int(self.np_random.integers(1000))
        if self.spin_at is not None and (self.engine is None or not self.engine.alive):
            self.engine = ChildProcess(Spinner, what="spinner")
        return f"task {task_id}, salt {self.salt}", self._info(False)

    def data_digest(self) -> str:
        assert self._episode is not None
        return state_digest(self._episode.options.split, self._episode.options.task_id)

    def _step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        self.count += 1
        assert self._episode is not None
        task_id = self._episode.options.task_id
        if task_id < len(self.step_sleep_s):
            time.sleep(self.step_sleep_s[task_id])
        if self.count == self.crash_at:
            raise ValueError("boom")
        if self.count == self.hang_at:
            time.sleep(60)
        if self.count == self.die_at:
            os._exit(3)
        if self.count == self.spin_at and self.engine is not None:
            self.engine.call("spin", timeout_s=600)
        valid = action == "next"
        won = self.count >= 5 and valid
        return (
            f"count {self.count}, noise {int(self.np_random.integers(100))}",
            float(won),
            won,
            False,
            self._info(not valid),
        )

    def abort(self) -> None:
        if self.engine is not None:
            self.engine.kill("stopped by abort()")

    def close(self) -> None:
        if self.engine is not None:
            self.engine.close()
        super().close()

    def _info(self, invalid: bool) -> dict[str, Any]:
        return {
            "task": "say next five times",
            "admissible_actions": ["next", "wait"],
            "state_key": state_digest(self.count),
            "won": self.count >= 5,
            "invalid_action": invalid,
        }


class SameEnv(TextEnv):
    """Says the same thing at every turn, whatever the action: with ``history=0`` every prompt is the same."""

    def __init__(self) -> None:
        super().__init__(max_steps=3, max_action_length=1000)
        self.splits = {"train": 1, "valid": 1, "test": 1}

    def _reset(self, task_id: int, options: ResetOptions) -> tuple[str, dict[str, Any]]:
        return "Say something.", self._info()

    def data_digest(self) -> str:
        return state_digest("same")

    def _step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        return "Say something.", 0.0, False, False, self._info()

    def _info(self) -> dict[str, Any]:
        return {
            "task": "say something",
            "admissible_actions": None,
            "state_key": state_digest(0),
            "won": False,
            "invalid_action": False,
        }


class ShellEnv(TextEnv):
    """Each action runs as a command in a real bwrap sandbox (``kill -9 -1`` kills the sandbox)."""

    def __init__(self) -> None:
        super().__init__(max_steps=5, max_action_length=200)
        self.splits = {"train": 1, "valid": 1, "test": 1}
        self.sb: Sandbox | None = None

    def _reset(self, task_id: int, options: ResetOptions) -> tuple[str, dict[str, Any]]:
        self.close()
        self.sb = create("bwrap")
        return "a shell", self._info()

    def data_digest(self) -> str:
        return "shell"

    def _step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        assert self.sb is not None
        return self.sb.exec(action, timeout=10).stdout, 0.0, False, False, self._info()

    def _info(self) -> dict[str, Any]:
        return {
            "task": "run commands",
            "admissible_actions": None,
            "state_key": "",
            "won": False,
            "invalid_action": False,
        }

    def close(self) -> None:
        if self.sb is not None:
            self.sb.close()
            self.sb = None


class WhereEnv(CountEnv):
    """CountEnv that names the Ray node it runs on (``info["node"]``, None outside Ray).

    With ``sandbox=True`` each episode also runs a command in a bubblewrap sandbox,
    which lives as long as the env (to find sandboxes left behind by a lost node).
    """

    def __init__(self, sandbox: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sandbox = None
        if sandbox:
            from agentgym.sandboxes import create

            self.sandbox = create("bwrap")

    def _reset(self, task_id: int, options: ResetOptions) -> tuple[str, dict[str, Any]]:
        if self.sandbox is not None:
            self.sandbox.exec("sleep 0.1", timeout=30)
        return super()._reset(task_id, options)

    def _info(self, invalid: bool) -> dict[str, Any]:
        import ray

        node = ray.get_runtime_context().get_node_id() if ray.is_initialized() else None
        return {**super()._info(invalid), "node": node}

    def close(self) -> None:
        if self.sandbox is not None:
            self.sandbox.close()
        super().close()


register("agentgym/Count-v0", "helper_envs:CountEnv", description="test env", aliases=("count",))
register("agentgym/Same-v0", "helper_envs:SameEnv", description="test env, never changes", aliases=("same",))
register("agentgym/Where-v0", "helper_envs:WhereEnv", description="test env naming its Ray node")
