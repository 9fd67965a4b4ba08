"""Grading a submission as SWE-bench does: the agent's diff, in a fresh sandbox, judged by tests.

The diff is applied to a fresh checkout of the task, never to the agent's own
sandbox, so nothing the agent left running or changed outside the repository
counts. Changes to test files, pytest configuration and interpreter start-up
hooks (:func:`~agentgym.environments.swe.patches.is_protected`) are dropped,
so those files are as the task has them; then the task's ``test_patch`` is
applied and the FAIL_TO_PASS and PASS_TO_PASS tests run.
"""

from __future__ import annotations

from agentgym.environments.swe.patches import drop_protected, split_diff
from agentgym.environments.swe.report import GradingReport, RewardMode, grade
from agentgym.environments.swe.runtime import SCRATCH, SandboxSpec, SourceLoader, open_task, run_tests
from agentgym.environments.swe.task import SWETask

DEFAULT_TIMEOUT_S = 600.0


def grade_patch(
    task: SWETask,
    diff: str,
    spec: SandboxSpec,
    reward_mode: RewardMode = "resolved",
    source: SourceLoader | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> GradingReport:
    """Apply ``diff`` to a fresh checkout of ``task``, run its tests, and judge the result.

    A diff that does not apply grades as not resolved (``patch_applied=False``),
    as does a run cut off by ``timeout`` (its unfinished tests are ``missing``).
    """
    kept, ignored = drop_protected(diff, extra=split_diff(task.test_patch))
    tests = [*task.FAIL_TO_PASS, *task.PASS_TO_PASS]
    with open_task(task, spec, source) as sb:
        for name, patch in (("agent", kept), ("test", task.test_patch)):
            if not patch.strip():
                continue
            sb.write_file(f"{SCRATCH}/{name}.diff", patch)
            done = sb.exec(f"git apply --whitespace=nowarn {SCRATCH}/{name}.diff 2>&1", timeout=120)
            if done.exit_code != 0:
                report = grade(task.instance_id, task.FAIL_TO_PASS, task.PASS_TO_PASS, {}, reward_mode)
                return report.model_copy(
                    update={
                        "patch_applied": False,
                        "ignored_paths": ignored,
                        "error": f"git apply of the {name} patch failed: {done.stdout.strip()[-500:]}",
                    }
                )
        run = run_tests(sb, task, tests, timeout=timeout)
    error = "" if run.results else f"pytest reported no test; its output ended with: {run.output[-500:]}"
    return grade(
        task.instance_id, task.FAIL_TO_PASS, task.PASS_TO_PASS, run.results, reward_mode,
        ignored_paths=ignored, timed_out=run.timed_out, error=error,
    )  # fmt: skip
