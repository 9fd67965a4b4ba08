"""Per-sandbox control groups (v1 or v2): memory, process count and CPU of a process tree.

A sandbox's cgroup is created *inside* the cgroup the host process already
lives in, so whatever limits the host itself runs under still apply. cgroups v1
(one hierarchy per controller) and v2 (one unified hierarchy) are both handled;
:func:`available` says whether this host lets us use either, and the bwrap
backend falls back to rlimits when it does not.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import time
import uuid

from agentgym.sandboxes.base import Limits

CONTROLLERS = ("memory", "pids", "cpu")
_CPU_PERIOD_US = 100_000


def _mounts() -> dict[str, tuple[str, str]]:
    """Controller ("memory", ..., or "" for v2) -> (mount point, mount root)."""
    found: dict[str, tuple[str, str]] = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            fields, (fstype, _source, options) = pre.split(), post.split()[:3]
            if fstype == "cgroup":
                for name in set(options.split(",")) & set(CONTROLLERS):
                    found[name] = (fields[4], fields[3])
            elif fstype == "cgroup2":
                found.setdefault("", (fields[4], fields[3]))
    return found


def _own_paths() -> dict[str, str]:
    """Controller ("" for v2) -> this process's cgroup path."""
    paths = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, names, path = line.rstrip("\n").split(":", 2)
            for name in names.split(",") if names else [""]:
                paths[name] = path
    return paths


def _folder(mount: tuple[str, str], path: str) -> str:
    point, root = mount
    if root != "/" and path.startswith(root):
        path = path[len(root) :]
    return os.path.join(point, path.lstrip("/"))


@functools.cache
def parents() -> dict[str, str] | None:
    """Where sandbox cgroups go: controller -> writable folder, or None if not allowed here.

    v1 gives one folder per controller; v2 gives ``{"": folder}`` with the three
    controllers enabled for its children.
    """
    mounts, own = _mounts(), _own_paths()
    if all(c in mounts and c in own for c in CONTROLLERS):
        folders = {c: _folder(mounts[c], own[c]) for c in CONTROLLERS}
        if all(os.access(p, os.W_OK) for p in folders.values()):
            return folders
    if "" in mounts and "" in own:
        folder = _folder(mounts[""], own[""])
        try:
            with open(os.path.join(folder, "cgroup.subtree_control"), "w") as f:
                f.write(" ".join("+" + c for c in CONTROLLERS))
        except OSError:
            return None
        return {"": folder}
    return None


def available() -> bool:
    """Whether sandboxes can get cgroups on this host."""
    return parents() is not None


class Cgroup:
    """The cgroup(s) of one sandbox.

    Example:
        >>> if available():
        ...     group = Cgroup(Limits(memory_mb=64, disk_mb=16, pids=32))
        ...     group.procs(), group.remove()
        ... else:
        ...     [], None
        ([], None)
    """

    def __init__(self, limits: Limits) -> None:
        places = parents()
        assert places is not None, "check cgroups.available() first"
        name = f"agentgym-{uuid.uuid4().hex[:12]}"
        self.folders = [os.path.join(parent, name) for parent in places.values()]
        memory = (limits.memory_mb + limits.disk_mb) << 20  # tmpfs pages count as memory
        quota = max(1000, int(limits.cpus * _CPU_PERIOD_US))
        if "" in places:
            settings = {
                "memory.max": memory, "memory.swap.max": 0, "pids.max": limits.pids,
                "cpu.max": f"{quota} {_CPU_PERIOD_US}",
            }  # fmt: skip
        else:
            settings = {
                "memory.limit_in_bytes": memory, "memory.memsw.limit_in_bytes": memory,
                "pids.max": limits.pids, "cpu.cfs_period_us": _CPU_PERIOD_US,
                "cpu.cfs_quota_us": quota,
            }  # fmt: skip
        for folder in self.folders:
            os.mkdir(folder)
        try:
            for folder in self.folders:
                for key, value in settings.items():
                    path = os.path.join(folder, key)
                    if os.path.exists(path):
                        with open(path, "w") as f:
                            f.write(str(value))
        except BaseException:
            self.remove()
            raise

    def attach(self, pid: int) -> None:
        """Move process ``pid`` (before it forks) into the sandbox's cgroup(s)."""
        for folder in self.folders:
            with open(os.path.join(folder, "cgroup.procs"), "w") as f:
                f.write(str(pid))

    def procs(self) -> list[int]:
        """Pids of every process still in the cgroup."""
        pids: set[int] = set()
        for folder in self.folders:
            try:
                with open(os.path.join(folder, "cgroup.procs")) as f:
                    pids.update(int(line) for line in f if line.strip())
            except FileNotFoundError:
                pass
        return sorted(pids)

    def remove(self, wait_s: float = 5.0) -> None:
        """SIGKILL whatever is left, wait until the cgroup is empty, and delete it."""
        deadline = time.monotonic() + wait_s
        while (pids := self.procs()) and time.monotonic() < deadline:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.005)
        for folder in self.folders:
            with contextlib.suppress(FileNotFoundError):
                os.rmdir(folder)
