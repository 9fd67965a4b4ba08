"""Rules of the number-guessing game, with no gymnasium in sight."""

from __future__ import annotations

import re
from dataclasses import dataclass

SPLIT_RESIDUES = {"test": (0,), "valid": (1,), "train": (2, 3, 4)}
"""A number n belongs to the split whose residues contain n % 5."""

_GUESS = re.compile(r"^\s*guess\s+(-?\d{1,12})\s*$", re.IGNORECASE)


def split_numbers(split: str, high: int) -> list[int]:
    """The hidden numbers of a split, 1..high, disjoint across splits.

    Example:
        >>> split_numbers("test", 16)
        [5, 10, 15]
    """
    return [n for n in range(1, high + 1) if n % 5 in SPLIT_RESIDUES[split]]


@dataclass
class Game:
    """A hidden number in [1, high] and what the guesser has learned about it."""

    target: int
    high: int
    lo: int = 1
    hi: int = 0
    won: bool = False

    def __post_init__(self) -> None:
        self.hi = self.hi or self.high

    def guess(self, text: str) -> tuple[str, bool]:
        """Apply a command; return (feedback, valid).

        Example:
            >>> g = Game(target=6, high=16)
            >>> g.guess("guess 8"), (g.lo, g.hi)
            (('8 is too high.', True), (1, 7))
            >>> g.guess("look")
            ("I don't understand 'look'. Say `guess N` with N between 1 and 16.", False)
        """
        match = _GUESS.match(text)
        if not match or not 1 <= int(match.group(1)) <= self.high:
            shown = text if len(text) <= 60 else text[:57] + "..."
            return (
                f"I don't understand {shown!r}. Say `guess N` with N between 1 and {self.high}.",
                False,
            )
        n = int(match.group(1))
        if n == self.target:
            self.won = True
            return f"Correct! The number was {n}.", True
        if n < self.target:
            self.lo = max(self.lo, n + 1)
            return f"{n} is too low.", True
        self.hi = min(self.hi, n - 1)
        return f"{n} is too high.", True

    def candidates(self) -> list[str]:
        """Guesses consistent with everything learned so far."""
        return [f"guess {n}" for n in range(self.lo, self.hi + 1)]

    def expert(self) -> str:
        """Binary search: the middle of the remaining interval."""
        return f"guess {(self.lo + self.hi) // 2}"
