"""TextWorld games made by the ``textworld`` package's own generators, cached on disk.

:func:`game_file` makes the game that ``tw-make`` would make for a challenge,
its settings and a seed (``tw-make custom``, ``tw-make tw-coin_collector`` ...),
compiles it once to ``.z8`` (with its ``.json``) and keeps it under a folder
named by the hash of everything that defines it, so later calls, other
processes and other runs find it there.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentgym.exceptions import ConfigError, require

Challenge = Literal["custom", "coin_collector", "treasure_hunter", "cooking"]


class CustomSettings(BaseModel):
    """``tw-make custom``: a random world and one quest."""

    model_config = ConfigDict(extra="forbid")

    world_size: int = Field(3, ge=1, le=100, description="Rooms in the world.")
    nb_objects: int = Field(5, ge=0, description="Minimum number of objects.")
    quest_length: int = Field(3, ge=1, description="Actions the quest needs.")


class LevelSettings(BaseModel):
    """``tw-make tw-coin_collector`` (levels 1-300) and ``tw-treasure_hunter`` (1-30)."""

    model_config = ConfigDict(extra="forbid")

    level: int = Field(1, ge=1, le=300, description="The challenge's difficulty level.")


class CookingSettings(BaseModel):
    """``tw-make tw-cooking``: find the ingredients of a recipe and prepare the meal."""

    model_config = ConfigDict(extra="forbid")

    recipe: int = Field(1, ge=1, le=5, description="Ingredients in the recipe.")
    take: int = Field(0, ge=0, le=5, description="Ingredients to find (<= recipe).")
    go: Literal[1, 6, 9, 12] = Field(1, description="Rooms.")
    open: bool = Field(False, description="Containers and doors need opening.")
    cook: bool = Field(False, description="Some ingredients need cooking.")
    cut: bool = Field(False, description="Some ingredients need cutting.")
    drop: bool = Field(False, description="The inventory has limited capacity.")


SETTINGS: dict[str, type[BaseModel]] = {
    "custom": CustomSettings,
    "coin_collector": LevelSettings,
    "treasure_hunter": LevelSettings,
    "cooking": CookingSettings,
}
"""The settings model of each challenge."""


def settings_for(challenge: str, settings: dict[str, Any] | None) -> BaseModel:
    """Validate ``settings`` for ``challenge`` (a :class:`ConfigError` says what is wrong).

    Example:
        >>> settings_for("cooking", {"recipe": 2}).recipe
        2
    """
    if challenge not in SETTINGS:
        raise ConfigError(f"unknown TextWorld challenge {challenge!r}; choose from {sorted(SETTINGS)}")
    try:
        return SETTINGS[challenge].model_validate(settings or {})
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"invalid {challenge} setting {where}: {first['msg']}") from err


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/agentgym/textworld`` (``~/.cache/agentgym/textworld`` by default)."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "agentgym" / "textworld"


def game_file(
    challenge: str, settings: BaseModel, seed: int, split: str, cache_dir: str | Path | None = None
) -> Path:
    """The ``.z8`` game of ``(challenge, settings, seed)``, made and compiled on first use.

    ``split`` only matters for cooking games, whose foods TextWorld itself splits
    into train, valid and test sets.
    """
    textworld = require("textworld", extra="textworld")
    spec = {
        "textworld": textworld.__version__,
        "challenge": challenge,
        "settings": settings.model_dump(),
        "seed": seed,
        "split": split if challenge == "cooking" else None,
    }
    key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:24]
    folder = Path(cache_dir or default_cache_dir()) / key
    target = folder / "game.z8"
    if target.is_file() and (folder / "game.json").is_file():
        return target
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=folder.parent))
    try:
        _make(challenge, settings, seed, split, work / "game.z8")
        (work / "spec.json").write_text(json.dumps(spec, indent=2))
        with contextlib.suppress(OSError):  # a concurrent maker won the race: keep its game
            work.rename(folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _make(challenge: str, settings: BaseModel, seed: int, split: str, path: Path) -> None:
    """Make and compile one game as ``tw-make`` does."""
    textworld = require("textworld", extra="textworld")
    challenges = require("textworld.challenges", extra="textworld")
    options = textworld.GameOptions()
    options.seeds = seed
    options.path = str(path)
    options.file_ext = ".z8"
    options.force_recompile = True
    if isinstance(settings, CustomSettings):
        options.nb_rooms = settings.world_size
        options.nb_objects = settings.nb_objects
        chaining = options.chaining
        chaining.min_length = chaining.max_length = chaining.max_depth = settings.quest_length
        textworld.make(options)
        return
    values = settings.model_dump()
    if challenge == "cooking":
        values.update(recipe_seed=0, split=split)
    _, make, _ = challenges.CHALLENGES[f"tw-{challenge}"]
    with warnings.catch_warnings():  # cooking plays its game in Jericho, which cannot score it
        warnings.filterwarnings("ignore", message=".*is not fully supported")
        game = make(settings=values, options=options)
    textworld.generator.compile_game(game, options)
