"""Rules of Deal or No Deal (Lewis et al. 2017): contexts, commands, selections, rewards.

Two players divide books, hats and balls. Each values the items privately; a
context follows the paper's generation rules (read from
facebookresearch/end-to-end-negotiator's data): every type has 1 to 4 items and
there are 5 to 7 items in all; values are non-negative integers and the items are
worth exactly 10 to each player; every type is worth something to at least one
player, and at least one type is worth something to both. Pure rules, no gym import.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

from agentgym.environments.negotiation.replies import Outcome, clip_message
from agentgym.exceptions import ConfigError

ITEMS = ("book", "hat", "ball")
TOTAL_VALUE = 10
NO_AGREEMENT = "no agreement"
DIALOGUE, SELECTION, OVER = "dialogue", "selection", "over"

_ITEM = re.compile(r"\b(book|hat|ball)s?\s*[=:]\s*(-?\d+)", re.IGNORECASE)
_PROPOSE = re.compile(r"\bpropose\s*:\s*([^\n]*)", re.IGNORECASE)
_SELECTION = re.compile(r"<selection>([^\n]*)", re.IGNORECASE)

Split = tuple[int, int, int]
"""How many books, hats and balls (one player's share, or the counts)."""


@dataclass(frozen=True)
class Context:
    """Item counts and each player's values per item."""

    counts: Split
    values: tuple[Split, Split]

    def worth(self, player: int, share: Split) -> int:
        return sum(n * v for n, v in zip(share, self.values[player], strict=True))

    def complement(self, share: Split) -> Split:
        return tuple(c - n for c, n in zip(self.counts, share, strict=True))  # type: ignore[return-value]

    def shares(self) -> list[Split]:
        """Every share one player could take."""
        return list(itertools.product(*(range(c + 1) for c in self.counts)))  # type: ignore[arg-type]


def is_valid(counts: Split, a: Split, b: Split) -> bool:
    """Whether a context follows the paper's generation rules (see the module docstring).

    Example:
        >>> is_valid((1, 4, 1), (0, 0, 10), (1, 1, 5))
        True
        >>> is_valid((1, 4, 1), (0, 0, 10), (10, 0, 0))  # no type is worth something to both
        False
    """
    if not (all(1 <= c <= 4 for c in counts) and 5 <= sum(counts) <= 7):
        return False
    for values in (a, b):
        if min(values) < 0 or sum(c * v for c, v in zip(counts, values, strict=True)) != TOTAL_VALUE:
            return False
    both = [x > 0 and y > 0 for x, y in zip(a, b, strict=True)]
    return all(x + y > 0 for x, y in zip(a, b, strict=True)) and any(both)


@functools.cache
def all_contexts() -> tuple[Context, ...]:
    """Every context the rules allow (5,295), in a fixed order."""
    out = []
    for counts in itertools.product(range(1, 5), repeat=3):
        if not 5 <= sum(counts) <= 7:
            continue
        vectors = [
            v
            for v in itertools.product(range(TOTAL_VALUE + 1), repeat=3)
            if sum(c * x for c, x in zip(counts, v, strict=True)) == TOTAL_VALUE
        ]
        out += [Context(counts, (a, b)) for a in vectors for b in vectors if is_valid(counts, a, b)]
    return tuple(out)


@functools.cache
def split_of(context: Context) -> str:
    """The split of a context, from a hash of its unordered pair of values (80/10/10).

    A context and its mirror (the players swapped) are always in the same split.
    """
    key = repr((context.counts, sorted(context.values)))
    bucket = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 10
    return "test" if bucket == 0 else "valid" if bucket == 1 else "train"


def load_contexts(path: str | Path) -> list[Context]:
    """Contexts from a file in the original dataset's text format.

    Two layouts are read: ``selfplay.txt`` (pairs of lines of six numbers,
    ``count value`` for each item type, one line per player) and ``data.txt`` /
    ``train.txt`` (one dialogue a line, the speaker's six numbers first and the
    partner's last). Exact duplicates are dropped; the two sides of a dialogue give a
    context and its mirror (the players swapped), both kept.
    """
    lines = [line.split() for line in Path(path).read_text().splitlines() if line.strip()]
    pairs: list[tuple[list[str], list[str]]] = []
    if all(len(words) == 6 for words in lines):
        if len(lines) % 2:
            raise ConfigError(f"{path}: {len(lines)} context lines; selfplay files pair them")
        pairs = [(lines[i], lines[i + 1]) for i in range(0, len(lines), 2)]
    else:
        pairs = [(words[:6], words[-6:]) for words in lines]
    out: dict[Context, None] = {}
    for number, (mine, theirs) in enumerate(pairs, 1):
        try:
            a, b = [int(x) for x in mine], [int(x) for x in theirs]
        except ValueError:
            raise ConfigError(f"{path}: context {number} is not 6+6 integers: {mine} {theirs}") from None
        counts = tuple(a[0::2])
        if counts != tuple(b[0::2]) or not is_valid(counts, tuple(a[1::2]), tuple(b[1::2])):
            raise ConfigError(f"{path}: context {number} breaks the generation rules: {a} / {b}")
        out[Context(counts, (tuple(a[1::2]), tuple(b[1::2])))] = None  # type: ignore[arg-type]
    return list(out)


def parse_share(text: str, counts: Split) -> tuple[Split | None, str]:
    """The share ``book=N hat=N ball=N`` in ``text`` (missing types are 0), or None and why.

    Example:
        >>> parse_share("book=1 balls=2", (2, 1, 3))
        ((1, 0, 2), '')
        >>> parse_share("book=3", (2, 1, 3))
        (None, 'You asked for 3 books but there are only 2.')
    """
    found = _ITEM.findall(text)
    if not found:
        return None, "Name items as `book=N hat=N ball=N`."
    share = [0, 0, 0]
    for name, number in found:
        share[ITEMS.index(name.lower())] = int(number)
    for item, n, c in zip(ITEMS, share, counts, strict=True):
        if not 0 <= n <= c:
            return None, f"You asked for {n} {item}s but there are only {c}."
    return (share[0], share[1], share[2]), ""


def describe(share: Split) -> str:
    """``book=1 hat=0 ball=2``."""
    return " ".join(f"{item}={n}" for item, n in zip(ITEMS, share, strict=True))


@dataclass
class DealOrNoDeal:
    """A negotiation in progress; players are 0 (who starts) and 1.

    Example:
        >>> game = DealOrNoDeal(Context((1, 2, 3), ((4, 0, 2), (0, 2, 2))))
        >>> game.act("I need the book. propose: book=1 hat=0 ball=1").invalid
        False
        >>> game.act("Deal. <selection> book=0 hat=2 ball=2").invalid
        False
        >>> game.act("<selection> book=1 hat=0 ball=1").rewards
        {0: 6.0, 1: 8.0}
    """

    context: Context
    max_turns: int = 10
    max_message: int = 500
    turn: int = 0
    current: int = 0
    phase: str = DIALOGUE
    messages: list[tuple[int, str]] = field(default_factory=list)
    proposals: list[tuple[int, Split]] = field(default_factory=list)
    selections: dict[int, Split | None] = field(default_factory=dict)
    agreed: bool = False

    @property
    def over(self) -> bool:
        return self.phase == OVER

    def act(self, text: str) -> Outcome:
        """Apply the current player's reply: a message, or a selection."""
        if self.over:
            raise ValueError("the negotiation is over")
        player = self.current
        if self.phase == SELECTION or _SELECTION.search(text):
            return self._select(player, text)
        outcome = self._message(player, text)
        self.turn += 1
        if self.turn >= self.max_turns:
            self.phase, self.current = SELECTION, 0
        else:
            self.current = 1 - player
        return outcome

    def _message(self, player: int, text: str) -> Outcome:
        said, notes = clip_message(text, self.max_message)
        self.messages.append((player, said))
        proposal = _PROPOSE.search(text)
        if proposal:
            share, why = parse_share(proposal.group(1), self.context.counts)
            if share is None:
                notes.append(f"Your proposal was ignored: {why}")
            else:
                self.proposals.append((player, share))
        return Outcome(invalid=bool(notes), message=" ".join(notes))

    def _select(self, player: int, text: str) -> Outcome:
        found = _SELECTION.search(text)
        share: Split | None = None
        why = ""
        if found is None:
            why = "Start it with `<selection>`, e.g. `<selection> book=1 hat=0 ball=2`."
        elif NO_AGREEMENT not in found.group(1).lower():
            share, why = parse_share(found.group(1), self.context.counts)
        if why:
            why = f"Your selection is invalid, so it counts as no agreement. {why}"
        self.selections[player] = share
        outcome = Outcome(invalid=bool(why), message=why)
        if len(self.selections) < 2:
            self.phase, self.current = SELECTION, 1 - player
            return outcome
        self.phase = OVER
        a, b = self.selections[0], self.selections[1]
        self.agreed = a is not None and b is not None and self.context.complement(a) == b
        for p in (0, 1):
            share = self.selections[p]
            outcome.rewards[p] = float(self.context.worth(p, share) if self.agreed and share else 0)
        return outcome
