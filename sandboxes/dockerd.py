"""A private Docker engine for tests, benchmarks and CI: started here, stopped by pid.

Everything it owns lives in one temporary folder (data root, exec root, socket,
pid file, log). It has no default bridge (``--bridge=none``) and never touches
iptables, so no container it runs can reach a network; the sandboxes use
``network_mode="none"`` on top of that. gVisor's ``runsc`` is registered as a
runtime when it is installed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time

from agentgym.exceptions import MissingDependencyError


class PrivateDockerd:
    """``dockerd`` in a temporary folder; a context manager.

    Example:
        >>> with PrivateDockerd() as engine:  # doctest: +SKIP
        ...     engine.base_url.startswith("unix://")
        True
    """

    def __init__(self, folder: str | None = None) -> None:
        binary = shutil.which("dockerd")
        if binary is None:
            raise MissingDependencyError(
                "dockerd is not installed; install it with `apt-get install docker.io`"
            )
        self.folder = folder or tempfile.mkdtemp(prefix="agentgym-dockerd-")
        self.socket = os.path.join(self.folder, "docker.sock")
        self.base_url = f"unix://{self.socket}"
        self.argv = [
            binary, "--data-root", os.path.join(self.folder, "data"),
            "--exec-root", os.path.join(self.folder, "exec"), "-H", self.base_url,
            "--pidfile", os.path.join(self.folder, "docker.pid"), "--bridge=none",
            "--iptables=false", "--ip6tables=false", "--log-level=warn",
        ]  # fmt: skip
        if runsc := shutil.which("runsc"):
            self.argv += ["--add-runtime", f"runsc={runsc}"]
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def has_runsc(self) -> bool:
        return any(arg.startswith("runsc=") for arg in self.argv)

    def start(self, timeout_s: float = 60.0) -> PrivateDockerd:
        """Start the engine and wait until it answers."""
        from agentgym.sandboxes.docker import connect

        log = open(os.path.join(self.folder, "dockerd.log"), "ab")  # noqa: SIM115 (closed with the engine)
        self.proc = subprocess.Popen(self.argv, stdout=log, stderr=log, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                raise MissingDependencyError(f"dockerd exited at start; see {self.folder}/dockerd.log")
            if os.path.exists(self.socket):
                try:
                    connect(self.base_url).close()
                    return self
                except MissingDependencyError:
                    pass
            if time.monotonic() > deadline:
                self.stop()
                raise MissingDependencyError(
                    f"dockerd did not answer in {timeout_s:.0f} s; see {self.folder}"
                )
            time.sleep(0.1)

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM dockerd by pid (it stops its containers and its containerd), else SIGKILL."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None
        with open("/proc/self/mountinfo") as f:
            mounted = any(line.split()[4].startswith(self.folder + "/") for line in f)
        if not mounted:  # never delete through a mount a killed engine left behind
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PrivateDockerd:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
