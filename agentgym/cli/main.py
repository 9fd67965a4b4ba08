"""``agentgym``: envs, models, play, rollout, eval, replay, serve, serve-model, demo, tour, train, view.

Errors the user can fix print as one line (``error: …``) with a hint and exit
with status 2; no traceback unless ``AGENTGYM_DEBUG=1``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table
from typer.core import TyperCommand, TyperGroup
from typer.exceptions import TyperException

from agentgym.exceptions import AgentGymError, ConfigError
from agentgym.registry import load_entry_point

# Commands whose modules load only when they run (rollout pulls in numpy and pydantic, train
# torch): name -> (typer app or command function, the help that `agentgym --help` lists).
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "play": (
        "agentgym.cli.play:play",
        "Play an environment yourself: see each observation, the admissible actions and your reward.",
    ),
    "rollout": (
        "agentgym.cli.rollout:rollout",
        "Run a policy for some episodes, write trajectories as they finish, print a summary.",
    ),
    "eval": (
        "agentgym.cli.rollout:evaluate",
        "Evaluate a policy on a split (default: a task file's ``all``, else test), one copy per task.",
    ),
    "sandbox": ("agentgym.sandboxes.cli:app", "Sandboxes: build the local Docker image, check the backends."),
    "swe": (
        "agentgym.environments.swe.cli:app",
        "SWE tasks: make them from real projects with injected bugs, and validate them.",
    ),
    "train": (
        "agentgym.trainers.cli:app",
        "Train an agent on an environment: GiGPO (and its GRPO, RLOO and RFT presets), ArCHer, "
        "MCTS-DPO (and its Agent Q preset) or trajectory-level DPO.",
    ),
}


def load_command(target: str) -> TyperCommand | TyperGroup:
    """The command that ``target`` of :data:`LAZY_COMMANDS` names, imported now.

    Example:
        >>> load_command(LAZY_COMMANDS["sandbox"][0]).list_commands(None)
        ['build-image', 'info']
    """
    obj = load_entry_point(target)
    if not isinstance(obj, typer.Typer):
        obj = typer.Typer()
        obj.command()(load_entry_point(target))
    return typer.main.get_command(obj)  # type: ignore[return-value]


class _LazyCommand(TyperCommand):
    """Listed by ``--help`` from its name and help alone; its module is imported when it runs."""

    def __init__(self, name: str, target: str, help: str) -> None:
        super().__init__(name, help=help)
        self.target = target

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        return load_command(self.target).make_context(info_name, args, parent=parent, **extra)


class _Commands(TyperGroup):
    """The ``agentgym`` group: :data:`LAZY_COMMANDS` first, then the commands defined here."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        lazy = {name: _LazyCommand(name, target, help) for name, (target, help) in LAZY_COMMANDS.items()}
        self.commands = {**lazy, **self.commands}


app = typer.Typer(
    name="agentgym",
    cls=_Commands,
    help="Multi-turn text environments, sandboxes and trainers for LLM agents.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.command()
def envs() -> None:
    """List every registered environment."""
    import agentgym

    table = Table("aliases", "kind", "description")
    table.columns.insert(0, Column("id", no_wrap=True))
    for env in agentgym.list_envs():
        kind = "multi-agent" if env.multiagent else "single-agent"
        table.add_row(env.id, ", ".join(env.aliases), kind, env.description)
    Console(width=max(Console().width, 150)).print(table)


@app.command()
def replay(
    file: Annotated[Path, typer.Argument(help="JSONL file of trajectories (from rollout --out).")],
    index: Annotated[int | None, typer.Option(min=0, help="Replay only this trajectory (0-based).")] = None,
) -> None:
    """Re-run recorded actions; print the first step that differs, one line per trajectory.

    Exits 1 when a trajectory differs, 2 when the installed env's version or the
    task data is not the recorded one.
    """
    from agentgym.records import load_trajectories
    from agentgym.replay import replay as replay_one

    trajectories = load_trajectories(file)
    if index is not None and index >= len(trajectories):
        raise ConfigError(f"--index {index} is out of range: {file} holds {len(trajectories)} trajectories")
    chosen = [index] if index is not None else range(len(trajectories))
    differs = 0
    for i in chosen:
        traj = trajectories[i]
        difference = replay_one(traj)
        differs += difference is not None
        where = f"{file}:{i} {traj.env_id} {traj.split} task {traj.task_id} seed {traj.seed}"
        print(f"{where}: {difference or f'same ({len(traj.steps)} steps)'}")
    if differs:
        raise typer.Exit(1)


@app.command()
def models(
    build: Annotated[
        list[str] | None, typer.Option(help="Build this model's folder now (name or alias; repeatable).")
    ] = None,
) -> None:
    """List the models available offline: a name or alias works wherever a model path does."""
    from agentgym.policies.models import OFFLINE_MODELS, offline_model
    from agentgym.policies.models import build as build_model

    for name in build or []:
        model = offline_model(name)
        if model is None:
            raise ConfigError(f"unknown offline model {name!r}", hint="`agentgym models` lists them")
        Console(stderr=True).print(f"{model.name}: {build_model(model)}")
    table = Table("name", "alias", "params", "folder", "status", "description")
    for model in OFFLINE_MODELS:
        if model.built:
            status = "built"
        elif model.installed:
            status = f"builds on first use (or: agentgym models --build {model.alias})"
        else:
            status = f"not installed: {model.install_command}"
        table.add_row(model.name, model.alias, model.params, str(model.folder), status, model.description)
    Console(width=max(Console().width, 150)).print(table)


@app.command()
def serve(
    env: Annotated[list[str] | None, typer.Argument(help="Envs to offer (default: all).")] = None,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    max_sessions: Annotated[int, typer.Option(help="Sessions open at once.")] = 256,
    idle_ttl: Annotated[float, typer.Option(help="Close sessions idle this many seconds.")] = 600.0,
    max_request_bytes: Annotated[int, typer.Option(help="Largest request body.")] = 1 << 20,
    allow_kwarg: Annotated[
        list[str] | None,
        typer.Option(help="Constructor argument clients may set beyond each env's own safe ones."),
    ] = None,
    kw: Annotated[
        list[str] | None,
        typer.Option(help="Constructor argument KEY=VALUE given to every env; clients cannot change it."),
    ] = None,
    step_timeout: Annotated[
        float, typer.Option(help="Longest env call in seconds; an overrun closes its session.")
    ] = 30.0,
) -> None:
    """Serve environments as sessions over HTTP and a WebSocket (RemoteEnv is the client)."""
    import uvicorn

    from agentgym.cli.options import parse_kwargs
    from agentgym.server.app import create_app

    asgi = create_app(
        env or None,
        max_sessions=max_sessions,
        idle_ttl_s=idle_ttl,
        max_request_bytes=max_request_bytes,
        allow_kwargs=allow_kwarg or (),
        fixed_kwargs=parse_kwargs(kw),
        step_timeout_s=step_timeout,
    )
    uvicorn.run(asgi, host=host, port=port, log_level="warning")


@app.command("serve-model")
def serve_model(
    model: Annotated[str, typer.Argument(help="Model directory or Hugging Face id.")],
    name: Annotated[str | None, typer.Option(help="Model name clients ask for (default: MODEL).")] = None,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8001,
    device: Annotated[str | None, typer.Option(help="cpu, cuda, cuda:1 ... (default: cpu).")] = None,
    max_batch: Annotated[int, typer.Option(help="Requests batched into one generation.")] = 32,
) -> None:
    """Serve a transformers model as an OpenAI-compatible chat-completions endpoint."""
    import uvicorn

    from agentgym.policies.hf import TransformersPolicy
    from agentgym.server.model_server import create_model_app

    policy = TransformersPolicy(model, device=device)
    asgi = create_model_app(policy, model_name=name or model, max_batch=max_batch)
    uvicorn.run(asgi, host=host, port=port, log_level="warning")


@app.command()
def demo(
    out: Annotated[
        str | None, typer.Option(help="New directory for models, run and report (default: runs/demo-TIME).")
    ] = None,
    config: Annotated[str | None, typer.Option(help="Demo YAML (default: the ALFWorld demo).")] = None,
) -> None:
    """Clone an expert into a tiny model, train it with GiGPO on small ALFWorld tasks; report in HTML."""
    import time

    from agentgym.trainers.cli import quiet_loading
    from agentgym.trainers.demo import run_demo

    with quiet_loading():
        report = run_demo(out or f"runs/demo-{time.strftime('%Y%m%d-%H%M%S')}", config=config)
    Console(stderr=True).print(f"report: {report}")


@app.command()
def view(
    paths: Annotated[
        list[str], typer.Argument(help="Run directories, folders of runs, rollout JSONL files.")
    ],
    port: Annotated[int, typer.Option(help="Port to serve on (127.0.0.1 only).")] = 8765,
    export: Annotated[
        str | None, typer.Option(help="Write one self-contained HTML file here instead of serving.")
    ] = None,
) -> None:
    """Runs, learning curves and trajectories in the browser (serves on 127.0.0.1)."""
    if export:
        from agentgym.view import write_export

        Console(stderr=True).print(f"export: {write_export(paths, export)}")
        return
    import uvicorn

    from agentgym.view import create_app

    asgi = create_app(paths)
    Console(stderr=True).print(f"agentgym view: http://127.0.0.1:{port}/  (Ctrl-C stops it)")
    uvicorn.run(asgi, host="127.0.0.1", port=port, log_level="warning")


@app.command()
def tour(
    out: Annotated[str, typer.Option(help="Where trajectories go.")] = "runs/tour",
    episodes: Annotated[int, typer.Option(min=1, help="Episodes per env and policy.")] = 4,
    model: Annotated[
        list[str] | None, typer.Option(help="A model that also plays, zero-shot: e.g. smollm2 (repeatable).")
    ] = None,
) -> None:
    """Roll out the expert, an untrained model and any --model on every environment; print a table."""
    from agentgym.tour import run_tour

    run_tour(out, episodes=episodes, models=model or ())


def main() -> None:
    """Entry point of the ``agentgym`` script."""
    console = Console(stderr=True)
    try:
        code = app(prog_name="agentgym", standalone_mode=False)
    except typer.Abort:
        console.print("aborted")
        code = 130
    except typer.Exit as err:
        code = err.exit_code
    except TyperException as err:  # usage errors: bad options, missing arguments
        show = getattr(err, "show", None)
        show() if show else console.print(f"error: {err.format_message()}")
        code = err.exit_code
    except AgentGymError as err:
        _fail(console, str(err), err.hint)
        code = 2
    except (FileNotFoundError, PermissionError, IsADirectoryError) as err:
        _fail(console, str(err), None)
        code = 2
    except Exception as err:
        # pydantic is imported only by the commands that use it: a ValidationError means pydantic is loaded.
        pydantic = sys.modules.get("pydantic")
        if pydantic is not None and isinstance(err, pydantic.ValidationError):
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            _fail(console, f"invalid value for {where}: {first['msg']}", None)
            code = 2
        elif os.environ.get("AGENTGYM_DEBUG") == "1":
            raise
        else:
            _fail(
                console,
                f"internal error: {type(err).__name__}: {err}",
                "rerun with AGENTGYM_DEBUG=1 for the traceback",
            )
            code = 1
    sys.exit(code if isinstance(code, int) else 0)


def _fail(console: Console, message: str, hint: str | None) -> None:
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    if hint:
        console.print(f"[bold]hint:[/] {escape(hint)}", highlight=False, soft_wrap=True)


__all__ = ["app", "main"]
