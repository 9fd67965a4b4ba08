"""The shop as a web site: FastAPI routes rendering Jinja2 templates, one session per shopper.

Every page's state lives in its URL, as in the original Flask app, so a page
can be reloaded, bookmarked or restored by navigating to it:

==============================================  ========================
``/{sid}``                                      search page
``/{sid}/results?q=...&page=N``                 results
``/{sid}/item/{asin}?q=&page=&options=``        item page
``/{sid}/item/{asin}/{sub}?q=&page=&options=``  Description / Features / Reviews
``/{sid}/buy/{asin}?...`` (POST)                buys, shows the done page
``/{sid}/done/{asin}?options=``                 the done page again
==============================================  ========================

``options`` is a JSON list of ``[name, value]`` pairs in the order chosen. A
session (:class:`Session`) holds the goal and, once bought, the reward. The
pages show exactly the texts of :class:`.shop.Page` ``segments``, so the text
a browser renders is the text env's observation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from agentgym.environments.webshop.shop import BUY, SUB_PAGES, Shop, View


@dataclass
class Session:
    """One shopper's goal and purchase."""

    goal: dict[str, Any]
    reward: float = 0.0
    reward_info: dict[str, Any] | None = None
    done: bool = False


def _params(view: View) -> str:
    options = quote(json.dumps([list(pair) for pair in view.options]))
    return f"q={quote(view.query)}&page={view.page_num}&options={options}"


def view_url(sid: str, view: View | str, current: View | None = None) -> str:
    """The URL of ``view`` in session ``sid`` (``BUY``: the purchase of ``current``'s item).

    Example:
        >>> view_url("s1", View("results", query="red shoes", page_num=2))
        '/s1/results?q=red%20shoes&page=2&options=%5B%5D'
    """
    if view == BUY:
        assert current is not None
        return f"/{sid}/buy/{current.asin}?{_params(current)}"
    assert isinstance(view, View)
    if view.page == "search":
        return f"/{sid}"
    if view.page == "results":
        return f"/{sid}/results?{_params(view)}"
    if view.page == "item":
        return f"/{sid}/item/{view.asin}?{_params(view)}"
    if view.page == "item_sub":
        return f"/{sid}/item/{view.asin}/{view.sub}?{_params(view)}"
    return f"/{sid}/done/{view.asin}?{_params(view)}"


def view_of_url(url: str) -> View:
    """The view a URL of :func:`view_url` shows (a purchase's URL shows the done page).

    Example:
        >>> view_of_url("http://127.0.0.1:8000/s1/results?q=red%20shoes&page=2&options=%5B%5D")
        View(page='results', query='red shoes', page_num=2, asin='', options=(), sub='')
    """
    parts = urlsplit(url)
    path = [p for p in parts.path.split("/") if p][1:]
    query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    options = tuple((n, v) for n, v in json.loads(query.get("options") or "[]"))
    base = View(
        query=query.get("q", "").lower(),
        page_num=max(1, int(query.get("page") or 1)),
        options=options,
    )
    if not path:
        return View()
    if path[0] == "results":
        return replace(base, page="results", options=())
    if path[0] == "item" and len(path) == 2:
        return replace(base, page="item", asin=path[1])
    if path[0] == "item" and len(path) == 3 and path[2] in SUB_PAGES:
        return replace(base, page="item_sub", asin=path[1], sub=path[2])
    if path[0] in ("buy", "done") and len(path) == 2:
        return View("done", asin=path[1], options=options)
    raise ValueError(f"not a shop URL: {url}")


def create_app(shop: Shop, sessions: dict[str, Session]) -> FastAPI:
    """The FastAPI app serving ``shop`` to the shoppers in ``sessions`` (sid -> session)."""
    templates = Environment(
        loader=FileSystemLoader(Path(__file__).parent),
        autoescape=select_autoescape(["html"]),
    )
    app = FastAPI(title="WebShop", docs_url=None, redoc_url=None, openapi_url=None)

    def render(sid: str, view: View) -> HTMLResponse:
        session = sessions.get(sid)
        if session is None:
            raise HTTPException(404, f"no shopping session {sid!r}")
        if view.asin and shop.catalog.index_of(view.asin) is None:
            raise HTTPException(404, f"no product {view.asin!r}")
        page = shop.page(view, session.goal["instruction_text"], session.reward)
        sub_urls = {sub: view_url(sid, replace(view, page="item_sub", sub=sub)) for sub in SUB_PAGES}
        html = templates.get_template(f"{view.page}.html").render(
            page=page,
            view=view,
            url=lambda label: view_url(sid, page.targets[label], view),
            sub_urls=sub_urls,
            buy_url=view_url(sid, BUY, view),
            search_url=f"/{sid}/results",
            **page.data,
        )
        return HTMLResponse(html)

    @app.api_route("/{sid}", methods=["GET", "POST"])
    def search_page(sid: str) -> HTMLResponse:
        return render(sid, View())

    @app.api_route("/{sid}/results", methods=["GET", "POST"])
    def results(sid: str, request: Request) -> HTMLResponse:
        return render(sid, view_of_url(str(request.url)))

    @app.api_route("/{sid}/item/{asin}", methods=["GET", "POST"])
    def item(sid: str, asin: str, request: Request) -> HTMLResponse:
        return render(sid, view_of_url(str(request.url)))

    @app.api_route("/{sid}/item/{asin}/{sub}", methods=["GET", "POST"])
    def item_sub(sid: str, asin: str, sub: str, request: Request) -> HTMLResponse:
        if sub not in SUB_PAGES:
            raise HTTPException(404, f"no page {sub!r}; there are {list(SUB_PAGES)}")
        return render(sid, view_of_url(str(request.url)))

    @app.post("/{sid}/buy/{asin}")
    def buy(sid: str, asin: str, request: Request) -> HTMLResponse:
        session = sessions.get(sid)
        if session is None or shop.catalog.index_of(asin) is None:
            raise HTTPException(404, f"no session {sid!r} or product {asin!r}")
        bought = view_of_url(str(request.url))
        if not session.done:
            item = replace(bought, page="item")
            session.reward, session.reward_info = shop.buy(item, session.goal)
            session.done = True
        return render(sid, bought)

    @app.get("/{sid}/done/{asin}")
    def done(sid: str, asin: str, request: Request) -> HTMLResponse:
        return render(sid, view_of_url(str(request.url)))

    return app
