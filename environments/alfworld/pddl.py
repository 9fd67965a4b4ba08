"""The real engine: a scene compiled to a ``.tw-pddl`` game and played by TextWorld.

:func:`game` writes a generated :class:`~agentgym.environments.alfworld.scenes.Scene`
as ALFWorld's game files are written: a JSON object with the PDDL domain and the
text grammar shipped in ``alfworld`` (the task text in place of "UNKNOWN GOAL")
and a PDDL problem whose objects carry ALFRED's encoded ids. :class:`PddlGame`
plays such a game (or one of ALFWorld's own ``game.tw-pddl`` files) with
TextWorld's ``PddlEnv`` behind alfworld's ``AlfredDemangler``, exactly as
ALFWorld's ``AlfredTWEnv`` does, and :func:`state_from_facts` reads the
planner's facts back into the native engine's :class:`~.world.State`.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from agentgym.environments.alfworld import alfred
from agentgym.environments.alfworld.scenes import Scene
from agentgym.environments.alfworld.world import Layout, State
from agentgym.exceptions import ConfigError, require

ALFWORLD_SPLITS = {"train": "train", "valid": "valid_seen", "test": "valid_unseen"}
"""The folder of ALFWorld's data (``$ALFWORLD_DATA/json_2.1.1/<folder>``) behind each split."""


DOMAIN_TYPES = ("SinkBasin", "Microwave", "Fridge"), ("Knife", "ButterKnife")
"""The receptacle and object types the domain's actions name: every problem declares them."""


def problem(scene: Scene) -> str:
    """The PDDL problem of a scene in ALFWorld's conventions (encoded ids, types as objects).

    Only the types the problem uses are declared (ALFWorld's files declare all
    of ALFRED's: the others appear in no fact and only slow the planner down).
    """
    enc = alfred.encode_id
    objects = ["agent1 - agent"]
    objects += [f"{enc(o.id)} - object" for o in scene.objects]
    objects += [f"{enc(r.id)} - receptacle" for r in scene.receptacles]
    locations = sorted({scene.start, *(r.location for r in scene.receptacles)})
    objects += [f"{loc} - location" for loc in locations]
    rtypes = sorted({r.kind for r in scene.receptacles})
    otypes = sorted({o.kind for o in scene.objects})
    objects += [f"{kind}Type - otype" for kind in sorted({*otypes, *DOMAIN_TYPES[1]})]
    objects += [f"{kind}Type - rtype" for kind in sorted({*rtypes, *DOMAIN_TYPES[0]})]
    facts = [f"(atLocation agent1 {scene.start})"]
    for r in scene.receptacles:
        facts += [
            f"(receptacleType {enc(r.id)} {r.kind}Type)",
            f"(receptacleAtLocation {enc(r.id)} {r.location})",
        ]
        facts += [f"(openable {enc(r.id)})"] if r.openable else []
    for o, home in zip(scene.objects, scene.placement, strict=True):
        r = scene.receptacles[home]
        facts += [
            f"(objectType {enc(o.id)} {o.kind}Type)",
            f"(inReceptacle {enc(o.id)} {enc(r.id)})",
            f"(objectAtLocation {enc(o.id)} {r.location})",
        ]
        facts += [f"({p} {enc(o.id)})" for p in _properties(o.kind)]
    facts += [f"(canContain {r}Type {o}Type)" for r in rtypes for o in otypes if alfred.can_contain(r, o)]
    task = scene.task
    return (
        f"(define (problem agentgym_{scene.floor_plan})\n(:domain alfred)\n(:objects\n"
        + "\n".join(objects)
        + "\n)\n(:init\n"
        + "\n".join(facts)
        + "\n)\n"
        + alfred.goal_pddl(task.type, task.obj, task.parent, task.toggle)
    )


def _properties(kind: str) -> list[str]:
    abilities = alfred.abilities(kind)
    props = ["toggleable"] if kind in alfred.LAMPS else ["pickupable"]
    props += [p.lower() for p in ("Cleanable", "Heatable", "Coolable", "Sliceable") if p in abilities]
    if kind in alfred.constants().MOVABLE_RECEPTACLES:
        props.append("isReceptacleObject")
    return props


def game(scene: Scene) -> dict[str, str]:
    """The ``.tw-pddl`` game of a scene: ``{pddl_domain, grammar, pddl_problem}``.

    Example:
        >>> from agentgym.environments.alfworld.scenes import SCENES, generate
        >>> data = game(generate("train", 0, SCENES["small"]))
        >>> sorted(data), "UNKNOWN GOAL" in data["grammar"]
        (['grammar', 'pddl_domain', 'pddl_problem'], False)
    """
    domain, grammar = alfred.domain_and_grammar()
    return {
        "pddl_domain": domain,
        "grammar": grammar.replace("UNKNOWN GOAL", scene.task.text),
        "pddl_problem": problem(scene),
    }


_TRANSLATING = threading.Lock()


@contextlib.contextmanager
def _translator_alone() -> Iterator[None]:
    """Run fast_downward's translator alone: it sets module-wide options and ``sys.argv``."""
    with _TRANSLATING:
        argv = list(sys.argv)
        try:
            yield
        finally:
            sys.argv[:] = argv


class PddlGame:
    """A ``.tw-pddl`` game (path or loaded JSON) in TextWorld's PDDL engine.

    ``reset()`` and ``step(command)`` return ``(feedback, admissible commands, won)``;
    ``plan()`` asks the engine's planner (fast-downward) for a winning command list.
    ``load()`` switches to another game in the same engine, as ALFWorld does: each
    engine loads its own copy of fast-downward's library, which is never unloaded
    (objects of the engine still call it when garbage-collected), so reuse engines.
    """

    def __init__(self, game_data: Mapping[str, Any] | str | Path) -> None:
        textworld = require("textworld", extra="alfworld")
        pddl_env = require("textworld.envs.pddl", extra="alfworld").PddlEnv
        demangler = require("alfworld.agents.environment.alfred_tw_env", extra="alfworld").AlfredDemangler
        infos = textworld.EnvInfos(admissible_commands=True, won=True)
        self._env = demangler()(pddl_env(infos))
        self.load(game_data)

    def load(self, game_data: Mapping[str, Any] | str | Path) -> None:
        """Load another game (call ``reset()`` to start it)."""
        if not isinstance(game_data, Mapping):
            game_data = json.loads(Path(game_data).read_text())
        with _translator_alone():
            self._env.load(dict(game_data))

    def reset(self) -> tuple[str, list[str], bool]:
        with _translator_alone():
            state = self._env.reset()
        return state.feedback, list(state["admissible_commands"]), bool(state["won"])

    def step(self, command: str) -> tuple[str, list[str], bool]:
        state, _, _ = self._env.step(command)
        return state.feedback, list(state["admissible_commands"]), bool(state["won"])

    @property
    def facts(self) -> list[Any]:
        """The planner's current facts (TextWorld ``Proposition``s, ids lower case)."""
        return self._env.state["_facts"]

    def plan(self) -> list[str]:
        """A winning command sequence from the current state (empty if none is found)."""
        with _translator_alone():
            return list(self._env._pddl_state.replan(self._env._entity_infos))

    def close(self) -> None:
        self._env.close()


_DYNAMIC = ("atlocation", "holds", "inreceptacle", "opened", "ishot", "iscool", "isclean",
            "issliced", "istoggled", "not_inreceptacle")  # fmt: skip


def state_from_facts(layout: Layout, facts: list[Any]) -> State:
    """The native :class:`State` that the planner's facts describe (for generated games)."""
    r_index = {alfred.encode_id(r.id).lower(): i for i, r in enumerate(layout.receptacles)}
    o_index = {alfred.encode_id(o.id).lower(): i for i, o in enumerate(layout.objects)}
    state = State(-1, -1, [-1] * len(o_index), [False] * len(r_index), *(set() for _ in range(6)))
    flags = {"ishot": state.hot, "iscool": state.cool, "isclean": state.clean,
             "issliced": state.sliced, "istoggled": state.toggled}  # fmt: skip
    for fact in facts:
        if fact.name not in _DYNAMIC:
            continue
        args = [v.name for v in fact.arguments]
        if fact.name == "atlocation":
            state.loc = layout.locations.index(args[1])
        elif fact.name == "holds":
            state.held = o_index[args[1]]
        elif fact.name == "inreceptacle":
            state.inside[o_index[args[0]]] = r_index[args[1]]
        elif fact.name == "not_inreceptacle":
            state.taken_from.add((o_index[args[0]], r_index[args[1]]))
        elif fact.name == "opened":
            state.opened[r_index[args[0]]] = True
        else:
            flags[fact.name].add(o_index[args[0]])
    return state


def fact_digest_parts(facts: list[Any]) -> list[str]:
    """The dynamic facts as sorted text: a canonical state for games with no native scene."""
    return sorted(str(f) for f in facts if f.name in _DYNAMIC)


def alfworld_games(root: str | Path | None, split: str) -> list[Path]:
    """ALFWorld's own games of a split under ``root`` (or ``$ALFWORLD_DATA``), sorted.

    Like ALFWorld, games with movable receptacles or sliced objects are left out.
    """
    base = Path(root or os.environ.get("ALFWORLD_DATA") or "")
    if not str(base) or not base.is_dir():
        raise ConfigError(
            f"ALFWorld's games were not found at {str(base) or '(unset)'}",
            hint="set ALFWORLD_DATA (or pass data_dir=) to the folder that holds json_2.1.1/",
        )
    folder = base / "json_2.1.1" if (base / "json_2.1.1").is_dir() else base
    games = sorted(
        p
        for p in (folder / ALFWORLD_SPLITS[split]).glob("*/*/game.tw-pddl")
        if "movable" not in p.parent.parent.name and "Sliced" not in p.parent.parent.name
    )
    return games
