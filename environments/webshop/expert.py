"""The expert: search the target's title, page to it, choose the goal's options, buy."""

from __future__ import annotations

from typing import Any

from agentgym.environments.webshop.matching import fuzzy_score, normalize_color
from agentgym.environments.webshop.reward import MATCH_THRESHOLD
from agentgym.environments.webshop.shop import Shop, View


def wanted_options(product: dict[str, Any], goal: dict[str, Any]) -> list[tuple[str, str]]:
    """The product's ``(option, value)`` pairs the goal asks for.

    Synthetic goals name them (``{"color": "navy"}``); human goals list values
    only, matched here to the product's values as the reward matches them.

    Example:
        >>> product = {"options": {"color": ["navy blue", "red"], "size": ["small", "large"]}}
        >>> wanted_options(product, {"goal_options": {"size": "large", "color": "red"}})
        [('color', 'red'), ('size', 'large')]
        >>> wanted_options(product, {"goal_options": ["Red", "large"]})
        [('color', 'red'), ('size', 'large')]
    """
    options = product["options"]
    wanted = goal["goal_options"]
    if isinstance(wanted, dict):
        return [(n, v) for n, v in sorted(wanted.items()) if v in options.get(n, ())]
    pairs = []
    for name, values in options.items():
        for goal_value in wanted:
            target = normalize_color(goal_value.lower())
            best = max(values, key=lambda v: fuzzy_score(normalize_color(v), target))
            exact = name.lower() == "size"
            if (
                (best == goal_value.lower())
                if exact
                else fuzzy_score(normalize_color(best), target) > MATCH_THRESHOLD
            ):
                pairs.append((name, best))
                break
    return pairs


def expert_action(shop: Shop, view: View, goal: dict[str, Any]) -> str:
    """The expert's next action at ``view`` for ``goal`` (on the done page: ``click[buy now]``,
    which no longer exists: the episode is over)."""
    target = goal["asin"].upper()
    if view.page == "search":
        return f"search[{shop.product(target)['Title'].lower()}]"
    if view.page == "results":
        targets = shop.page(view, "").targets
        if target.lower() in targets:
            return f"click[{target.lower()}]"
        return "click[next >]" if "next >" in targets else "click[back to search]"
    if view.page == "item_sub" or (view.page == "item" and view.asin.upper() != target):
        return "click[< prev]"
    if view.page == "item":
        chosen = dict(view.options)
        for name, value in wanted_options(shop.product(target), goal):
            if chosen.get(name) != value:
                return f"click[{value}]"
    return "click[buy now]"
