"""WebShop's reward for a purchase, with the original's semantics and dict shapes.

The reward of buying ``purchased_product`` with ``options`` at ``price`` for a
``goal`` is (Yao et al. 2022, Eq. 1)::

    r = r_type * (n_attr + n_option + [price <= price_upper]) / (|U_att| + |U_opt| + 1)

- ``r_type`` (:func:`get_type_reward`): 1.0 when the product is of the wanted
  type, lowered to 0.5 when neither the query, two category levels nor enough
  title nouns match, to 0.1 when under 10% of the wanted title's nouns appear,
  and to 0 when none does.
- ``n_attr`` (:func:`get_attribute_reward`): goal attributes found among the
  product's attributes (token-set ratio > 85) or as substrings of its title,
  features or description.
- ``n_option`` (:func:`get_option_reward`): chosen options matching a goal
  option after colour normalisation: exactly for ``size``, by token-set ratio
  > 85 otherwise, or as a substring of the title, features or description.

Products are dicts in the original schema (``Title``, ``BulletPoints``,
``Description``, ``Attributes``, ``query``, ``product_category``, ``name``);
goals carry ``query``, ``product_category``, ``name``, ``attributes``,
``goal_options`` (a dict, or a list for human goals) and ``price_upper``.
"""

from __future__ import annotations

from typing import Any

from agentgym.environments.webshop.catalog import CATEGORY_SEP
from agentgym.environments.webshop.matching import fuzzy_score, normalize_color, type_nouns

EXACT_MATCH_OPTIONS = ("size",)
"""Option names matched exactly rather than fuzzily."""
MATCH_THRESHOLD = 85
"""A fuzzy match needs a token-set ratio above this."""


def get_type_reward(purchased_product: dict[str, Any], goal: dict[str, Any]) -> dict[str, Any]:
    """``r_type`` and what it was decided from: query, category and title-noun matches.

    Example:
        >>> levels = f" {CATEGORY_SEP} ".join(["Home", "Furniture", "Sofas"])
        >>> p = {"query": "sofa", "product_category": levels, "name": "Grey Sofa"}
        >>> get_type_reward(p, {**p, "query": "couch"})["r_type"]
        1.0
    """
    query_match = purchased_product["query"] == goal["query"]
    purchased_levels = {x.strip() for x in purchased_product["product_category"].split(CATEGORY_SEP)}
    goal_levels = {x.strip() for x in goal["product_category"].split(CATEGORY_SEP)}
    category_match = len(purchased_levels & goal_levels) >= 2

    purchased_nouns = set(type_nouns(purchased_product["name"]))
    desired_nouns = type_nouns(goal["name"])
    overlap = len(purchased_nouns & set(desired_nouns))
    title_score = overlap / len(desired_nouns) if desired_nouns else 0.2

    r_type = 1.0
    if not (query_match or category_match or title_score > 0.2):
        r_type = 0.5
    if title_score < 0.1:
        r_type = 0.1
    if title_score == 0.0:
        r_type = 0.0
    return {
        "r_type": r_type,
        "query_match": query_match,
        "category_match": category_match,
        "title_score": title_score,
    }


def _in_text(product: dict[str, Any], needle: str) -> bool:
    return (
        needle in product["Title"].lower()
        or needle in " ".join(product["BulletPoints"]).lower()
        or needle in product["Description"].lower()
    )


def get_attribute_reward(purchased_product: dict[str, Any], goal: dict[str, Any]) -> tuple[float, int]:
    """``(r_att, n_attr)``: the share and number of goal attributes the product has.

    Example:
        >>> p = {"Attributes": ["paraben free"], "Title": "Vegan Deodorant", "BulletPoints": [],
        ...      "Description": ""}
        >>> get_attribute_reward(p, {"attributes": ["paraben-free", "vegan", "long lasting"]})
        (0.6666666666666666, 2)
    """
    goal_attrs = goal["attributes"]
    matches = 0
    for g_attr in goal_attrs:
        in_attributes = any(
            fuzzy_score(p_attr, g_attr) > MATCH_THRESHOLD for p_attr in purchased_product["Attributes"]
        )
        if in_attributes or _in_text(purchased_product, g_attr):
            matches += 1
    return matches / len(goal_attrs), matches


def get_option_reward(
    purchased_product: dict[str, Any], goal_options: list[str], purchased_options: dict[str, str]
) -> tuple[float | None, int]:
    """``(r_option, n_option)`` for the options chosen; ``r_option`` is None without goal options.

    Example:
        >>> p = {"Title": "Tee", "BulletPoints": [], "Description": ""}
        >>> get_option_reward(p, ["navy blue", "large"], {"color": "light blue", "size": "x-large"})
        (0.5, 1)
    """
    purchased = {k: normalize_color(v) for k, v in purchased_options.items()}
    wanted = [normalize_color(o) for o in goal_options]
    matches = 0
    for name, value in purchased.items():
        if name.lower() in EXACT_MATCH_OPTIONS:
            matched = value in wanted
        else:
            matched = any(fuzzy_score(g, value) > MATCH_THRESHOLD for g in wanted)
        if matched or _in_text(purchased_product, value):
            matches += 1
    r_option = matches / len(wanted) if wanted else None
    return r_option, matches


def get_reward(
    purchased_product: dict[str, Any],
    goal: dict[str, Any],
    price: float,
    options: dict[str, str],
    verbose: bool = False,
) -> float | tuple[float, dict[str, Any]]:
    """The reward of a purchase; with ``verbose=True``, ``(reward, info)``.

    ``info`` has the original's keys: ``r_type``, ``r_att``, ``w_att``,
    ``query_match``, ``category_match``, ``title_score``, and ``r_option``/``w_option``
    when the goal has options, ``r_price``/``w_price`` when it has a positive
    price bound. (The original fails on a goal whose ``price_upper`` is not
    positive; here the price term then counts as unmet.)

    Example:
        >>> product = {"asin": "B0TEST0001", "query": "deodorant", "name": "Native Deodorant",
        ...     "Title": "Native Deodorant", "product_category": "Beauty",
        ...     "Attributes": ["aluminum free"], "BulletPoints": [], "Description": ""}
        >>> goal = {**product, "attributes": ["aluminum free"], "price_upper": 20.0,
        ...     "goal_options": {"scent": "lavender"}}
        >>> get_reward(product, goal, price=12.99, options={"scent": "lavender"})
        1.0
        >>> get_reward(product, goal, price=25.0, options={}, verbose=True)[0]
        0.3333333333333333
    """
    type_info = get_type_reward(purchased_product, goal)
    r_price = (price <= goal["price_upper"]) if goal["price_upper"] > 0 else None
    r_att, n_attr = get_attribute_reward(purchased_product, goal)
    goal_options = goal["goal_options"]
    wanted = list(goal_options.values()) if isinstance(goal_options, dict) else list(goal_options)
    r_option, n_option = get_option_reward(purchased_product, wanted, options)

    n_terms = len(goal["attributes"]) + len(goal_options) + 1
    reward = (n_attr + n_option + bool(r_price)) / n_terms * type_info["r_type"]
    if not verbose:
        return reward
    info: dict[str, Any] = {
        "r_type": type_info["r_type"],
        "r_att": r_att,
        "w_att": len(goal["attributes"]) / n_terms,
        "query_match": type_info["query_match"],
        "category_match": type_info["category_match"],
        "title_score": type_info["title_score"],
    }
    if r_option is not None:
        info["r_option"] = r_option
        info["w_option"] = len(goal_options) / n_terms
    if r_price is not None:
        info["r_price"] = r_price
        info["w_price"] = 1 / n_terms
    return reward, info
