"""``agentgym train ALGORITHM``: the typer app the main command line mounts as ``train``.

Every algorithm of :mod:`.algorithms` gets a command with the same options;
its help lists every config key with its default and description. Errors are
one line (plus a hint line when there is one), without a traceback.

Example:
    >>> from typer.testing import CliRunner
    >>> result = CliRunner().invoke(app, ["gigpo", "--env", "guess", "--model", "/no/such/model"])
    >>> result.exit_code, result.output.splitlines()[0]
    (2, "error: model path '/no/such/model' does not exist")
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import typer

from agentgym.cli.rollout import RAY_HELP, RAY_RESOURCE_HELP, ray_settings
from agentgym.exceptions import AgentGymError, ConfigError
from agentgym.rollout import Summary
from agentgym.trainers.algorithms import ALGORITHMS
from agentgym.trainers.config import TrainConfig, build_config, config_help, load_yaml, read_config
from agentgym.trainers.evaluate import evaluate_run

app = typer.Typer(
    help="Train an agent on an environment: GiGPO (and its GRPO, RLOO and RFT presets), ArCHer, "
    "MCTS-DPO (and its Agent Q preset) or trajectory-level DPO.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def resolve_config(
    algorithm: str,
    *,
    env: str | None = None,
    model: str | None = None,
    config_file: str | Path | None = None,
    sets: Sequence[str] = (),
    out: str | Path | None = None,
    resume: bool = False,
    league: bool = False,
) -> tuple[TrainConfig, Path]:
    """The run's config and directory from the command's options.

    Layers, later winning: defaults, the algorithm's preset, ``config_file``,
    ``--env``/``--model``/``--league`` (a league section, at its defaults unless
    set), ``--set``. With ``resume`` the run's saved config is used; options given
    must agree with it. A ``resume`` of a run that never saved its config (killed
    during start-up: ``out`` absent or empty) starts it from the options, so the
    same command goes on after a kill at any point.
    """
    flags: dict[str, Any] = {}
    if env is not None:
        flags["env"] = env
    if model is not None:
        flags["model"] = {"name_or_path": model}
    if league:
        flags["league"] = {}
    layers = [load_yaml(config_file) if config_file else {}, flags, list(sets)]
    if resume:
        if out is None:
            raise ConfigError("--resume needs --out RUN_DIR (the run to continue)")
        run_dir = Path(out)
        unstarted = not (run_dir.exists() and any(run_dir.iterdir()))
        if unstarted and (config_file or flags or sets):
            return build_config(algorithm, *layers), run_dir
        if not (run_dir / "config.yaml").is_file():
            raise ConfigError(f"cannot resume: {str(run_dir)!r} has no config.yaml")
        saved = read_config(run_dir / "config.yaml")
        if saved.algorithm != algorithm:
            raise ConfigError(f"{str(run_dir)!r} is a {saved.algorithm} run, not {algorithm}")
        if config_file or flags or sets:
            given = build_config(algorithm, saved.model_dump(mode="json"), *layers)
            changed = _differences(saved.model_dump(mode="json"), given.model_dump(mode="json"))
            if changed:
                raise ConfigError(
                    f"--resume continues the saved config, but these options change it: {', '.join(changed)}"
                )
        return saved, run_dir
    config = build_config(algorithm, *layers)
    name = config.env.rsplit("/", 1)[-1].lower()
    return config, Path(out) if out else Path("runs") / f"{algorithm}-{name}-{time.strftime('%Y%m%d-%H%M%S')}"


def train(algorithm: str, **options: Any) -> Summary:
    """Resolve the config (see :func:`resolve_config`) and run the trainer; the last evaluation."""
    from agentgym.trainers.trainer import Trainer

    config, run_dir = resolve_config(algorithm, **options)
    return Trainer(config, run_dir, resume=options.get("resume", False)).run()


def _differences(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key), b.get(key)
        if isinstance(x, dict) and isinstance(y, dict) and key != "env_kwargs":
            out += _differences(x, y, f"{prefix}{key}.")
        elif x != y:
            out.append(f"{prefix}{key}")
    return out


def _command(algorithm: str) -> Callable[..., None]:
    def command(
        env: str = typer.Option(None, "--env", metavar="ENV", help="Env id or alias (e.g. guess, alfworld)."),
        model: str = typer.Option(
            None, "--model", metavar="PATH_OR_ID", help="Model directory or Hugging Face id."
        ),
        config: Path = typer.Option(None, "--config", metavar="YAML", help="YAML file of config sections."),
        sets: list[str] = typer.Option(
            [],
            "--set",
            metavar="KEY=VALUE",
            help="Override one key: --set algo.omega=0.5 (repeatable).",
        ),
        out: Path = typer.Option(
            None, "--out", metavar="RUN_DIR", help="Run directory (default: runs/ALGO-ENV-TIME)."
        ),
        resume: bool = typer.Option(
            False, "--resume", help="Continue the run in --out from its last checkpoint."
        ),
        league: bool = typer.Option(
            False,
            "--league",
            help="Multi-agent games: train against a league of bots and snapshots of the learner "
            "(--set league.KEY=VALUE; the keys are listed below).",
        ),
        nproc: int = typer.Option(
            1,
            "--nproc",
            min=1,
            metavar="N",
            help="Data-parallel processes on this machine (torch.distributed: gloo on CPU, NCCL on GPU).",
        ),
        ray: str = typer.Option(None, "--ray", metavar="ADDRESS", help=RAY_HELP),
        ray_resource: list[str] = typer.Option(
            [], "--ray-resource", metavar="KEY=AMOUNT", help=RAY_RESOURCE_HELP
        ),
        async_staleness: int = typer.Option(
            None,
            "--async-staleness",
            min=0,
            metavar="K",
            help="Roll out the next iterations while one trains, at most K updates behind "
            "(the config key async_staleness; 0 is synchronous). Old samples push like a larger "
            "step: lower optim.lr.",
        ),
        rollout: str = typer.Option(
            None,
            "--rollout",
            metavar="BACKEND",
            help="transformers (in-process) or vllm: sample through a vLLM server that gets the weights "
            "after each update (the config key rollout.backend; the server: rollout.vllm.*).",
        ),
    ) -> None:
        try:
            sets = [*sets, *ray_sets(ray, ray_resource)]
            if async_staleness is not None:
                sets.append(f"async_staleness={async_staleness}")
            if rollout is not None:
                sets.append(f"rollout.backend={rollout}")
            config_, run_dir = resolve_config(
                algorithm,
                env=env,
                model=model,
                config_file=config,
                sets=sets,
                out=out,
                resume=resume,
                league=league,
            )
            if nproc > 1:
                raise typer.Exit(
                    _launch(algorithm, config_, run_dir, nproc, env, model, config, sets, resume)
                )
            with quiet_loading():
                from agentgym.trainers.trainer import Trainer

                trainer = Trainer(config_, run_dir, resume=resume)
                summary = trainer.run()
        except AgentGymError as err:
            fail(err)
        if not trainer.ranks.is_main:  # one line per run, not per data-parallel rank
            return
        rate, n = summary.success_rate, summary.episodes
        typer.echo(f"{run_dir}: {config_.eval.split} success {rate:.1%} over {n} episodes")

    command.__doc__ = ALGORITHMS[algorithm].summary
    return command


def ray_sets(address: str | None, resources: list[str]) -> list[str]:
    """``--ray`` and ``--ray-resource`` as the ``--set`` overrides of the rollout section.

    Example:
        >>> ray_sets("10.0.0.5:6379", ["sandbox=1"])
        ['rollout.workers=ray', 'rollout.ray={"address": "10.0.0.5:6379", "resources": {"sandbox": 1}}']
    """
    if address is None and not resources:
        return []
    ray = ray_settings(address, resources)["ray"]
    return ["rollout.workers=ray", f"rollout.ray={json.dumps(ray)}"]


def _launch(
    algorithm: str,
    config: TrainConfig,
    run_dir: Path,
    nproc: int,
    env: str | None,
    model: str | None,
    config_file: Path | None,
    sets: Sequence[str],
    resume: bool,
) -> int:
    """Run this command as ``nproc`` data-parallel ranks (:func:`.distributed.launch`); the exit status."""
    from agentgym.trainers.distributed import Ranks, launch

    Ranks(0, nproc).check_groups(ALGORITHMS[algorithm].needs(config.algo).task_groups)
    argv = [algorithm, "--out", str(run_dir), *(["--resume"] if resume else [])]
    argv += [*(["--env", env] if env else []), *(["--model", model] if model else [])]
    argv += [*(["--config", str(config_file)] if config_file else []), *(f"--set={s}" for s in sets)]
    return launch(argv, nproc)


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """No transformers progress bars ("Loading weights") under the trainer's own display."""
    from transformers.utils import logging

    shown = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        if shown:
            logging.enable_progress_bar()


def fail(err: AgentGymError) -> None:
    """Print an error as one line (and its hint under it), then exit with status 2."""
    typer.echo(f"error: {str(err).splitlines()[0]}", err=True)
    if err.hint:
        typer.echo(f"hint: {err.hint}", err=True)
    raise typer.Exit(2)


for _name in ALGORITHMS:
    app.command(_name, epilog="Config keys (--set KEY=VALUE):\n\n\b\n" + config_help(_name))(_command(_name))

__all__ = ["app", "evaluate_run", "quiet_loading", "resolve_config", "train"]

if __name__ == "__main__":
    app()
