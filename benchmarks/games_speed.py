"""Full bot games per second for each multi-agent game, and the seat wrapper's cost per step.

1. Bot games: the PettingZoo loop (``agent_iter``/``last``/``step``) with a
   built-in bot in every seat; games/s and game steps/s, bots' thinking included.
2. Seat overhead: the replies of those games are replayed twice, through the bare
   PettingZoo loop (the baseline) and through ``agentgym.seat`` with ``player_0``
   (``buyer`` in Bargain) as the learner. Both replays play the very same games,
   so the difference is the wrapper's own cost (its reset and its steps); it is
   reported per game and per learner step, and compared with the baseline's time
   per game step.

Times are CPU seconds of this process (``time.process_time``), so other load on
the machine does not count; each replay runs ``--repeat`` times, alternating, and
the fastest run counts. Usage: python benchmarks/games_speed.py [--games 300]
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict, deque
from typing import Any

import agentgym

GAMES = (("werewolf", "rule"), ("dealornodeal", "fair"), ("bargain", "fair"))
Record = tuple[int, dict[str, list[str]]]
"""A played game: its task id and each agent's replies in order."""


def bot_games(env_id: str, bot: str, games: int) -> tuple[float, int, list[Record]]:
    """CPU seconds and game steps of full bot games, and what was played."""
    env = agentgym.make(env_id)
    steps, records = 0, []
    start = time.process_time()
    for seed in range(games):
        env.reset(seed=seed)
        players = {a: env.bots[bot](env, a, seed) for a in env.possible_agents}
        replies: dict[str, list[str]] = defaultdict(list)
        for agent in env.agent_iter():
            obs, _, term, trunc, info = env.last()
            action = None if term or trunc else players[agent].act(obs, info)
            if action is not None:
                replies[agent].append(action)
            env.step(action)
            steps += 1
        records.append((env._episode.options.task_id, dict(replies)))
    return time.process_time() - start, steps, records


class Script:
    """Replays one agent's recorded replies (for every seat of a replayed game)."""

    def __init__(self) -> None:
        self.replies: deque[str] = deque()

    def act(self, observation: str, info: dict[str, Any]) -> str:
        return self.replies.popleft() if self.replies else ""


def replay_bare(env_id: str, records: list[Record]) -> tuple[float, int]:
    """CPU seconds and game steps of replaying the records through the PettingZoo loop."""
    env = agentgym.make(env_id)
    steps = 0
    start = time.process_time()
    for task_id, replies in records:
        env.reset(seed=0, options={"task_id": task_id})
        queues = {a: deque(replies.get(a, [])) for a in env.possible_agents}
        for agent in env.agent_iter():
            if env.terminations[agent] or env.truncations[agent]:
                env.step(None)
            else:
                env.last()
                env.step(queues[agent].popleft())
            steps += 1
    return time.process_time() - start, steps


def replay_seated(env_id: str, records: list[Record]) -> tuple[float, int]:
    """CPU seconds and learner steps of replaying the records through ``agentgym.seat``."""
    game = agentgym.make(env_id)
    learner = game.possible_agents[0]
    scripts = {a: Script() for a in game.possible_agents}
    env = agentgym.seat(game, learner=learner, others={a: s for a, s in scripts.items() if a != learner})
    learner_steps = 0
    start = time.process_time()
    for task_id, replies in records:
        for agent, script in scripts.items():
            script.replies = deque(replies.get(agent, []))
        obs, info = env.reset(seed=0, options={"task_id": task_id})
        done = False
        while not done:
            obs, _, terminated, truncated, info = env.step(scripts[learner].act(obs, info))
            learner_steps += 1
            done = terminated or truncated
    return time.process_time() - start, learner_steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=300, help="games per game kind")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each replay (the fastest counts)")
    args = parser.parse_args()
    print(
        "| game (bots) | bot games/s | game steps/s | replayed game step | "
        "seat overhead per game | per learner step |"
    )
    print("|---|---|---|---|---|---|")
    for env_id, bot in GAMES:
        seconds, steps, records = bot_games(env_id, bot, args.games)
        bare, seated = [], []
        for _ in range(args.repeat):
            bare.append(replay_bare(env_id, records))
            seated.append(replay_seated(env_id, records))
        bare_s, bare_steps = min(bare)
        seat_s, learner_steps = min(seated)
        per_step = bare_s / bare_steps
        overhead = seat_s - bare_s
        print(
            f"| {env_id} ({bot}) | {args.games / seconds:.0f} | {steps / seconds:.0f} | "
            f"{per_step * 1e6:.0f} µs | {overhead / args.games * 1e6:.0f} µs | "
            f"{overhead / learner_steps * 1e6:.0f} µs ({learner_steps / args.games:.1f} a game) |"
        )


if __name__ == "__main__":
    main()
