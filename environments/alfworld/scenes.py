"""Household scenes and their tasks, generated from a task id with ALFRED's rules.

A scene is one of ALFRED's floor plans (its receptacles and where the agent
stands to reach each), the objects placed in those receptacles by ALFRED's
placement rules, the agent's starting spot and one task of the six ALFWorld
types. Everything follows from ``(split, task_id, config)``.

Splits: test draws from ALFRED's test floor plans, which train and valid never
use (ALFWorld's "unseen"); train and valid share the train floor plans and are
told apart by their goal: a (floor plan, task type, object, receptacle, lamp)
combination belongs to valid when its CRC-32 is divisible by 5, else to train,
so no task can be in both.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from agentgym.environments.alfworld import alfred
from agentgym.exceptions import ConfigError

T = TypeVar("T")


class SceneConfig(BaseModel):
    """How big generated scenes are and which tasks they pose.

    ``SCENES["full"]`` (the default) keeps every receptacle of the floor plan and
    every placeable object type it lists, as ALFWorld's games do;
    ``SCENES["small"]`` makes tasks a tiny model can learn on a CPU in minutes.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    task_types: tuple[str, ...] = Field(alfred.TASK_TYPES, description="Task types to draw from.")
    max_receptacles: int | None = Field(
        None, ge=2, description="Receptacles per scene (the task's own first); None keeps them all."
    )
    distractor_types: int | None = Field(
        None, ge=0, description="Object types besides the task's; None keeps every placeable one."
    )
    max_instances: int = Field(3, ge=1, le=3, description="Instances per object type (1..this).")

    @field_validator("task_types")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(alfred.TASK_TYPES))
        if unknown or not value:
            raise ValueError(f"unknown task types {unknown}; choose from {list(alfred.TASK_TYPES)}")
        return tuple(t for t in alfred.TASK_TYPES if t in value)


SCENES = {
    "full": SceneConfig(),
    "small": SceneConfig(max_receptacles=4, distractor_types=2, max_instances=1),
}
"""Named scene presets; ``ALFWorldEnv(scene=...)`` takes a name or a :class:`SceneConfig`."""


@dataclass(frozen=True)
class Receptacle:
    id: str
    kind: str
    location: str
    openable: bool


@dataclass(frozen=True)
class Thing:
    id: str
    kind: str


@dataclass(frozen=True)
class Task:
    type: str
    obj: str
    parent: str
    toggle: str
    text: str


@dataclass(frozen=True)
class Scene:
    """A generated problem: receptacles, objects (each placed in ``placement[i]``), start, task."""

    floor_plan: int
    receptacles: tuple[Receptacle, ...]
    objects: tuple[Thing, ...]
    placement: tuple[int, ...]
    start: str
    task: Task


def goal_split(plan: int, task_type: str, obj: str, parent: str, toggle: str) -> str:
    """Which of train/valid owns a goal on a train floor plan.

    Example:
        >>> goal_split(7, "pick_and_place_simple", "Apple", "CounterTop", "")
        'valid'
        >>> goal_split(8, "pick_and_place_simple", "Apple", "CounterTop", "")
        'train'
    """
    key = f"{plan}|{task_type}|{obj}|{parent}|{toggle}".encode()
    return "valid" if zlib.crc32(key) % 5 == 0 else "train"


def generate(split: str, task_id: int, config: SceneConfig) -> Scene:
    """The scene of task ``task_id`` in ``split``, deterministic in its arguments.

    Example:
        >>> scene = generate("train", 0, SCENES["small"])
        >>> len(scene.receptacles) <= 4, scene.task.type in alfred.TASK_TYPES
        (True, True)
    """
    digest = hashlib.sha256(f"{split}|{task_id}|{config.model_dump_json()}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    plans = alfred.split_floor_plans(split)
    for _ in range(10_000):
        task_type = _pick(rng, config.task_types)
        plan = alfred.floor_plan(_pick(rng, plans))
        goal = _sample_goal(rng, plan, task_type)
        if goal is None or (split != "test" and goal_split(plan.number, *goal) != split):
            continue
        return _build(rng, plan, goal, config)
    raise ConfigError(f"no {split} task fits task types {list(config.task_types)}")


def _sample_goal(
    rng: np.random.Generator, plan: alfred.FloorPlan, task_type: str
) -> tuple[str, str, str, str] | None:
    """(task type, object type, receptacle type, lamp type) feasible in ``plan``, or None."""
    c = alfred.constants()
    if plan.room not in c.GOALS_VALID[task_type]:
        return None
    kinds = sorted({kind for _, kind, _ in plan.receptacles})
    appliance = alfred.APPLIANCES.get(task_type)
    if appliance and appliance not in kinds:
        return None
    toggle = ""
    if task_type == "look_at_obj_in_light":
        lamps = [lamp for lamp in alfred.LAMPS if lamp in plan.object_types]
        if not lamps or not set(kinds) & set(alfred.LAMP_STANDS):
            return None
        toggle = _pick(rng, lamps)
    ability = alfred.ABILITY.get(task_type)
    objects = [
        k
        for k in _placeable(plan.number)
        if (ability is None or ability in alfred.abilities(k))
        and sum(alfred.can_contain(r, k) for r in kinds) >= 2
    ]
    if not objects:
        return None
    obj = _pick(rng, objects)
    if toggle:
        return task_type, obj, "", toggle
    parents = [r for r in kinds if alfred.can_contain(r, obj) and r != appliance]
    return (task_type, obj, _pick(rng, parents), "") if parents else None


def _build(
    rng: np.random.Generator,
    plan: alfred.FloorPlan,
    goal: tuple[str, str, str, str],
    config: SceneConfig,
) -> Scene:
    task_type, obj, parent, toggle = goal
    chosen = _choose_receptacles(rng, plan, goal, config.max_receptacles)
    kinds = {kind for _, kind, _ in chosen}
    others = [k for k in _placeable(plan.number) if k != obj and any(alfred.can_contain(r, k) for r in kinds)]
    if config.distractor_types is not None and len(others) > config.distractor_types:
        keep = sorted(rng.permutation(len(others))[: config.distractor_types].tolist())
        others = [others[i] for i in keep]
    low = 2 if task_type == "pick_two_obj_and_place" else 1
    counts = {obj: int(rng.integers(low, max(low, config.max_instances) + 1))}
    counts.update({k: int(rng.integers(1, config.max_instances + 1)) for k in others})
    if toggle:
        counts[toggle] = 1
    objects, placement, taken = [], [], set()
    for kind, count in counts.items():
        if kind == toggle:
            homes = [i for i, (_, k, _) in enumerate(chosen) if k in alfred.LAMP_STANDS]
        else:
            homes = [
                i
                for i, (_, k, _) in enumerate(chosen)
                if alfred.can_contain(k, kind) and not (kind == obj and k == parent)
            ]
        for _ in range(count):
            home = _pick(rng, homes)
            objects.append(Thing(_object_id(rng, kind, chosen[home][0], taken), kind))
            placement.append(home)
    receptacles = tuple(
        Receptacle(rid, kind, alfred.location_id(*pose), kind in alfred.constants().OPENABLE_CLASS_SET)
        for rid, kind, pose in chosen
    )
    text = alfred.task_text(task_type, obj, parent, toggle, int(rng.integers(2)))
    return Scene(
        floor_plan=plan.number,
        receptacles=receptacles,
        objects=tuple(objects),
        placement=tuple(placement),
        start=_start_location(rng, {r.location for r in receptacles}),
        task=Task(task_type, obj, parent, toggle, text),
    )


def _choose_receptacles(
    rng: np.random.Generator,
    plan: alfred.FloorPlan,
    goal: tuple[str, str, str, str],
    limit: int | None,
) -> list[tuple[str, str, tuple[float, float, int, int]]]:
    """Every receptacle, or the ones the task needs plus random others up to ``limit``."""
    task_type, obj, parent, toggle = goal
    everything = list(plan.receptacles)
    if limit is None:
        return everything
    needs = [
        lambda k: k == parent,
        lambda k: k == alfred.APPLIANCES.get(task_type),
        lambda k: bool(toggle) and k in alfred.LAMP_STANDS,
        lambda k: alfred.can_contain(k, obj) and k != parent,
    ]
    picked: list[int] = []
    for need in needs:
        fits = [i for i, (_, k, _) in enumerate(everything) if need(k)]
        if fits and not any(i in fits for i in picked):
            picked.append(_pick(rng, fits))
    rest = [i for i in range(len(everything)) if i not in picked]
    extra = max(0, limit - len(picked))
    picked += [rest[i] for i in rng.permutation(len(rest))[:extra].tolist()]
    return [everything[i] for i in sorted(picked)]


def _object_id(rng: np.random.Generator, kind: str, home: str, taken: set[str]) -> str:
    """An unused ALFRED-style id near the receptacle ``home``."""
    x, y, z = (float(v) for v in home.split("|")[1:4])
    while True:
        dx, dy, dz = (rng.random(3) * 0.6 - 0.3).tolist()
        oid = alfred.coordinate_id(kind, x + dx, y + abs(dy), z + dz)
        if oid not in taken:
            taken.add(oid)
            return oid


def _pick(rng: np.random.Generator, items: Sequence[T]) -> T:
    """One of ``items``, uniformly (cheaper than ``rng.choice`` on short lists)."""
    return items[int(rng.integers(len(items)))]


@cache
def _placeable(plan: int) -> tuple[str, ...]:
    """The placeable object types a floor plan lists, sorted."""
    return tuple(sorted(alfred.placeable_types() & alfred.floor_plan(plan).object_types))


def _start_location(rng: np.random.Generator, used: set[str]) -> str:
    while True:
        x, z = rng.integers(-8, 9, size=2) * 0.25
        loc = alfred.location_id(float(x), float(z), 90 * int(rng.integers(4)), 30)
        if loc not in used:
            return loc
