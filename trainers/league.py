"""League self-play: the learner's opponents come from a league that grows with its own snapshots.

On a multi-agent game the learner plays one seat of each episode (``league.seats``);
every other seat is played by one league member, drawn per task group so that a
group's trajectories share their opponent as they share their task and seed:

- **members**: the game's rule bots and ``random`` (fixed), and frozen snapshots of
  the learner saved every ``snapshot_every`` iterations in ``RUN/league/`` (the first
  one, the starting model, at iteration 0);
- **sampling** (:func:`opponent_weights`): ``uniform`` over members (fictitious
  self-play, Heinrich et al. 2015), ``latest`` (a share of the groups against the
  newest snapshot, the rest uniform; OpenAI Five, Berner et al. 2019), or ``pfsp``
  (prioritised fictitious self-play, Vinyals et al. 2019: weight ``(1 - x)^p`` with
  ``x`` the learner's win rate against the member, so members that beat it are
  met more often);
- **ratings** (:func:`elo_update`): Elo (1978) from every game, the learner against
  the member; bots and ``random`` are anchors whose ratings stay at
  ``initial_rating``, a snapshot starts at the learner's rating when it joins.

A game's score for the learner (:func:`game_score`) is 1, 0.5 or 0 as its return is
above, equal to or below the mean return of the other seats (``info["returns"]`` of
the seat wrapper): in Deal-or-No-Deal the other negotiator's, in Werewolf the other
players' (a won side is paid more than the lost one). The draw of members and seats
is a function of (seed, iteration) and the rest of the league is in the checkpoint,
so a resumed run draws and rates exactly as one never stopped. Sources: docs/papers.md.

Example:
    >>> round(expected_score(1000.0, 1000.0), 3), elo_update(1000.0, 1000.0, 1.0, 32.0)
    (0.5, (1016.0, 984.0))
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

import agentgym
from agentgym.exceptions import ConfigError
from agentgym.multiagent import PLAYER_SETTINGS
from agentgym.records import Trajectory
from agentgym.rollout import EpisodeSpec
from agentgym.trainers.checkpoint import sync_tree
from agentgym.trainers.config import LeagueSettings, TrainConfig
from agentgym.trainers.evaluate import prompt_config, train_sampling

LEAGUE = "league"
"""The run directory's folder of league snapshots."""
LEARNER = "learner"
"""The learner's name in the ratings."""


# -- Ratings ---------------------------------------------------------------------------


def expected_score(rating: float, other: float) -> float:
    """Elo: the expected score of a player rated ``rating`` against one rated ``other``.

    ``E = 1 / (1 + 10^((other - rating) / 400))``.

    Example:
        >>> round(expected_score(1200.0, 1000.0), 4)
        0.7597
    """
    return 1.0 / (1.0 + 10.0 ** ((other - rating) / 400.0))


def elo_update(
    rating: float, other: float, score: float, k: float, other_fixed: bool = False
) -> tuple[float, float]:
    """Both ratings after one game in which the first player scored ``score`` (1, 0.5 or 0).

    ``R' = R + K (S - E)`` for each side; an anchor (``other_fixed``) keeps its rating.

    Example:
        >>> a, b = elo_update(1016.0, 1000.0, 0.0, 32.0, other_fixed=True)
        >>> round(a, 3), b
        (999.264, 1000.0)
    """
    expected = expected_score(rating, other)
    new = rating + k * (score - expected)
    new_other = other if other_fixed else other + k * ((1.0 - score) - (1.0 - expected))
    return new, new_other


def game_score(returns: Mapping[str, float], seat: str) -> tuple[float, float]:
    """``(score, margin)`` of ``seat``: the margin is its return minus the mean of the others'.

    Example:
        >>> game_score({"player_0": 6.0, "player_1": 4.0}, "player_1")
        (0.0, -2.0)
        >>> game_score({"player_0": 0.0, "player_1": 0.0}, "player_0")
        (0.5, 0.0)
    """
    others = [value for agent, value in returns.items() if agent != seat]
    margin = float(returns[seat]) - (float(np.mean(others)) if others else 0.0)
    return (1.0 if margin > 0 else 0.5 if margin == 0 else 0.0), margin


# -- Opponent sampling -----------------------------------------------------------------


def opponent_weights(
    scheme: str,
    members: Sequence[str],
    newest: str | None,
    win_rates: Sequence[float],
    latest_share: float = 0.5,
    power: float = 2.0,
) -> np.ndarray:
    """The probability of drawing each member as a task group's opponent.

    Args:
        scheme: ``uniform``, ``latest`` or ``pfsp``.
        members: the league's members.
        newest: the newest snapshot (``latest`` favours it), None before the first.
        win_rates: x per member, the learner's win rate against it (``pfsp``).
        latest_share: ``latest``: the extra share of the newest snapshot.
        power: ``pfsp``: p of the weighting ``f(x) = (1 - x)^p``.

    Example:
        >>> w = opponent_weights("latest", ["fair", "s0", "s1"], "s1", [0.5] * 3, latest_share=0.4)
        >>> w.round(2).tolist()
        [0.2, 0.2, 0.6]
        >>> opponent_weights("pfsp", ["fair", "random"], None, [0.5, 1.0]).tolist()
        [1.0, 0.0]
    """
    n = len(members)
    uniform = np.full(n, 1.0 / n)
    if scheme == "uniform" or (scheme == "latest" and newest is None):
        return uniform
    if scheme == "latest":
        weights = (1.0 - latest_share) * uniform
        weights[list(members).index(str(newest))] += latest_share
        return weights
    weights = (1.0 - np.asarray(win_rates, dtype=np.float64)) ** power  # PFSP: f(x) = (1 - x)^p
    total = weights.sum()
    return weights / total if total > 0 else uniform


# -- The league ------------------------------------------------------------------------


class League:
    """The members, their ratings and the learner's record against each; assigns and rates games.

    Args:
        settings: the run's ``league`` section.
        run_dir: the run directory (snapshots go to ``run_dir/league``).
        seats: the seats the learner plays (validated against the game).
        members: the fixed members (bots, ``random``).
        seed: the run's seed.
        player_settings: ``player.json`` of each snapshot (the prompt and sampling it plays with).
    """

    def __init__(
        self,
        settings: LeagueSettings,
        run_dir: Path,
        seats: Sequence[str],
        members: Sequence[str],
        seed: int,
        player_settings: dict[str, Any],
    ) -> None:
        self.settings, self.dir, self.seed = settings, run_dir / LEAGUE, seed
        self.seats, self.fixed = list(seats), list(members)
        self.player_settings = player_settings
        self.snapshots: list[str] = []
        self.ratings = {name: settings.initial_rating for name in [LEARNER, *self.fixed]}
        self.games = {name: 0 for name in self.fixed}
        self.scores = {name: 0.0 for name in self.fixed}
        """The learner's summed score against each member."""
        self._assigned: list[tuple[str, str]] = []
        """(seat, member) of each episode of the last :meth:`assign`."""
        self._played: list[tuple[float, float]] = []
        """(score, margin) of each game rated this iteration."""

    @property
    def members(self) -> list[str]:
        return [*self.fixed, *self.snapshots]

    def win_rate(self, member: str) -> float:
        """The learner's win rate against ``member``, with one draw as prior: ``(S + 0.5) / (n + 1)``."""
        return (self.scores[member] + 0.5) / (self.games[member] + 1)

    def weights(self) -> np.ndarray:
        """This iteration's probability of each member (see :func:`opponent_weights`)."""
        s = self.settings
        newest = self.snapshots[-1] if self.snapshots else None
        rates = [self.win_rate(m) for m in self.members]
        return opponent_weights(s.sampling, self.members, newest, rates, s.latest_share, s.pfsp_power)

    def assign(self, episodes: Sequence[EpisodeSpec], iteration: int) -> list[EpisodeSpec]:
        """``episodes`` with a seat and an opponent per task group, drawn from (seed, iteration)."""
        rng = np.random.default_rng([self.seed, iteration, 2])
        keys = [spec.group_id or str(i) for i, spec in enumerate(episodes)]
        groups = list(dict.fromkeys(keys))
        members = self.members
        picks = rng.choice(len(members), size=len(groups), p=self.weights())
        seats = rng.integers(len(self.seats), size=len(groups))
        drawn = {g: (self.seats[s], members[m]) for g, m, s in zip(groups, picks, seats, strict=True)}
        self._assigned = [drawn[key] for key in keys]
        out = []
        for spec, key in zip(episodes, keys, strict=True):
            seat, member = drawn[key]
            options = {"learner": seat, "others": self._player(member)}
            out.append(replace(spec, group_id=f"{key}|{seat} vs {member}", options=options))
        return out

    def record(self, trajectories: Sequence[Trajectory]) -> None:
        """Rate the games of the last :meth:`assign` in order (a failed episode is no game)."""
        k = self.settings.elo_k
        for traj, (seat, member) in zip(trajectories, self._assigned, strict=True):
            if traj.failed or not traj.steps:
                continue
            score, margin = game_score(traj.steps[-1].info["returns"], seat)
            self.ratings[LEARNER], self.ratings[member] = elo_update(
                self.ratings[LEARNER], self.ratings[member], score, k, other_fixed=member in self.fixed
            )
            self.games[member] += 1
            self.scores[member] += score
            self._played.append((score, margin))

    def end_iteration(self, completed: int, learner: Any) -> dict[str, float]:
        """The iteration's figures (games, mean score and margin, every rating); a snapshot when due."""
        scores = [score for score, _ in self._played]
        margins = [margin for _, margin in self._played]
        self._played = []
        if self.settings.self_play and completed % self.settings.snapshot_every == 0:
            self.snapshot(completed, learner)
        return {
            "league_games": len(scores),
            "league_score": float(np.mean(scores)) if scores else 0.0,
            "league_margin": float(np.mean(margins)) if margins else 0.0,
            "league_members": len(self.members),
            **{f"rating/{name}": round(value, 3) for name, value in self.ratings.items()},
        }

    def snapshot(self, iteration: int, learner: Any) -> str:
        """Freeze the learner (``learner.save``) as a new member, rated as the learner is now."""
        name = f"snapshot-{iteration:06d}"
        target, tmp = self.dir / name, self.dir / f".tmp-{name}"
        shutil.rmtree(tmp, ignore_errors=True)
        learner.save(str(tmp))
        (tmp / PLAYER_SETTINGS).write_text(json.dumps(self.player_settings), encoding="utf-8")
        sync_tree(tmp)
        shutil.rmtree(target, ignore_errors=True)  # left by a run killed after it, before its checkpoint
        tmp.rename(target)
        self.snapshots.append(name)
        self.ratings[name] = self.ratings[LEARNER]
        self.games[name], self.scores[name] = 0, 0.0
        return name

    def _player(self, member: str) -> str:
        """The seat player of ``member``: a bot name, ``random`` or ``hf:`` its snapshot."""
        return member if member in self.fixed else f"hf:{(self.dir / member).resolve()}"

    def state_dict(self) -> dict[str, Any]:
        return {
            "snapshots": list(self.snapshots),
            "ratings": dict(self.ratings),
            "games": dict(self.games),
            "scores": dict(self.scores),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.snapshots = list(state["snapshots"])
        self.ratings, self.games = dict(state["ratings"]), dict(state["games"])
        self.scores = dict(state["scores"])


def make_league(config: TrainConfig, run_dir: Path) -> League:
    """The league of ``config`` (whose ``league`` section is set), its seats and members checked.

    Its snapshots play with the run's prompt and training sampling (temperature 1).
    """
    settings = config.league
    assert settings is not None
    game = agentgym.make(config.env, **config.env_kwargs)
    try:
        if not isinstance(game, agentgym.TextAECEnv):
            raise ConfigError(f"a league needs a multi-agent game; {config.env!r} has a single agent")
        seats, bots = list(game.possible_agents), [*sorted(game.bots), "random"]
    finally:
        game.close()
    unknown = [seat for seat in settings.seats if seat not in seats]
    if unknown:
        raise ConfigError(f"league.seats: {unknown[0]!r} is not a seat of {config.env!r}; its seats: {seats}")
    strangers = [member for member in settings.members if member not in bots]
    if strangers:
        raise ConfigError(
            f"league.members: {strangers[0]!r} is not a player of {config.env!r}; choose from {bots} "
            "(snapshots of the learner join by themselves)"
        )
    sampling = train_sampling(config)
    player = {"prompt": prompt_config(config).model_dump(), "sampling": sampling.model_dump()}
    return League(settings, run_dir, settings.seats or seats, settings.members or bots, config.seed, player)
