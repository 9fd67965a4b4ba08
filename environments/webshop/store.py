"""Opening a shop: the catalog, its search index and its goals, shared within a process.

Catalogs and indexes are read-only once built, so every env of a process that
asks for the same data shares one :class:`StoreConfig`'s shop (building a
100k-product index takes seconds; see ``docs/benchmarks.md``).
"""

from __future__ import annotations

import functools
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agentgym.environments.webshop.catalog import MAX_PRODUCTS, MIN_PRODUCTS, SyntheticCatalog
from agentgym.environments.webshop.goals import Goals, SyntheticGoals
from agentgym.environments.webshop.search import SearchEngine
from agentgym.environments.webshop.shop import Shop

DEFAULT_PRODUCTS = 1000


class StoreConfig(BaseModel):
    """Which products and goals a WebShop env uses."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    num_products: int | None = Field(
        None,
        description=f"Size of the synthetic catalog ({MIN_PRODUCTS:,}..{MAX_PRODUCTS:,}, default "
        f"{DEFAULT_PRODUCTS:,}); with products_path, how many of the file's products to keep "
        "(default all).",
    )
    seed: int = Field(0, description="Seed of the synthetic catalog, its goals and price bounds.")
    products_path: str | None = Field(None, description="The original items_shuffle*.json, if used.")
    attributes_path: str | None = Field(
        None, description="The original items_ins_v2*.json (with products_path)."
    )
    human_goals_path: str | None = Field(
        None,
        description="The original items_human_ins.json: its human goals replace synthetic ones.",
    )
    reviews_path: str | None = Field(None, description="The original reviews.json (optional).")
    cache_dir: str | None = Field(
        None, description="Where search indexes are cached (default: see search.py)."
    )

    @model_validator(mode="after")
    def _paths_together(self) -> StoreConfig:
        if (self.products_path is None) != (self.attributes_path is None):
            raise ValueError("products_path and attributes_path go together: the original data needs both")
        if self.products_path is None and (self.human_goals_path or self.reviews_path):
            raise ValueError("human_goals_path and reviews_path need products_path and attributes_path")
        return self


@functools.lru_cache(maxsize=8)
def open_store(config: StoreConfig) -> tuple[Shop, Goals]:
    """The shop and goals ``config`` describes (cached per process)."""
    if config.products_path is not None:
        from agentgym.environments.webshop.loader import load_original

        assert config.attributes_path is not None
        catalog, goals = load_original(
            Path(config.products_path),
            Path(config.attributes_path),
            config.human_goals_path,
            config.reviews_path,
            num_products=config.num_products,
            seed=config.seed,
        )
    else:
        catalog = SyntheticCatalog(config.num_products or DEFAULT_PRODUCTS, seed=config.seed)
        goals = SyntheticGoals(catalog, seed=config.seed)
    return Shop(catalog, SearchEngine.open_or_build(catalog, config.cache_dir)), goals
