"""Shopping goals: what to buy, in the original goal-dict shape, split three ways.

A goal names its target (``asin``, ``name``, ``query``, ``category``,
``product_category``), the ``attributes`` and ``goal_options`` the purchase
should have, a ``price_upper`` bound and the ``instruction_text`` the agent
reads. As the original's synthetic goals, the instruction is the product's
instruction followed by the options (``with color: navy, and size: large``,
option names sorted) and, when the price leaves room, ``, and price lower
than 40.00 dollars``, the bound being the larger of two of the four
multiples of ten above the price.

- :class:`SyntheticGoals`: one goal per product of a synthetic catalog, with one
  option combination drawn per product. Splits are by product (index mod 10:
  test 0, valid 1, train 2-9), so no target is shared between splits.
- :class:`GoalList`: goals given as a list (from the original files, see
  :mod:`.loader`), in the original order. Splits follow the original
  baselines: test goals 0-499, valid 500-1499, train the rest; lists under
  2,000 goals split 10% / 10% / 80% in the same order.

Price bounds are drawn from a seeded stream, where the original used the
unseeded global ``random`` (so its bounds changed from run to run).
"""

from __future__ import annotations

import itertools
from typing import Any

from agentgym.environments.webshop.catalog import Catalog, Draws, SyntheticCatalog
from agentgym.exceptions import ConfigError

PRICE_RANGE = [10.0 * i for i in range(1, 100)]
"""Candidate price bounds, as the original."""
NO_BOUND = 1_000_000.0
"""``price_upper`` of a goal without a price bound."""
SPLIT_RESIDUES = {"test": (0,), "valid": (1,), "train": (2, 3, 4, 5, 6, 7, 8, 9)}


def price_bound(price: float, draws: Draws) -> tuple[float, str]:
    """``(price_upper, text)``: the larger of two of the four multiples of ten above ``price``.

    Example:
        >>> price_bound(33.5, Draws("doc"))[1]
        ', and price lower than 70.00 dollars'
        >>> price_bound(995.0, Draws("doc"))
        (1000000.0, '')
    """
    above = [p for p in PRICE_RANGE if p > price][:4]
    if len(above) < 2:
        return NO_BOUND, ""
    first = draws.below(len(above))
    second = draws.below(len(above) - 1)
    second += second >= first
    upper = max(above[first], above[second])
    return upper, f", and price lower than {upper:.2f} dollars"


def options_text(goal_options: dict[str, str]) -> str:
    """`` with color: navy, and size: large`` (empty without options)."""
    text = ", and ".join(f"{name}: {value}" for name, value in goal_options.items())
    return f" with {text}" if text else ""


def make_goal(
    product: dict[str, Any], price: float, goal_options: dict[str, str], draws: Draws
) -> dict[str, Any]:
    """The goal of buying ``product`` with ``goal_options`` (names sorted), price-bounded."""
    upper, price_text = price_bound(price, draws)
    return {
        "asin": product["asin"],
        "category": product["category"],
        "query": product["query"],
        "name": product["Title"],
        "product_category": product["product_category"],
        "instruction_text": product["instruction_text"] + options_text(goal_options) + price_text,
        "attributes": list(product["instruction_attributes"]),
        "price_upper": upper,
        "goal_options": goal_options,
    }


def option_combinations(options: dict[str, list[str]]) -> list[dict[str, str]]:
    """Every way to choose one value per option, names sorted (the original's goal expansion)."""
    names = sorted(options)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(options[n] for n in names))]


class Goals:
    """Goals by split: ``splits`` counts them, ``goal(split, task_id)`` returns one."""

    splits: dict[str, int]

    def goal(self, split: str, task_id: int) -> dict[str, Any]:
        raise NotImplementedError


class SyntheticGoals(Goals):
    """One goal per product of a :class:`SyntheticCatalog`, split by product.

    Example:
        >>> goals = SyntheticGoals(SyntheticCatalog(1000, seed=0), seed=0)
        >>> goals.splits
        {'test': 100, 'valid': 100, 'train': 800}
        >>> goals.goal("test", 0)["asin"] == goals.catalog.product(0)["asin"]
        True
    """

    def __init__(self, catalog: SyntheticCatalog, seed: int) -> None:
        self.catalog, self.seed = catalog, seed
        n = len(catalog)
        self.splits = {
            split: sum((n - r + 9) // 10 for r in residues) for split, residues in SPLIT_RESIDUES.items()
        }

    def product_index(self, split: str, task_id: int) -> int:
        """The catalog index of the target of ``task_id`` in ``split``."""
        residues = SPLIT_RESIDUES[split]
        block, slot = divmod(task_id, len(residues))
        return 10 * block + residues[slot]

    def goal(self, split: str, task_id: int) -> dict[str, Any]:
        index = self.product_index(split, task_id)
        product = self.catalog.product(index)
        draws = Draws("goal", self.seed, index)
        chosen = {name: draws.pick(product["options"][name]) for name in sorted(product["options"])}
        return make_goal(product, self.catalog.price(index), chosen, draws)


class GoalList(Goals):
    """Goals held in a list, split by position as the original baselines split them."""

    def __init__(self, goals: list[dict[str, Any]], catalog: Catalog) -> None:
        if len(goals) < 3:
            raise ConfigError(f"need at least 3 goals to make three splits, got {len(goals)}")
        self.goals, self.catalog = goals, catalog
        n = len(goals)
        test, valid = (500, 1000) if n >= 2000 else (max(1, n // 10), max(1, n // 10))
        self._ranges = {
            "test": (0, test),
            "valid": (test, test + valid),
            "train": (test + valid, n),
        }
        self.splits = {split: hi - lo for split, (lo, hi) in self._ranges.items()}

    def goal(self, split: str, task_id: int) -> dict[str, Any]:
        return self.goals[self._ranges[split][0] + task_id]
