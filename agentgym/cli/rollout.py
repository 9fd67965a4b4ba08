"""``agentgym rollout`` and ``agentgym eval``: run a policy on an environment and summarise."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from agentgym.cli.options import changed_options, model_options, parse_kwargs
from agentgym.exceptions import AgentGymError, ConfigError
from agentgym.policies.base import SamplingParams
from agentgym.rollout import EnvFactory, RolloutConfig, RolloutEngine, Summary, group_episodes

POLICY_HELP = (
    "expert, random, noop, hf:MODEL, vllm:MODEL (a folder, an offline model of `agentgym models`, "
    "or a hub id) or openai:URL (with --model)."
)
RAY_HELP = "Ray cluster to join (HOST:PORT or ray://HOST:PORT): envs run as actors on its nodes."
RAY_RESOURCE_HELP = "With --ray: a custom resource KEY=AMOUNT each env actor needs, e.g. sandbox=1."
if TYPE_CHECKING:
    from agentgym.trainers.mcts import SearchConfig

SEARCH_HELP = "none (play each step once) or mcts (search from every state, Agent Q's test-time search)."
SIMULATIONS_HELP = "With --search mcts: simulations from each state before committing to a step."
SEARCH_OPTION_HELP = (
    "With --search mcts: a tree search setting KEY=VALUE, e.g. k=3 or lookahead=1 (repeatable). "
    "A training run searches with its own settings unless these replace them."
)
SERVER_HELP = "Env server URL: run envs remotely. Repeat it or separate URLs by commas to spread sessions."


ROLLOUT = RolloutConfig()
"""The options of ``agentgym rollout`` (generated from :class:`RolloutConfig`: defaults and help)."""
EVAL = RolloutConfig(sampling=SamplingParams(temperature=0.0))
"""The options of ``agentgym eval``: the same, greedy (evaluation plays the policy's best reply)."""


@model_options(ROLLOUT, skip={"ray"})
def rollout(
    env: Annotated[str, typer.Argument(help="Environment id or alias (see `agentgym envs`).")],
    config: RolloutConfig,
    policy: Annotated[str, typer.Option(help=POLICY_HELP)] = "expert",
    episodes: Annotated[int, typer.Option(min=1, help="Tasks to run (each --group-size times).")] = 10,
    out: Annotated[Path | None, typer.Option(help="JSONL file the trajectories are appended to.")] = None,
    split: Annotated[str, typer.Option(help="train, valid or test.")] = "train",
    seed: Annotated[
        int, typer.Option(help="Seed of the first episode (then +1 per task) and of the policy's sampler.")
    ] = 0,
    group_size: Annotated[int, typer.Option(min=1, help="Copies of each task with the same seed.")] = 1,
    model: Annotated[str | None, typer.Option(help="Model name for openai: policies.")] = None,
    server: Annotated[list[str] | None, typer.Option(help=SERVER_HELP)] = None,
    kw: Annotated[list[str] | None, typer.Option(help="Env constructor argument KEY=VALUE.")] = None,
    seat: Annotated[str, typer.Option(help="Multi-agent games: the policy's seat, or 'random'.")] = "random",
    others: Annotated[str, typer.Option(help="Multi-agent games: bot for the other seats.")] = "random",
    ray: Annotated[str | None, typer.Option(help=RAY_HELP)] = None,
    ray_resource: Annotated[list[str] | None, typer.Option(help=RAY_RESOURCE_HELP)] = None,
) -> None:
    """Run a policy for some episodes, write trajectories as they finish, print a summary."""
    config = with_ray(config, ray, ray_resource)
    summary = run(
        env,
        policy,
        config,
        episodes=episodes,
        out=out,
        split=split,
        seed=seed,
        group_size=group_size,
        model=model,
        server=server,
        kw=kw,
        seat=seat,
        others=others,
    )
    report(f"{env} / {policy}", summary)


@model_options(EVAL, skip={"ray"})
def evaluate(
    target: Annotated[str, typer.Argument(help="An environment id/alias, or a training run directory.")],
    config: RolloutConfig,
    policy: Annotated[str | None, typer.Option(help=POLICY_HELP + " Default: expert.")] = None,
    episodes: Annotated[int, typer.Option(min=1, help="Tasks to evaluate on.")] = 50,
    split: Annotated[
        str | None, typer.Option(help="train, valid or test (default: all when the env has it, else test).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the first episode (default 0).")] = None,
    out: Annotated[Path | None, typer.Option(help="JSONL file for the trajectories.")] = None,
    model: Annotated[str | None, typer.Option(help="Model name for openai: policies.")] = None,
    server: Annotated[list[str] | None, typer.Option(help=SERVER_HELP)] = None,
    kw: Annotated[list[str] | None, typer.Option(help="Env constructor argument KEY=VALUE.")] = None,
    seat: Annotated[str, typer.Option(help="Multi-agent games: the policy's seat, or 'random'.")] = "random",
    others: Annotated[str, typer.Option(help="Multi-agent games: bot for the other seats.")] = "random",
    ray: Annotated[str | None, typer.Option(help=RAY_HELP)] = None,
    ray_resource: Annotated[list[str] | None, typer.Option(help=RAY_RESOURCE_HELP)] = None,
    search: Annotated[str, typer.Option(help=SEARCH_HELP)] = "none",
    simulations: Annotated[int | None, typer.Option(help=SIMULATIONS_HELP)] = None,
    search_option: Annotated[list[str] | None, typer.Option(help=SEARCH_OPTION_HELP)] = None,
) -> None:
    """Evaluate a policy on a split (default: a task file's ``all``, else test), one copy per task.

    TARGET is an environment (the policy plays greedily) or the directory of an
    ``agentgym train`` run (its latest checkpoint plays with the run's own prompt
    and evaluation settings). With ``--search mcts`` the policy does not play its
    replies directly: from every state it searches a tree of ``--simulations``
    simulations over env snapshots and plays the most visited reply. A run of a
    search algorithm (mcts-dpo, agent-q) searches with its own settings
    (``algo.search``), other targets with the defaults; ``--simulations`` and
    ``--search-option`` replace single settings.
    """
    options = search_options(search, simulations, search_option)
    if Path(target).is_dir():
        from agentgym.trainers.cli import quiet_loading
        from agentgym.trainers.evaluate import evaluate_run

        changed = changed_options(config, EVAL)
        if policy is not None or model is not None or kw or seed is not None or ray is not None or server:
            changed += ["--policy, --model, --kw, --seed, --server and --ray"]
        if changed:
            raise ConfigError(
                f"{target!r} is a training run: it is evaluated with its own checkpoint, env, prompt, "
                "sampling and evaluation settings",
                hint=f"drop {', '.join(changed)}",
            )
        split = split or "test"
        with quiet_loading():
            summary = evaluate_run(target, split=split, episodes=episodes, out=out, search=options)
        report(f"{target} ({split})", summary)
        return
    from agentgym.trainers.mcts import search_config

    config = with_ray(config, ray, ray_resource)
    policy = policy or "expert"
    split = split or _default_split(_factory(target, kw, server))
    summary = run(
        target,
        policy,
        config,
        episodes=episodes,
        out=out,
        split=split,
        seed=seed or 0,
        model=model,
        server=server,
        kw=kw,
        seat=seat,
        others=others,
        search=None if options is None else search_config(options),
    )
    report(f"{target} / {policy} ({split})", summary)


def search_options(search: str, simulations: int | None, options: list[str] | None) -> dict[str, Any] | None:
    """The tree search settings that ``--simulations`` and ``--search-option`` replace (None: no search).

    Example:
        >>> search_options("mcts", 8, ["k=3"]), search_options("none", None, None)
        ({'k': 3, 'simulations': 8}, None)
    """
    if search == "none":
        for flag, given in (("--simulations", simulations is not None), ("--search-option", bool(options))):
            if given:
                raise ConfigError(f"{flag} sets the tree search", hint="add --search mcts")
        return None
    if search != "mcts":
        raise ConfigError(f"--search is none or mcts, got {search!r}")
    from agentgym.trainers.mcts import search_config

    chosen = parse_kwargs(options)
    if simulations is not None:
        chosen["simulations"] = simulations
    search_config(chosen)  # a misspelt option or a bad value: one line, before anything loads
    return chosen


def with_ray(config: RolloutConfig, address: str | None, resources: list[str] | None) -> RolloutConfig:
    """``config`` with its env actors on the Ray cluster of ``--ray`` and ``--ray-resource`` (if given)."""
    return RolloutConfig.model_validate({**config.model_dump(), **ray_settings(address, resources)})


def ray_settings(address: str | None, resources: list[str] | None) -> dict[str, Any]:
    """The RolloutConfig fields of ``--ray`` and ``--ray-resource``: env actors on that cluster.

    Example:
        >>> ray_settings("10.0.0.5:6379", ["sandbox=1"])
        {'workers': 'ray', 'ray': {'address': '10.0.0.5:6379', 'resources': {'sandbox': 1}}}
    """
    if address is None:
        if resources:
            raise ConfigError("--ray-resource places env actors on a Ray cluster", hint="add --ray ADDRESS")
        return {}
    return {"workers": "ray", "ray": {"address": address, "resources": parse_kwargs(resources)}}


def run(
    env: str,
    policy: str,
    config: RolloutConfig,
    *,
    episodes: int,
    out: Path | None,
    split: str,
    seed: int,
    group_size: int = 1,
    model: str | None = None,
    server: list[str] | None = None,
    kw: list[str] | None = None,
    seat: str = "random",
    others: str = "random",
    search: SearchConfig | None = None,
) -> Summary:
    """Run ``policy`` on ``episodes`` tasks of ``env`` (searching from each state with ``search``)."""
    from agentgym.policies import make_policy
    from agentgym.records import TrajectoryWriter

    factory = _factory(env, kw, server, seat={"learner": seat, "others": others})
    task_ids, noop_action = _task_ids(factory, split, episodes)
    pol = make_policy(policy, seed=seed, model=model, noop_action=noop_action)
    specs = group_episodes(task_ids, split=split, group_size=group_size, seed=seed)
    writer = TrajectoryWriter(out) if out else None
    try:
        with RolloutEngine(factory, pol, config) as engine:
            if search is None:
                result = engine.run(specs, writer=writer)
            else:
                from agentgym.trainers.mcts import TreeSearch

                result = TreeSearch(engine, search).play(specs, writer=writer)
    finally:
        if writer:
            writer.close()
    if out:
        Console(stderr=True).print(f"wrote {len(result.trajectories)} trajectories to {out}")
    return result.summary


def server_urls(values: list[str] | None) -> tuple[str, ...]:
    """The env server URLs of ``--server``, given repeated or separated by commas.

    Example:
        >>> server_urls(["http://a:8000,http://b:8000", "http://c:8000"])
        ('http://a:8000', 'http://b:8000', 'http://c:8000')
    """
    return tuple(url.strip() for value in values or [] for url in value.split(",") if url.strip())


def _factory(
    env: str, kw: list[str] | None, server: list[str] | None, seat: dict[str, Any] | None = None
) -> EnvFactory:
    """The envs of a command: registered here, or sessions on the ``--server`` URLs (ids resolved there)."""
    from agentgym.registry import resolve

    urls = server_urls(server)
    if server and not urls:
        raise ConfigError("--server got no URL", hint="e.g. --server http://127.0.0.1:8000")
    return EnvFactory(env if urls else resolve(env).id, parse_kwargs(kw), server_urls=urls, seat=seat)


def _default_split(factory: EnvFactory) -> str:
    """``all`` where the env has it (a user's task file: every task), else ``test``."""
    env = factory()
    try:
        return "all" if "all" in env.unwrapped.splits else "test"
    finally:
        env.close()


def _task_ids(factory: EnvFactory, split: str, episodes: int) -> tuple[list[int], str]:
    """The first ``episodes`` tasks of the split (cycling when it has fewer), and the env's no-op."""
    env = factory()
    try:
        n = env.unwrapped.splits.get(split, 0)
        noop_action = env.unwrapped.noop_action
    finally:
        env.close()
    if n < 1:
        raise ConfigError(f"split {split!r} has no tasks", hint="use train, valid or test")
    return [i % n for i in range(episodes)], noop_action


def report(name: str, summary: Summary) -> None:
    """Print the summary; raise when every episode failed (the command then exits non-zero)."""
    print_summary({name: summary})
    if summary.failed == summary.episodes:
        kinds = ", ".join(f"{n} {kind}" for kind, n in summary.failure_kinds.items() if n)
        reason, count = next(iter(summary.failure_reasons.items()))
        raise AgentGymError(
            f"all {summary.episodes} episodes failed ({kinds}); the most common reason ({count}): {reason}"
        )


def print_summary(rows: dict[str, Summary]) -> None:
    """A results table, one row per (env, policy), with failure reasons under it."""
    console = Console(highlight=False, width=max(Console().width, 150))
    table = Table("run", *next(iter(rows.values())).table_row().keys())
    for name, summary in rows.items():
        table.add_row(name, *summary.table_row().values())
    console.print(table)
    for name, summary in rows.items():
        if summary.failed:
            kinds = ", ".join(f"{kind} {n}" for kind, n in summary.failure_kinds.items() if n)
            console.print(f"[red]{name}: failed by kind:[/] {kinds}")
        for reason, count in summary.failure_reasons.items():
            console.print(f"[red]{name}: {count} failed:[/] {reason}")
