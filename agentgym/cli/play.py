"""``agentgym play ENV``: a person plays an environment in the terminal."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from agentgym.cli.options import parse_kwargs

HELP = "Type an action, or the number of an admissible action. :expert plays the expert's move, :quit stops."


def play(
    env: Annotated[str, typer.Argument(help="Environment id or alias (see `agentgym envs`).")],
    seed: Annotated[int, typer.Option(help="Seed of the episode.")] = 0,
    split: Annotated[str, typer.Option(help="train, valid or test.")] = "train",
    task_id: Annotated[
        int | None, typer.Option(help="Task in the split (default: drawn from the seed).")
    ] = None,
    kw: Annotated[
        list[str] | None, typer.Option(help="Env constructor argument KEY=VALUE (repeatable).")
    ] = None,
    seat: Annotated[str, typer.Option(help="Multi-agent games: your seat, or 'random'.")] = "random",
    others: Annotated[str, typer.Option(help="Multi-agent games: bot for the other seats.")] = "random",
) -> None:
    """Play an environment yourself: see each observation, the admissible actions and your reward."""
    import agentgym
    from agentgym.registry import resolve

    spec = resolve(env)
    game = agentgym.make(spec.id, **parse_kwargs(kw))
    if spec.multiagent:
        game = agentgym.seat(game, learner=seat, others=others)
    console = Console(highlight=False)
    console.print(f"[bold]{spec.id}[/] — {escape(spec.description)}\n[dim]{HELP}[/]")
    obs, info = game.reset(seed=seed, options={"split": split, "task_id": task_id})
    console.print(
        f"[bold]Task:[/] {escape(str(info['task']))}" + (f"  (seat {info['seat']})" if "seat" in info else "")
    )
    total, steps = 0.0, 0
    while True:
        console.print(Panel(escape(obs), expand=False))
        admissible = info.get("admissible_actions") or []
        _show_admissible(console, admissible)
        try:
            line = input("> ").strip()
        except EOFError:
            console.print()
            break
        if line in (":q", ":quit", ":exit"):
            break
        action = _choose(line, admissible, game)
        if action is None:
            console.print(f"[dim]{HELP}[/]")
            continue
        obs, reward, terminated, truncated, info = game.step(action)
        steps += 1
        total += reward
        flag = "  [yellow](invalid action)[/]" if info.get("invalid_action") else ""
        console.print(f"[dim]action:[/] {escape(action)}  [dim]reward:[/] {reward:g}{flag}")
        if terminated or truncated:
            console.print(Panel(escape(obs), expand=False))
            outcome = "won" if info.get("won") else ("out of steps" if truncated else "lost")
            console.print(f"[bold]Episode over:[/] {outcome}, return {total:g} in {steps} steps.")
            break
    game.close()


def _show_admissible(console: Console, admissible: list[str]) -> None:
    if not admissible:
        return
    shown = admissible[:60]
    listing = "  ".join(f"[cyan]{i}[/] {escape(a)}" for i, a in enumerate(shown, 1))
    more = f"  … and {len(admissible) - len(shown)} more" if len(admissible) > len(shown) else ""
    console.print(f"[dim]admissible:[/] {listing}{more}")


def _choose(line: str, admissible: list[str], game: Any) -> str | None:
    if not line:
        return None
    if line == ":expert":
        try:
            return game.unwrapped.expert_action()
        except Exception as err:
            Console().print(f"[red]no expert here: {escape(str(err))}[/]")
            return None
    if line.isdigit() and admissible and 1 <= int(line) <= len(admissible):
        return admissible[int(line) - 1]
    return line
