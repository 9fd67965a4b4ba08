"""ALFRED's vocabulary, floor plans and ALFWorld's PDDL files, read from the installed ``alfworld``.

Nothing here is copied: object and receptacle lists, placement rules
(``VAL_RECEPTACLE_OBJECTS``), object abilities (``VAL_ACTION_OBJECTS``), the goal
library, the 120 floor plans and the PDDL domain and grammar all come from the
``alfworld`` package (``pip install 'agentgym[alfworld]'``). This module also
holds the two conventions both engines must share: ALFRED's encoded object ids
and ALFWorld's naming of entities ("drawer 2").
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from agentgym.exceptions import require

TASK_TYPES = (
    "pick_and_place_simple",
    "look_at_obj_in_light",
    "pick_clean_then_place_in_recep",
    "pick_heat_then_place_in_recep",
    "pick_cool_then_place_in_recep",
    "pick_two_obj_and_place",
)
"""The six ALFWorld task types (ALFRED's seven minus the movable-receptacle one)."""

LAMPS = ("DeskLamp", "FloorLamp")
"""Toggleable light sources of ``look_at_obj_in_light``."""
LAMP_STANDS = ("Desk", "SideTable", "Dresser", "Shelf", "CoffeeTable", "DiningTable")
"""Receptacle types a lamp stands on (ALFRED has no placement rule for lamps)."""
APPLIANCES = {
    "pick_clean_then_place_in_recep": "SinkBasin",
    "pick_heat_then_place_in_recep": "Microwave",
    "pick_cool_then_place_in_recep": "Fridge",
}
"""The receptacle type each state-change task needs (the PDDL domain's clean/heat/cool)."""
ABILITY = {
    "pick_clean_then_place_in_recep": "Cleanable",
    "pick_heat_then_place_in_recep": "Heatable",
    "pick_cool_then_place_in_recep": "Coolable",
}

_ENCODING = (("|", "_bar_"), ("-", "_minus_"), ("+", "_plus_"), (".", "_dot_"), (",", "_comma_"))


def encode_id(alfred_id: str) -> str:
    """ALFRED's object id in the form ALFWorld's PDDL problems use.

    Example:
        >>> encode_id("Sink|-01.90|+00.97|-01.50|SinkBasin")
        'Sink_bar__minus_01_dot_90_bar__plus_00_dot_97_bar__minus_01_dot_50_bar_SinkBasin'
    """
    for plain, coded in _ENCODING:
        alfred_id = alfred_id.replace(plain, coded)
    return alfred_id


def entity_names(ids: list[str]) -> dict[str, str]:
    """ALFWorld's display names ("drawer 2") for lower-cased encoded ids.

    The same rule as alfworld's ``AlfredDemangler``: the name is the text before
    the first ``_bar_`` (plus "basin" when the id mentions one); instances of a
    name are numbered from the sorted ids, the first id getting the highest number.

    Example:
        >>> entity_names(["drawer_bar_b", "drawer_bar_a", "sink_bar_x_bar_sinkbasin"])
        ... # doctest: +NORMALIZE_WHITESPACE
        {'drawer_bar_a': 'drawer 2', 'drawer_bar_b': 'drawer 1',
         'sink_bar_x_bar_sinkbasin': 'sinkbasin 1'}
    """
    ordered = sorted(ids)
    base = {i: i.split("_bar_", 1)[0] + ("basin" if "basin" in i else "") for i in ordered}
    left = Counter(base.values())
    names = {}
    for i in ordered:
        names[i] = f"{base[i]} {left[base[i]]}"
        left[base[i]] -= 1
    return names


def location_id(x: float, z: float, rotation: int, horizon: int) -> str:
    """ALFWorld's id of the agent pose from which a receptacle is reached.

    Example:
        >>> location_id(0.75, -0.5, 90, 30)
        'loc_bar_3_bar__minus_2_bar_1_bar_30'
    """
    parts = (round(x / 0.25), round(z / 0.25), int(rotation) // 90 % 4, int(horizon))
    return encode_id("loc|" + "|".join(str(p) for p in parts))


def coordinate_id(kind: str, x: float, y: float, z: float) -> str:
    """An ALFRED-style object id ``Kind|+x.xx|+y.yy|-z.zz`` (zero unsigned, as ALFRED writes it).

    Example:
        >>> coordinate_id("Apple", 0.1, 0.0, -2.345)
        'Apple|+00.10|00.00|-02.35'
    """

    def fmt(v: float) -> str:
        text = f"{abs(v):05.2f}"
        return text if text == "00.00" else ("+" if v > 0 else "-") + text

    return "|".join((kind, fmt(x), fmt(y), fmt(z)))


@dataclass(frozen=True)
class FloorPlan:
    """One of ALFRED's 120 rooms: its receptacles (id, type, pose) and object types."""

    number: int
    room: str
    receptacles: tuple[tuple[str, str, tuple[float, float, int, int]], ...]
    object_types: frozenset[str]


def package_root() -> Path:
    """Where the installed ``alfworld`` package lives."""
    return Path(require("alfworld", extra="alfworld").__file__).parent


@cache
def constants() -> ModuleType:
    """``alfworld.gen.constants``: ALFRED's object lists and placement rules."""
    return require("alfworld.gen.constants", extra="alfworld")


@cache
def goal_library() -> dict[str, dict[str, Any]]:
    """``alfworld.gen.goal_library.gdict``: each task type's PDDL goal and text templates."""
    return require("alfworld.gen.goal_library", extra="alfworld").gdict


@cache
def domain_and_grammar() -> tuple[str, str]:
    """The PDDL domain (``alfred.pddl``) and text grammar (``alfred.twl2``) ALFWorld ships."""
    data = package_root() / "data"
    return (data / "alfred.pddl").read_text(), (data / "alfred.twl2").read_text()


def receptacle_type(alfred_id: str) -> str:
    """``Sink|..|SinkBasin`` is a SinkBasin; other ids start with their type."""
    parts = alfred_id.split("|")
    return parts[-1] if len(parts) == 5 else parts[0]


@cache
def floor_plan(number: int) -> FloorPlan:
    """Read ``FloorPlan<number>`` from alfworld's layouts.

    Receptacles come from ``-openable.json`` (id and the pose they are reached
    from); static receptacle types listed only in ``-objects.json`` (stove
    burners, coffee machines, toasters, garbage cans ...) are added with a pose
    derived from the floor plan, one each (four stove burners).
    """
    c = constants()
    layouts = package_root() / "gen" / "layouts"
    poses = json.loads((layouts / f"FloorPlan{number}-openable.json").read_text())
    kinds = set(json.loads((layouts / f"FloorPlan{number}-objects.json").read_text()))
    allowed = set(c.VAL_RECEPTACLE_OBJECTS) - set(c.MOVABLE_RECEPTACLES)
    receptacles = [
        (rid, receptacle_type(rid), (float(p[0]), float(p[1]), int(p[2]), int(p[3])))
        for rid, p in sorted(poses.items())
        if receptacle_type(rid) in allowed
    ]
    present = {kind for _, kind, _ in receptacles}
    for k, kind in enumerate(sorted(kinds & allowed - present)):
        for n in range(4 if kind == "StoveBurner" else 1):
            x, z = -2.0 + 0.5 * k, 2.0 + 0.25 * n
            rid = coordinate_id(kind, x, 0.9, z)
            receptacles.append((rid, kind, (x, z - 0.75, 0, 30)))
    room = next(name for name, numbers in c.SCENE_TYPE.items() if number in numbers)
    return FloorPlan(number, room, tuple(receptacles), frozenset(kinds))


def split_floor_plans(split: str) -> tuple[int, ...]:
    """ALFRED's train floor plans for train and valid; its test floor plans for test (unseen)."""
    c = constants()
    numbers = c.TEST_SCENE_NUMBERS if split == "test" else c.TRAIN_SCENE_NUMBERS
    return tuple(sorted(numbers))


@cache
def placeable_types() -> frozenset[str]:
    """Object types ALFRED's rules place in some receptacle (the pickupable ones)."""
    c = constants()
    kinds = set().union(*c.VAL_RECEPTACLE_OBJECTS.values())
    return frozenset(k for k in kinds if not k.endswith("Sliced") and k in c.OBJECTS_SET)


@cache
def abilities(kind: str) -> frozenset[str]:
    """ALFRED's abilities of a type (Cleanable, Heatable, Coolable, Toggleable, Sliceable)."""
    return frozenset(a for a, kinds in constants().VAL_ACTION_OBJECTS.items() if kind in kinds)


def can_contain(receptacle: str, kind: str) -> bool:
    """Whether ALFRED's placement rules let ``receptacle`` hold an object of type ``kind``."""
    return kind in _holds().get(receptacle, ())


@cache
def _holds() -> dict[str, frozenset[str]]:
    return {r: frozenset(kinds) for r, kinds in constants().VAL_RECEPTACLE_OBJECTS.items()}


def task_text(task_type: str, obj: str, parent: str, toggle: str, choice: int) -> str:
    """The goal text from alfworld's goal library (template ``choice`` mod their number).

    Example:
        >>> task_text("pick_heat_then_place_in_recep", "Apple", "CounterTop", "", 1)
        'heat some apple and put it in countertop'
    """
    templates = goal_library()[task_type]["templates"]
    template = templates[choice % len(templates)]
    return template.format(obj=obj.lower(), recep=parent.lower(), toggle=toggle.lower(), mrecep="")


def goal_pddl(task_type: str, obj: str, parent: str, toggle: str) -> str:
    """The ``(:goal ...)`` block of the goal library, closing the problem's ``define``."""
    text = goal_library()[task_type]["pddl"].replace("#", "-")
    return text.format(obj=obj, recep=parent, toggle=toggle, mrecep="")
