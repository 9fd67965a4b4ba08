"""WebShop: the web-shopping benchmark, in text mode and in a real browser.

The browser env (:mod:`.browser`) needs playwright and Chromium and is imported
only when made.
"""

from agentgym.environments.webshop.catalog import Catalog, ListCatalog, SyntheticCatalog
from agentgym.environments.webshop.env import WebShopEnv
from agentgym.environments.webshop.goals import GoalList, Goals, SyntheticGoals
from agentgym.environments.webshop.loader import load_original, write_original
from agentgym.environments.webshop.reward import get_reward
from agentgym.environments.webshop.search import SearchEngine
from agentgym.environments.webshop.shop import Page, Shop, View
from agentgym.environments.webshop.store import StoreConfig, open_store

__all__ = [
    "Catalog",
    "GoalList",
    "Goals",
    "ListCatalog",
    "Page",
    "SearchEngine",
    "Shop",
    "StoreConfig",
    "SyntheticCatalog",
    "SyntheticGoals",
    "View",
    "WebShopEnv",
    "get_reward",
    "load_original",
    "open_store",
    "write_original",
]
