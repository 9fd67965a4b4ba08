"""A hand-made kitchen and the transcript of a game in it, read off TextWorld's PDDL engine."""

from __future__ import annotations

from agentgym.environments.alfworld.alfred import location_id, receptacle_type
from agentgym.environments.alfworld.scenes import Receptacle, Scene, Task, Thing
from agentgym.environments.alfworld.world import HELP

SPOTS = {  # where the agent stands to reach each receptacle (the drawers share one)
    "Cabinet": location_id(0.0, -1.25, 180, 30),
    "Drawer": location_id(1.5, -1.0, 180, 30),
    "CounterTop": location_id(0.75, -1.75, 180, 30),
    "Microwave": location_id(-0.25, -1.75, 180, -30),
    "SinkBasin": location_id(-1.25, -1.5, 270, 30),
    "Fridge": location_id(-1.0, 1.0, 270, 0),
}


def kitchen() -> Scene:
    """Two drawers sharing a spot, a counter with two apples and a lamp, and appliances."""
    ids = [
        "Cabinet|+00.68|+00.50|-02.20",
        "Drawer|+00.95|+00.22|-02.20",
        "Drawer|+00.95|+00.39|-02.20",
        "CounterTop|+00.69|+00.95|-02.48",
        "Microwave|-00.24|+01.69|-02.53",
        "Sink|-01.90|+00.97|-01.50|SinkBasin",
        "Fridge|-02.10|+00.00|+01.09",
    ]
    receptacles = tuple(
        Receptacle(i, receptacle_type(i), SPOTS[receptacle_type(i)], "Counter" not in i and "Sink" not in i)
        for i in ids
    )
    objects = (
        Thing("Apple|+00.10|+01.00|-02.30", "Apple"),
        Thing("Apple|+00.20|+01.00|-02.30", "Apple"),
        Thing("Knife|+00.90|+00.20|-02.10", "Knife"),
        Thing("Mug|+00.60|+00.50|-02.20", "Mug"),
        Thing("DeskLamp|+00.60|+00.90|-02.20", "DeskLamp"),
    )
    task = Task(
        "pick_heat_then_place_in_recep",
        "Apple",
        "CounterTop",
        "",
        "heat some apple and put it in countertop",
    )
    return Scene(
        floor_plan=1,
        receptacles=receptacles,
        objects=objects,
        placement=(3, 3, 1, 0, 3),
        start="loc_bar_0_bar_0_bar_0_bar_30",
        task=task,
    )


INTRO = (
    "-= Welcome to TextWorld, ALFRED! =-\n\nYou are in the middle of a room. Looking quickly "
    "around you, you see a cabinet 1, a countertop 1, a drawer 2, a drawer 1, a fridge 1, "
    "a microwave 1, and a sinkbasin 1.\n\n"
    "Your task is to: heat some apple and put it in countertop."
)

TRANSCRIPT = [
    ("look", "You are in the middle of a room. Looking quickly around you, you see nothing."),
    ("go to drawer 2", "You arrive at drawer 2. The drawer 2 is closed."),
    ("go to drawer 1", "Nothing happens."),  # the same spot: the planner has no such move
    ("look", "You are facing the drawer 2, and drawer 1. Next to it, you see nothing."),
    ("open drawer 2", "You open the drawer 2. The drawer 2 is open. In it, you see a knife 1."),
    ("examine drawer 1", "The drawer 1 is closed."),
    ("take knife 1 from drawer 2", "You pick up the knife 1 from the drawer 2."),
    ("inventory", "You are carrying: a knife 1."),
    ("examine knife 1", "There's nothing special about knife 1."),
    ("open drawer 1", "You open the drawer 1. The drawer 1 is open. In it, you see nothing."),
    ("move knife 1 to drawer 1", "You move the knife 1 to the drawer 1."),
    ("look", "You are facing the drawer 2, and drawer 1. Next to it, you see a knife 1."),
    ("take knife 1 from drawer 1", "You pick up the knife 1 from the drawer 1."),
    ("go to countertop 1", "You arrive at countertop 1. On the countertop 1, you see a apple 2, "
     "a apple 1, and a desklamp 1."),
    ("slice apple 1 with knife 1", "You sliced the apple 1 with the knife 1."),
    ("move knife 1 to countertop 1", "You move the knife 1 to the countertop 1."),
    ("take apple 1 from countertop 1", "You pick up the apple 1 from the countertop 1."),
    ("examine apple 1", "This is a sliced apple 1."),
    ("use desklamp 1", "You turn on the desklamp 1."),
    ("go to microwave 1", "You arrive at microwave 1. The microwave 1 is closed."),
    ("heat apple 1 with microwave 1", "You heat the apple 1 using the microwave 1."),
    ("examine apple 1", "This is a hot sliced apple 1."),
    ("go to sinkbasin 1", "You arrive at sinkbasin 1. On the sinkbasin 1, you see nothing."),
    ("clean apple 1 with sinkbasin 1", "You clean the apple 1 using the sinkbasin 1."),
    ("examine apple 1", "This is a hot and clean sliced apple 1."),
    ("go to fridge 1", "You arrive at fridge 1. The fridge 1 is closed."),
    ("cool apple 1 with fridge 1", "You cool the apple 1 using the fridge 1."),
    ("examine apple 1", "This is a cool and clean sliced apple 1."),
    ("close fridge 1", "Nothing happens."),
    ("go to cabinet 1", "You arrive at cabinet 1. The cabinet 1 is closed."),
    ("open cabinet 1", "You open the cabinet 1. The cabinet 1 is open. In it, you see a mug 1."),
    ("move apple 1 to cabinet 1", "Nothing happens."),  # ALFRED: cabinets hold no apples
    ("  go to microwave 1 ", "You arrive at microwave 1. The microwave 1 is closed."),
    ("heat apple 1 with microwave 1", "You heat the apple 1 using the microwave 1."),
    ("go to countertop 1", "You arrive at countertop 1. On the countertop 1, you see a apple 2, "
     "a desklamp 1, and a knife 1."),
    ("help", HELP),
]  # fmt: skip
