"""Reading the original WebShop data files, and writing a catalog in their format.

The original release ships ``items_shuffle*.json`` (raw scraped products),
``items_ins_v2*.json`` (per ASIN: mined ``attributes``, a synthetic
``instruction`` and its ``instruction_attributes``), ``items_human_ins.json``
(per ASIN: crowd-written instructions with ``instruction_attributes`` and
``instruction_options``) and optionally ``reviews.json``. Nothing here
downloads them: pass the paths of files you have.

:func:`load_original` processes them as the original ``load_products`` did
(ASINs ``nan`` or over 10 characters and duplicates dropped, option names and
values lowercased with ``/`` shown as `` | ``, ``DUMMY_ATTR`` for products
without attributes, ``$100.0`` for products without a price) and builds the
goals as ``get_human_goals`` / ``get_synthetic_goals`` did, shuffled with
``random.Random(233)`` like the original's ``random.seed(233)`` shuffle.
Where the original drew from the unseeded global ``random`` (the price of a
product with a price range, the price bound of a goal), draws here come from a
stream keyed by ``seed`` and the ASIN.

:func:`write_original` writes a catalog in that raw format, so that the loader
(and the original code) can read a synthetic catalog.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from agentgym.environments.webshop.catalog import Catalog, Draws, ListCatalog, price_tag
from agentgym.environments.webshop.goals import (
    GoalList,
    make_goal,
    option_combinations,
    price_bound,
)
from agentgym.exceptions import ConfigError

GOAL_SHUFFLE_SEED = 233
"""The seed of the original's goal shuffle."""


def _read_json(path: str | Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"WebShop data file {str(path)!r} does not exist; pass the path of a file you have")
    with path.open() as f:
        return json.load(f)


def _pricing(raw: str | None) -> list[float]:
    if not raw:
        return [100.0]
    values = [float(Decimal(re.sub(r"[^\d.]", "", part))) for part in raw.split("$")[1:]]
    return values[:2] if values else [100.0]


def _options(raw: dict[str, Any] | None) -> dict[str, list[str]]:
    options: dict[str, list[str]] = {}
    for name, contents in (raw or {}).items():
        if contents is None:
            continue
        options[name.lower()] = [c["value"].strip().replace("/", " | ").lower() for c in contents]
    return options


def _process(raw: dict[str, Any], attrs: dict[str, Any], reviews: dict[str, Any]) -> dict[str, Any]:
    asin = raw["asin"]
    pricing = _pricing(raw.get("pricing"))
    bullets = raw.get("small_description") or []
    entry = attrs.get(asin, {})
    product_reviews = [
        {
            "title": r.get("title", ""),
            "score": r.get("score", r.get("stars", 0)),
            "body": r.get("body", r.get("review", "")),
        }
        for r in reviews.get(asin, {}).get("reviews", [])
    ]
    return {
        "asin": asin,
        "name": raw["name"],
        "Title": raw["name"],
        "category": raw["category"],
        "query": raw["query"].lower().strip(),
        "product_category": raw["product_category"],
        "Description": raw.get("full_description") or "",
        "BulletPoints": bullets if isinstance(bullets, list) else [bullets],
        "Attributes": entry.get("attributes") or ["DUMMY_ATTR"],
        "options": _options(raw.get("customization_options")),
        "option_to_image": {},
        "pricing": pricing,
        "Price": price_tag(pricing),
        "Reviews": product_reviews,
        "Rating": reviews.get(asin, {}).get("average_rating", "N.A."),
        "MainImage": (raw.get("images") or [""])[0],
        "instruction_text": entry.get("instruction"),
        "instruction_attributes": entry.get("instruction_attributes"),
    }


def load_catalog(
    products_path: str | Path,
    attributes_path: str | Path,
    reviews_path: str | Path | None = None,
    num_products: int | None = None,
    seed: int = 0,
) -> ListCatalog:
    """The products of the original files, processed as the original ``load_products``."""
    raw_products = _read_json(products_path)[:num_products]
    attrs = _read_json(attributes_path)
    reviews = {r["asin"]: r for r in _read_json(reviews_path)} if reviews_path else {}
    products, seen = [], set()
    for raw in raw_products:
        asin = raw.get("asin", "nan")
        if asin == "nan" or len(asin) > 10 or asin in seen:
            continue
        seen.add(asin)
        products.append(_process(raw, attrs, reviews))

    prices = []
    for p in products:
        pricing = p["pricing"]
        prices.append(pricing[0] if len(pricing) == 1 else Draws("price", seed, p["asin"]).uniform(*pricing))
    digest = hashlib.sha256()
    for path in (products_path, attributes_path):
        with Path(path).open("rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    digest.update(f"{num_products}:{seed}".encode())
    return ListCatalog(products, prices, "original-" + digest.hexdigest()[:20])


def load_original(
    products_path: str | Path,
    attributes_path: str | Path,
    human_goals_path: str | Path | None = None,
    reviews_path: str | Path | None = None,
    num_products: int | None = None,
    seed: int = 0,
) -> tuple[ListCatalog, GoalList]:
    """The catalog and goals of the original files (human goals with ``human_goals_path``)."""
    catalog = load_catalog(products_path, attributes_path, reviews_path, num_products, seed)
    if human_goals_path is not None:
        goals = human_goals(catalog, _read_json(human_goals_path), seed)
    else:
        goals = synthetic_goals(catalog, seed)
    random.Random(GOAL_SHUFFLE_SEED).shuffle(goals)
    return catalog, GoalList(goals, catalog)


def human_goals(
    catalog: Catalog, instructions: dict[str, list[dict[str, Any]]], seed: int
) -> list[dict[str, Any]]:
    """One goal per crowd-written instruction with attributes, in catalog order."""
    goals = []
    for index in range(len(catalog)):
        product = catalog.product(index)
        for k, ins in enumerate(instructions.get(product["asin"], [])):
            if not ins["instruction_attributes"]:
                continue
            upper, price_text = price_bound(catalog.price(index), Draws("goal", seed, product["asin"], k))
            goals.append(
                {
                    "asin": product["asin"],
                    "category": product["category"],
                    "query": product["query"],
                    "name": product["name"],
                    "product_category": product["product_category"],
                    "instruction_text": ins["instruction"].strip(".") + price_text,
                    "attributes": ins["instruction_attributes"],
                    "price_upper": upper,
                    "goal_options": ins["instruction_options"],
                }
            )
    return goals


def synthetic_goals(catalog: Catalog, seed: int) -> list[dict[str, Any]]:
    """One goal per option combination of every product with an instruction, in catalog order."""
    goals = []
    for index in range(len(catalog)):
        product = catalog.product(index)
        if not product.get("instruction_text"):
            continue
        for k, combo in enumerate(option_combinations(product["options"])):
            goals.append(
                make_goal(product, catalog.price(index), combo, Draws("goal", seed, product["asin"], k))
            )
    return goals


def write_original(catalog: Catalog, folder: str | Path, limit: int | None = None) -> dict[str, Path]:
    """Write ``catalog`` (its first ``limit`` products) as the original's raw files.

    Writes ``items_shuffle.json``, ``items_ins_v2.json``, ``items_human_ins.json``
    (one instruction per product: its own, with its first option values) and
    ``reviews.json``; returns their paths by the keyword :func:`load_original` takes.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    raw, attrs, human, reviews = [], {}, {}, []
    for index in range(min(len(catalog), limit or len(catalog))):
        p = catalog.product(index)
        pricing = " - ".join(f"${v}" for v in p["pricing"])
        raw.append(
            {
                "asin": p["asin"],
                "name": p["Title"],
                "category": p["category"],
                "query": p["query"],
                "product_category": p["product_category"],
                "full_description": p["Description"],
                "small_description": p["BulletPoints"],
                "pricing": pricing,
                "images": [p["MainImage"]],
                "customization_options": {
                    n: [{"value": v, "image": None} for v in vs] for n, vs in p["options"].items()
                },
            }
        )
        attrs[p["asin"]] = {
            "attributes": p["Attributes"],
            "instruction": p["instruction_text"],
            "instruction_attributes": p["instruction_attributes"],
        }
        human[p["asin"]] = [
            {
                "instruction": p["instruction_text"] + ".",
                "instruction_attributes": p["instruction_attributes"],
                "instruction_options": [values[0] for values in p["options"].values()],
            }
        ]
        reviews.append({"asin": p["asin"], "reviews": p["Reviews"], "average_rating": p["Rating"]})
    paths = {
        "products_path": folder / "items_shuffle.json",
        "attributes_path": folder / "items_ins_v2.json",
        "human_goals_path": folder / "items_human_ins.json",
        "reviews_path": folder / "reviews.json",
    }
    for key, data in zip(paths, (raw, attrs, human, reviews), strict=True):
        paths[key].write_text(json.dumps(data))
    return paths
