"""The local backend: a plain shell in a temporary folder. DEVELOPMENT ONLY.

It isolates nothing: commands run as you, see your files, your network and
every process on the host. It keeps the runtime API (session, timeout with the
kill of everything the command started in its session, output cap, the
workspace file API) so that code can be written on a machine without
bubblewrap or Docker. Absolute paths refer to the host, so ``workdir`` is the
temporary folder, not ``/workspace``. Creating one warns once per process.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import warnings

from agentgym.sandboxes.config import BASE_ENV, LocalConfig
from agentgym.sandboxes.session import SessionSandbox, ShellSession, output_pipes, session_script
from agentgym.sandboxes.workspace import HostWorkspace, pack_folder

_warned = False


def _warn_once() -> None:
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(
            "the local sandbox backend isolates nothing (development only); use 'bwrap' or 'docker'",
            RuntimeWarning,
            stacklevel=4,
        )


class LocalSandbox(SessionSandbox):
    """A shell session in a temporary folder on the host (development only, unsafe).

    Example:
        >>> import warnings
        >>> warnings.simplefilter("ignore")
        >>> with LocalSandbox(LocalConfig()) as sb:
        ...     sb.write_file("a.txt", "hi")
        ...     sb.exec("cat a.txt").stdout
        'hi'
    """

    backend = "local"

    def __init__(self, config: LocalConfig) -> None:
        _warn_once()
        self.config, self.limits, self._lock, self._closed = (
            config,
            config.limits,
            threading.Lock(),
            False,
        )
        self.top = tempfile.mkdtemp(prefix="agentgym-local-")
        self.workdir = os.path.join(self.top, "workspace")
        state = os.path.join(self.top, "state")
        os.mkdir(self.workdir)
        os.mkdir(state)
        env = {
            **BASE_ENV,
            "PATH": os.environ.get("PATH", BASE_ENV["PATH"]),
            "HOME": state,
            "TMPDIR": state,
        }
        out_r, out_w, err_r, err_w = output_pipes()
        script = session_script(state, out_w, err_w, own_session=True)
        argv = ["/bin/bash", "--noprofile", "--norc", "-c", script]
        try:
            self.session = ShellSession(
                argv, {**env, **config.env}, out_r, err_r, (out_w, err_w), lambda pid: None,
                lambda pid: pid, name="local sandbox", cwd=self.workdir,
            )  # fmt: skip
            self.workspace = HostWorkspace(os.open(self.workdir, os.O_PATH), "/", owner=None)
            if config.workdir is not None:
                self.restore(pack_folder(config.workdir))
        except BaseException:
            self.close()
            raise

    def _path(self, path: str) -> str:
        """Absolute paths are host paths here; the workspace helper wants them relative."""
        return os.path.relpath(path, self.workdir) if os.path.isabs(path) else path

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if hasattr(self, "session"):
            self.session.kill()  # the shell's process group: whatever left it survives
        if hasattr(self, "workspace"):
            self.workspace.close()
        shutil.rmtree(self.top, ignore_errors=True)
