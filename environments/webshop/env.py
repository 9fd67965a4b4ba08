"""WebShop (text mode): find, customise and buy the product an instruction describes.

The web-shopping benchmark of Yao et al. (2022), rebuilt without Java, pyserini
or a download: a synthetic catalog in the original product schema (or the
original data files, when you have them), BM25 search with tantivy, the
original page flow and reward.

- Task: an instruction such as "i need aluminum free deodorant with scent:
  lavender, and size: 3 ounce (pack of 1), and price lower than 20.00 dollars".
  Splits: synthetic goals by target product (index mod 10: test 0, valid 1,
  train 2-9); original goals by position (test 0-499, valid 500-1499, train rest).
- Observation: the page's visible texts joined by `` [SEP] `` (the original's
  simple text mode), e.g. ``WebShop [SEP] Instruction: [SEP] i need ... [SEP] Search``.
  An invalid action repeats the page under an ``Invalid action: ...`` line.
- Actions: ``search[query]`` on the search page; ``click[label]`` for any
  clickable of the page (buttons, product ASINs, option values), case-insensitive.
- Admissible actions: every ``click[label]`` of the page, lowercased as the
  original's clickables; on the search page one ``search[...]`` of the
  instruction without its price clause (any query is valid there).
- Reward: 0 until Buy Now, then :func:`.reward.get_reward` (0..1). ``won``
  when it is 1.0. The episode ends at Buy Now or after ``max_steps`` (15).
- ``info`` adds ``page`` (search, results, item, item_sub, done) and, after a
  purchase, ``reward_info`` (the original's verbose keys) and ``purchased``.
- ``state_key``: the goal and the view (page, query, page number, item, chosen options).
- Expert: :func:`.expert.expert_action`; ``expert="title"`` (default) searches the
  target's title, ``expert="instruction"`` the instruction's own words (a query a
  model can learn by imitation). Snapshots: native.
- Differences from the original: search only from the search page (the
  original also accepted it elsewhere); the done page shows the score only;
  price draws are seeded; BM25 constants are tantivy's.
- Version history: v0, first release.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, get_args

from pydantic import ValidationError

from agentgym.core import ResetOptions, TextEnv, state_digest
from agentgym.environments.webshop.expert import Expert, expert_action
from agentgym.environments.webshop.shop import BUY, Page, View, admissible, interpret
from agentgym.environments.webshop.store import StoreConfig, open_store
from agentgym.exceptions import ConfigError


class WebShopState:
    """One episode: the goal, where the shopper is, and the purchase once made."""

    def __init__(self, goal: dict[str, Any]) -> None:
        self.goal = goal
        self.view = View()
        self.reward = 0.0
        self.reward_info: dict[str, Any] | None = None

    @property
    def instruction(self) -> str:
        return self.goal["instruction_text"]


class WebShopEnv(TextEnv):
    """WebShop in text mode; see the module docstring for the card.

    Example:
        >>> import tempfile
        >>> cache = tempfile.TemporaryDirectory()
        >>> env = WebShopEnv(cache_dir=cache.name)
        >>> obs, info = env.reset(seed=0, options={"split": "test", "task_id": 0})
        >>> obs.startswith("WebShop [SEP] Instruction: [SEP] ")
        True
        >>> while info["page"] != "done":
        ...     obs, reward, terminated, truncated, info = env.step(env.expert_action())
        >>> reward, info["won"]
        (1.0, True)
        >>> env.close(); cache.cleanup()
    """

    data_version = "1"

    def __init__(
        self,
        max_steps: int = 15,
        render_mode: str | None = None,
        expert: Expert = "title",
        **store: Any,
    ) -> None:
        super().__init__(max_steps=max_steps, max_action_length=4096, render_mode=render_mode)
        if expert not in get_args(Expert):
            names = " or ".join(repr(name) for name in get_args(Expert))
            raise ConfigError(f"unknown WebShop expert {expert!r}: use {names}")
        self.expert = expert
        try:
            self.config = StoreConfig(**store)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "arguments"
            raise ConfigError(f"invalid WebShop arguments {store!r}: {where}: {first['msg']}") from err
        self.shop, self.goals = open_store(self.config)
        self.splits = dict(self.goals.splits)
        self.state = WebShopState(self.goals.goal("train", 0))
        self._shown: Page | None = None

    # -- the contract ---------------------------------------------------------------

    def _reset(self, task_id: int, options: ResetOptions) -> tuple[str, dict[str, Any]]:
        self.state = WebShopState(self.goals.goal(options.split, task_id))
        page = self._page()
        return page.text, self._info(page.has_search_bar, page.targets, invalid=False)

    def data_digest(self) -> str:
        return state_digest(self.shop.catalog.content_hash, self.state.goal)

    def _step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        s = self.state
        page = self._page()
        outcome = interpret(action, page.has_search_bar, page.targets)
        if isinstance(outcome, str):
            info = self._info(page.has_search_bar, page.targets, invalid=True)
            return f"Invalid action: {outcome}\n{page.text}", 0.0, False, False, info
        verb, arg = outcome
        target = View("results", query=arg) if verb == "search" else page.targets[arg]
        if target != BUY:
            assert isinstance(target, View)
            s.view = target
            page = self._page()
            return page.text, 0.0, False, False, self._info(page.has_search_bar, page.targets, False)
        s.reward, s.reward_info = self.shop.buy(s.view, s.goal)
        purchase = {"asin": s.view.asin, "options": dict(s.view.options)}
        s.view = View("done", asin=s.view.asin, options=s.view.options)
        page = self._page()
        info = self._info(page.has_search_bar, page.targets, invalid=False)
        info |= {"reward_info": s.reward_info, "purchased": purchase}
        return page.text, s.reward, True, False, info

    def expert_action(self) -> str:
        return expert_action(self.shop, self.state.view, self.state.goal, self.expert)

    def _get_state(self) -> tuple[dict[str, Any], View, float, dict[str, Any] | None]:
        s = self.state
        return s.goal, s.view, s.reward, s.reward_info

    def _set_state(self, state: tuple[dict[str, Any], View, float, dict[str, Any] | None]) -> None:
        goal, view, reward, reward_info = state
        self.state = WebShopState(goal)
        self.state.view, self.state.reward, self.state.reward_info = view, reward, reward_info

    # -- helpers --------------------------------------------------------------------

    def _page(self) -> Page:
        """The page the shopper is on (kept until the view or the goal changes)."""
        s = self.state
        shown = self._shown
        if shown is None or shown.view != s.view or shown.instruction != s.instruction:
            shown = self._shown = self.shop.page(s.view, s.instruction, s.reward)
        return shown

    def _info(self, has_search_bar: bool, labels: Iterable[str], invalid: bool) -> dict[str, Any]:
        s = self.state
        return {
            "task": s.instruction,
            "admissible_actions": admissible(has_search_bar, labels, s.instruction),
            "state_key": state_digest(s.goal["asin"], s.instruction, s.view.key()),
            "won": s.view.page == "done" and s.reward == 1.0,
            "invalid_action": invalid,
            "page": s.view.page,
        }
