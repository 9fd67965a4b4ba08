"""What the negotiation rules share: the outcome of a reply and message hygiene (no gym import)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Outcome:
    """What one reply did: invalid or not, the note for its author, rewards paid by player."""

    invalid: bool = False
    message: str = ""
    rewards: dict[Any, float] = field(default_factory=dict)


def clip_message(text: str, limit: int) -> tuple[str, list[str]]:
    """The message as sent (stripped and cut to ``limit``) and notes on what was wrong.

    Example:
        >>> clip_message("  hello  ", 3)
        ('hel', ['Your message was 9 characters long; only the first 3 were sent.'])
        >>> clip_message("", 3)
        ('', ['Your message was empty; you said nothing.'])
    """
    said = text.strip()
    notes = []
    if len(said) > limit:
        notes.append(f"Your message was {len(text)} characters long; only the first {limit} were sent.")
        said = said[:limit]
    if not said:
        notes.append("Your message was empty; you said nothing.")
    return said, notes
