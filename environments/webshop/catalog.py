"""Product catalogs: the interface the shop reads, and the synthetic catalog.

A catalog is a sequence of products in the original WebShop schema (the dicts
the original ``load_products`` builds): ``asin``, ``name``, ``Title``,
``category``, ``query``, ``product_category``, ``Description``,
``BulletPoints``, ``Attributes``, ``options`` (option name -> values),
``pricing``, ``Price``, ``Reviews``, ``Rating``, ``MainImage``, and for goal
making ``instruction_text`` and ``instruction_attributes``.

:class:`SyntheticCatalog` makes any number of products (1k to 1M) from a seed,
cycling through the five departments of :mod:`.vocab`. Product ``i`` is a pure
function of ``(seed, i)``: drawn from a BLAKE2b stream keyed by both, so it is
the same on every machine and Python version, costs nothing to hold, and is
made on demand (with a small cache). ASINs are a bijection of the index, so
``index_of`` needs no table. :mod:`.loader` reads the original data files into
a :class:`ListCatalog`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import struct
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from typing import Any, TypeVar

from agentgym.environments.webshop import vocab
from agentgym.exceptions import ConfigError

CATEGORY_SEP = "\u203a"
"""The character between the levels of ``product_category`` (a right angle quote)."""
GENERATOR_VERSION = "1"
"""Bumped whenever the synthetic products change; part of the content hash."""
MIN_PRODUCTS, MAX_PRODUCTS = 1_000, 1_000_000

T = TypeVar("T")
_ASIN_SPACE = 36**8
_ASIN_MULT = 1_743_541_808_669  # ~0.618 * 36**8, odd and not a multiple of 3: invertible
_ASIN_INV = pow(_ASIN_MULT, -1, _ASIN_SPACE)
_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_WORDS = struct.Struct("<16I")


class Draws:
    """A deterministic stream of draws keyed by any JSON-able values.

    Example:
        >>> d = Draws(7, 12)
        >>> [d.below(10) for _ in range(3)]
        [8, 4, 1]
        >>> Draws(7, 12).subset("abcdef", 3)
        ['c', 'd', 'f']
    """

    def __init__(self, *key: Any) -> None:
        self._key = json.dumps(key).encode()
        self._block = 0
        self._words: list[int] = []

    def _u32(self) -> int:
        if not self._words:
            digest = hashlib.blake2b(self._key + self._block.to_bytes(4, "little")).digest()
            self._words = list(_WORDS.unpack(digest))
            self._block += 1
        return self._words.pop()

    def below(self, n: int) -> int:
        """A whole number in ``[0, n)``."""
        return self._u32() % n

    def chance(self, p: float) -> bool:
        """True with probability ``p``."""
        return self._u32() < p * 2**32

    def uniform(self, lo: float, hi: float) -> float:
        """A float in ``[lo, hi)``."""
        return lo + (hi - lo) * self._u32() / 2**32

    def pick(self, seq: Sequence[T]) -> T:
        """One element of ``seq``."""
        return seq[self.below(len(seq))]

    def subset(self, seq: Sequence[T], k: int) -> list[T]:
        """``k`` distinct elements of ``seq``, in the order they have in ``seq``."""
        chosen = list(range(len(seq)))
        for j in range(min(k, len(seq))):
            swap = j + self.below(len(seq) - j)
            chosen[j], chosen[swap] = chosen[swap], chosen[j]
        return [seq[j] for j in sorted(chosen[: min(k, len(seq))])]


class Catalog:
    """What the shop needs of a catalog: products by index, prices, ASIN lookup, a content hash."""

    content_hash: str
    """Identifies the products' content; keys the search-index cache."""

    def __len__(self) -> int:
        raise NotImplementedError

    def product(self, index: int) -> dict[str, Any]:
        """Product ``index`` as an original-schema dict (do not mutate it)."""
        raise NotImplementedError

    def price(self, index: int) -> float:
        """What buying product ``index`` costs (the original's ``product_prices``)."""
        raise NotImplementedError

    def index_of(self, asin: str) -> int | None:
        """The index of the product with this ASIN (any case), or None."""
        raise NotImplementedError

    def items(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(index, product)`` for every product, without filling the product cache."""
        for i in range(len(self)):
            yield i, self.product(i)


def search_text(product: dict[str, Any]) -> str:
    """A product's indexed text, as the original's index: title, description, first
    feature and the option lists, lowercased."""
    options = ", and ".join(f"{name}: {', '.join(values)}" for name, values in product["options"].items())
    first_bullet = product["BulletPoints"][0] if product["BulletPoints"] else ""
    return " ".join([product["Title"], product["Description"], first_bullet, options]).lower()


def price_tag(pricing: list[float]) -> str:
    """The original's displayed price: ``$12.99`` or ``$12.99 to $15.49``."""
    return f"${pricing[0]}" if len(pricing) == 1 else f"${pricing[0]} to ${pricing[1]}"


class SyntheticCatalog(Catalog):
    """``size`` products generated from ``seed`` across the five departments.

    Example:
        >>> catalog = SyntheticCatalog(1000, seed=0)
        >>> p = catalog.product(3)
        >>> catalog.index_of(p["asin"]), p["category"], len(catalog)
        (3, 'furniture', 1000)
        >>> SyntheticCatalog(1000, seed=0).product(3) == p
        True
    """

    def __init__(self, size: int, seed: int = 0, cache_size: int = 4096) -> None:
        if not MIN_PRODUCTS <= size <= MAX_PRODUCTS:
            raise ConfigError(
                f"num_products must be between {MIN_PRODUCTS:,} and {MAX_PRODUCTS:,}, got {size:,}"
            )
        self.size, self.seed = size, seed
        self._offset = Draws("asin", seed).below(_ASIN_SPACE)
        self._make = functools.lru_cache(maxsize=cache_size)(self._generate)
        vocab_json = json.dumps([asdict(d) for d in vocab.DEPARTMENTS], sort_keys=True)
        key = f"synthetic:{GENERATOR_VERSION}:{seed}:{size}:{vocab_json}"
        self.content_hash = hashlib.sha256(key.encode()).hexdigest()[:20]

    def __len__(self) -> int:
        return self.size

    def product(self, index: int) -> dict[str, Any]:
        return self._make(index)[0]

    def items(self) -> Iterator[tuple[int, dict[str, Any]]]:
        for i in range(self.size):
            yield i, self._generate(i)[0]

    def price(self, index: int) -> float:
        return self._make(index)[1]

    def asin(self, index: int) -> str:
        """The ASIN of product ``index`` (``B0`` and eight base-36 digits)."""
        n = (index * _ASIN_MULT + self._offset) % _ASIN_SPACE
        digits = []
        for _ in range(8):
            n, r = divmod(n, 36)
            digits.append(_DIGITS[r])
        return "B0" + "".join(reversed(digits))

    def index_of(self, asin: str) -> int | None:
        asin = asin.upper()
        if len(asin) != 10 or not asin.startswith("B0") or any(c not in _DIGITS for c in asin[2:]):
            return None
        n = int(asin[2:], 36)
        index = ((n - self._offset) * _ASIN_INV) % _ASIN_SPACE
        return index if index < self.size else None

    def _generate(self, index: int) -> tuple[dict[str, Any], float]:
        if not 0 <= index < self.size:
            raise IndexError(f"product {index} is outside the catalog (0..{self.size - 1})")
        from agentgym.environments.webshop.generate import make_product

        return make_product(Draws(self.seed, index), index % len(vocab.DEPARTMENTS), self.asin(index))


class ListCatalog(Catalog):
    """Products held in a list (what :mod:`.loader` reads from the original files)."""

    def __init__(self, products: list[dict[str, Any]], prices: list[float], content_hash: str) -> None:
        self._products, self._prices = products, prices
        self._by_asin = {p["asin"].upper(): i for i, p in enumerate(products)}
        self.content_hash = content_hash

    def __len__(self) -> int:
        return len(self._products)

    def product(self, index: int) -> dict[str, Any]:
        return self._products[index]

    def price(self, index: int) -> float:
        return self._prices[index]

    def index_of(self, asin: str) -> int | None:
        return self._by_asin.get(asin.upper())
