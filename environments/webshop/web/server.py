"""Serving the shop on 127.0.0.1 from a background thread of this process (uvicorn).

One :class:`ShopServer` per shop and process, shared by every browser env of
that shop (:func:`shop_server`); each env opens its own session. Servers stop
at interpreter exit or on :func:`stop_servers`.
"""

from __future__ import annotations

import atexit
import secrets
import socket
import threading
import time
from typing import Any

from agentgym.environments.webshop.shop import Shop
from agentgym.environments.webshop.web.app import Session, create_app
from agentgym.exceptions import EnvCrashedError, require


class ShopServer:
    """A shop's web server on a free loopback port.

    Example:
        >>> import tempfile, httpx
        >>> from agentgym.environments.webshop.store import StoreConfig, open_store
        >>> cache = tempfile.TemporaryDirectory()
        >>> shop, goals = open_store(StoreConfig(cache_dir=cache.name))
        >>> server = ShopServer(shop)
        >>> sid = server.open_session(goals.goal("test", 0))
        >>> "WebShop" in httpx.get(server.base_url + f"/{sid}").text
        True
        >>> server.stop(); cache.cleanup()
    """

    def __init__(self, shop: Shop, startup_timeout: float = 10.0) -> None:
        uvicorn = require("uvicorn", extra="web")
        self.shop = shop
        self.sessions: dict[str, Session] = {}
        # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted sockets only then; without it
        # Nagle and delayed ACKs add ~40 ms to every keep-alive response.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(shop, self.sessions), log_level="warning", lifespan="off", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            daemon=True,
            name="webshop-server",
        )
        self._thread.start()
        deadline = time.monotonic() + startup_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise EnvCrashedError(f"the WebShop server did not start on {self.base_url}")
            time.sleep(0.01)

    def open_session(self, goal: dict[str, Any]) -> str:
        """A new session shopping for ``goal``; returns its id."""
        sid = secrets.token_hex(8)
        self.sessions[sid] = Session(goal)
        return sid

    def close_session(self, sid: str) -> None:
        """Forget a session (its pages then answer 404)."""
        self.sessions.pop(sid, None)

    def stop(self) -> None:
        """Stop serving and join the server thread."""
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


_SERVERS: dict[int, ShopServer] = {}
_LOCK = threading.Lock()


def shop_server(shop: Shop) -> ShopServer:
    """The process's server for ``shop``, started on first use."""
    with _LOCK:
        server = _SERVERS.get(id(shop))
        if server is None:
            server = _SERVERS[id(shop)] = ShopServer(shop)
        return server


@atexit.register
def stop_servers() -> None:
    """Stop every server :func:`shop_server` started."""
    with _LOCK:
        for server in _SERVERS.values():
            server.stop()
        _SERVERS.clear()
