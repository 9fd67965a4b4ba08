"""The shop's pages and where each button leads: pure rules, shared by text and web mode.

A :class:`View` says where the shopper is (the state the original web app kept
in its URLs); :meth:`Shop.page` lays out the :class:`Page` a view shows, whose
``segments`` are its visible texts in order and whose ``targets`` map each
clickable label (lowercased, as the original's ``text_to_clickable``) to the
view it leads to, or to :data:`BUY`. The page flow is the original's:

- search page: a search bar;
- results: 10 of the top 50 hits a page, with Back to Search, < Prev, Next >
  and one link per product (its ASIN);
- item page: Back to Search, < Prev (to the results), one button per option
  value, Description, Features, Reviews and Buy Now;
- Description / Features / Reviews: Back to Search and < Prev (to the item,
  options kept);
- done page: the score.

The text observation joins the segments with `` [SEP] `` (the original's
"simple" text mode); the web templates render the same segments as HTML.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from agentgym.environments.webshop.catalog import Catalog
from agentgym.environments.webshop.reward import get_reward
from agentgym.environments.webshop.search import Hit, SearchEngine

PRODUCT_WINDOW = 10
"""Products shown per results page."""
BACK_TO_SEARCH, PREV_PAGE, NEXT_PAGE, BUY_NOW = "Back to Search", "< Prev", "Next >", "Buy Now"
SUB_PAGES = ("Description", "Features", "Reviews")
BUY = "buy"
"""The target of the Buy Now button."""
SEP = " [SEP] "


@dataclass(frozen=True)
class View:
    """Where the shopper is: the page kind and what it was reached with."""

    page: str = "search"  # search | results | item | item_sub | done
    query: str = ""
    page_num: int = 1
    asin: str = ""
    options: tuple[tuple[str, str], ...] = ()
    sub: str = ""

    def with_option(self, name: str, value: str) -> View:
        """This item view with option ``name`` set to ``value`` (kept in selection order)."""
        chosen = dict(self.options)
        chosen[name] = value
        return replace(self, options=tuple(chosen.items()))

    def key(self) -> list[Any]:
        """A canonical JSON-able form (options sorted), for state keys."""
        return [self.page, self.query, self.page_num, self.asin, sorted(self.options), self.sub]


@dataclass
class Page:
    """What a view shows: visible texts, clickables and the data the templates use."""

    view: View
    instruction: str
    segments: list[str]
    targets: dict[str, View | str] = field(default_factory=dict)
    has_search_bar: bool = False
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The observation: the visible texts, stripped (as a browser shows them), joined by
        `` [SEP] ``."""
        return SEP.join(s.strip() for s in self.segments if s.strip())


class Shop:
    """A catalog and its search engine, laid out as pages.

    Example:
        >>> import tempfile
        >>> from agentgym.environments.webshop.catalog import SyntheticCatalog
        >>> catalog = SyntheticCatalog(1000, seed=0)
        >>> cache = tempfile.TemporaryDirectory()
        >>> shop = Shop(catalog, SearchEngine.open_or_build(catalog, cache.name))
        >>> shop.page(View(), "buy a sofa").text
        'WebShop [SEP] Instruction: [SEP] buy a sofa [SEP] Search'
        >>> page = shop.page(View("results", query="sofa"), "buy a sofa")
        >>> page.segments[2:5], len(page.data["listings"])
        (['Back to Search', 'Page 1 (Total results: 28)', 'Next >'], 10)
        >>> cache.cleanup()
    """

    def __init__(self, catalog: Catalog, engine: SearchEngine) -> None:
        self.catalog, self.engine = catalog, engine

    def results(self, query: str) -> tuple[Hit, ...]:
        """The top hits for ``query``."""
        return self.engine.search(query)

    def page(self, view: View, instruction: str, reward: float = 0.0) -> Page:
        """The page ``view`` shows to a shopper with this instruction."""
        if view.page == "search":
            return Page(
                view,
                instruction,
                ["WebShop", "Instruction:", instruction, "Search"],
                has_search_bar=True,
            )
        if view.page == "done":
            return Page(
                view,
                instruction,
                ["Thank you for shopping with us!", "Your score (min 0.0, max 1.0)", f"{reward}"],
            )
        page = Page(view, instruction, ["Instruction:", instruction, BACK_TO_SEARCH])
        page.targets["back to search"] = View()
        if view.page == "results":
            self._results_page(page)
        elif view.page == "item":
            self._item_page(page)
        else:
            self._sub_page(page)
        return page

    def _results_page(self, page: Page) -> None:
        view = page.view
        hits = self.results(view.query)
        shown = hits[(view.page_num - 1) * PRODUCT_WINDOW : view.page_num * PRODUCT_WINDOW]
        page.segments.append(f"Page {view.page_num} (Total results: {len(hits)})")
        if view.page_num > 1:
            page.segments.append(PREV_PAGE)
            page.targets["< prev"] = replace(view, page_num=view.page_num - 1)
        if view.page_num * PRODUCT_WINDOW < len(hits):
            page.segments.append(NEXT_PAGE)
            page.targets["next >"] = replace(view, page_num=view.page_num + 1)
        listings = [self.engine.listing(hit) for hit in shown]
        for item in listings:
            page.segments += [item.asin, item.title, item.price]
            page.targets[item.asin.lower()] = View("item", view.query, view.page_num, item.asin)
        page.data = {"listings": listings, "total": len(hits)}

    def _item_page(self, page: Page) -> None:
        view = page.view
        product = self.product(view.asin)
        page.segments.append(PREV_PAGE)
        page.targets["< prev"] = View("results", view.query, view.page_num)
        for name, values in product["options"].items():
            page.segments.append(name)
            for value in values:
                page.segments.append(value)
                page.targets[value] = view.with_option(name, value)
        page.segments += [
            product["Title"],
            f"Price: {product['Price']}",
            f"Rating: {product['Rating']}",
        ]
        # setdefault: an option value wins a label clash with a button, as in the original
        for sub in SUB_PAGES:
            page.segments.append(sub)
            page.targets.setdefault(sub.lower(), replace(view, page="item_sub", sub=sub))
        page.segments.append(BUY_NOW)
        page.targets.setdefault("buy now", BUY)
        page.data = {"product": product, "selected": dict(view.options)}

    def _sub_page(self, page: Page) -> None:
        view = page.view
        product = self.product(view.asin)
        page.segments.append(PREV_PAGE)
        page.targets["< prev"] = replace(view, page="item", sub="")
        if view.sub == "Description":
            page.segments.append(product["Description"] or "No Description")
        elif view.sub == "Features":
            page.segments += product["BulletPoints"] or ["No Features"]
        elif product["Reviews"]:
            for review in product["Reviews"]:
                page.segments += [f'"{review["title"]}"', f"{review['score']}", review["body"]]
        else:
            page.segments.append("No reviews found")
        page.data = {"product": product}

    def product(self, asin: str) -> dict[str, Any]:
        """The product with this ASIN (which a view reached by clicking always names)."""
        index = self.catalog.index_of(asin)
        if index is None:
            raise KeyError(f"no product with ASIN {asin!r}")
        return self.catalog.product(index)

    def buy(self, view: View, goal: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        """Reward and reward info of buying the item ``view`` shows, with its chosen options."""
        index = self.catalog.index_of(view.asin)
        assert index is not None, view
        reward, info = get_reward(
            self.catalog.product(index),
            goal,
            price=self.catalog.price(index),
            options=dict(view.options),
            verbose=True,
        )
        return reward, info


def parse_action(action: str) -> tuple[str, str] | None:
    """``("search", query)`` / ``("click", label)`` for ``search[...]`` / ``click[...]``, else None.

    Example:
        >>> parse_action("click[Buy Now]"), parse_action(" Search[red shoes] ")
        (('click', 'Buy Now'), ('search', 'red shoes'))
        >>> parse_action("buy it") is None
        True
    """
    match = _ACTION.match(action.strip())
    return None if match is None else (match.group(1).lower(), match.group(2).strip())


def interpret(action: str, has_search_bar: bool, labels: Collection[str]) -> tuple[str, str] | str:
    """What an action does on a page with these clickable ``labels``: ``("search", query)``
    (lowercased as the original, runs of spaces made one), ``("click", label)``, or why it
    is invalid.

    Example:
        >>> interpret("click[Next >]", False, {"next >", "back to search"})
        ('click', 'next >')
        >>> interpret("search[]", True, set())
        'the search is empty; write search[your query]'
    """
    parsed = parse_action(action)
    if parsed is None:
        shown = action if len(action) <= 60 else action[:57] + "..."
        return f"{shown!r} is not an action; use search[query] or click[button]"
    verb, arg = parsed
    if verb == "search":
        if not has_search_bar:
            return "there is no search bar on this page; click[back to search] first"
        if not arg:
            return "the search is empty; write search[your query]"
        return verb, " ".join(arg.lower().split())
    label = arg.lower()
    if label not in labels:
        return f"there is no {label[:60]!r} to click on this page"
    return verb, label


def admissible(has_search_bar: bool, labels: Iterable[str], instruction: str) -> list[str]:
    """The actions listed as admissible: every ``click[label]``; on the search page one
    search, for the instruction without its price clause (any ``search[...]`` is valid there).

    Example:
        >>> admissible(True, [], "i need a red sofa, and price lower than 300.00 dollars")
        ['search[i need a red sofa]']
        >>> admissible(False, ["back to search", "b0abcdef12"], "i need a red sofa")
        ['click[back to search]', 'click[b0abcdef12]']
    """
    if has_search_bar:
        return [f"search[{_PRICE_CLAUSE.sub('', instruction)}]"]
    return [f"click[{label}]" for label in labels]


_PRICE_CLAUSE = re.compile(r",? and price lower than [\d.]+ dollars$")


_ACTION = re.compile(r"^(search|click)\[(.*)\]$", re.IGNORECASE | re.DOTALL)
