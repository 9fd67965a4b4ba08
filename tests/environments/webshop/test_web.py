"""The web server's routes and URLs (no browser: a real server on a loopback port)."""

from __future__ import annotations

import httpx
import pytest

from agentgym.environments.webshop.shop import View
from agentgym.environments.webshop.web.app import view_of_url, view_url
from agentgym.environments.webshop.web.server import ShopServer


@pytest.fixture(scope="module")
def server(store):
    server = ShopServer(store[0])
    yield server
    server.stop()


@pytest.mark.parametrize(
    "view",
    [
        View(),
        View("results", query="red shoes & socks", page_num=3),
        View(
            "item",
            query="q",
            page_num=2,
            asin="B0ABCDEF12",
            options=(("size", "x-large"), ("color", "a | b")),
        ),
        View("item_sub", query="q", asin="B0ABCDEF12", options=(("size", "m"),), sub="Reviews"),
        View("done", asin="B0ABCDEF12", options=(("size", "m"),)),
    ],
)
def test_every_view_has_a_url_that_names_it(view):
    assert view_of_url("http://127.0.0.1:1" + view_url("sid", view)) == view


def test_pages_serve_the_segments_and_buying_records_the_reward(server, store):
    shop, goals = store
    goal = goals.goal("test", 2)
    sid = server.open_session(goal)
    with httpx.Client(base_url=server.base_url) as client:
        search = client.get(f"/{sid}")
        assert search.status_code == 200 and 'id="search_input"' in search.text
        assert goal["instruction_text"] in search.text
        item = View("item", query="x", asin=goal["asin"], options=tuple(goal["goal_options"].items()))
        page = client.get(view_url(sid, item))
        assert page.status_code == 200 and "Buy Now" in page.text and "checked" in page.text
        bought = client.post(view_url(sid, "buy", item))
        assert bought.status_code == 200 and "Your score (min 0.0, max 1.0)" in bought.text
        assert server.sessions[sid].done and server.sessions[sid].reward == 1.0
        # a second purchase changes nothing
        other = View("item", asin=shop.catalog.product(1)["asin"])
        client.post(view_url(sid, "buy", other))
        assert server.sessions[sid].reward == 1.0
        assert client.get(f"/{sid}/item/B0ABCDEF12/Reviews").status_code == 404  # no such product
        assert client.get(f"/{sid}/item/{goal['asin']}/Specs").status_code == 404
        assert client.get("/nosuchsession").status_code == 404
    server.close_session(sid)
    assert sid not in server.sessions
