"""Rule-based negotiators for Deal-or-No-Deal and Bargain, in three temperaments.

Both bots follow a concession curve: at progress ``t`` (0 at their first turn,
1 at their last) they aim for ``level(t) = start + (floor - start) * t**beta`` of
their best outcome, and accept the partner's offer once it is at least as good as
what they would ask next. ``tough`` opens high and concedes late (Boulware),
``soft`` opens lower and concedes early (Conceder), ``fair`` is linear.

- Deal-or-No-Deal: the best outcome is all items (worth 10). The bot proposes the
  share that reaches its level and leaves the partner the most by its estimate of
  the partner's values (types the partner asks for, and types worth nothing to the
  bot, are worth more to the partner), and accepts with ``<selection>``.
- Bargain: the seller's scale runs from half the listing price (level 0) to the
  listing price (level 1); the buyer's from the listing price down to its target.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from agentgym.environments.negotiation.bargain import BUYER, SELLER
from agentgym.environments.negotiation.dond import SELECTION, Split, describe


@dataclass(frozen=True)
class Temperament:
    """A concession curve: first ask ``start``, last ask ``floor`` (fractions of the best)."""

    name: str
    start: float
    floor: float
    beta: float

    def level(self, progress: float) -> float:
        """The fraction of the best outcome aimed at after ``progress`` (0 to 1) of one's turns.

        Example:
            >>> TEMPERAMENTS["fair"].level(0.0), TEMPERAMENTS["fair"].level(1.0)
            (0.9, 0.5)
        """
        t = min(max(progress, 0.0), 1.0)
        return self.start + (self.floor - self.start) * t**self.beta


TEMPERAMENTS = {
    "tough": Temperament("tough", start=1.0, floor=0.6, beta=3.0),
    "fair": Temperament("fair", start=0.9, floor=0.5, beta=1.0),
    "soft": Temperament("soft", start=0.8, floor=0.3, beta=0.5),
}


def _progress(turn: int, max_turns: int) -> float:
    """How far through its own turns the player speaking at ``turn`` is (0 to 1)."""
    own_turns = (max_turns + 1) // 2
    return min(1.0, (turn // 2) / max(1, own_turns - 1))


class DondBot:
    """Negotiates Deal-or-No-Deal with a temperament (see the module docstring)."""

    def __init__(self, env: Any, agent: str, seed: int | None = None, temperament: str = "fair"):
        self.env = env
        self.me = env.possible_agents.index(agent)
        self.temperament = TEMPERAMENTS[temperament]

    def act(self, observation: str, info: dict[str, Any]) -> str:
        game = self.env.game
        ctx = game.context
        theirs = [share for p, share in game.proposals if p != self.me]
        if game.phase == SELECTION:
            return f"<selection> {self._settle(game)}"
        level = self.temperament.level(_progress(game.turn, game.max_turns)) * 10
        if theirs and ctx.worth(self.me, ctx.complement(theirs[-1])) >= level:
            return f"Deal. <selection> {describe(ctx.complement(theirs[-1]))}"
        ask = self._ask(level, theirs)
        return f"I would like {describe(ask)}; you take the rest. propose: {describe(ask)}"

    def _settle(self, game: Any) -> str:
        if not game.proposals:
            return "no agreement"
        who, share = game.proposals[-1]
        return describe(share if who == self.me else game.context.complement(share))

    def _ask(self, level: float, theirs: list[Split]) -> Split:
        ctx = self.env.game.context
        mine = ctx.values[self.me]
        weight = [1.0 + (2.0 if v == 0 else 0.0) for v in mine]
        for share in theirs:
            for i, (n, count) in enumerate(zip(share, ctx.counts, strict=True)):
                weight[i] += n / count - 0.5
        options = [s for s in ctx.shares() if ctx.worth(self.me, s) >= level] or [ctx.counts]

        def partner(s: Split) -> float:
            return sum(w * n for w, n in zip(weight, ctx.complement(s), strict=True))

        return max(options, key=lambda s: (partner(s), ctx.worth(self.me, s), s))


class BargainBot:
    """Bargains over a price with a temperament (see the module docstring)."""

    def __init__(self, env: Any, agent: str, seed: int | None = None, temperament: str = "fair"):
        self.env = env
        self.role = agent
        self.temperament = TEMPERAMENTS[temperament]

    def price(self, level: float) -> float:
        """The price this bot asks or bids at ``level`` (1 is its best)."""
        s = self.env.game.scenario
        if self.role == SELLER:
            return round(s.price * (0.5 + 0.5 * level))
        return round(s.price - level * (s.price - s.buyer_target))

    def better(self, a: float, b: float) -> bool:
        """Whether price ``a`` is at least as good as ``b`` for this bot."""
        return a >= b if self.role == SELLER else a <= b

    def act(self, observation: str, info: dict[str, Any]) -> str:
        game = self.env.game
        other = SELLER if self.role == BUYER else BUYER
        offer = game.standing[other]
        progress = _progress(game.turn, game.max_turns)
        last = game.turn >= game.max_turns - 2
        ask = self.price(self.temperament.level(progress))
        floor = self.price(self.temperament.floor)
        if offer is not None and (self.better(offer, ask) or (last and self.better(offer, floor))):
            return f"${offer:g} works for me.\naccept"
        if offer is not None and not self.better(offer, floor):
            return f"${offer:g} is too far from what I had in mind.\nreject\noffer: ${ask:g}"
        return f"I could do ${ask:g}. offer: ${ask:g}"


DOND_BOTS = {name: functools.partial(DondBot, temperament=name) for name in TEMPERAMENTS}
"""``tough``, ``fair`` and ``soft`` Deal-or-No-Deal bots: ``DOND_BOTS[name](env, agent, seed)``."""
BARGAIN_BOTS = {name: functools.partial(BargainBot, temperament=name) for name in TEMPERAMENTS}
"""``tough``, ``fair`` and ``soft`` bargaining bots: ``BARGAIN_BOTS[name](env, agent, seed)``."""
