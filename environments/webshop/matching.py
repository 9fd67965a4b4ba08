"""The text matching that WebShop's reward is built from.

- :func:`fuzzy_score`: thefuzz's ``token_set_ratio`` (which the original calls),
  computed with rapidfuzz: the same preprocessing (non-ASCII characters dropped,
  lowercased, punctuation to spaces) and the same rounding to a whole number.
- :func:`normalize_color`: the original's colour normalisation: the first
  colour word of :data:`COLOR_SET` found in the string, else the string itself.
- :func:`type_nouns`: the nouns of a product name, for the type reward. The
  original tags parts of speech with spaCy; here spaCy's ``en_core_web_sm`` is
  used when it is installed, and otherwise a deterministic built-in extractor
  that keeps every word that is neither a function word nor a listed adjective.
  The two agree on what matters most (a product compared with itself scores
  1.0 either way) but not on every title: spaCy drops words it tags as
  adjectives or verbs in context, the built-in keeps any word it does not list.
  :func:`noun_extractor` says which one is in use.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from collections.abc import Callable

from agentgym.exceptions import require

fuzz = require("rapidfuzz.fuzz", extra="web")
default_process = require("rapidfuzz.utils", extra="web").default_process


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


COLOR_SET = _words(
    "alabaster apricot aqua ash asphalt azure banana beige black blue blush bordeaux bronze "
    "brown burgundy camel camo caramel champagne charcoal cheetah chestnut chocolate christmas "
    "coffee cognac copper coral cranberry cream crystal dark denim eggplant elephant espresso "
    "fuchsia gold granite grape graphite grass gray green grey heather indigo ivory ivy khaki "
    "lavender lemon leopard light lilac lime magenta maroon mauve merlot midnight mint mocha "
    "multicolor mushroom mustard natural navy nude olive orange peach pewter pink plum purple "
    "rainbow red rose royal rust sand sapphire seashell silver skull slate steel stone stonewash "
    "sunflower tan taupe teal tiger turquoise violet walnut wheat white wine yellow"
)
"""The original's colour words, in its (alphabetical) search order."""


def fuzzy_score(a: str, b: str) -> int:
    """thefuzz's ``token_set_ratio(a, b)``: 0..100, rounded to a whole number.

    Example:
        >>> fuzzy_score("Paraben Free!", "paraben free")
        100
        >>> fuzzy_score("sulfate free", "Sulfate-Free Shampoo")
        100
        >>> fuzzy_score("long lasting", "long wear")
        62
    """
    a = default_process(a.encode("ascii", "ignore").decode())
    b = default_process(b.encode("ascii", "ignore").decode())
    return round(fuzz.token_set_ratio(a, b))


def normalize_color(text: str) -> str:
    """The first colour word of :data:`COLOR_SET` inside ``text``, else ``text``.

    Substring matching, as the original: ``"standard"`` contains ``"tan"``.

    Example:
        >>> normalize_color("black forest"), normalize_color("violet lavender")
        ('black', 'lavender')
        >>> normalize_color("x-large")
        'x-large'
    """
    for color in COLOR_SET:
        if color in text:
            return color
    return text


FUNCTION_WORDS = frozenset(
    _words(
        """a an the and or but nor for with without of in on at to from by as into onto per via
    is are was were be been being am do does did has have had can will would should could may
    might must shall this that these those it its my your our their his her we you they i me
    us them he she him not no so very too up down out over under off again than then only also
    just each all any some more most less few both other such own same if which who whom what
    when where why how about after before between through during here there s t x vs plus"""
    )
)
ADJECTIVES = frozenset(
    _words(
        """new free natural organic long short high low light dark black white red blue green grey
    gray pink brown purple yellow orange beige navy gold silver clear small large medium mini
    big slim soft hard heavy lightweight portable waterproof wireless adjustable modern classic
    rustic casual comfortable premium durable easy fast quick ultra super extra best great good
    fresh sweet spicy original pure clean compact flexible breathable non anti dry hot cold warm
    cool thick thin wide narrow tall round square smart digital electric magnetic ergonomic
    solid multi resistant compatible protective cushioned hydrating moisturizing sensitive
    gentle raw roasted salted unsalted regular relaxed matte convertible upholstered
    industrial foldable outdoor indoor true loud sleeveless hooded packable oversized athletic
    stretch distressed wavy straight synthetic floral woody tinted mineral vegan keto
    daily quality healthy safe fine oily nude velvet rugged shockproof braided"""
    )
)


def builtin_nouns(text: str) -> list[str]:
    """The built-in extractor: words with a letter that are not listed function words,
    listed adjectives or adverbs in -ly.

    Example:
        >>> builtin_nouns("Natural Deodorant Stick for Sensitive Skin, 3 Ounce")
        ['deodorant', 'stick', 'skin', 'ounce']
    """
    words = re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text.lower())
    return [
        w
        for w in words
        if re.search("[a-z]", w) and w not in FUNCTION_WORDS and w not in ADJECTIVES and not w.endswith("ly")
    ]


@functools.lru_cache(maxsize=1)
def _spacy_pipeline() -> Callable[[str], object] | None:
    if importlib.util.find_spec("spacy") is None or importlib.util.find_spec("en_core_web_sm") is None:
        return None
    import spacy

    return spacy.load("en_core_web_sm", disable=["parser", "ner", "lemmatizer"])


def spacy_nouns(doc: object) -> list[str]:
    """The lowercased tokens of a spaCy ``Doc`` tagged NOUN or PROPN (the original's rule)."""
    return [t.text.lower() for t in doc if t.pos_ in ("PNOUN", "NOUN", "PROPN")]  # type: ignore[attr-defined]


def noun_extractor() -> str:
    """``"spacy:en_core_web_sm"`` when that model is installed, else ``"builtin"``."""
    return "builtin" if _spacy_pipeline() is None else "spacy:en_core_web_sm"


@functools.lru_cache(maxsize=65536)
def type_nouns(name: str) -> tuple[str, ...]:
    """The nouns of a product name, lowercased, as the type reward compares them.

    Example:
        >>> "deodorant" in type_nouns("Natural Deodorant Stick for Sensitive Skin")
        True
    """
    nlp = _spacy_pipeline()
    return tuple(builtin_nouns(name) if nlp is None else spacy_nouns(nlp(name)))
