"""WebShop in a real browser: the shop's web server driven by Playwright and Chromium.

The same shop, goals and reward as ``agentgym/WebShop-v0`` (see :mod:`.env`),
served as HTML by a FastAPI server on 127.0.0.1 (:mod:`.web`), one session
per env, and shopped in headless Chromium:

- Observation: the rendered page's visible text nodes, stripped and joined by
  `` [SEP] ``: the text env's observation of the same page.
- Actions: the same grammar, performed for real with mouse and keyboard events
  (Chromium's input pipeline, not synthetic DOM events): ``search[query]``
  clicks the search box, types the query key by key and clicks Search;
  ``click[label]`` scrolls to the button, product link or option radio whose
  text (value, for options) is ``label`` and clicks its centre. Validity and
  admissible actions come from the page's DOM.
- Reward: what the server computed when the browser posted Buy Now.
- ``state_key``: from the page's URL, which holds the whole view.
- Render modes: ``"png"`` (``render()`` returns a PNG screenshot of the page,
  as bytes) and ``"ansi"`` (the observation).
- Snapshots: native (the URL of the view; the browser navigates back to it).
- Needs: ``playwright`` (the ``web`` extra) and a Chromium; by default Debian's
  ``/usr/bin/chromium`` (never ``playwright install``). One Chromium per
  thread is shared by the browser envs made in that thread, each in its own
  browser context (Playwright's sync API ties an env to the thread that made
  it; the rollout engine's thread workers make and step their envs in one thread).
- Version history: v0, first release.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from agentgym.core import ResetOptions
from agentgym.environments.webshop.env import WebShopEnv, WebShopState
from agentgym.environments.webshop.shop import SEP, View, interpret
from agentgym.environments.webshop.web.app import view_of_url, view_url
from agentgym.environments.webshop.web.server import shop_server
from agentgym.exceptions import ConfigError, EnvCrashedError, require

CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
CLICKABLE = "button.btn:not(#search_button), a.product-link, input[type=radio]"
_SNAPSHOT_JS = """
(selector) => {
  const segments = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest('script, style, noscript, template') || !el.checkVisibility()) continue;
    const text = n.textContent.trim();
    if (text) segments.push(text);
  }
  const clickables = [...document.querySelectorAll(selector)].map((el) =>
    el.matches('input') ? [el.value, true] : [el.textContent.trim().toLowerCase(), false]);
  return {segments, clickables, hasSearchBar: document.querySelector('#search_input') !== null};
}
"""


_CENTRE_JS = """
([selector, nth]) => {
  const el = document.querySelectorAll(selector)[nth];
  el.scrollIntoView({block: 'center'});
  const box = el.getBoundingClientRect();
  return [box.x + box.width / 2, box.y + box.height / 2];
}
"""


def chromium_path() -> str:
    """The Chromium to drive: ``$AGENTGYM_CHROMIUM``, else ``chromium`` on the PATH, else
    ``/usr/bin/chromium``."""
    return os.environ.get("AGENTGYM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def browser_available() -> bool:
    """Whether playwright is installed and a Chromium executable exists."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return os.access(chromium_path(), os.X_OK)


class _Chromium(threading.local):
    """This thread's Playwright and headless Chromium, started on first use and stopped
    when the last browser context made from it closes.

    Per thread, because Playwright's sync API works only in the thread that started it
    (the rollout engine steps envs in worker threads). Stopping it when unused matters:
    while it runs, it holds an asyncio loop in its thread, and ``asyncio.run`` fails there.
    """

    playwright: Any = None
    browser: Any = None
    users: int = 0

    def new_context(self, **options: Any) -> Any:
        """A new browser context; give it back with :meth:`release`."""
        context = self._browser().new_context(**options)
        self.users += 1
        return context

    def release(self, context: Any) -> None:
        with contextlib.suppress(Exception):  # the browser may already be gone
            context.close()
        self.users -= 1
        if self.users <= 0:
            self.stop()

    def _browser(self) -> Any:
        if self.browser is None or not self.browser.is_connected():
            sync_api = require("playwright.sync_api", extra="web")
            path = chromium_path()
            if not os.access(path, os.X_OK):
                raise ConfigError(
                    f"no Chromium at {path}",
                    hint="apt-get install chromium, or set AGENTGYM_CHROMIUM to a Chromium binary",
                )
            self.playwright = self.playwright or sync_api.sync_playwright().start()
            self.browser = self.playwright.chromium.launch(
                executable_path=path, args=list(CHROMIUM_ARGS), headless=True
            )
        return self.browser

    def stop(self) -> None:
        """Close this thread's browser and driver (those of other threads end with the
        process: the Playwright driver closes its browsers when its pipe closes)."""
        with contextlib.suppress(Exception):  # the driver may already be gone at exit
            if self.browser is not None:
                self.browser.close()
            if self.playwright is not None:
                self.playwright.stop()
        self.browser = self.playwright = None
        self.users = 0


_CHROMIUM = _Chromium()
atexit.register(_CHROMIUM.stop)


@dataclass
class Dom:
    """What the browser shows: visible texts, clickable labels (-> element index), search bar."""

    segments: list[str]
    labels: dict[str, int]
    has_search_bar: bool

    @property
    def text(self) -> str:
        return SEP.join(self.segments)


class WebShopBrowserEnv(WebShopEnv):
    """WebShop in headless Chromium; see the module docstring for the card.

    Example (not run as a doctest: it needs Chromium; ``tests/environments/webshop/
    test_browser.py`` runs the same in CI):

        >>> env = WebShopBrowserEnv(render_mode="png")  # doctest: +SKIP
        >>> obs, info = env.reset(seed=0, options={"split": "test", "task_id": 0})  # doctest: +SKIP
        >>> obs.split(" [SEP] ")[0], info["page"]  # doctest: +SKIP
        ('WebShop', 'search')
        >>> env.render()[:4]  # doctest: +SKIP
        b'\x89PNG'
        >>> env.close()  # doctest: +SKIP
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi", "png"]}

    def __init__(self, max_steps: int = 15, render_mode: str | None = None, **store: Any) -> None:
        super().__init__(max_steps=max_steps, render_mode=render_mode, **store)
        self.server = shop_server(self.shop)
        self._context: Any = None
        self._page: Any = None
        self._sid = ""
        self._dom = Dom([], {}, False)

    # -- the contract ---------------------------------------------------------------

    def _reset(self, task_id: int, options: ResetOptions) -> tuple[str, dict[str, Any]]:
        self.state = WebShopState(self.goals.goal(options.split, task_id))
        self.server.close_session(self._sid)
        self._sid = self.server.open_session(self.state.goal)
        self._goto(View())
        return self._dom.text, self._info(self._dom.has_search_bar, self._dom.labels, invalid=False)

    def _step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        dom = self._dom
        outcome = interpret(action, dom.has_search_bar, dom.labels)
        if isinstance(outcome, str):
            info = self._info(dom.has_search_bar, dom.labels, invalid=True)
            return f"Invalid action: {outcome}\n{dom.text}", 0.0, False, False, info
        verb, arg = outcome
        page = self._page
        with self._browser_errors(f"the action {action!r}"):
            if verb == "search":
                self._click("#search_input", 0)
                page.keyboard.type(arg)
                target: tuple[str, int] = ("#search_button", 0)
            else:
                target = (CLICKABLE, dom.labels[arg])
            with page.expect_navigation():
                self._click(*target)
            self._observe()
        s, dom = self.state, self._dom
        if s.view.page != "done":
            return dom.text, 0.0, False, False, self._info(dom.has_search_bar, dom.labels, False)
        session = self.server.sessions[self._sid]
        s.reward, s.reward_info = session.reward, session.reward_info
        purchase = {"asin": s.view.asin, "options": dict(s.view.options)}
        info = self._info(dom.has_search_bar, dom.labels, invalid=False)
        info |= {"reward_info": s.reward_info, "purchased": purchase}
        return dom.text, s.reward, True, False, info

    def _set_state(self, state: tuple[dict[str, Any], View, float, dict[str, Any] | None]) -> None:
        super()._set_state(state)
        s = self.state
        if self._sid not in self.server.sessions:  # restored into an env that was never reset
            self._sid = self.server.open_session(s.goal)
        session = self.server.sessions[self._sid]
        session.goal, session.reward, session.reward_info = s.goal, s.reward, s.reward_info
        session.done = s.view.page == "done"
        self._goto(s.view)

    def render(self) -> str | bytes | None:
        if self.render_mode == "png" and self._page is not None:
            return self._page.screenshot(full_page=True)
        return super().render()

    def close(self) -> None:
        if self._context is not None:
            _CHROMIUM.release(self._context)
            self._context = self._page = None
        self.server.close_session(self._sid)
        super().close()

    # -- the browser ----------------------------------------------------------------

    def _goto(self, view: View) -> None:
        if self._page is None:
            self._context = _CHROMIUM.new_context(viewport={"width": 1280, "height": 900})
            self._page = self._context.new_page()
            self._page.set_default_timeout(15_000)
        url = self.server.base_url + view_url(self._sid, view)
        with self._browser_errors(f"opening {url}"):
            self._page.goto(url)
            self._observe()

    @contextlib.contextmanager
    def _browser_errors(self, doing: str) -> Iterator[None]:
        """Playwright's errors (a timeout, a crashed browser) as :class:`EnvCrashedError`."""
        error = require("playwright.sync_api", extra="web").Error
        try:
            yield
        except error as err:
            raise EnvCrashedError(f"the browser failed during {doing}: {err}") from err

    def _click(self, selector: str, nth: int) -> None:
        """A real mouse click on the centre of the nth element matching ``selector``."""
        x, y = self._page.evaluate(_CENTRE_JS, [selector, nth])
        self._page.mouse.click(x, y)

    def _observe(self) -> None:
        raw = self._page.evaluate(_SNAPSHOT_JS, CLICKABLE)
        labels: dict[str, int] = {}
        for i, (label, is_option) in enumerate(raw["clickables"]):
            if is_option:
                labels[label] = i  # an option value wins a label clash, as in the original
            else:
                labels.setdefault(label, i)
        self._dom = Dom(raw["segments"], labels, raw["hasSearchBar"])
        self.state.view = view_of_url(self._page.url)
