"""The native engine's rules and text, as move tables on a hand-made kitchen.

Every line below was first read off TextWorld's PDDL engine playing the same
kitchen (``test_alfworld_equivalence.py`` replays this table on it).
"""

from __future__ import annotations

import pytest
from alfworld_kitchen import INTRO, TRANSCRIPT

from agentgym.environments.alfworld.world import Layout, World, listing


@pytest.fixture
def world(scene) -> World:
    return World(Layout(scene))


def test_intro_lists_receptacles_in_id_order_with_numbers_counted_down(scene) -> None:
    assert Layout(scene).intro == INTRO


def test_transcript(world: World) -> None:
    for command, expected in TRANSCRIPT:
        feedback, valid = world.step(command)
        assert feedback == expected, command
        assert valid == (expected != "Nothing happens."), command
    assert not world.won
    assert world.step("move apple 1 to countertop 1") == (
        "You move the apple 1 to the countertop 1.",
        True,
    )
    assert world.won


def test_admissible_commands_at_the_start_and_at_a_shared_spot(world: World) -> None:
    gotos = [f"go to {r}" for r in ("cabinet 1", "countertop 1", "drawer 1", "drawer 2")]
    gotos += [f"go to {r}" for r in ("fridge 1", "microwave 1", "sinkbasin 1")]
    assert world.commands == [*gotos, "help", "inventory", "look"]
    world.step("go to drawer 1")
    assert "go to drawer 2" not in world.commands
    assert {"open drawer 1", "open drawer 2", "examine drawer 1", "examine drawer 2"} <= set(world.commands)


def test_holding_something_offers_move_heat_examine_but_no_take(world: World) -> None:
    for command in ("go to countertop 1", "take apple 2 from countertop 1", "go to microwave 1"):
        world.step(command)
    commands = set(world.commands)
    assert {"heat apple 2 with microwave 1", "examine apple 2", "open microwave 1"} <= commands
    assert "move apple 2 to microwave 1" not in commands  # closed
    world.step("open microwave 1")
    assert "move apple 2 to microwave 1" in world.commands
    assert not any(c.startswith("take ") for c in world.commands)


def test_progress_counts_alfworld_goal_conditions(world: World) -> None:
    assert world.progress() == (1, 3)  # an apple is on the counter already, but cold
    for command in ("go to countertop 1", "take apple 1 from countertop 1", "go to microwave 1"):
        world.step(command)
    world.step("heat apple 1 with microwave 1")
    assert world.progress() == (2, 3)
    world.step("go to countertop 1")
    world.step("move apple 1 to countertop 1")
    assert world.progress() == (3, 3) and world.won


def test_state_copies_are_independent(world: World) -> None:
    copy = World(world.layout, world.state.copy())
    world.step("go to countertop 1")
    assert copy.state.loc != world.state.loc
    assert copy.state.canonical() != world.state.canonical()


@pytest.mark.parametrize(
    ("items", "text"),
    [
        ([], "nothing"),
        (["a x"], "a x"),
        (["a x", "a y"], "a x, and a y"),
        (["a", "b", "c"], "a, b, and c"),
    ],
)
def test_listing(items: list[str], text: str) -> None:
    assert listing(items) == text
