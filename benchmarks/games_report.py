"""Bot games of Werewolf-v0, DealOrNoDeal-v0 and Bargain-v0: outcomes, and the bots' margins.

For each game, plays ``--games`` full games with the built-in bots and reports
errors (games that raised), invalid replies by rule-based bots, win rates by role
(Werewolf), deal rates and mean rewards (negotiation). The margin of a bot in a
role compares that role played by the bot with the same role played by a random
player, every other seat a bot, over the same seeds; the ± is a 95% interval.

Usage: python benchmarks/games_report.py [--games 1000] (prints markdown).
"""

from __future__ import annotations

import argparse
import math
from collections import Counter
from collections.abc import Callable
from typing import Any

import agentgym
from agentgym.multiagent import RandomPlayer

MakePlayer = Callable[[Any, str, int], Any]


def play(env: Any, make: MakePlayer, seed: int) -> tuple[dict[str, float], int]:
    """One full game; the rewards by agent and the invalid replies of non-random players."""
    env.reset(seed=seed)
    players = {a: make(env, a, seed * 100 + i) for i, a in enumerate(env.possible_agents)}
    total = dict.fromkeys(env.possible_agents, 0.0)
    invalid = 0
    for agent in env.agent_iter():
        obs, reward, term, trunc, info = env.last()
        total[agent] += reward
        if term or trunc:
            env.step(None)
            continue
        env.step(players[agent].act(obs, info))
        invalid += env.infos[agent]["invalid_action"] and not isinstance(players[agent], RandomPlayer)
    return total, invalid


def run(env: Any, make: MakePlayer, games: int, record: Callable[[Any, dict], None]) -> dict:
    """Play ``games`` games; count errors and invalid bot replies, ``record`` each outcome."""
    stats: dict[str, Any] = {"errors": 0, "invalid": 0, "games": games, "first_error": ""}
    for seed in range(games):
        try:
            rewards, invalid = play(env, make, seed)
        except Exception as err:  # counted and shown: the report must say if a game broke
            stats["errors"] += 1
            stats["first_error"] = stats["first_error"] or repr(err)
            continue
        stats["invalid"] += invalid
        record(env, rewards)
    return stats


def row(*cells: object) -> None:
    """Print one markdown table row."""
    print("| " + " | ".join(str(c) for c in cells) + " |")


def header(*names: str) -> None:
    """Print a markdown table header."""
    row(*names)
    row(*["---"] * len(names))


def interval(p: float, q: float, n: int) -> float:
    """Half-width of the 95% interval of a difference of two rates over n games each."""
    return 1.96 * math.sqrt((p * (1 - p) + q * (1 - q)) / n)


def mean_interval(a: list[float], b: list[float]) -> float:
    """Half-width of the 95% interval of the difference of two means."""

    def var(x: list[float]) -> float:
        m = sum(x) / len(x)
        return sum((v - m) ** 2 for v in x) / max(1, len(x) - 1)

    return 1.96 * math.sqrt(var(a) / len(a) + var(b) / len(b))


# -- Werewolf ---------------------------------------------------------------------------


OUTCOME_COLUMNS = (
    "village wins",
    "werewolves win",
    "no winner",
    "mean days",
    "errors",
    "invalid bot replies",
)


def werewolf(games: int) -> None:
    env = agentgym.make("werewolf")
    roles = ("werewolf", "seer", "doctor", "villager")

    def maker(random_role: str | None) -> MakePlayer:
        def make(env: Any, agent: str, seed: int) -> Any:
            if env.game.roles[agent] == random_role:
                return RandomPlayer(env, agent, seed)
            return env.bots["rule"](env, agent, seed)

        return make

    def tally(random_role: str | None, env: Any = env, games: int = games) -> tuple[Counter, dict]:
        outcomes: Counter = Counter()

        def record(env: Any, rewards: dict) -> None:
            outcomes[env.game.winner or "none"] += 1
            outcomes["days"] += env.game.day

        return outcomes, run(env, maker(random_role), games, record)

    base, stats = tally(None)
    print(f"### Werewolf-v0 (7 players: 2 werewolves, seer, doctor, 3 villagers), {games} games\n")
    header("players", *OUTCOME_COLUMNS)
    _werewolf_row("all rule bots", base, stats)
    margins = []
    for role in roles:
        outcomes, stats = tally(role)
        _werewolf_row(f"{role}: random, others rule", outcomes, stats)
        side = "werewolves" if role == "werewolf" else "village"
        bot, rnd = base[side] / games, outcomes[side] / games
        margins.append((role, side, bot, rnd, interval(bot, rnd, games)))
    print("\nWin rate of a role's side with the role played by rule bots vs by random players:\n")
    header("role", "side", "rule bots", "random", "margin")
    for role, side, bot, rnd, half in margins:
        row(role, side, f"{bot:.1%}", f"{rnd:.1%}", f"{bot - rnd:+.1%} ± {half:.1%}")
    few = max(1, games // 5)
    print(f"\nOther table sizes, all rule bots, {few} games each:\n")
    header("players", *OUTCOME_COLUMNS)
    for players in (5, 6, 8, 9, 10, 11, 12):
        outcomes, stats = tally(None, agentgym.make("werewolf", players=players), few)
        _werewolf_row(str(players), outcomes, stats)
    print()


def _werewolf_row(name: str, outcomes: Counter, stats: dict) -> None:
    n = stats["games"] - stats["errors"]
    rates = [f"{outcomes[k] / n:.1%}" for k in ("village", "werewolves", "none")]
    row(name, *rates, f"{outcomes['days'] / n:.2f}", stats["errors"], stats["invalid"])
    if stats["first_error"]:
        print(f"\nfirst error: {stats['first_error']}\n")


# -- negotiation ---------------------------------------------------------------------------


def negotiation(env_id: str, games: int, deal: Callable[[Any], bool]) -> None:
    env = agentgym.make(env_id)
    a, b = env.possible_agents

    def maker(kinds: dict[str, str]) -> MakePlayer:
        def make(env: Any, agent: str, seed: int) -> Any:
            kind = kinds[agent]
            return RandomPlayer(env, agent, seed) if kind == "random" else env.bots[kind](env, agent, seed)

        return make

    def tally(kinds: dict[str, str]) -> tuple[dict[str, list[float]], int, dict]:
        rewards: dict[str, list[float]] = {a: [], b: []}
        deals = [0]

        def record(env: Any, result: dict) -> None:
            for agent in (a, b):
                rewards[agent].append(result[agent])
            deals[0] += deal(env.game)

        stats = run(env, maker(kinds), games, record)
        return rewards, deals[0], stats

    print(f"### {env_id}, {games} games per row\n")
    header(a, b, "deal rate", f"mean reward {a}", f"mean reward {b}", "errors", "invalid bot replies")
    pairs = [
        ("fair", "fair"),
        ("tough", "tough"),
        ("soft", "soft"),
        ("tough", "soft"),
        ("soft", "tough"),
    ]
    results = {}
    for ka, kb in [*pairs, ("random", "fair"), ("fair", "random")]:
        rewards, deals, stats = tally({a: ka, b: kb})
        results[ka, kb] = rewards
        n = stats["games"] - stats["errors"]
        mean_a, mean_b = sum(rewards[a]) / n, sum(rewards[b]) / n
        row(
            ka,
            kb,
            f"{deals / n:.1%}",
            f"{mean_a:.3f}",
            f"{mean_b:.3f}",
            stats["errors"],
            stats["invalid"],
        )
    print("\nMean reward of a seat played by the `fair` bot vs by a random player")
    print("(the other seat played by `fair`):\n")
    header("seat", "fair bot", "random", "margin")
    for seat, bot, rnd in (
        (a, results["fair", "fair"][a], results["random", "fair"][a]),
        (b, results["fair", "fair"][b], results["fair", "random"][b]),
    ):
        mb, mr = sum(bot) / len(bot), sum(rnd) / len(rnd)
        row(seat, f"{mb:.3f}", f"{mr:.3f}", f"{mb - mr:+.3f} ± {mean_interval(bot, rnd):.3f}")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=1000, help="games per row (default 1000)")
    args = parser.parse_args()
    werewolf(args.games)
    negotiation("dealornodeal", args.games, lambda game: game.agreed)
    negotiation("bargain", args.games, lambda game: game.result == "deal")


if __name__ == "__main__":
    main()
