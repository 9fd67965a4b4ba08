"""The experts: buy what the goal asks for, finding it by the target's title or by the instruction.

- ``"title"`` (the default, an oracle): search the target's exact title, page to
  the target, choose the goal's options, buy. It always buys the target itself.
- ``"instruction"``: search the instruction's own words (the admissible search:
  the instruction without its price clause, as the paper's rule baseline did and
  as people type a query), open the first listed product that fits the goal
  (the reward would score it 1.0 with the goal's options), paging on while none
  does, choose the options, buy. Its query reads nothing the agent cannot see,
  so a model can learn it by imitation; the choice of product still uses the
  goal, as any expert does.
"""

from __future__ import annotations

from typing import Any, Literal

from agentgym.environments.webshop.matching import fuzzy_score, normalize_color
from agentgym.environments.webshop.reward import MATCH_THRESHOLD
from agentgym.environments.webshop.shop import Shop, View, admissible

Expert = Literal["title", "instruction"]
"""How the expert finds the product: see the module docstring."""


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


def fits(shop: Shop, asin: str, goal: dict[str, Any]) -> bool:
    """Whether buying the product ``asin`` with the goal's options would score 1.0."""
    options = tuple(wanted_options(shop.product(asin), goal))
    return shop.buy(View("item", asin=asin.upper(), options=options), goal)[0] == 1.0


def expert_action(shop: Shop, view: View, goal: dict[str, Any], expert: Expert = "title") -> str:
    """The expert's next action at ``view`` for ``goal`` (on the done page: ``click[buy now]``,
    which no longer exists: the episode is over).

    Example:
        >>> import tempfile
        >>> from agentgym.environments.webshop import WebShopEnv
        >>> cache = tempfile.TemporaryDirectory()
        >>> env = WebShopEnv(cache_dir=cache.name, expert="instruction")
        >>> obs, info = env.reset(seed=0, options={"split": "train", "task_id": 3})
        >>> env.expert_action() == info["admissible_actions"][0]  # the instruction's search
        True
        >>> env.close(); cache.cleanup()
    """
    target = goal["asin"].upper()

    def wanted(asin: str) -> bool:
        return fits(shop, asin, goal) if expert == "instruction" else asin.upper() == target

    if view.page == "search":
        if expert == "instruction":
            return admissible(True, [], goal["instruction_text"])[0]
        return f"search[{shop.product(target)['Title'].lower()}]"
    if view.page == "results":
        targets = shop.page(view, "").targets
        for label, to in targets.items():
            if isinstance(to, View) and to.page == "item" and wanted(label):
                return f"click[{label}]"
        return "click[next >]" if "next >" in targets else "click[back to search]"
    if view.page == "item_sub" or (view.page == "item" and not wanted(view.asin)):
        return "click[< prev]"
    if view.page == "item":
        chosen = dict(view.options)
        for name, value in wanted_options(shop.product(view.asin), goal):
            if chosen.get(name) != value:
                return f"click[{value}]"
    return "click[buy now]"
