"""Problem statements for factory tasks, written from the failing tests alone.

The statement names the failing tests and quotes the first line of each
failure (pytest's crash message), the way a bug report would; it never names
the mutated file, line or operator, so it does not give the fix away.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping

MAX_TESTS = 5
MAX_MESSAGE = 300


def subject(nodeid: str) -> str:
    """What a test exercises, from its name: ``test_partition_all[2]`` -> ``partition_all``.

    Example:
        >>> subject("toolz/tests/test_itertoolz.py::test_partition_all[2]")
        'partition_all'
        >>> subject("tests/test_more.py::ChunkedTests::test_even")
        'chunked (even)'
    """
    parts = nodeid.split("::")[1:]
    name = re.sub(r"\[.*\]$", "", parts[-1]) if parts else nodeid
    name = re.sub(r"^test_?", "", name) or name
    if len(parts) >= 2:
        owner = re.sub(r"^Test|Tests?$", "", parts[-2])
        owner = re.sub(r"(?<!^)(?=[A-Z])", "_", owner).lower()
        return f"{owner} ({name})" if owner else name
    return name


def _clean(message: str) -> str:
    """The first lines of a crash message, without memory addresses (they differ run to run)."""
    message = re.sub(r" at 0x[0-9a-fA-F]+", "", message)
    first = "\n".join(line for line in message.strip().splitlines()[:4] if line.strip())
    return first if len(first) <= MAX_MESSAGE else first[: MAX_MESSAGE - 3] + "..."


def write_problem(project: str, failures: Mapping[str, str]) -> str:
    """An issue-style statement from failing test ids and their crash messages.

    Example:
        >>> print(write_problem("toolz 1.2.0", {"toolz/tests/test_dicttoolz.py::test_merge":
        ...                                     "AssertionError: assert {'a': 1} == {'a': 2}"}))
        toolz 1.2.0: wrong behaviour in merge
        <BLANKLINE>
        A test of the project's own suite fails:
        <BLANKLINE>
        - `toolz/tests/test_dicttoolz.py::test_merge`
          AssertionError: assert {'a': 1} == {'a': 2}
        <BLANKLINE>
        The test is correct; the library code is not. Find the bug and fix it so that
        the failing test passes and the rest of the test suite keeps passing. Do not
        change the tests.
    """
    tests = sorted(failures)
    subjects = list(dict.fromkeys(subject(t) for t in tests))
    shown_subjects = ", ".join(subjects[:3]) + (" and more" if len(subjects) > 3 else "")
    many = len(tests) > 1
    lines = [
        f"{project}: wrong behaviour in {shown_subjects}",
        "",
        f"{len(tests)} tests of the project's own suite fail:"
        if many
        else "A test of the project's own suite fails:",
        "",
    ]
    for test in tests[:MAX_TESTS]:
        lines.append(f"- `{test}`")
        message = _clean(failures[test])
        lines.extend(f"  {line}" for line in message.splitlines())
    if len(tests) > MAX_TESTS:
        lines.append(f"- and {len(tests) - MAX_TESTS} more")
    advice = (
        f"The {'tests are' if many else 'test is'} correct; the library code is not. Find the bug "
        f"and fix it so that the failing {'tests pass' if many else 'test passes'} and the rest "
        "of the test suite keeps passing. Do not change the tests."
    )
    lines += ["", textwrap.fill(advice, width=80)]
    return "\n".join(lines)
