"""Making one synthetic product from a stream of draws (see :class:`.catalog.SyntheticCatalog`)."""

from __future__ import annotations

from typing import Any

from agentgym.environments.webshop import vocab
from agentgym.environments.webshop.catalog import CATEGORY_SEP, Draws, price_tag

COLLECTION = "Part of the {brand} {query} collection."
"""The first sentence of every description: it makes the product's query searchable."""
DESCRIPTION_SENTENCES = (
    "The {brand} {noun}: {a1} and {a2}, made for {use}.",
    "Designed for {use}. Key features: {a1} and {a2}.",
    "What you get: {a1}, {a2} and the quality {brand} is known for.",
    "Every {brand} product is checked by hand before it leaves our warehouse.",
    "Backed by our 30-day satisfaction guarantee: if you do not love it, we will make it right.",
    "Ideal as a gift, and just as good for yourself.",
)
BULLET_ENDINGS = (
    "carefully made for everyday use",
    "tested for quality before it ships",
    "a favourite of our customers",
    "so it works as hard as you do",
    "with nothing you do not need",
)
REVIEW_TITLES = (
    "Love it",
    "Great value",
    "As described",
    "Would buy again",
    "Pretty good",
    "Five stars",
)


def _title_case(text: str) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in text.split())


def _phrase(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def _price(draws: Draws, lo: float, hi: float) -> float:
    cents = draws.pick((0.99, 0.49, 0.95, 0.79, 0.0))
    return round(int(draws.uniform(lo, hi)) + cents, 2)


def make_product(draws: Draws, department: int, asin: str) -> tuple[dict[str, Any], float]:
    """A product of department ``department`` and its purchase price."""
    dept = vocab.DEPARTMENTS[department]
    kind = draws.pick(dept.types)
    brand = draws.pick(dept.brands)
    desc = draws.pick(kind.descriptors)
    form = draws.pick(kind.forms)
    form = "" if form == "-" else " " + form
    use = draws.pick(dept.uses)

    own = draws.subset(kind.attributes, 2 + draws.below(2))
    shared = draws.subset([a for a in dept.attributes if a not in own], 1 + draws.below(3))
    attributes = own + shared

    options: dict[str, list[str]] = {}
    for name, values in kind.options.items():
        if draws.chance(0.9):
            options[name] = draws.subset(values, min(len(values), 2 + draws.below(5)))

    first_option = next(iter(options.values()), ["1 count"])
    title = draws.pick(vocab.TITLE_PATTERNS).format(
        brand=brand,
        desc=desc,
        noun=kind.noun,
        form=form,
        Use=_title_case(use),
        Attr1=_title_case(attributes[0]),
        Attr2=_title_case(attributes[1]),
        Option=_title_case(draws.pick(first_option)),
    )

    fill = {
        "query": kind.query,
        "brand": brand,
        "noun": kind.noun.lower(),
        "use": use,
        "a1": attributes[0],
        "a2": attributes[-1],
    }
    sentences = [COLLECTION, *draws.subset(DESCRIPTION_SENTENCES, 2 + draws.below(3))]
    description = " ".join(s.format(**fill) for s in sentences)
    bullets = [f"{a.upper()} - {draws.pick(BULLET_ENDINGS)}" for a in attributes]

    low = _price(draws, *kind.price)
    pricing = [low] if draws.chance(0.85) else [low, round(low * (1.1 + draws.uniform(0, 0.6)), 2)]
    price = pricing[0] if len(pricing) == 1 else round(draws.uniform(pricing[0], pricing[1]), 2)

    reviews = [
        {
            "title": draws.pick(REVIEW_TITLES),
            "score": 3 + draws.below(3),
            "body": draws.pick(dept.praise),
        }
        for _ in range(draws.pick((0, 0, 0, 1, 2, 3)))
    ]
    rating = f"{sum(r['score'] for r in reviews) / len(reviews):.1f}" if reviews else "N.A."

    wanted = draws.subset(own, 1 + draws.below(2)) + draws.subset(shared, draws.below(2))
    instruction = draws.pick(vocab.INSTRUCTION_PATTERNS).format(a=_phrase(wanted), query=kind.query, use=use)

    product = {
        "asin": asin,
        "name": title,
        "Title": title,
        "category": dept.name,
        "query": kind.query,
        "product_category": f"{dept.root} > {kind.path}".replace(">", CATEGORY_SEP),
        "Description": description,
        "BulletPoints": bullets,
        "Attributes": attributes,
        "options": options,
        "option_to_image": {},
        "pricing": pricing,
        "Price": price_tag(pricing),
        "Reviews": reviews,
        "Rating": rating,
        "MainImage": "",
        "instruction_text": instruction,
        "instruction_attributes": wanted,
    }
    return product, price
