"""Test outcomes from pytest's own reports, and the grading verdict built on them.

The plugin :mod:`agentgym_swe_report` writes each pytest report (setup, call,
teardown, subtests, collection errors) as a JSON line; :func:`parse_report`
folds them into one status per test, and :func:`grade` judges a task from it
the way SWE-bench does: resolved when every FAIL_TO_PASS and PASS_TO_PASS test
passes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["passed", "failed", "error", "skipped", "missing"]
RewardMode = Literal["resolved", "fraction"]

_RANK = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}


@dataclass(frozen=True)
class Outcome:
    """What happened to one test: its status, the first line of its failure, its seconds."""

    status: Status
    message: str = ""
    duration: float = 0.0


def parse_report(text: str) -> dict[str, Outcome]:
    """Fold the plugin's JSON lines into one result per test node id.

    A failing setup or teardown is an ``error``; a failing call or subtest is
    ``failed``; a test needs a passing call to be ``passed``. A collection error
    marks the node it names (a module, usually) as ``error``; :func:`status_of`
    extends it to the tests inside. Lines that do not parse (a run cut off
    mid-write) are skipped.

    Example:
        >>> lines = [{"nodeid": "t.py::a", "when": "call", "outcome": "passed"},
        ...          {"nodeid": "t.py::b", "when": "setup", "outcome": "failed", "message": "E"},
        ...          {"nodeid": "t.py::c", "when": "call", "outcome": "passed"},
        ...          {"nodeid": "t.py::c", "when": "call", "outcome": "failed", "subtest": True,
        ...           "message": "assert 1 == 2"}]
        >>> r = parse_report("\\n".join(json.dumps(x) for x in lines))
        >>> [(k, v.status) for k, v in sorted(r.items())]
        [('t.py::a', 'passed'), ('t.py::b', 'error'), ('t.py::c', 'failed')]
        >>> r["t.py::c"].message
        'assert 1 == 2'
    """
    results: dict[str, Outcome] = {}
    seconds: dict[str, float] = {}
    for line in text.splitlines():
        try:
            record = json.loads(line)
            nodeid, when, outcome = record["nodeid"], record["when"], record["outcome"]
            if not record.get("subtest"):
                seconds[nodeid] = seconds.get(nodeid, 0.0) + float(record.get("duration") or 0.0)
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            continue
        status = _status(when, outcome)
        old = results.get(nodeid)
        if status is not None and (old is None or _RANK[status] > _RANK[old.status]):
            results[nodeid] = Outcome(status, str(record.get("message") or ""))
    return {k: Outcome(v.status, v.message, round(seconds.get(k, 0.0), 4)) for k, v in results.items()}


def _status(when: str, outcome: str) -> Status | None:
    if outcome == "failed":
        return "failed" if when == "call" else "error"
    if outcome in ("skipped", "xfailed"):
        return "skipped"
    if outcome in ("passed", "xpassed") and when == "call":
        return "passed"
    return None


def status_of(results: Mapping[str, Outcome], nodeid: str) -> Outcome:
    """The result of ``nodeid``, ``error`` if a node containing it failed to collect, else missing.

    Example:
        >>> status_of({"t.py": Outcome("error", "SyntaxError")}, "t.py::test_a")
        Outcome(status='error', message='SyntaxError', duration=0.0)
        >>> status_of({}, "t.py::test_a").status
        'missing'
    """
    if nodeid in results:
        return results[nodeid]
    for key, result in results.items():
        if result.status == "error" and (key == "" or nodeid.startswith((key + "::", key + "/"))):
            return result
    return Outcome("missing", "the test was not reported (not collected, or the run was cut off)")


class GradingReport(BaseModel):
    """The verdict on one submission, per test (``info["grading"]``)."""

    model_config = ConfigDict(extra="forbid")

    instance_id: str
    resolved: bool = Field(description="Every FAIL_TO_PASS and PASS_TO_PASS test passed.")
    reward: float
    FAIL_TO_PASS: dict[str, Status] = Field(description="Status of each FAIL_TO_PASS test.")
    PASS_TO_PASS: dict[str, Status] = Field(description="Status of each PASS_TO_PASS test.")
    patch_applied: bool = Field(True, description="The submitted diff applied to a fresh checkout.")
    ignored_paths: list[str] = Field(
        default_factory=list, description="Test and config files whose changes were dropped."
    )
    timed_out: bool = False
    error: str = Field("", description="Why grading could not run the tests, if it could not.")

    @property
    def f2p_passed(self) -> int:
        """How many FAIL_TO_PASS tests passed."""
        return sum(s == "passed" for s in self.FAIL_TO_PASS.values())

    @property
    def p2p_passed(self) -> int:
        """How many PASS_TO_PASS tests passed."""
        return sum(s == "passed" for s in self.PASS_TO_PASS.values())

    def summary(self) -> str:
        """One paragraph for the agent's last observation.

        Example:
            >>> GradingReport(instance_id="x", resolved=False, reward=0.0,
            ...               FAIL_TO_PASS={"a": "failed"}, PASS_TO_PASS={"b": "passed"}).summary()
            'Submitted. FAIL_TO_PASS: 0/1 passed; PASS_TO_PASS: 1/1 passed. Not resolved.'
        """
        parts = ["Submitted."]
        if not self.patch_applied:
            parts.append(f"Your changes could not be applied: {self.error}")
        elif self.error:
            parts.append(f"The tests could not run: {self.error}")
        parts.append(
            f"FAIL_TO_PASS: {self.f2p_passed}/{len(self.FAIL_TO_PASS)} passed; "
            f"PASS_TO_PASS: {self.p2p_passed}/{len(self.PASS_TO_PASS)} passed."
        )
        if self.ignored_paths:
            parts.append(f"Changes to test/config files were ignored: {', '.join(self.ignored_paths)}.")
        parts.append("Resolved." if self.resolved else "Not resolved.")
        return " ".join(parts)


def grade(
    instance_id: str,
    fail_to_pass: Iterable[str],
    pass_to_pass: Iterable[str],
    results: Mapping[str, Outcome],
    reward_mode: RewardMode = "resolved",
    **extra: object,
) -> GradingReport:
    """Judge a run: resolved when every FAIL_TO_PASS and PASS_TO_PASS test passed.

    ``reward_mode="resolved"`` gives 1.0 when resolved, else 0.0;
    ``"fraction"`` gives the fraction of FAIL_TO_PASS tests that passed, or 0.0
    when any PASS_TO_PASS test broke (so deleting behaviour never pays).

    Example:
        >>> res = {"t::a": Outcome("passed"), "t::b": Outcome("failed"), "t::c": Outcome("passed")}
        >>> grade("x", ["t::a", "t::b"], ["t::c"], res).resolved
        False
        >>> grade("x", ["t::a", "t::b"], ["t::c"], res, "fraction").reward
        0.5
    """
    f2p = {t: status_of(results, t).status for t in fail_to_pass}
    p2p = {t: status_of(results, t).status for t in pass_to_pass}
    resolved = all(s == "passed" for s in [*f2p.values(), *p2p.values()])
    if reward_mode == "resolved":
        reward = float(resolved)
    else:
        p2p_ok = all(s == "passed" for s in p2p.values())
        reward = sum(s == "passed" for s in f2p.values()) / len(f2p) if f2p and p2p_ok else 0.0
    return GradingReport(
        instance_id=instance_id,
        resolved=resolved,
        reward=reward,
        FAIL_TO_PASS=f2p,
        PASS_TO_PASS=p2p,
        **extra,  # type: ignore[arg-type]
    )
