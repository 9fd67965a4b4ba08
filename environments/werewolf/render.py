"""What one Werewolf player knows (:func:`view`) and how it reads in English (:func:`render`).

Bots and observations are both built from :func:`view`, so neither can see
more than the player it serves: its role, its private knowledge (the seer's
checks, the doctor's protections, the werewolves' channel) and the public record.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from agentgym.environments.werewolf.rules import (
    DISCUSSION,
    DOCTOR,
    NIGHT_DOCTOR,
    NIGHT_PHASES,
    NIGHT_SEER,
    NIGHT_WOLVES,
    SEER,
    VOTE,
    WEREWOLF,
    WOLF_ROUNDS,
    Werewolf,
    side,
)

_ROLE_TEXT = {
    WEREWOLF: "Each night you and your fellow werewolves agree on a villager to kill; by day, "
    "avoid being voted out. The werewolves win when they are as many as everyone else.",
    SEER: "You are on the village's side. Each night you learn whether one player is a werewolf. "
    "The village wins when every werewolf is dead.",
    DOCTOR: "You are on the village's side. Each night you protect one player from the werewolves "
    "(never the same player two nights running). The village wins when every werewolf is dead.",
    "villager": "You are on the village's side: find the werewolves and vote them out. "
    "The village wins when every werewolf is dead.",
}


def view(game: Werewolf, player: str) -> dict[str, Any]:
    """Everything ``player`` may know, as plain data (do not mutate it).

    Example:
        >>> from agentgym.environments.werewolf.rules import role_mix
        >>> game = Werewolf(dict(zip([f"player_{i}" for i in range(5)], role_mix(5))))
        >>> v = view(game, "player_2")
        >>> v["role"], v["partners"], v["my_turn"]
        ('doctor', [], False)
    """
    role = game.roles[player]
    wolf = role == WEREWOLF
    mine = game.actor == player
    return {
        "me": player,
        "role": role,
        "players": game.players,
        "alive": game.alive,
        "mix": sorted(Counter(game.roles.values()).items()),
        "day": game.day,
        "phase": game.phase,
        "round": game.round,
        "discussion_rounds": game.discussion_rounds,
        "max_speech": game.max_speech,
        "actor": game.actor if mine or not game.phase.startswith("night") or wolf else None,
        "my_turn": mine,
        "targets": game.targets(player) if mine else [],
        "partners": [p for p in game.players if wolf and p != player and game.roles[p] == WEREWOLF],
        "wolf_channel": game.wolf_channel if wolf else [],
        "private": game.private[player],
        "last_protected": game.last_protected if role == DOCTOR else None,
        "public": game.public,
        "winner": game.winner,
        "truncated": game.truncated,
    }


def render(v: dict[str, Any], feedback: str = "", budget: int = 60000) -> str:
    """The player's observation: who they are, what they know, the record and what to do now.

    Past ``budget`` characters, the oldest messages of the werewolves' channel and
    then the oldest speeches are left out (deaths and ballots always stay).
    """
    now = _now(v)
    if feedback:
        now = [f"Note on your last reply: {feedback}", *now]
    items = [*_header(v), ("text", "Public record:"), *(_record(v) or [("text", "(nothing yet)")])]
    items += [("text", line) for line in now]
    size = sum(len(text) + 1 for _, text in items)
    dropped = 0
    for index in [i for i, (kind, _) in enumerate(items) if kind in ("channel", "speech")]:
        if size <= budget:
            break
        size -= len(items[index][1]) + 1
        items[index] = ("dropped", "")
        dropped += 1
    lines = [text for kind, text in items if kind != "dropped"]
    if dropped:
        lines.insert(0, f"[{dropped} older messages and speeches are not shown]")
    return "\n".join(lines)


def _header(v: dict[str, Any]) -> list[tuple[str, str]]:
    plural = {"werewolf": "werewolves"}
    mix = ", ".join(f"{n} {plural.get(role, role + 's') if n > 1 else role}" for role, n in v["mix"])
    lines = [
        f"You are {v['me']} in a game of Werewolf with {len(v['players'])} players ({mix}).",
        f"Your role: {v['role']}. {_ROLE_TEXT[v['role']]}",
    ]
    if v["partners"]:
        lines.append(f"Your fellow werewolves: {', '.join(v['partners'])}.")
    dead = [p for p in v["players"] if p not in v["alive"]]
    lines.append(f"Alive: {', '.join(v['alive'])}." + (f" Dead: {', '.join(dead)}." if dead else ""))
    items = [("text", line) for line in lines]
    known = [("text", _private_line(e)) for e in v["private"]]
    known += [("text" if "attack" in e else "channel", _channel_line(e)) for e in v["wolf_channel"]]
    return items + ([("text", "What only you know:"), *known] if known else [])


def _private_line(e: dict[str, Any]) -> str:
    if e["kind"] == "check":
        found = "a werewolf" if e["werewolf"] else "not a werewolf"
        return f"- Night {e['night']}: you checked {e['target']}: {found}."
    return f"- Night {e['night']}: you protected {e['target']}."


def _channel_line(e: dict[str, Any]) -> str:
    if "attack" in e:
        who = e["attack"] or "nobody"
        return f"- Night {e['night']}: the werewolves attacked {who}."
    named = f" (kill: {e['target']})" if e["target"] else " (no valid victim named)"
    where = f"Night {e['night']}, round {e['round']}, werewolf channel"
    return f'- {where}, {e["wolf"]}: "{_indent(e["text"])}"{named}'


def _record(v: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for e in v["public"]:
        kind = e["kind"]
        if kind == "speech":
            out.append((kind, f'Day {e["day"]}, round {e["round"]}, {e["player"]}: "{_indent(e["text"])}"'))
        elif kind == "night":
            if e["killed"] is None:
                out.append((kind, f"Night {e['day']}: nobody died."))
            else:
                out.append((kind, f"Night {e['day']}: {e['killed']} was killed.{_revealed(e)}"))
        elif kind == "vote":
            out.append((kind, _vote_line(e)))
        else:
            result = f"the {e['winner']} win" if e["winner"] else f"no winner after day {e['day']}"
            out.append((kind, f"The game is over: {result}."))
    return out


def _indent(text: str) -> str:
    """A quoted reply's later lines, indented so the record stays readable."""
    return text.replace("\n", "\n    ")


def _revealed(e: dict[str, Any]) -> str:
    return f" They were a {e['role']}." if e.get("role") else ""


def _vote_line(e: dict[str, Any]) -> str:
    ballots = ", ".join(
        f"{voter} abstained" if target is None else f"{voter} voted {target}"
        for voter, target in e["votes"].items()
    )
    if e["eliminated"]:
        n = sum(1 for t in e["votes"].values() if t == e["eliminated"])
        result = f"{e['eliminated']} is eliminated ({n} votes).{_revealed(e)}"
    elif e["tied"]:
        result = f"tie between {' and '.join(e['tied'])}: nobody is eliminated."
    else:
        result = "no votes: nobody is eliminated."
    return f"Day {e['day']} vote: {ballots}. Result: {result}"


def _now(v: dict[str, Any]) -> list[str]:
    phase, day = v["phase"], v["day"]
    if v["winner"] or v["truncated"]:
        if v["truncated"]:
            return ["The game is over with no winner."]
        won = v["winner"] == side(v["role"])
        return [f"The game is over. You {'won' if won else 'lost'}."]
    if v["me"] not in v["alive"]:
        return ["You are dead: you watch the rest of the game."]
    if not v["my_turn"]:
        if phase in NIGHT_PHASES and v["actor"] is None:
            return [f"It is night {day}. Wait for the day."]
        doing = "speak" if phase == DISCUSSION else "vote" if phase == VOTE else "act"
        when = "Night" if phase in NIGHT_PHASES else "Day"
        return [f"{when} {day}: waiting for {v['actor']} to {doing}."]
    names = ", ".join(v["targets"])
    if phase == NIGHT_WOLVES:
        return [
            f"Night {day}, round {v['round']} of at most {WOLF_ROUNDS}: agree with your fellow "
            "werewolves on a victim. Reply with a message for them and the command "
            f"`kill: player_N` (one of {names})."
        ]
    if phase == NIGHT_SEER:
        return [f"Night {day}: choose whom to check. Reply `check: player_N` (one of {names})."]
    if phase == NIGHT_DOCTOR:
        return [f"Night {day}: choose whom to protect. Reply `protect: player_N` (one of {names})."]
    if phase == DISCUSSION:
        return [
            f"Day {day}, discussion round {v['round']} of {v['discussion_rounds']}: your turn to "
            f"speak to everyone (free text, at most {v['max_speech']} characters)."
        ]
    return [
        f"Day {day}: vote to eliminate a player. Reply `vote: player_N` (one of {names}) or "
        "`abstain`. Votes are shown when everyone has voted; a tie eliminates nobody."
    ]
