"""BM25 search over a catalog with tantivy, the index built once and cached on disk.

The original searched a Lucene index (pyserini) of each product's title,
description, first feature and options, with Lucene's English analyzer, and
took the top 50 hits. Here tantivy (a Rust search engine with BM25 scoring)
indexes the same text (:func:`.catalog.search_text`) with the same analysis:
split on non-alphanumerics, lowercase, Lucene's English stop words, Porter
stemming. BM25 constants are tantivy's (k1 = 1.2, b = 0.75); pyserini's
defaults were k1 = 0.9, b = 0.4, so rankings differ slightly.

Indexes live under ``<cache_dir>/webshop/index-<catalog content hash>``; one is
built into a temporary folder and renamed into place when complete, so
concurrent builders and interrupted builds never leave a broken index.
``cache_dir`` defaults to ``$AGENTGYM_CACHE``, else ``$XDG_CACHE_HOME/agentgym``,
else ``~/.cache/agentgym``.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

from agentgym.environments.webshop.catalog import Catalog, search_text
from agentgym.exceptions import require

SEARCH_RETURN_N = 50
"""Hits a search returns (the original's ``SEARCH_RETURN_N``)."""
MAX_QUERY_TERMS = 64
"""Distinct words of a query that are searched; the rest are ignored."""
LUCENE_STOPWORDS = [
    "a",
    "an",
    "and",
    "are",
    "as",
    "at",
    "be",
    "but",
    "by",
    "for",
    "if",
    "in",
    "into",
    "is",
    "it",
    "no",
    "not",
    "of",
    "on",
    "or",
    "such",
    "that",
    "the",
    "their",
    "then",
    "there",
    "these",
    "they",
    "this",
    "to",
    "was",
    "will",
    "with",
]
ANALYZER = "webshop_english"
_WORD = re.compile(r"[a-z0-9]+")


def default_cache_dir() -> Path:
    """Where built indexes are kept (see the module docstring)."""
    if os.environ.get("AGENTGYM_CACHE"):
        return Path(os.environ["AGENTGYM_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "agentgym"


def query_words(text: str) -> list[str]:
    """The words of a query that are searched: lowercase runs of letters and digits,
    deduplicated, at most :data:`MAX_QUERY_TERMS`.

    Example:
        >>> query_words("3 Ounce bright-citrus deodorant (sensitive skin) deodorant")
        ['3', 'ounce', 'bright', 'citrus', 'deodorant', 'sensitive', 'skin']
    """
    return list(dict.fromkeys(_WORD.findall(text.lower())))[:MAX_QUERY_TERMS]


def _analyzer():  # -> tantivy.TextAnalyzer
    tantivy = require("tantivy", extra="web")
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.custom_stopword(LUCENE_STOPWORDS))
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


def _schema():  # -> tantivy.Schema
    tantivy = require("tantivy", extra="web")
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("contents", stored=False, tokenizer_name=ANALYZER, index_option="freq")
    builder.add_integer_field("id", stored=False, fast=True, indexed=False)
    builder.add_bytes_field("listing", stored=True, indexed=False, fast=False)
    return builder.build()


class Hit(NamedTuple):
    """A search result: the product's catalog index and where its listing is stored."""

    index: int
    address: Any  # tantivy.DocAddress


class Listing(NamedTuple):
    """A product as the results page lists it."""

    asin: str
    title: str
    price: str


class SearchEngine:
    """A tantivy index of a catalog; :meth:`search` returns the best hits, best first.

    Each indexed product also stores its listing (ASIN, title, price tag), so a results
    page needs no product from the catalog.

    Example:
        >>> import tempfile
        >>> from agentgym.environments.webshop.catalog import SyntheticCatalog
        >>> catalog = SyntheticCatalog(1000, seed=0)
        >>> cache = tempfile.TemporaryDirectory()
        >>> engine = SearchEngine.open_or_build(catalog, cache.name)
        >>> hits = engine.search(catalog.product(7)["Title"])
        >>> hits[0].index, engine.listing(hits[0]).asin == catalog.product(7)["asin"]
        (7, True)
        >>> cache.cleanup()
    """

    def __init__(self, path: Path) -> None:
        tantivy = require("tantivy", extra="web")
        self.path = path
        self._index = tantivy.Index.open(str(path))
        self._index.register_tokenizer(ANALYZER, _analyzer())
        self._searcher = self._index.searcher()
        self.search = functools.lru_cache(maxsize=1024)(self._search)
        self._listings: dict[int, Listing] = {}

    @classmethod
    def open_or_build(cls, catalog: Catalog, cache_dir: str | Path | None = None) -> SearchEngine:
        """The cached index of ``catalog``, built first if there is none."""
        root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        path = root / "webshop" / f"index-{catalog.content_hash}"
        if not (path / "complete").exists():
            build_index(catalog, path)
        return cls(path)

    def _search(self, text: str) -> tuple[Hit, ...]:
        words = query_words(text)
        if not words:
            return ()
        query = self._index.parse_query(" ".join(words), ["contents"])
        addresses = [address for _, address in self._searcher.search(query, SEARCH_RETURN_N).hits]
        ids = self._searcher.fast_field_values("id", addresses)
        return tuple(Hit(i, a) for i, a in zip(ids, addresses, strict=True))

    def listing(self, hit: Hit) -> Listing:
        """The stored ASIN, title and price tag of a hit (fetched on first use)."""
        found = self._listings.get(hit.index)
        if found is None:
            if len(self._listings) >= 100_000:
                self._listings.clear()
            raw = self._searcher.doc(hit.address).get_first("listing")
            found = self._listings[hit.index] = Listing(*json.loads(raw))
        return found


def build_index(catalog: Catalog, path: Path, heap_bytes: int = 256_000_000) -> None:
    """Index every product of ``catalog`` into ``path`` (atomically: temp folder, then rename)."""
    tantivy = require("tantivy", extra="web")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=path.name + ".", dir=path.parent))
    try:
        index = tantivy.Index(_schema(), path=str(tmp))
        index.register_tokenizer(ANALYZER, _analyzer())
        writer = index.writer(heap_size=heap_bytes, num_threads=1)
        for i, product in catalog.items():
            listing = json.dumps([product["asin"], product["Title"], product["Price"]]).encode()
            writer.add_document(tantivy.Document(contents=search_text(product), id=i, listing=listing))
        writer.commit()
        writer.wait_merging_threads()
        (tmp / "complete").write_text(catalog.content_hash)
        try:
            tmp.rename(path)
        except OSError:
            if not (path / "complete").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
