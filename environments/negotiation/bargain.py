"""Rules of price bargaining in the style of CraigslistBargain (He et al. 2018).

A seller lists an item at a price; a buyer wants it cheaper. Each has a private
target: the seller's is the listing price, the buyer's a fraction (50% to 90%) of
it. They exchange messages with the commands ``offer: $N``, ``accept``,
``reject`` and ``quit``. Pure rules, no gym import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agentgym.environments.negotiation.replies import Outcome, clip_message

BUYER, SELLER = "buyer", "seller"
ROLES = (BUYER, SELLER)
BUYER_FRACTIONS = (0.5, 0.6, 0.7, 0.8, 0.9)
"""The buyer's target as a fraction of the listing price."""
PRICE_STEPS = (0.8, 1.0, 1.25)
"""Each catalog item is listed at its base price times each of these."""

_OFFER = re.compile(r"\boffer\s*:\s*\$?\s*([0-9][0-9,]*(?:\.[0-9]+)?)?", re.IGNORECASE)
_WORD = re.compile(r"^\W*(accept|reject|quit)\W*$", re.IGNORECASE)

CATALOG = (
    (
        "bike",
        "Trek FX 2 hybrid bike, 2019",
        "Light aluminium frame, new tires, a few scratches.",
        400,
    ),
    ("bike", "Kids' 20-inch mountain bike", "Outgrown; gears work, seat slightly worn.", 90),
    ("bike", "Vintage Peugeot road bike", "Steel frame, rebuilt hubs, original paint.", 350),
    ("bike", "Electric folding bike", "36V battery holds a 25-mile charge; charger included.", 900),
    ("bike", "Bike trailer for two kids", "Folds flat, rain cover included.", 120),
    ("phone", "iPhone 12, 128GB, unlocked", "Battery health 86%, always in a case.", 380),
    ("phone", "Samsung Galaxy S21", "Small crack on the back glass; screen perfect.", 300),
    ("phone", "Google Pixel 6a", "Like new, box and cable included.", 220),
    ("phone", "Old Nokia 3310", "Works, for collectors.", 40),
    ("phone", "iPad Air 4th gen, 64GB", "Wi-Fi only, with keyboard folio.", 350),
    ("electronics", "55-inch 4K smart TV", "Two years old, remote and wall mount included.", 330),
    ("electronics", "PlayStation 5 with two controllers", "Disc edition, runs quiet.", 420),
    ("electronics", "Bose noise-cancelling headphones", "Ear pads replaced last month.", 150),
    ("electronics", "Canon DSLR with 18-55mm lens", "12k shutter count, two batteries.", 450),
    ("electronics", "Mechanical keyboard", "Brown switches, USB-C, barely used.", 70),
    ("furniture", "Solid oak dining table", "Seats six; some marks on the top.", 500),
    ("furniture", "Grey three-seat sofa", "Pet-free, smoke-free home; covers washable.", 450),
    ("furniture", "IKEA bookshelf", "White, 5 shelves, already assembled.", 60),
    ("furniture", "Standing desk, electric", "Memory presets, 48 x 30 inch top.", 300),
    ("furniture", "Queen bed frame with headboard", "Walnut finish, no mattress.", 250),
    (
        "housing",
        "Room in a shared flat, monthly rent",
        "Furnished, utilities included, near transit.",
        900,
    ),
    ("housing", "Parking space, monthly", "Covered garage spot downtown.", 180),
    ("housing", "Studio sublet for one month", "Fully furnished, available from the 1st.", 1400),
    ("housing", "Storage unit, monthly", "10 x 10 ft, climate controlled.", 150),
    ("housing", "Garden shed", "Wooden, 8 x 6 ft, you take it down.", 280),
    ("car", "2012 Honda Civic, 98k miles", "Clean title, new brakes, AC works.", 7500),
    ("car", "2008 Toyota Corolla, 150k miles", "Runs well, some rust on the rear arch.", 4200),
    ("car", "Roof rack cargo box", "Thule, fits most cars, keys included.", 260),
    ("car", "Set of four winter tires", "205/55R16, used one season.", 320),
    ("car", "2015 Vespa scooter, 50cc", "4k miles, garage kept.", 1600),
)
"""Listings (category, title, description, base price); the split is by item."""


@dataclass(frozen=True)
class Scenario:
    """One listing and the two private targets."""

    category: str
    title: str
    description: str
    price: int
    buyer_target: int

    def target(self, role: str) -> int:
        return self.price if role == SELLER else self.buyer_target

    def utility(self, role: str, price: float) -> float:
        """1 at one's own target, 0 halfway between the targets, -1 at the other's; clipped.

        Example:
            >>> s = Scenario("bike", "Bike", "", price=400, buyer_target=200)
            >>> s.utility("seller", 350), s.utility("buyer", 350), s.utility("buyer", 150)
            (0.5, -0.5, 1.0)
        """
        mid = (self.price + self.buyer_target) / 2
        half = (self.price - self.buyer_target) / 2
        seller = (price - mid) / half
        value = seller if role == SELLER else -seller
        return max(-1.0, min(1.0, value)) + 0.0  # + 0.0 turns -0.0 into 0.0


def scenarios(split: str) -> list[Scenario]:
    """The scenarios of a split: items 0 mod 10 are test, 1 mod 10 valid, the rest train."""
    bucket = {"test": (0,), "valid": (1,)}.get(split, tuple(range(2, 10)))
    out = []
    for i, (category, title, description, base) in enumerate(CATALOG):
        if i % 10 not in bucket:
            continue
        for step in PRICE_STEPS:
            price = int(round(base * step / 5) * 5) or 5
            for fraction in BUYER_FRACTIONS:
                target = int(round(price * fraction / 5) * 5)
                out.append(Scenario(category, title, description, price, target))
    return out


@dataclass
class Reply:
    """The commands found in one message."""

    words: set[str] = field(default_factory=set)
    offer: float | None = None
    note: str = ""


def parse(text: str, limit: float) -> Reply:
    """The commands of a message: ``accept``, ``reject`` and ``quit`` when alone on a line,
    and the last ``offer: $N`` anywhere (0 < N <= ``limit``; otherwise a note says why).

    Example:
        >>> parse("Could you do 300?\\nreject\\noffer: $300", 1000)
        Reply(words={'reject'}, offer=300.0, note='')
        >>> parse("I can't accept that.", 1000).words
        set()
        >>> parse("offer: $0", 1000).note
        'Your offer named $0; offers are `offer: $N` with 0 < N <= 1000.'
    """
    reply = Reply({m.group(1).lower() for line in text.splitlines() if (m := _WORD.match(line))})
    offers = _OFFER.findall(text)
    if offers:
        raw = offers[-1].replace(",", "")
        if raw and 0 < float(raw) <= limit:
            reply.offer = float(raw)
        else:
            shown = f"${raw}" if raw else "no price"
            reply.note = f"Your offer named {shown}; offers are `offer: $N` with 0 < N <= {limit:g}."
    return reply


@dataclass
class Bargain:
    """A price negotiation in progress; the buyer speaks first.

    Example:
        >>> game = Bargain(Scenario("bike", "Bike", "", price=400, buyer_target=200))
        >>> game.act("Hi! Would you take 250?\\noffer: $250").invalid
        False
        >>> game.act("Meet me at 300.\\noffer: $300").invalid
        False
        >>> game.act("OK.\\naccept").rewards
        {'buyer': 0.0, 'seller': 0.0}
    """

    scenario: Scenario
    max_turns: int = 20
    max_message: int = 500
    turn: int = 0
    current: str = BUYER
    messages: list[tuple[str, str]] = field(default_factory=list)
    offers: list[tuple[str, float]] = field(default_factory=list)
    standing: dict[str, float | None] = field(default_factory=lambda: {BUYER: None, SELLER: None})
    result: str | None = None
    price: float | None = None

    @property
    def over(self) -> bool:
        return self.result is not None

    def act(self, text: str) -> Outcome:
        """Apply the current player's message and its command."""
        if self.over:
            raise ValueError("the negotiation is over")
        me, other = self.current, SELLER if self.current == BUYER else BUYER
        said, notes = clip_message(text, self.max_message)
        self.messages.append((me, said))
        reply = parse(text, limit=10 * self.scenario.price)
        notes += [reply.note] if reply.note else []
        outcome = Outcome()
        if "quit" in reply.words:
            self._end("quit", None, outcome)
        elif "accept" in reply.words:
            if self.standing[other] is None:
                notes.append(f"There is no offer from the {other} to accept; make one with `offer: $N`.")
            else:
                self._end("deal", self.standing[other], outcome)
        else:
            if "reject" in reply.words:
                if self.standing[other] is None:
                    notes.append(f"There is no offer from the {other} to reject.")
                self.standing[other] = None
            if reply.offer is not None:
                self.standing[me] = reply.offer
                self.offers.append((me, reply.offer))
        self.turn += 1
        if not self.over and self.turn >= self.max_turns:
            self._end("timeout", None, outcome)
        self.current = other
        outcome.invalid, outcome.message = bool(notes), " ".join(notes)
        return outcome

    def _end(self, result: str, price: float | None, outcome: Outcome) -> None:
        self.result, self.price = result, price
        for role in ROLES:
            outcome.rewards[role] = 0.0 if price is None else self.scenario.utility(role, price)
