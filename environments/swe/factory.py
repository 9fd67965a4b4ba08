"""The task factory: real bugs injected into real projects, kept only when their own tests see them.

For a project ``NAME==VERSION``: fetch its source distribution, check it out in
a sandbox, run its test suite to find the tests that pass (fast ones only, run
twice to drop flaky ones), then try AST mutations (:mod:`.mutate`) one at a
time, interleaving the operators. A mutant becomes a task when it makes between
1 and ``max_fail`` of those tests fail while the rest pass: the failing tests
are FAIL_TO_PASS, the others PASS_TO_PASS, the diff back to the original code is
the gold patch, and the problem statement quotes the failing tests
(:mod:`.problem`). Every test run is cached by content hash, so running the
factory again, or for more tasks, repeats no work.
"""

from __future__ import annotations

import email.parser
import functools
import io
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from agentgym.environments.swe.mutate import OPERATORS, Mutation, find_mutations, mutant
from agentgym.environments.swe.patches import is_protected, unified_diff
from agentgym.environments.swe.problem import write_problem
from agentgym.environments.swe.runtime import (
    GIT_ENV,
    SCRATCH,
    SandboxSpec,
    open_task,
    run_tests,
)
from agentgym.environments.swe.store import (
    cached_json,
    canonical,
    content_key,
    download,
    download_many,
    find_local,
    pin,
    sha256,
)
from agentgym.environments.swe.task import Artifact, SWETask
from agentgym.environments.swe.toolchain import SITE, toolchain_key
from agentgym.exceptions import ConfigError, EnvCrashedError
from agentgym.sandboxes import Sandbox

DEFAULT_PROJECTS = ("toolz==1.2.0", "more-itertools==11.2.1", "python-slugify==9.2.0")
"""Small, well-tested pure-Python projects whose sdists ship their tests: the default task set."""
NOT_LIBRARY = ("setup.py", "conftest.py", "noxfile.py", "fabfile.py", "tasks.py", "versioneer.py")
NOT_LIBRARY_DIRS = ("docs", "doc", "examples", "benchmarks", "tools", "scripts", "bench")


class FactoryConfig(BaseModel):
    """How the factory makes tasks from one project."""

    model_config = ConfigDict(extra="forbid")

    project: str = Field(pattern=r"^[A-Za-z0-9._-]+==[A-Za-z0-9._+!-]+$", description="NAME==VERSION.")
    n: int = Field(50, ge=1, description="Tasks to make.")
    max_fail: int = Field(5, ge=1, description="Most tests a kept mutant may break.")
    max_tries: int | None = Field(None, ge=1, description="Most mutants to test (default 20 × n).")
    seed: int = Field(0, description="Seed of the order in which mutants are tried.")
    slow_test_s: float = Field(0.5, gt=0, description="Tests slower than this are left out.")
    test_deps: list[str] = Field(default_factory=list, description="Extra requirements of the tests.")
    test_cmd: str = Field("python3 -m pytest -p no:cacheprovider", description="pytest invocation.")
    sandbox: SandboxSpec = Field(default_factory=SandboxSpec, description="Where the tests run.")


@dataclass
class FactoryStats:
    """What one factory run did."""

    project: str
    tried: int = 0
    kept: int = 0
    cached: int = 0
    seconds: float = 0.0
    baseline_seconds: float = 0.0
    tests: int = 0
    by_operator: dict[str, int] = field(default_factory=dict)

    @property
    def per_minute(self) -> float:
        """Mutants tried per minute, after the baseline runs (cached verdicts included)."""
        spent = self.seconds - self.baseline_seconds
        return 60.0 * self.tried / spent if spent > 0 else 0.0


def resolve_project(config: FactoryConfig) -> SWETask:
    """The task template of a project: its sdist, wheels, install and test commands, no bug yet."""
    path = find_local(config.project, binary=False) or download(config.project, binary=False)
    sdist = pin(path)
    with tarfile.open(fileobj=io.BytesIO(path.read_bytes())) as tar:
        names = tar.getnames()
        top = names[0].split("/")[0]
        member = tar.extractfile(f"{top}/PKG-INFO") if f"{top}/PKG-INFO" in names else None
        metadata = member.read().decode() if member is not None else ""
    requirements = [*_requirements(metadata), *config.test_deps]
    wheels = _wheels(requirements) if requirements else []
    name, _, version = config.project.partition("==")
    install = []
    if metadata:
        info = f"{SITE}/{canonical(name).replace('-', '_')}-{version}.dist-info"
        install.append(f"mkdir -p {info} && cp PKG-INFO {info}/METADATA")
    if any(n.startswith(f"{top}/src/") and n.endswith("/__init__.py") for n in names):
        install.append('export PYTHONPATH="$PYTHONPATH:/workspace/src"')
    return SWETask(
        instance_id=f"{canonical(name)}__{version}",
        repo=config.project,
        base_commit="",
        problem_statement="",
        patch="",
        FAIL_TO_PASS=[],
        PASS_TO_PASS=[],
        install=" && ".join(install),
        test_cmd=config.test_cmd,
        sdist=sdist,
        wheels=wheels,
    )


def _requirements(metadata: str) -> list[str]:
    """The project's run-time requirements that apply here (extras left out)."""
    from packaging.requirements import Requirement

    message = email.parser.Parser().parsestr(metadata)
    out = []
    for line in message.get_all("Requires-Dist") or []:
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            out.append(str(req))
    return out


def _wheels(requirements: list[str]) -> list[Artifact]:
    """Pure-Python wheels for the requirements and their dependencies (resolved once, cached)."""

    def resolve() -> list[dict[str, str]]:
        paths = download_many(requirements, binary=True, deps=True)
        compiled = [p.name for p in paths if not p.name.endswith("-none-any.whl")]
        if compiled:
            raise ConfigError(
                f"the project needs compiled wheels {compiled}; the factory supports pure-Python "
                "dependencies only"
            )
        return [pin(p).model_dump() for p in paths]

    pinned, _ = cached_json("wheels", content_key(sorted(requirements)), resolve)
    return [Artifact(**a) for a in pinned]


def library_files(paths: list[str]) -> list[str]:
    """The files worth mutating: Python modules that are neither tests nor tooling.

    Example:
        >>> library_files(["toolz/itertoolz.py", "toolz/tests/test_x.py", "setup.py", "docs/conf.py"])
        ['toolz/itertoolz.py']
    """
    out = []
    for path in paths:
        parts = path.split("/")
        if not path.endswith(".py") or is_protected(path) or parts[-1] in NOT_LIBRARY:
            continue
        if any(p in NOT_LIBRARY_DIRS for p in parts[:-1]) or parts[-1].startswith("_version"):
            continue
        out.append(path)
    return out


def interleave(mutations: list[Mutation], seed: int) -> list[Mutation]:
    """Shuffle each operator's mutations with ``seed``, then take one of each operator in turn.

    Example:
        >>> ms = [Mutation("a.py", op, (i, 0), (i, 1), "x", "") for i, op in
        ...       enumerate(["wrong_return", "wrong_return", "off_by_one"], 1)]
        >>> [m.operator for m in interleave(ms, 0)]
        ['off_by_one', 'wrong_return', 'wrong_return']
    """
    rng = np.random.default_rng(seed)
    groups = []
    for op in OPERATORS:
        group = [m for m in mutations if m.operator == op]
        groups.append([group[i] for i in rng.permutation(len(group))])
    out = []
    for i in range(max((len(g) for g in groups), default=0)):
        out += [g[i] for g in groups if i < len(g)]
    return out


class _Runner:
    """The factory's sandbox: the pristine checkout, replaced if a mutant kills it."""

    def __init__(self, template: SWETask, spec: SandboxSpec) -> None:
        self.template, self.spec = template, spec
        self.sb: Sandbox = open_task(template, spec)

    def reopen(self) -> None:
        self.sb.close()
        self.sb = open_task(self.template, self.spec)

    def close(self) -> None:
        self.sb.close()


def make_tasks(
    config: FactoryConfig, progress: Callable[[FactoryStats], None] | None = None
) -> tuple[list[SWETask], FactoryStats]:
    """Make up to ``config.n`` tasks from one project; return them and what it took."""
    start = time.monotonic()
    stats = FactoryStats(project=config.project)
    template = resolve_project(config)
    runner = _Runner(template, config.sandbox)
    try:
        base_key = content_key(
            template.model_dump(), toolchain_key(), config.slow_test_s, config.sandbox.backend,
            config.sandbox.options.get("image"),
        )  # fmt: skip
        baseline, _ = cached_json("baseline", base_key, lambda: _baseline(runner, config))
        stable: list[str] = baseline["tests"]
        stats.tests = len(stable)
        stats.baseline_seconds = time.monotonic() - start
        timeout = max(30.0, 5.0 * baseline["seconds"])
        sources = {p: runner.sb.read_file(p).decode() for p in library_files(baseline["files"])}
        candidates = []
        for path, text in sources.items():
            try:
                candidates += find_mutations(text, path)
            except SyntaxError:
                continue
        tasks: list[SWETask] = []
        sites: set[tuple[str, int]] = set()
        max_tries = config.max_tries or 20 * config.n
        for m in interleave(candidates, config.seed):
            if len(tasks) >= config.n or stats.tried >= max_tries:
                break
            if (m.path, m.line) in sites:
                continue
            text = mutant(sources[m.path], m)
            if text is None:
                continue
            key = content_key(base_key, stable, m.path, sha256(text.encode()), config.max_fail)
            judge = functools.partial(_judge, runner, template, m.path, text, stable, config, timeout)
            verdict, hit = cached_json("mutants", key, judge)
            stats.tried += 1
            stats.cached += hit
            failing = verdict["failing"]
            if verdict["kept"]:
                tasks.append(_task(template, m, sources[m.path], text, stable, failing, verdict["commit"]))
                sites.add((m.path, m.line))
                stats.kept += 1
                stats.by_operator[m.operator] = stats.by_operator.get(m.operator, 0) + 1
            stats.seconds = time.monotonic() - start
            if progress is not None:
                progress(stats)
    finally:
        runner.close()
    stats.seconds = time.monotonic() - start
    return tasks, stats


def _baseline(runner: _Runner, config: FactoryConfig) -> dict:
    """The fast tests that pass twice in a row, the seconds they take, the repository's files."""
    full = run_tests(runner.sb, runner.template, None, timeout=1800)
    passing = sorted(
        t for t, r in full.results.items() if r.status == "passed" and r.duration <= config.slow_test_s
    )
    if not passing:
        raise ConfigError(
            f"{config.project}: no test passed in the sandbox; the run ended with:\n{full.output[-1500:]}",
            hint="check --test-deps and --test-cmd, or try the suite by hand in `agentgym sandbox`",
        )
    again = run_tests(runner.sb, runner.template, passing, timeout=1800)
    stable = [t for t in passing if again.results.get(t) and again.results[t].status == "passed"]
    files = runner.sb.exec("git ls-files", timeout=60).stdout.splitlines()
    return {"tests": stable, "seconds": again.seconds, "files": files}


def _judge(
    runner: _Runner, template: SWETask, path: str, text: str, stable: list[str],
    config: FactoryConfig, timeout: float,
) -> dict:  # fmt: skip
    """Run the tests against one mutant; keep it if 1..max_fail tests fail and the rest pass."""
    try:
        runner.sb.write_file(path, text)
        run = run_tests(runner.sb, template, stable, timeout=timeout, maxfail=config.max_fail + 1)
        failing = {t: run.results[t].message if t in run.results else "" for t in stable
                   if t not in run.results or run.results[t].status != "passed"}  # fmt: skip
        kept = not run.timed_out and 1 <= len(failing) <= config.max_fail
        commit = _commit_of_workspace(runner.sb) if kept else ""
        runner.sb.exec(f"git checkout -q -- . && git clean -fdq -e {SCRATCH}", timeout=60)
    except EnvCrashedError:
        runner.reopen()
        return {"kept": False, "failing": {}, "commit": "", "why": "the sandbox died"}
    return {"kept": kept, "failing": failing if kept else {}, "commit": commit, "n_failing": len(failing)}


def _commit_of_workspace(sb: Sandbox) -> str:
    """The commit a fresh ``git init; git add -A; git commit`` of the workspace would make."""
    index = f"/tmp/agentgym/factory-index-{time.monotonic_ns()}"
    cmd = (
        f"(export GIT_INDEX_FILE={index} && git add -A . && tree=$(git write-tree) && "
        f"{GIT_ENV} git commit-tree $tree -m base; rm -f {index})"
    )
    done = sb.exec(cmd, timeout=60)
    if done.exit_code != 0:
        raise ConfigError(f"git could not commit the mutant: {done.stderr.strip()[-300:]}")
    return done.stdout.strip()


def _task(
    template: SWETask, m: Mutation, original: str, text: str, stable: list[str],
    failing: dict[str, str], commit: str,
) -> SWETask:  # fmt: skip
    name, _, version = template.repo.partition("==")
    gold = unified_diff(m.path, text, original)
    return template.model_copy(
        update={
            "instance_id": f"{canonical(name)}__{version}-{sha256(gold.encode())[:8]}",
            "base_commit": commit,
            "problem_statement": write_problem(f"{name} {version}", failing),
            "patch": gold,
            "FAIL_TO_PASS": sorted(failing),
            "PASS_TO_PASS": [t for t in stable if t not in failing],
            "mutation": f"{m.operator}: {m.description} ({m.path}:{m.line})",
        }
    )
