"""Rule-based Werewolf players for every role, and the random player's speech.

:class:`RuleBot` reads only its own :func:`~agentgym.environments.werewolf.render.view`
and the public speeches, parsed with the same plain phrases it speaks:
``I am the seer``, ``player_3 is a werewolf``, ``player_2 is not a werewolf``,
``I suspect player_4``, ``I will vote player_4``.

- Villagers score suspicion from the evidence: claims of a seer whose record
  holds up (a claimer whose "werewolf" turned out a villager is a liar, and two
  claimers mean one werewolf), ballots for players later revealed as villagers,
  accusations made by the night's victims, and today's accusations (so the
  village converges on one name). They accuse and vote the most suspected player.
- The seer checks the most suspected unchecked player and reveals its results
  when it has found a living werewolf, when accused by two players in a day, or
  when four or fewer players are alive.
- The doctor protects a believable claimed seer, else itself, else the most trusted.
- Werewolves coordinate: the first one each night picks the victim (a claimed
  seer first, then whoever accused a werewolf most) and the others follow it on
  their channel. By day they push the same scapegoat, and a werewolf accused by a
  claimed seer counter-claims the seer role and accuses the seer back.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np
from gymnasium.utils import seeding

from agentgym.environments.werewolf.render import view
from agentgym.environments.werewolf.rules import (
    DISCUSSION,
    NIGHT_DOCTOR,
    NIGHT_SEER,
    NIGHT_WOLVES,
    SEER,
    WEREWOLF,
)

_CLAIM = re.compile(r"\bI(?: am|'m) the seer\b", re.IGNORECASE)
_RESULT = re.compile(r"\b(player_\d+) is (not )?a werewolf", re.IGNORECASE)
_ACCUSE = re.compile(r"\b(?:suspect|vote|voting|accuse)\w*\s*(?::|for)?\s*(player_\d+)", re.IGNORECASE)
_SPEECHES = (
    "I suspect {p}.",
    "I have no information yet.",
    "Let us vote for {p}.",
    "{p} is acting strangely.",
    "I trust {p}.",
    "I am a simple villager.",
)


def random_speech(alive: list[str], rng: np.random.Generator) -> str:
    """A random sentence, sometimes about a random living player."""
    template = _SPEECHES[int(rng.integers(len(_SPEECHES)))]
    return template.format(p=alive[int(rng.integers(len(alive)))])


class Evidence:
    """What the public record says: seer claims, accusations, revealed roles, ballots."""

    def __init__(self, v: dict[str, Any]) -> None:
        self.claims: dict[str, list[tuple[str, bool]]] = {}
        self.accusations: list[tuple[int, str, str]] = []
        self.revealed: dict[str, str] = {}
        self.night_victims: list[str] = []
        self.ballots: list[tuple[str, str]] = []
        for e in v["public"]:
            if e["kind"] == "speech":
                text = e["text"]
                if _CLAIM.search(text):
                    results = [(t.lower(), not neg) for t, neg in _RESULT.findall(text)]
                    self.claims.setdefault(e["player"], [])
                    self.claims[e["player"]] += results
                for target in _ACCUSE.findall(text):
                    self.accusations.append((e["day"], e["player"], target.lower()))
            elif e["kind"] in ("night", "vote"):
                dead = e.get("killed") or e.get("eliminated")
                if dead and e.get("role"):
                    self.revealed[dead] = e["role"]
                if e["kind"] == "night" and dead:
                    self.night_victims.append(dead)
                if e["kind"] == "vote":
                    self.ballots += [(voter, t) for voter, t in e["votes"].items() if t]

    def liar(self, claimer: str, me: str, my_role: str) -> bool:
        """Whether a seer claim is provably false from this player's knowledge."""
        if my_role == SEER and claimer != me:
            return True
        if claimer in self.revealed and self.revealed[claimer] != SEER:
            return True
        if any(role == SEER and p != claimer for p, role in self.revealed.items()):
            return True
        return any(
            t in self.revealed and (self.revealed[t] == WEREWOLF) != wolf for t, wolf in self.claims[claimer]
        )

    def accused_today(self, day: int, exclude: set[str]) -> Counter[str]:
        return Counter(t for d, who, t in self.accusations if d == day and who not in exclude)


class RuleBot:
    """Plays any role by the rules in the module docstring, from its own view only."""

    def __init__(self, env: Any, agent: str, seed: int | None = None) -> None:
        self.env = env
        self.agent = agent
        self.rng, _ = seeding.np_random(seed)
        self.tiebreak = {p: float(self.rng.random()) * 0.3 for p in env.possible_agents}

    def act(self, observation: str, info: dict[str, Any]) -> str:
        v = view(self.env.game, self.agent)
        if v["role"] == WEREWOLF:
            return self._wolf(v)
        phase = v["phase"]
        if phase == NIGHT_SEER:
            checked = {e["target"] for e in v["private"]}
            pool = [p for p in v["targets"] if p not in checked] or v["targets"]
            return f"check: {self._most(pool, self.suspicion(v))}"
        if phase == NIGHT_DOCTOR:
            return f"protect: {self._protect(v)}"
        scores = self.suspicion(v)
        target = self._most([p for p in v["alive"] if p != v["me"]], scores)
        if phase == DISCUSSION:
            return self._seer_speech(v, target) or f"I suspect {target}. I will vote {target}."
        return f"vote: {target}"

    # -- the village -------------------------------------------------------------------

    def suspicion(self, v: dict[str, Any]) -> dict[str, float]:
        me, role = v["me"], v["role"]
        ev = Evidence(v)
        score = {p: self.tiebreak[p] for p in v["players"]}
        score[me] = -100.0
        for e in v["private"]:
            if e["kind"] == "check":
                score[e["target"]] += 50.0 if e["werewolf"] else -20.0
        honest = [c for c in ev.claims if c != me and not ev.liar(c, me, role)]
        for claimer in ev.claims:
            if claimer == me:
                continue
            if claimer not in honest:
                score[claimer] += 15.0
                continue
            weight = 1.0 if len(honest) == 1 else 0.25
            score[claimer] += 0.0 if len(honest) == 1 else 3.0
            for target, wolf in ev.claims[claimer]:
                score[target] += weight * (10.0 if wolf else -6.0)
        for voter, target in ev.ballots:
            if ev.revealed.get(target) == WEREWOLF:
                score[voter] -= 1.0
            elif target in ev.revealed:
                score[voter] += 1.0
        for _, accuser, target in ev.accusations:
            if accuser in ev.night_victims:
                score[target] += 1.5
            if target in ev.revealed and ev.revealed[target] != WEREWOLF:
                score[accuser] += 0.5
        for target, n in ev.accused_today(v["day"], {me}).items():
            score[target] += 0.6 * n
        return score

    def _seer_speech(self, v: dict[str, Any], target: str) -> str | None:
        if v["role"] != SEER:
            return None
        checks = [e for e in v["private"] if e["kind"] == "check"]
        found = any(e["werewolf"] and e["target"] in v["alive"] for e in checks)
        accusers = {who for d, who, t in Evidence(v).accusations if d == v["day"] and t == v["me"]}
        if not (found or len(accusers) >= 2 or len(v["alive"]) <= 4) or not checks:
            return None
        results = " ".join(
            f"Night {e['night']}: {e['target']} is {'' if e['werewolf'] else 'not '}a werewolf."
            for e in checks
        )
        return f"I am the seer. {results} I will vote {target}."

    def _protect(self, v: dict[str, Any]) -> str:
        ev = Evidence(v)
        allowed = v["targets"]
        seers = [c for c in ev.claims if c in allowed and not ev.liar(c, v["me"], v["role"])]
        if len(seers) == 1:
            return seers[0]
        if v["me"] in allowed:
            return v["me"]
        scores = self.suspicion(v)
        return min(allowed, key=lambda p: (scores[p], p))

    # -- the werewolves ----------------------------------------------------------------

    def _wolf(self, v: dict[str, Any]) -> str:
        ev = Evidence(v)
        pack = {v["me"], *v["partners"]}
        phase = v["phase"]
        if phase == NIGHT_WOLVES:
            tonight = [e for e in v["wolf_channel"] if e.get("night") == v["day"] and e.get("target")]
            victim = tonight[-1]["target"] if tonight else self._threat(v, ev, pack)
            return f"Let us take {victim} tonight. kill: {victim}"
        goat = self._scapegoat(v, ev, pack)
        if phase != DISCUSSION:
            return f"vote: {goat}"
        seers = [c for c in ev.claims if c not in pack and c in v["alive"]]
        accused = [t for c in seers for t, wolf in ev.claims[c] if wolf and t == v["me"]]
        if accused and not any(c in pack for c in ev.claims):
            seer = seers[0]
            return f"I am the seer. Night {v['day']}: {seer} is a werewolf. I will vote {seer}."
        return f"I suspect {goat}. I will vote {goat}."

    def _threat(self, v: dict[str, Any], ev: Evidence, pack: set[str]) -> str:
        prey = [p for p in v["alive"] if p not in pack]
        seers = [c for c in ev.claims if c in prey]
        if seers:
            return seers[0]
        danger = Counter(who for _, who, t in ev.accusations if t in pack and who in prey)
        return max(prey, key=lambda p: (danger[p], self.tiebreak[p]))

    def _scapegoat(self, v: dict[str, Any], ev: Evidence, pack: set[str]) -> str:
        prey = [p for p in v["alive"] if p not in pack]
        seers = [c for c in ev.claims if c in prey]
        if seers:
            return seers[0]
        heat = ev.accused_today(v["day"], pack)
        return max(prey, key=lambda p: (heat[p], -v["players"].index(p)))

    @staticmethod
    def _most(pool: list[str], scores: dict[str, float]) -> str:
        return max(pool, key=lambda p: scores[p])
