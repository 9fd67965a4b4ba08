"""Host-side file access to a sandbox's workspace that no symlink can lead astray.

The host process is often root and the workspace is written by an adversary, so
every path is resolved by the kernel with ``openat2(RESOLVE_IN_ROOT)`` against
the sandbox's own root (absolute symlinks mean what they mean inside the
sandbox), opened ``O_PATH`` first, and checked to lie on the workspace's mount
(same ``st_dev``) before anything is read or written. New files are created with
``O_NOFOLLOW`` in a parent directory that passed the same check. Snapshots walk
directory file descriptors and never follow a symlink, so a path swapped while
we walk cannot take us out of the workspace. And every operation runs with the
sandbox's own host uid as the thread's file-system uid (``setfsuid``), so even
then the host could do no more than the sandbox itself.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import io
import os
import posixpath
import stat
import tarfile

from agentgym.exceptions import ConfigError

_SYS_OPENAT2 = 437  # the same number on every Linux architecture
_RESOLVE_NO_MAGICLINKS = 0x02
_RESOLVE_IN_ROOT = 0x10
_MAX_DEPTH = 200
_libc = ctypes.CDLL(None, use_errno=True)


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


def openat2_in_root(root_fd: int, path: str, flags: int) -> int:
    """``openat2(root_fd, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)``."""
    how = _OpenHow(flags | os.O_CLOEXEC, 0, _RESOLVE_IN_ROOT | _RESOLVE_NO_MAGICLINKS)
    fd = _libc.syscall(_SYS_OPENAT2, root_fd, os.fsencode(path), ctypes.byref(how), ctypes.sizeof(how))
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{os.strerror(err)}: {path}")
    return fd


def inside(workdir: str, path: str) -> str:
    """The absolute path of ``path`` (relative to ``workdir``, or absolute under it), lexically.

    Example:
        >>> inside("/workspace", "src/../a.py"), inside("/workspace", "/workspace/b")
        ('/workspace/a.py', '/workspace/b')
        >>> inside("/workspace", "../etc/passwd")
        Traceback (most recent call last):
        ...
        agentgym.exceptions.ConfigError: path '../etc/passwd' is outside the workspace; give a path inside it
    """
    full = posixpath.normpath(posixpath.join(workdir, path))
    escapes = not posixpath.isabs(path) and posixpath.normpath(path).split("/")[0] == ".."
    if escapes or (full != workdir and not full.startswith(workdir.rstrip("/") + "/")):
        raise ConfigError(f"path {path!r} is outside the workspace; give a path inside it")
    return full


def check_snapshot(handle: bytes) -> None:
    """Refuse, before anything is deleted, bytes that are not a tar archive.

    Example:
        >>> check_snapshot(b"junk")
        Traceback (most recent call last):
        ...
        agentgym.exceptions.ConfigError: not a workspace snapshot (a tar); pass bytes from Sandbox.snapshot()
    """
    try:
        with tarfile.open(fileobj=io.BytesIO(handle), mode="r:") as tar:
            tar.next()
    except tarfile.TarError:
        raise ConfigError("not a workspace snapshot (a tar); pass bytes from Sandbox.snapshot()") from None


def _owned(method):
    """Run ``method`` as the sandbox's uid on files (see :meth:`HostWorkspace.as_owner`)."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self.as_owner():
            return method(self, *args, **kwargs)

    return wrapper


class HostWorkspace:
    """The workspace folder of one sandbox, reached from the host through file descriptors.

    Args:
        root_fd: a directory fd for the sandbox's ``/`` (kept open; closed by :meth:`close`).
        workdir: the workspace's absolute path inside the sandbox, e.g. ``"/workspace"``.
        owner: host ``(uid, gid)`` the sandbox runs as, taken as this thread's file-system
            uid and gid during each operation; None when that is already us.

    Example:
        >>> import tempfile
        >>> top = tempfile.mkdtemp()
        >>> ws = HostWorkspace(os.open(top, os.O_PATH), "/", owner=None)
        >>> ws.write_file("a/b.txt", b"hi")
        >>> ws.read_file("/a/b.txt"), ws.list_dir("a")
        (b'hi', ['b.txt'])
        >>> ws.close()
    """

    def __init__(self, root_fd: int, workdir: str, owner: tuple[int, int] | None) -> None:
        self.root_fd, self.workdir, self.owner = root_fd, workdir, owner
        self.ws_fd = openat2_in_root(root_fd, workdir, os.O_PATH | os.O_DIRECTORY)
        self.dev = os.fstat(self.ws_fd).st_dev

    def close(self) -> None:
        for fd in (self.ws_fd, self.root_fd):
            os.close(fd)

    @contextlib.contextmanager
    def as_owner(self):
        """Act as the sandbox's uid and gid on files, in this thread only."""
        if self.owner is None:
            yield
            return
        _libc.setfsgid(self.owner[1])
        _libc.setfsuid(self.owner[0])
        try:
            yield
        finally:
            _libc.setfsuid(os.geteuid())
            _libc.setfsgid(os.getegid())

    # --- paths ------------------------------------------------------------------
    def inside(self, path: str) -> str:
        return inside(self.workdir, path)

    def _resolve(self, path: str, flags: int = 0) -> int:
        """An ``O_PATH`` fd for ``path``, checked to lie on the workspace mount."""
        fd = openat2_in_root(self.root_fd, self.inside(path), os.O_PATH | flags)
        if os.fstat(fd).st_dev != self.dev:
            os.close(fd)
            raise PermissionError(f"{path!r} leads outside {self.workdir} (through a symlink)")
        return fd

    def _reopen(self, fd: int, flags: int) -> int:
        try:
            return os.open(f"/proc/self/fd/{fd}", flags | os.O_CLOEXEC)
        finally:
            os.close(fd)

    # --- files --------------------------------------------------------------------
    @_owned
    def read_file(self, path: str) -> bytes:
        fd = self._resolve(path)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise IsADirectoryError(f"{path!r} is not a regular file")
        with open(self._reopen(fd, os.O_RDONLY), "rb") as f:
            return f.read()

    @_owned
    def list_dir(self, path: str = ".") -> list[str]:
        fd = self._reopen(self._resolve(path, os.O_DIRECTORY), os.O_RDONLY | os.O_DIRECTORY)
        try:
            return sorted(os.listdir(fd))
        finally:
            os.close(fd)

    @_owned
    def write_file(self, path: str, data: bytes | str) -> None:
        if isinstance(data, str):
            data = data.encode()
        full = self.inside(path)
        try:
            fd = self._resolve(full)
        except FileNotFoundError:
            parent = self._mkdirs(posixpath.dirname(full))
            try:
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
                fd = os.open(posixpath.basename(full), flags, 0o644, dir_fd=parent)
            finally:
                os.close(parent)
        else:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                raise IsADirectoryError(f"{path!r} exists and is not a regular file")
            fd = self._reopen(fd, os.O_WRONLY | os.O_TRUNC)
        with open(fd, "wb") as f:
            f.write(data)

    def _mkdirs(self, folder: str) -> int:
        """A checked directory fd of ``folder`` (absolute, inside), creating missing parts."""
        try:
            return self._resolve(folder, os.O_DIRECTORY)
        except FileNotFoundError:
            parent = self._mkdirs(posixpath.dirname(folder))
        try:
            name = posixpath.basename(folder)
            os.mkdir(name, 0o755, dir_fd=parent)
            return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
        finally:
            os.close(parent)

    # --- snapshots ------------------------------------------------------------------
    @_owned
    def snapshot(self) -> bytes:
        """A tar of the workspace (regular files, folders and symlinks; names relative to it)."""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
            top = self._reopen(os.dup(self.ws_fd), os.O_RDONLY | os.O_DIRECTORY)
            try:
                _pack(tar, top, "", 0)
            finally:
                os.close(top)
        return buf.getvalue()

    @_owned
    def restore(self, handle: bytes) -> None:
        """Empty the workspace, then unpack ``handle`` (a tar from :meth:`snapshot`) into it."""
        check_snapshot(handle)
        self._clear()
        with tarfile.open(fileobj=io.BytesIO(handle), mode="r:") as tar:
            for member in tar:
                name = posixpath.normpath(member.name.lstrip("/"))
                if name == "." or name.startswith(".."):
                    continue
                full = posixpath.join(self.workdir, name)
                if member.isdir():
                    os.close(self._mkdirs(full))
                    continue
                parent = self._mkdirs(posixpath.dirname(full))
                try:
                    self._unpack_one(tar, member, parent, posixpath.basename(full))
                finally:
                    os.close(parent)

    def _unpack_one(self, tar: tarfile.TarFile, member: tarfile.TarInfo, parent: int, name: str) -> None:
        if member.issym():
            os.symlink(member.linkname, name, dir_fd=parent)
            return
        source = tar.extractfile(member)  # regular files and hard links
        if source is None:
            return  # devices, fifos: never restored
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(name, flags, member.mode & 0o777, dir_fd=parent)
        with open(fd, "wb") as f:
            while chunk := source.read(1 << 20):
                f.write(chunk)
            os.utime(f.fileno(), (member.mtime, member.mtime))

    @_owned
    def clear(self) -> None:
        """Remove everything in the workspace (not the folder itself)."""
        self._clear()

    def _clear(self) -> None:
        top = self._reopen(os.dup(self.ws_fd), os.O_RDONLY | os.O_DIRECTORY)
        try:
            _clear(top, 0)
        finally:
            os.close(top)


def _subdir(dir_fd: int, name: str, depth: int) -> int:
    if depth >= _MAX_DEPTH:
        raise OSError(f"workspace folders nest deeper than {_MAX_DEPTH} levels")
    return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)


def _pack(tar: tarfile.TarFile, dir_fd: int, prefix: str, depth: int) -> None:
    for entry in sorted(os.scandir(dir_fd), key=lambda e: e.name):
        info = tarfile.TarInfo(prefix + entry.name)
        st = entry.stat(follow_symlinks=False)
        info.mode, info.mtime, info.uid, info.gid = (
            stat.S_IMODE(st.st_mode),
            int(st.st_mtime),
            1000,
            1000,
        )
        if stat.S_ISDIR(st.st_mode):
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
            sub = _subdir(dir_fd, entry.name, depth + 1)
            try:
                _pack(tar, sub, info.name + "/", depth + 1)
            finally:
                os.close(sub)
        elif stat.S_ISLNK(st.st_mode):
            info.type, info.linkname = tarfile.SYMTYPE, os.readlink(entry.name, dir_fd=dir_fd)
            tar.addfile(info)
        elif stat.S_ISREG(st.st_mode):
            flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
            with open(os.open(entry.name, flags, dir_fd=dir_fd), "rb") as f:
                info.size = os.fstat(f.fileno()).st_size
                tar.addfile(info, f)


def _clear(dir_fd: int, depth: int) -> None:
    for entry in os.scandir(dir_fd):
        if entry.is_dir(follow_symlinks=False):
            sub = _subdir(dir_fd, entry.name, depth + 1)
            try:
                os.fchmod(sub, 0o700)
                _clear(sub, depth + 1)
            finally:
                os.close(sub)
            os.rmdir(entry.name, dir_fd=dir_fd)
        else:
            os.unlink(entry.name, dir_fd=dir_fd)


def pack_folder(folder: str) -> bytes:
    """A tar of a trusted host folder, in the snapshot format (to seed a workspace).

    Example:
        >>> import tempfile
        >>> top = tempfile.mkdtemp()
        >>> open(os.path.join(top, "x.py"), "w").close()
        >>> tarfile.open(fileobj=io.BytesIO(pack_folder(top))).getnames()
        ['x.py']
    """
    if not os.path.isdir(folder):
        raise ConfigError(f"workdir {folder!r} is not a folder on the host; give an existing folder or None")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name in sorted(os.listdir(folder)):
            tar.add(os.path.join(folder, name), arcname=name)
    return buf.getvalue()
