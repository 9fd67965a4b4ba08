"""Shared fixtures: one small catalog (1,000 products) and its index for the whole area."""

from __future__ import annotations

import pytest

from agentgym.environments.webshop.store import StoreConfig, open_store


@pytest.fixture(scope="session")
def store_kwargs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Env keyword arguments naming the test catalog (index cached in a temp folder)."""
    return {
        "num_products": 1000,
        "seed": 0,
        "cache_dir": str(tmp_path_factory.mktemp("webshop-cache")),
    }


@pytest.fixture(scope="session")
def store(store_kwargs):
    """The test catalog's (shop, goals)."""
    return open_store(StoreConfig(**store_kwargs))
