"""Rules of Nim (one pile, take 1..k stones, whoever takes the last stone wins)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_TAKE = 3
PILES = {"train": range(5, 41), "valid": range(41, 51), "test": range(51, 61)}
"""Starting pile sizes of each split; the splits never share one."""

_TAKE = re.compile(r"^\s*take\s+(\d{1,6})\s*$", re.IGNORECASE)


def parse_take(text: str, pile: int, max_take: int = MAX_TAKE) -> tuple[int | None, str]:
    """The number of stones a command takes, or None and why it is not a move.

    Example:
        >>> parse_take("take 2", pile=5)
        (2, '')
        >>> parse_take("take 9", pile=5)
        (None, 'You may take 1 to 3 stones, and no more than the 5 left.')
    """
    match = _TAKE.match(text)
    limit = min(max_take, pile)
    if not match:
        return None, f"Say `take N` with N from 1 to {limit}."
    n = int(match.group(1))
    if not 1 <= n <= limit:
        return None, f"You may take 1 to {max_take} stones, and no more than the {pile} left."
    return n, ""


def optimal_take(pile: int, max_take: int = MAX_TAKE) -> int:
    """Leave the opponent a multiple of max_take + 1 when possible, else take one.

    Example:
        >>> optimal_take(10), optimal_take(8)
        (2, 1)
    """
    return pile % (max_take + 1) or 1


@dataclass
class NimGame:
    """A pile, whose turn it is, and the moves so far."""

    pile: int
    players: tuple[str, str]
    turn: int = 0
    moves: list[tuple[str, int]] = field(default_factory=list)

    @property
    def over(self) -> bool:
        return self.pile == 0

    @property
    def winner(self) -> str | None:
        return self.moves[-1][0] if self.over else None

    def take(self, n: int) -> None:
        self.moves.append((self.players[self.turn], n))
        self.pile -= n
        self.turn = 1 - self.turn
