"""The test toolchain that goes into every SWE sandbox: pytest and the report plugin.

Sandboxes see the host's ``/usr`` (so ``python3`` and ``git``) but not the
Python environment agentgym runs in, so pytest travels in: the installed
distributions of pytest and its dependencies, plus the plugin
:mod:`agentgym_swe_report`, are packed into one deterministic tar.gz, compiled
once on the host (hash-based ``.pyc`` files, which the sandbox's Python uses
when its version matches ours) and unpacked to :data:`SITE` at sandbox start.
"""

from __future__ import annotations

import compileall
import functools
import gzip
import importlib.metadata
import io
import os
import py_compile
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

from agentgym.environments.swe.store import cache_dir, content_key

ROOT = "/tmp/agentgym"
"""Folder of the toolchain inside the sandbox (its private /tmp)."""
SITE = f"{ROOT}/site"
"""Importable folder holding pytest, its dependencies and the project's own dependencies."""
DISTRIBUTIONS = ("pytest", "pluggy", "iniconfig", "packaging")
PLUGIN = "agentgym_swe_report"


def _sources() -> dict[str, Path]:
    """Files to pack: relative path in the site folder -> host path."""
    files: dict[str, Path] = {}
    for name in DISTRIBUTIONS:
        dist = importlib.metadata.distribution(name)
        for rel in dist.files or []:
            text = str(rel)
            if text.startswith("..") or "__pycache__" in text or text.endswith(".pyc"):
                continue
            files[text] = Path(str(dist.locate_file(rel)))
    files[f"{PLUGIN}.py"] = Path(__file__).with_name(f"{PLUGIN}.py")
    return files


@functools.cache
def toolchain_key() -> str:
    """What the toolchain is made of (versions, the plugin's text and this Python's version)."""
    versions = [importlib.metadata.version(name) for name in DISTRIBUTIONS]
    plugin = Path(__file__).with_name(f"{PLUGIN}.py").read_text()
    return content_key(versions, plugin, sys.implementation.cache_tag)


@functools.cache
def toolchain_tar() -> bytes:
    """The toolchain as a tar.gz whose members start with ``site/`` (cached on disk)."""
    path = cache_dir() / "toolchain" / f"{toolchain_key()}.tar.gz"
    if path.is_file():
        return path.read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        for rel, source in _sources().items():
            dest = site / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest)
        compileall.compile_dir(
            str(site), quiet=2, ddir=SITE, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
        )
        data = pack_tree(Path(tmp), ["site"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = path.with_suffix(f".{os.getpid()}.tmp")
    tmp_path.write_bytes(data)
    tmp_path.replace(path)
    return data


def pack_tree(top: Path, names: list[str]) -> bytes:
    """A deterministic tar.gz of ``names`` under ``top`` (sorted, mtime 0, owner 0)."""
    buf = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=6) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar,
    ):
        for name in names:
            for path in sorted([top / name, *(top / name).rglob("*")]):
                info = tar.gettarinfo(str(path), arcname=str(path.relative_to(top)))
                info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                if info.isfile():
                    with open(path, "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)
    return buf.getvalue()
