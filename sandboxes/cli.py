"""``agentgym sandbox ...``: build the Docker image, see which backends this host offers.

The lead's command line mounts :data:`app` as ``agentgym sandbox``.
"""

from __future__ import annotations

import os
import shutil

import typer

from agentgym.sandboxes import cgroups
from agentgym.sandboxes.image import DEFAULT_TAG

app = typer.Typer(help="Sandboxes: build the local Docker image, check the backends.", no_args_is_help=True)


@app.command("build-image")
def build_image(
    tag: str = typer.Option(DEFAULT_TAG, help="Name of the image to build."),
    dockerfile: str | None = typer.Option(
        None, help="Build from this Dockerfile (with no network) instead of from the host's /usr."
    ),
    base_url: str | None = typer.Option(
        None, help="Docker engine socket (default: DOCKER_HOST, else /var/run/docker.sock)."
    ),
) -> None:
    """Build the sandbox image locally; nothing is pulled from a registry."""
    from agentgym.sandboxes.docker import connect
    from agentgym.sandboxes.image import build_from_dockerfile, build_from_host

    client = connect(base_url)
    try:
        if dockerfile is None:
            image_id = build_from_host(client, tag)
            source = "a near-empty root filesystem + the host's /usr (read-only, at run time)"
        else:
            image_id = build_from_dockerfile(client, dockerfile, tag)
            source = dockerfile
    finally:
        client.close()
    typer.echo(f"built {tag} ({image_id[:19]}) from {source}")


@app.command("info")
def info() -> None:
    """Which sandbox backends and limit mechanisms this host offers."""
    rows = {
        "bwrap": shutil.which("bwrap") or "missing (apt-get install bubblewrap)",
        "cgroups": "writable (memory, pids, cpu)" if cgroups.available() else "not writable: rlimits",
        "dockerd": shutil.which("dockerd") or "missing (apt-get install docker.io)",
        "docker engine": os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"),
        "gVisor runsc": shutil.which("runsc") or "not installed (optional)",
    }
    for name, value in rows.items():
        typer.echo(f"{name:14} {value}")
