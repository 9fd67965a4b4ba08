"""The task factory on a real project (toolz, its sdist shipped with agentgym), in bwrap sandboxes."""

from __future__ import annotations

import shutil

import pytest

from agentgym.environments.swe import FactoryConfig, SandboxSpec, grade_patch, make_tasks
from agentgym.environments.swe.patches import is_protected, split_diff
from agentgym.testing import require_backend

pytestmark = pytest.mark.bwrap
CONFIG = FactoryConfig(project="toolz==1.2.0", n=2, max_tries=10, seed=0)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory):
    """Two toolz tasks made with an empty cache (the cache folder is this module's own)."""
    require_backend(shutil.which("bwrap") is not None, "no bwrap (apt-get install bubblewrap)")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AGENTGYM_CACHE_DIR", str(tmp_path_factory.mktemp("swe-cache")))
        tasks, stats = make_tasks(CONFIG)
        yield tasks, stats, make_tasks(CONFIG)


def test_factory_makes_tasks_with_swe_bench_fields(made) -> None:
    tasks, stats, _ = made
    assert len(tasks) == 2 and stats.kept == 2 and 2 <= stats.tried <= 10
    assert stats.tests > 150 and stats.per_minute > 0
    for task in tasks:
        assert 1 <= len(task.FAIL_TO_PASS) <= CONFIG.max_fail
        assert not set(task.FAIL_TO_PASS) & set(task.PASS_TO_PASS)
        assert len(task.FAIL_TO_PASS) + len(task.PASS_TO_PASS) == stats.tests
        assert len(task.base_commit) == 40 and task.sdist is not None
        files = list(split_diff(task.patch))
        assert len(files) == 1 and files[0].startswith("toolz/") and not is_protected(files[0])
        for test in task.FAIL_TO_PASS:
            assert test in task.problem_statement
        for line in task.patch.splitlines():  # the statement quotes no changed line
            if line[:1] in "+-" and not line.startswith(("+++", "---")) and len(line.strip()) > 12:
                assert line[1:].strip() not in task.problem_statement


def test_gold_patch_resolves_and_the_unpatched_repository_does_not(made) -> None:
    tasks, _, _ = made
    spec = SandboxSpec()
    for task in tasks:
        gold = grade_patch(task, task.patch, spec)
        assert gold.resolved and gold.reward == 1.0, gold
        unpatched = grade_patch(task, "", spec)
        assert not unpatched.resolved and unpatched.reward == 0.0
        assert all(status != "passed" for status in unpatched.FAIL_TO_PASS.values())
        assert all(status == "passed" for status in unpatched.PASS_TO_PASS.values())


def test_a_second_run_repeats_no_test_run(made) -> None:
    tasks, _, (again, stats) = made
    assert again == tasks
    assert stats.cached == stats.tried
