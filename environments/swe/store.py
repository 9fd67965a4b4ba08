"""Where SWE files come from: the package's own data, the user's cache, or ``pip download``.

Source distributions and wheels are named by file and pinned by SHA-256
(:class:`~agentgym.environments.swe.task.Artifact`). :func:`artifact_bytes`
looks for one in the files shipped with agentgym (``data/artifacts``), then in
the cache (``$AGENTGYM_CACHE_DIR/swe``, default ``~/.cache/agentgym/swe``), and
only then asks pip to download it into the cache. Results of test runs are
cached there too, by content hash (:func:`cached_json`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from agentgym.environments.swe.task import Artifact
from agentgym.exceptions import ConfigError

DATA = Path(str(resources.files("agentgym.environments.swe") / "data"))
"""Files shipped with the package: the default task set and the artifacts it needs."""


def cache_dir() -> Path:
    """``$AGENTGYM_CACHE_DIR/swe`` (default ``~/.cache/agentgym/swe``), created on demand."""
    root = os.environ.get("AGENTGYM_CACHE_DIR") or os.path.join(Path.home(), ".cache", "agentgym")
    path = Path(root) / "swe"
    path.mkdir(parents=True, exist_ok=True)
    return path


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def content_key(*parts: Any) -> str:
    """A cache key: the SHA-256 of the parts as canonical JSON.

    Example:
        >>> content_key("a", 1) == content_key("a", 1) != content_key("a", 2)
        True
    """
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return sha256(text.encode())[:32]


def cached_json(kind: str, key: str, compute: Callable[[], Any]) -> tuple[Any, bool]:
    """The JSON value stored under ``kind/key`` in the cache (computed and stored if absent),
    and whether it was found there."""
    path = cache_dir() / kind / f"{key}.json"
    if path.is_file():
        try:
            return json.loads(path.read_text()), True
        except json.JSONDecodeError:
            pass
    value = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(value))
    tmp.replace(path)
    return value, False


def _locations(filename: str) -> list[Path]:
    return [DATA / "artifacts" / filename, cache_dir() / "artifacts" / filename]


def artifact_bytes(artifact: Artifact) -> bytes:
    """The bytes of a pinned file, from the package data, the cache, or pip (into the cache).

    Raises:
        ConfigError: the file cannot be found or downloaded, or its hash differs.
    """
    for path in _locations(artifact.filename):
        if path.is_file():
            data = path.read_bytes()
            if sha256(data) == artifact.sha256:
                return data
    spec = _spec_of(artifact.filename)
    binary = artifact.filename.endswith(".whl")
    path = download(spec, binary=binary)
    data = path.read_bytes()
    if path.name != artifact.filename or sha256(data) != artifact.sha256:
        raise ConfigError(
            f"pip gave {path.name} (sha256 {sha256(data)[:12]}…) for {artifact.filename} "
            f"(sha256 {artifact.sha256[:12]}…); the index serves a different file than the task names"
        )
    return data


def _spec_of(filename: str) -> str:
    """``NAME==VERSION`` from an sdist or wheel file name."""
    if filename.endswith(".whl"):
        name, version = filename.split("-")[:2]
    else:
        stem = re.sub(r"\.(tar\.gz|zip|tar\.bz2)$", "", filename)
        name, _, version = stem.rpartition("-")
    return f"{name}=={version}"


def canonical(name: str) -> str:
    """A project name normalised as PEP 503 does: ``Python_Slugify`` -> ``python-slugify``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def find_local(spec: str, *, binary: bool) -> Path | None:
    """A file for ``NAME==VERSION`` already in the package data or the cache, if any.

    Example:
        >>> find_local("no-such-project==0.0", binary=False) is None
        True
    """
    name, _, version = spec.partition("==")
    for folder in (DATA / "artifacts", cache_dir() / "artifacts"):
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.name.endswith(".whl") != binary or path.name.endswith(".tmp"):
                continue
            found_name, _, found_version = _spec_of(path.name).partition("==")
            if canonical(found_name) == canonical(name) and found_version == version:
                return path
    return None


def download(spec: str, *, binary: bool) -> Path:
    """``pip download`` one file (no dependencies) into the cache; return its path.

    ``binary=False`` fetches the source distribution (``--no-binary :all:``),
    ``True`` a wheel (``--only-binary :all:``).
    """
    return download_many([spec], binary=binary, deps=False)[0]


def download_many(specs: Sequence[str], *, binary: bool, deps: bool) -> list[Path]:
    """``pip download`` requirement specs (with their dependencies when ``deps``) into the cache."""
    target = cache_dir() / "artifacts"
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "-d", tmp]
        cmd += ["--only-binary", ":all:"] if binary else ["--no-binary", ":all:"]
        if not deps:
            cmd.append("--no-deps")
        done = subprocess.run([*cmd, *specs], capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise ConfigError(
                f"pip download {' '.join(specs)} failed: {last}",
                hint="check the name and version, and that the package index is reachable",
            )
        paths = []
        for name in sorted(os.listdir(tmp)):
            dest = target / name
            os.replace(os.path.join(tmp, name), dest)
            paths.append(dest)
    return paths


def pin(path: Path) -> Artifact:
    """The :class:`Artifact` naming a local file."""
    return Artifact(filename=path.name, sha256=sha256(path.read_bytes()))
