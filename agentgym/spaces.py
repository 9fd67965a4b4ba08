"""The string space that every agentgym observation and action lives in."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.spaces import Space

_SAMPLE_ALPHABET = np.array(list("abcdefghijklmnopqrstuvwxyz ABCDEFGHIJ0123456789.,;:!?'-[]"))


class UnicodeText(Space[str]):
    """Any unicode string of at most ``max_length`` characters.

    gymnasium's ``Text`` space only admits its charset (letters and digits by
    default), which rejects the spaces and punctuation of ordinary commands; this
    space admits every character and bounds only the length.

    Example:
        >>> space = UnicodeText(max_length=20)
        >>> space.contains("go to countertop 1")
        True
        >>> space.contains("é" * 21)
        False
        >>> len(space.sample()) <= 20
        True
    """

    def __init__(self, max_length: int, seed: int | np.random.Generator | None = None) -> None:
        if max_length < 1:
            raise ValueError(f"max_length must be at least 1, got {max_length}")
        self.max_length = max_length
        super().__init__(shape=None, dtype=None, seed=seed)

    @property
    def is_np_flattenable(self) -> bool:
        return False

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        """A random string of printable ASCII (the space itself admits any unicode)."""
        length = int(self.np_random.integers(0, min(self.max_length, 64) + 1))
        return "".join(self.np_random.choice(_SAMPLE_ALPHABET, size=length))

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"UnicodeText(max_length={self.max_length})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UnicodeText) and other.max_length == self.max_length

    def to_jsonable(self, sample_n: list[str]) -> list[str]:
        return list(sample_n)

    def from_jsonable(self, sample_n: list[str]) -> list[str]:
        return list(sample_n)
