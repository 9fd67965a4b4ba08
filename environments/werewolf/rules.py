"""Rules of Werewolf: roles, phases, commands and how nights and days resolve.

Pure rules (no gymnasium or PettingZoo import), tested with move tables. The
env adapter (:mod:`agentgym.environments.werewolf.env`) turns a
:class:`Werewolf` game into a PettingZoo AEC env; its docstring is the card.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

WEREWOLF, SEER, DOCTOR, VILLAGER = "werewolf", "seer", "doctor", "villager"
ROLES = (WEREWOLF, SEER, DOCTOR, VILLAGER)
VILLAGE, WOLVES = "village", "werewolves"

WOLVES_BY_SIZE = {5: 1, 6: 1, 7: 2, 8: 2, 9: 2, 10: 3, 11: 3, 12: 3}
"""Werewolves per table size (about one in four); every table also has one seer and one doctor."""
WOLF_ROUNDS = 2
"""Rounds of proposals the werewolves get each night to agree on a victim."""

NIGHT_WOLVES, NIGHT_SEER, NIGHT_DOCTOR = "night_werewolves", "night_seer", "night_doctor"
DISCUSSION, VOTE, OVER = "day_discussion", "day_vote", "over"
NIGHT_PHASES = (NIGHT_WOLVES, NIGHT_SEER, NIGHT_DOCTOR)

_COMMAND = re.compile(r"\b(vote|kill|check|protect)\s*:\s*([\w-]+(?:[ \t]+\d+\b)?)", re.IGNORECASE)
_PLAYER = re.compile(r"^player[\s_-]*(\d+)$", re.IGNORECASE)
_ABSTAIN = re.compile(r"\babstain\b", re.IGNORECASE)


def role_mix(players: int) -> list[str]:
    """The roles dealt at a table of ``players`` (5 to 12).

    Example:
        >>> role_mix(7)
        ['werewolf', 'werewolf', 'seer', 'doctor', 'villager', 'villager', 'villager']
    """
    wolves = WOLVES_BY_SIZE[players]
    return [WEREWOLF] * wolves + [SEER, DOCTOR] + [VILLAGER] * (players - wolves - 2)


def side(role: str) -> str:
    """``"werewolves"`` for a werewolf, ``"village"`` for every other role."""
    return WOLVES if role == WEREWOLF else VILLAGE


def deals(players: list[str], pinned: dict[str, str]) -> list[tuple[str, ...]]:
    """Every distinct deal of :func:`role_mix` to ``players`` that gives pinned seats their role.

    Example:
        >>> len(deals([f"player_{i}" for i in range(5)], {}))
        60
        >>> len(deals([f"player_{i}" for i in range(5)], {"player_0": "seer"}))
        12
    """
    mix = Counter(role_mix(len(players)))
    for role in pinned.values():
        mix[role] -= 1
    free = [p for p in players if p not in pinned]
    out = []
    for arrangement in _arrangements(+mix, len(free)):
        given = dict(zip(free, arrangement, strict=True))
        out.append(tuple(pinned.get(p) or given[p] for p in players))
    return out


def _arrangements(counts: Counter[str], n: int) -> list[tuple[str, ...]]:
    """The distinct orderings of a multiset of roles, in sorted order."""
    if n == 0:
        return [()]
    out = []
    for role in sorted(counts):
        rest = counts - Counter([role])
        out += [(role, *tail) for tail in _arrangements(rest, n - 1)]
    return out


def find_command(text: str, verb: str) -> str | None:
    """The target of the last ``verb: NAME`` in ``text`` (names normalised), or None.

    Example:
        >>> find_command("I think so. vote: Player 3", "vote")
        'player_3'
        >>> find_command("vote: player_1 ... no, vote: bob", "vote")
        'bob'
        >>> find_command("let us vote later", "vote") is None
        True
    """
    found = [name for v, name in _COMMAND.findall(text) if v.lower() == verb]
    if not found:
        return None
    name = found[-1].strip()
    match = _PLAYER.match(name)
    return f"player_{int(match.group(1))}" if match else name


@dataclass
class Outcome:
    """What one reply did: whether it was invalid, the message to its author, rewards paid."""

    invalid: bool = False
    message: str = ""
    rewards: dict[str, float] = field(default_factory=dict)


@dataclass
class Werewolf:
    """A game of Werewolf in progress; :meth:`act` applies the acting player's reply.

    Example:
        >>> roles = dict(zip([f"player_{i}" for i in range(5)], role_mix(5)))
        >>> game = Werewolf(roles)
        >>> game.phase, game.actor
        ('night_werewolves', 'player_0')
        >>> game.act("kill: player_4").invalid
        False
        >>> game.act("check: player_0").message
        'player_0 is a werewolf.'
    """

    roles: dict[str, str]
    discussion_rounds: int = 2
    reveal_roles: bool = True
    max_days: int = 10
    max_speech: int = 1000
    shaping: float = 0.0
    players: list[str] = field(init=False)
    alive: list[str] = field(init=False)
    day: int = 1
    phase: str = NIGHT_WOLVES
    round: int = 1
    queue: list[str] = field(default_factory=list)
    proposals: dict[str, str | None] = field(default_factory=dict)
    protected: str | None = None
    last_protected: str | None = None
    votes: dict[str, str | None] = field(default_factory=dict)
    public: list[dict[str, Any]] = field(default_factory=list)
    private: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    wolf_channel: list[dict[str, Any]] = field(default_factory=list)
    winner: str | None = None
    truncated: bool = False

    def __post_init__(self) -> None:
        self.players = list(self.roles)
        self.alive = list(self.players)
        self.private = {p: [] for p in self.players}
        self._begin_night()

    # -- who is where -------------------------------------------------------------

    @property
    def over(self) -> bool:
        return self.phase == OVER

    @property
    def actor(self) -> str | None:
        """The player whose reply the game waits for (None once over)."""
        return None if self.over else self.queue[0]

    def living(self, role: str) -> list[str]:
        return [p for p in self.alive if self.roles[p] == role]

    def targets(self, player: str) -> list[str]:
        """Whom ``player`` may name with the command of the current phase."""
        if self.phase == NIGHT_WOLVES:
            return [p for p in self.alive if self.roles[p] != WEREWOLF]
        if self.phase == NIGHT_DOCTOR:
            return [p for p in self.alive if p != self.last_protected]
        if self.phase in (NIGHT_SEER, VOTE):
            return [p for p in self.alive if p != player]
        return []

    # -- replies ----------------------------------------------------------------------

    def act(self, text: str) -> Outcome:
        """Apply the acting player's reply (free text with the phase's command)."""
        if self.over:
            raise ValueError("the game is over")
        player = self.queue.pop(0)
        handler = {
            NIGHT_WOLVES: self._wolf,
            NIGHT_SEER: self._seer,
            NIGHT_DOCTOR: self._doctor,
            DISCUSSION: self._speak,
            VOTE: self._vote,
        }[self.phase]
        outcome = handler(player, text)
        if not self.queue:
            self._end_phase(outcome)
        return outcome

    def _target(self, player: str, text: str, verb: str, fallback: str) -> tuple[str | None, str]:
        """The valid target of ``verb`` in ``text`` or None with the reason."""
        if not text.strip():
            return None, f"Your reply was empty; {fallback}."
        name = find_command(text, verb)
        if name is None:
            return None, f"Your reply had no `{verb}: player_N` command; {fallback}."
        if name not in self.roles:
            return None, (
                f"{name!r} is not a player in this game ({self.players[0]} to "
                f"{self.players[-1]}); {fallback}."
            )
        if name not in self.alive:
            return None, f"{name} is dead; name a living player; {fallback}."
        if name not in self.targets(player):
            why = {
                NIGHT_WOLVES: f"{name} is a werewolf; choose a villager",
                NIGHT_DOCTOR: f"You protected {name} last night; choose someone else",
            }.get(self.phase, "You cannot name yourself")
            return None, f"{why}; {fallback}."
        return name, ""

    def _clip(self, text: str) -> tuple[str, str]:
        length, text = len(text), text.strip()
        if len(text) <= self.max_speech:
            return text, ""
        note = f"Your reply was {length} characters long; only the first {self.max_speech} were kept."
        return text[: self.max_speech], note

    def _wolf(self, player: str, text: str) -> Outcome:
        target, why = self._target(player, text, "kill", "you named no victim")
        said, cut = self._clip(text)
        self.proposals[player] = target
        self.wolf_channel.append(
            {"night": self.day, "round": self.round, "wolf": player, "text": said, "target": target}
        )
        return Outcome(invalid=bool(why or cut), message=" ".join(m for m in (why, cut) if m))

    def _seer(self, player: str, text: str) -> Outcome:
        target, why = self._target(player, text, "check", "you checked nobody tonight")
        if target is None:
            return Outcome(invalid=True, message=why)
        wolf = self.roles[target] == WEREWOLF
        self.private[player].append({"kind": "check", "night": self.day, "target": target, "werewolf": wolf})
        message = f"{target} is {'a werewolf' if wolf else 'not a werewolf'}."
        return Outcome(message=message, rewards={player: self.shaping} if wolf and self.shaping else {})

    def _doctor(self, player: str, text: str) -> Outcome:
        target, why = self._target(player, text, "protect", "nobody is protected tonight")
        self.protected = target
        if target is None:
            return Outcome(invalid=True, message=why)
        self.private[player].append({"kind": "protect", "night": self.day, "target": target})
        return Outcome(message=f"You protect {target} tonight.")

    def _speak(self, player: str, text: str) -> Outcome:
        said, cut = self._clip(text)
        self.public.append(
            {"kind": "speech", "day": self.day, "round": self.round, "player": player, "text": said}
        )
        if not said:
            return Outcome(invalid=True, message="Your reply was empty; you stayed silent.")
        return Outcome(invalid=bool(cut), message=cut)

    def _vote(self, player: str, text: str) -> Outcome:
        if find_command(text, "vote") is None and _ABSTAIN.search(text):
            self.votes[player] = None
            return Outcome()
        target, why = self._target(player, text, "vote", "your vote counts as abstain")
        self.votes[player] = target
        return Outcome(invalid=target is None, message=why)

    # -- resolution -------------------------------------------------------------------

    def _end_phase(self, outcome: Outcome) -> None:
        if self.phase == NIGHT_WOLVES:
            wolves = self.living(WEREWOLF)
            named = set(self.proposals.values())
            if len(wolves) > 1 and self.round < WOLF_ROUNDS and (len(named) > 1 or None in named):
                self.round += 1
                self.queue = list(wolves)
                return
            self._next_night_phase(NIGHT_SEER, outcome)
        elif self.phase == NIGHT_SEER:
            self._next_night_phase(NIGHT_DOCTOR, outcome)
        elif self.phase == NIGHT_DOCTOR:
            self._resolve_night(outcome)
        elif self.phase == DISCUSSION:
            if self.round < self.discussion_rounds:
                self.round += 1
                self.queue = self._speaking_order()
            else:
                self._begin_vote()
        else:
            self._resolve_vote(outcome)

    def _next_night_phase(self, phase: str, outcome: Outcome) -> None:
        order = (NIGHT_SEER, NIGHT_DOCTOR)
        for candidate in order[order.index(phase) :]:
            acting = self.living(SEER if candidate == NIGHT_SEER else DOCTOR)
            if acting:
                self.phase, self.queue = candidate, acting
                return
        self._resolve_night(outcome)

    def victim(self) -> str | None:
        """The werewolves' pick: most named in the last round; ties go to the lowest seat's pick."""
        counts = Counter(t for t in self.proposals.values() if t is not None)
        if not counts:
            return None
        top = max(counts.values())
        for wolf in self.living(WEREWOLF):
            if counts.get(self.proposals.get(wolf), 0) == top:
                return self.proposals[wolf]
        return None

    def _begin_night(self) -> None:
        self.phase, self.round = NIGHT_WOLVES, 1
        self.proposals, self.protected = {}, None
        self.queue = self.living(WEREWOLF)

    def _resolve_night(self, outcome: Outcome) -> None:
        victim = self.victim()
        self.wolf_channel.append({"night": self.day, "attack": victim})
        killed = victim if victim is not None and victim != self.protected else None
        self.last_protected = self.protected
        self._record_death({"kind": "night", "day": self.day, "killed": killed}, killed)
        if self._check_over(outcome):
            return
        if self.discussion_rounds:
            self.phase, self.round, self.queue = DISCUSSION, 1, self._speaking_order()
        else:
            self._begin_vote()

    def _speaking_order(self) -> list[str]:
        start = (self.day - 1) % len(self.alive)
        return self.alive[start:] + self.alive[:start]

    def _begin_vote(self) -> None:
        self.phase, self.round, self.votes = VOTE, 1, {}
        self.queue = list(self.alive)

    def _resolve_vote(self, outcome: Outcome) -> None:
        counts = Counter(t for t in self.votes.values() if t is not None)
        top = max(counts.values(), default=0)
        leaders = sorted((p for p, n in counts.items() if n == top), key=self.players.index)
        out = leaders[0] if len(leaders) == 1 else None
        tied = leaders if top and out is None else []
        event = {"kind": "vote", "day": self.day, "votes": dict(self.votes), "tied": tied}
        self._record_death({**event, "eliminated": out}, out)
        if self.shaping:
            for voter, target in self.votes.items():
                if target is not None and side(self.roles[target]) != side(self.roles[voter]):
                    outcome.rewards[voter] = outcome.rewards.get(voter, 0.0) + self.shaping
        if self._check_over(outcome):
            return
        if self.day >= self.max_days:
            self.truncated = True
            self.phase, self.queue = OVER, []
            self.public.append({"kind": "end", "winner": None, "day": self.day})
            return
        self.day += 1
        self._begin_night()

    def _record_death(self, event: dict[str, Any], dead: str | None) -> None:
        if dead is not None:
            self.alive.remove(dead)
            event["role"] = self.roles[dead] if self.reveal_roles else None
        self.public.append(event)

    def _check_over(self, outcome: Outcome) -> bool:
        wolves = len(self.living(WEREWOLF))
        if wolves and wolves < len(self.alive) - wolves:
            return False
        self.winner = VILLAGE if not wolves else WOLVES
        self.phase, self.queue = OVER, []
        self.public.append({"kind": "end", "winner": self.winner, "day": self.day})
        for player in self.players:
            won = side(self.roles[player]) == self.winner
            outcome.rewards[player] = outcome.rewards.get(player, 0.0) + (1.0 if won else -1.0)
        return True
