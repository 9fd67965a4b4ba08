"""Sandbox images built locally, never pulled from a registry.

Two ways, both behind ``agentgym sandbox build-image``:

- from the host (default): a near-empty root filesystem (``/etc`` with a
  passwd naming uid 1000, the dynamic linker's cache and the alternatives
  links; empty ``/usr``, ``/workspace``, ``/tmp``) is imported as an image
  labelled ``agentgym.host-usr``; the Docker backend then mounts the host's
  ``/usr`` read-only, so the sandbox has the host's bash, python and git.
  Takes about a second and a few kB of disk.
- from a Dockerfile, built with ``network_mode="none"`` (its ``FROM`` image must
  already be on the engine).
"""

from __future__ import annotations

import io
import os
import tarfile
from typing import Any

from agentgym.exceptions import ConfigError
from agentgym.sandboxes.config import SANDBOX_UID
from agentgym.sandboxes.docker import LABEL_HOST_USR

DEFAULT_TAG = "agentgym-sandbox:latest"
_PASSWD = f"root:x:0:0:root:/root:/bin/bash\nagent:x:{SANDBOX_UID}:{SANDBOX_UID}:agent:/tmp:/bin/bash\n"
_GROUP = f"root:x:0:\nagent:x:{SANDBOX_UID}:\n"
_HOSTS = "127.0.0.1 localhost sandbox\n::1 localhost\n"


def host_rootfs() -> bytes:
    """The tar of the near-empty root filesystem that goes with the host's ``/usr``.

    Example:
        >>> names = tarfile.open(fileobj=io.BytesIO(host_rootfs())).getnames()
        >>> "etc/passwd" in names and "workspace" in names and "bin" in names
        True
    """
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:

        def add(
            name: str,
            *,
            mode: int = 0o755,
            data: bytes | None = None,
            link: str | None = None,
            uid: int = 0,
        ):
            info = tarfile.TarInfo(name)
            info.mode, info.uid, info.gid = mode, uid, uid
            if link is not None:
                info.type, info.linkname = tarfile.SYMTYPE, link
            elif data is None:
                info.type = tarfile.DIRTYPE
            else:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)

        for folder in ("usr", "etc", "proc", "dev", "sys", "sbin", "root", "run"):
            add(folder, mode=0o700 if folder == "root" else 0o755)
        add("tmp", mode=0o1777)
        add("workspace", uid=SANDBOX_UID)
        for top in ("bin", "lib", "lib32", "lib64", "libx32"):
            if os.path.isdir(os.path.join("/usr", top)):
                add(top, link=f"usr/{top}")
        add("etc/passwd", mode=0o644, data=_PASSWD.encode())
        add("etc/group", mode=0o644, data=_GROUP.encode())
        add("etc/hosts", mode=0o644, data=_HOSTS.encode())
        for name in ("ld.so.cache", "ld.so.conf"):
            if os.path.isfile(f"/etc/{name}"):
                with open(f"/etc/{name}", "rb") as f:
                    add(f"etc/{name}", mode=0o644, data=f.read())
        if os.path.isdir("/etc/alternatives"):  # Debian's /usr/bin links go through here
            add("etc/alternatives")
            for name in sorted(os.listdir("/etc/alternatives")):
                path = f"/etc/alternatives/{name}"
                if os.path.islink(path):
                    add(f"etc/alternatives/{name}", link=os.readlink(path))
    return buf.getvalue()


def build_from_host(client: Any, tag: str = DEFAULT_TAG) -> str:
    """Import :func:`host_rootfs` as ``tag``; returns the image id."""
    repository, _, version = tag.partition(":")
    answer = client.api.import_image_from_data(
        host_rootfs(),
        repository=repository,
        tag=version or "latest",
        changes=[f"LABEL {LABEL_HOST_USR}=/usr"],
    )
    return client.images.get(tag).id if answer else ""


def build_from_dockerfile(client: Any, dockerfile: str, tag: str = DEFAULT_TAG) -> str:
    """``docker build`` with no network and no pull; returns the image id."""
    if not os.path.isfile(dockerfile):
        raise ConfigError(f"no Dockerfile at {dockerfile!r}; give the path of an existing file")
    folder = os.path.dirname(os.path.abspath(dockerfile))
    image, _ = client.images.build(
        path=folder,
        dockerfile=os.path.basename(dockerfile),
        tag=tag,
        network_mode="none",
        pull=False,
        rm=True,
    )
    return image.id
