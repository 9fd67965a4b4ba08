"""The expert of the native engine: the next command toward the goal, from any state.

It knows the whole world (like ALFWorld's planner) and works subgoal by subgoal:
put away whatever useless thing is in hand; fetch the nearest target object
(opening what hides it); heat, cool or clean it when the task asks; bring it to
the target receptacle (for two objects, the one already holding most), or hold
it by the lamp and switch the lamp on. "Nearest" counts the commands needed:
here and reachable, here but closed, elsewhere, elsewhere and closed.
"""

from __future__ import annotations

from agentgym.environments.alfworld.world import World


def expert_action(world: World) -> str:
    """The expert's next command in ``world`` ("look" once the task is done).

    Example:
        >>> from agentgym.environments.alfworld.scenes import SCENES, generate
        >>> from agentgym.environments.alfworld.world import Layout
        >>> world = World(Layout(generate("train", 0, SCENES["small"])))
        >>> expert_action(world).startswith("go to ")
        True
    """
    if world.won:
        return "look"
    L, s, task = world.layout, world.state, world.layout.scene.task
    objs, parents, lamps = L.targets
    if s.held >= 0 and s.held not in objs:
        return _put_away(world)
    if s.held >= 0:
        verb = task.type.split("_")[1]
        done = {"heat": s.hot, "cool": s.cool, "clean": s.clean}.get(verb)
        if done is not None and s.held not in done:
            appliance = _nearest(world, [r for r, v in enumerate(L.r_verb) if v == verb])
            return _reach(world, appliance, f"{verb} {L.o_names[s.held]} with {L.r_names[appliance]}", False)
        if lamps:
            stand = s.inside[lamps[0]]
            return _reach(world, stand, f"use {L.o_names[lamps[0]]}", False)
        goal = _goal_receptacle(world, parents, objs)
        return _reach(world, goal, f"move {L.o_names[s.held]} to {L.r_names[goal]}", True)
    goal = _goal_receptacle(world, parents, objs) if task.type == "pick_two_obj_and_place" else -1
    wanted = [o for o in objs if s.inside[o] != goal]
    target = min(wanted, key=lambda o: (_cost(world, s.inside[o]), o))
    where = s.inside[target]
    return _reach(world, where, f"take {L.o_names[target]} from {L.r_names[where]}", True)


def _reach(world: World, r: int, command: str, needs_open: bool) -> str:
    """``command`` if receptacle ``r`` is at hand, else the step that brings it there."""
    L, s = world.layout, world.state
    if L.r_loc[r] != s.loc:
        return L.goto[r]
    if needs_open and L.receptacles[r].openable and not s.opened[r]:
        return f"open {L.r_names[r]}"
    return command


def _cost(world: World, r: int) -> int:
    L, s = world.layout, world.state
    closed = L.receptacles[r].openable and not s.opened[r]
    return int(L.r_loc[r] != s.loc) * 2 + int(closed)


def _nearest(world: World, receptacles: list[int]) -> int:
    return min(receptacles, key=lambda r: (_cost(world, r), r))


def _goal_receptacle(world: World, parents: list[int], objs: list[int]) -> int:
    """The receptacle to fill: the one holding most target objects, then the nearest."""
    s = world.state
    count = {r: sum(s.inside[o] == r for o in objs) for r in parents}
    return min(parents, key=lambda r: (-count[r], _cost(world, r), r))


def _put_away(world: World) -> str:
    """Set down a held object that does not serve the task, where it may go."""
    L, s = world.layout, world.state
    homes = [r for r in range(len(L.receptacles)) if L.fits[r][s.held]]
    origin = [r for r in homes if (s.held, r) in s.taken_from]
    home = min(homes, key=lambda r: (_cost(world, r), r not in origin, r))
    return _reach(world, home, f"move {L.o_names[s.held]} to {L.r_names[home]}", True)


def solve(world: World, limit: int = 200) -> list[str]:
    """Play the expert on a copy of ``world`` until the goal; return its commands."""
    play = World(world.layout, world.state.copy())
    plan: list[str] = []
    while not play.won and len(plan) < limit:
        command = expert_action(play)
        plan.append(command)
        play.step(command)
    return plan
