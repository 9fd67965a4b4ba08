"""pytest plugin that writes every test report as one JSON line (runs inside the sandbox).

Loaded with ``-p agentgym_swe_report``; it imports nothing from agentgym, since
the sandbox only has this file, pytest and the project under test. Options:

- ``--agentgym-report PATH``: append one JSON object per report to PATH, flushed
  at once so that a run killed by its timeout still leaves what it finished;
- ``--agentgym-select PATH``: keep only the tests whose node ids are listed in
  PATH (one a line), deselecting the others.

Each line holds ``nodeid``, ``when`` (collect, setup, call, teardown), ``outcome``
(passed, failed, skipped), ``subtest`` (true for a subtest's report) and
``duration`` (seconds) and ``message`` (the crash line of a failure, or the
reason of a skip).
"""

from __future__ import annotations

import json

MESSAGE_CHARS = 800


def pytest_addoption(parser):
    group = parser.getgroup("agentgym", "agentgym SWE grading")
    group.addoption("--agentgym-report", default=None, help="Write test reports as JSON lines here.")
    group.addoption("--agentgym-select", default=None, help="Run only the node ids listed in this file.")


_OUT = []
"""The open report file, when --agentgym-report was given (one per pytest process)."""


def pytest_configure(config):
    path = config.getoption("agentgym_report")
    if path:
        _OUT.append(open(path, "a", encoding="utf-8"))  # noqa: SIM115


def pytest_unconfigure(config):
    while _OUT:
        _OUT.pop().close()


def pytest_collection_modifyitems(session, config, items):
    path = config.getoption("agentgym_select")
    if not path:
        return
    with open(path, encoding="utf-8") as f:
        wanted = set(f.read().splitlines())
    keep = [item for item in items if item.nodeid in wanted]
    drop = [item for item in items if item.nodeid not in wanted]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _message(report):
    longrepr = report.longrepr
    if longrepr is None:
        return ""
    if isinstance(longrepr, tuple):
        return str(longrepr[-1])
    crash = getattr(longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(longrepr)
    return text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 3] + "..."


def _write(record):
    for out in _OUT:
        out.write(json.dumps(record) + "\n")
        out.flush()


def pytest_collectreport(report):
    if report.failed:
        _write(
            {
                "nodeid": report.nodeid,
                "when": "collect",
                "outcome": "failed",
                "subtest": False,
                "message": _message(report),
            }
        )


def pytest_runtest_logreport(report):
    outcome = report.outcome
    if hasattr(report, "wasxfail"):
        outcome = "xfailed" if outcome == "skipped" else "xpassed"
    _write(
        {
            "nodeid": report.nodeid,
            "when": report.when,
            "outcome": outcome,
            "subtest": hasattr(report, "context"),
            "duration": round(report.duration, 4),
            "message": "" if outcome == "passed" else _message(report),
        }
    )
