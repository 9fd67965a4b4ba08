"""TextWorld: text adventures made by Microsoft's TextWorld generators and played in its engine.

- Task: a game made by ``tw-make`` (``challenge="custom"``, ``"coin_collector"``,
  ``"treasure_hunter"`` or ``"cooking"``, with that challenge's ``settings``) from
  a seed. Splits own disjoint seed ranges: train from 0, valid from 10**8, test
  from 2 * 10**8 (cooking games also use TextWorld's own food splits). Games are
  compiled once and cached on disk (``cache_dir``, default
  ``~/.cache/agentgym/textworld``) under the hash of what defines them.
- Observation: the engine's text without TextWorld's ASCII banner and without
  the status line (``>  -= Room =-0/3``) that ends each turn.
- Actions: any command of the game's parser; ``admissible_actions`` lists what
  TextWorld's state tracking says applies. A command that is not admissible is
  still played (the parser answers it) and flagged ``invalid_action``; one with
  characters outside printable ASCII is refused without reaching the engine
  (it can hang the interpreter).
- Reward: the change of the game's score; the episode ends when the game is won
  or lost. ``info`` also carries ``score`` and ``max_score``.
- ``state_key``: the game and the sorted facts of TextWorld's world state.
- Expert: the game's walkthrough while the agent follows it, then TextWorld's
  winning policy from the current state.
- Snapshots: the interpreter's own saved state (Jericho) with TextWorld's state
  tracking, restored in place.
- Version history: v0, first release.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from pathlib import Path
from typing import Any

from agentgym.core import ResetOptions, TextEnv
from agentgym.environments.textworld.games import game_file, settings_for
from agentgym.exceptions import ConfigError, require

SPLIT_SEEDS = {"train": 0, "valid": 10**8, "test": 2 * 10**8}
"""The first seed of each split; a split may hold up to 10**8 games."""
DEFAULT_SPLIT_SIZES = {"train": 100_000, "valid": 1_000, "test": 1_000}
REFUSED = "Invalid action: TextWorld commands are printable ASCII text."

_STATUS = re.compile(r"\n*>[ \t]*(-= .* =-[^\n]*)?\s*$")
_BANNER_LINE = re.compile(r"^[^A-Za-z0-9]*$")


def clean(text: str) -> str:
    """The engine's text without the opening banner and the closing status line.

    Example:
        >>> clean("\\n  _|$$ \\\\__\\n\\nWelcome!\\n\\n>   -= Attic =-0/3")
        'Welcome!'
    """
    text = _STATUS.sub("", text)
    lines = text.split("\n")
    while lines and _BANNER_LINE.match(lines[0]):
        lines.pop(0)
    return "\n".join(lines).strip()


class TextWorldEnv(TextEnv):
    """A TextWorld game; see the module docstring for the card.

    Example (playing needs the game, made on the first reset: see the README):
        >>> env = TextWorldEnv(challenge="cooking", settings={"recipe": 2, "take": 1})
        >>> env.settings.recipe, env.splits["test"]
        (2, 1000)
    """

    def __init__(
        self,
        challenge: str = "custom",
        settings: dict[str, Any] | None = None,
        split_sizes: dict[str, int] | None = None,
        cache_dir: str | None = None,
        max_steps: int = 100,
        **kwargs: Any,
    ) -> None:
        super().__init__(max_steps=max_steps, max_action_length=200, **kwargs)
        self.challenge = challenge
        self.settings = settings_for(challenge, settings)
        self.splits = {**DEFAULT_SPLIT_SIZES, **(split_sizes or {})}
        if set(self.splits) != set(SPLIT_SEEDS) or not all(0 < n <= 10**8 for n in self.splits.values()):
            raise ConfigError(f"split_sizes must give 1..10**8 games to train/valid/test, got {split_sizes}")
        self.cache_dir = cache_dir
        self._tw: Any = None
        self._path: Path | None = None
        self._fact_texts: dict[Any, str] = {}

    # -- episode ----------------------------------------------------------------------

    def _reset(self, task_id: int, options: ResetOptions) -> tuple[str, dict[str, Any]]:
        seed = SPLIT_SEEDS[options.split] + task_id
        self._load(game_file(self.challenge, self.settings, seed, options.split, self.cache_dir))
        state = self._tw.reset()
        self._walkthrough = list(state["extra.walkthrough"] or [])
        self._on_track = 0
        return clean(state.feedback), self._read(state, invalid=False)

    def _step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if not action.isascii() or not action.isprintable():
            return REFUSED, 0.0, False, False, {**self._info, "invalid_action": True}
        command = action.strip()
        valid = command in self._info["admissible_actions"]
        following = self._walkthrough[self._on_track : self._on_track + 1] == [command]
        self._on_track = self._on_track + 1 if self._on_track >= 0 and following else -1
        before = self._info["score"]
        state, _, done = self._tw.step(command)
        info = self._read(state, invalid=not valid)
        return clean(state.feedback), float(info["score"] - before), bool(done), False, info

    def _load(self, path: Path) -> None:
        """Start TextWorld on the game at ``path`` unless it is the one already running."""
        if path == self._path:
            return
        self.close()
        textworld = require("textworld", extra="textworld")
        infos = textworld.EnvInfos(
            admissible_commands=True, won=True, lost=True, score=True, max_score=True,
            objective=True, policy_commands=True, extras=["walkthrough"],
        )  # fmt: skip
        with warnings.catch_warnings():  # Jericho cannot score TextWorld games; TextWorld does
            warnings.filterwarnings("ignore", message=".*is not fully supported")
            self._tw, self._path = textworld.start(str(path), infos), path

    @property
    def game_path(self) -> Path | None:
        """The ``.z8`` file of the game being played."""
        return self._path

    def expert_action(self) -> str:
        """The walkthrough's next command while the agent follows it, else TextWorld's policy."""
        if 0 <= self._on_track < len(self._walkthrough):
            return self._walkthrough[self._on_track]
        policy = self._policy
        return policy[0] if policy else "look"

    def _read(self, state: Any, invalid: bool) -> dict[str, Any]:
        self._policy = list(state["policy_commands"] or [])
        self._info = {
            "task": state["objective"],
            "admissible_actions": list(state["admissible_commands"]),
            "state_key": self._state_key(state["_facts"]),
            "won": bool(state["won"]),
            "invalid_action": invalid,
            "score": int(state["score"] or 0),
            "max_score": int(state["max_score"] or 0),
        }
        return self._info

    def _state_key(self, facts: list[Any]) -> str:
        """The game and its sorted facts, hashed (a fact's text is cached: they recur)."""
        texts = self._fact_texts
        lines = sorted(texts.get(f) or texts.setdefault(f, str(f)) for f in facts)
        return hashlib.sha256("\n".join([str(self._path), *lines]).encode()).hexdigest()[:16]

    # -- snapshots: the interpreter's own state and TextWorld's tracking -------------------

    def _get_state(self) -> dict[str, Any]:
        tracking, inform7, jericho = _layers(self._tw)
        return {
            "path": str(self._path),
            "jericho": jericho._jericho.get_state(),
            "progression": tracking._game_progression.copy(),
            "tracking": (
                tracking._last_action,
                tracking._previous_winning_policy,
                tracking._current_winning_policy,
                tracking._moves,
            ),
            "counters": {k: inform7.state.get(k) for k in ("moves", "score")},
            "env": (dict(self._info), list(self._policy), self._on_track, list(self._walkthrough)),
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        if str(self._path) != state["path"]:
            self._load(Path(state["path"]))
            self._tw.reset()
        tracking, inform7, jericho = _layers(self._tw)
        jericho._jericho.set_state(state["jericho"])
        tracking._game_progression = state["progression"].copy()
        (tracking._last_action, tracking._previous_winning_policy,
         tracking._current_winning_policy, tracking._moves) = state["tracking"]  # fmt: skip
        inform7.state.update(state["counters"])
        info, policy, self._on_track, walkthrough = state["env"]
        self._info, self._policy, self._walkthrough = dict(info), list(policy), list(walkthrough)

    def close(self) -> None:
        if self._tw is not None:
            self._tw.close()
            self._tw, self._path = None, None
            self._fact_texts.clear()
        super().close()


def _layers(env: Any) -> tuple[Any, Any, Any]:
    """TextWorld's StateTracking and Inform7Data wrappers and the Jericho interpreter."""
    layers = {}
    while env is not None:
        layers[type(env).__name__] = env
        env = getattr(env, "_wrapped_env", None) if "_wrapped_env" in vars(env) else None
    return layers["StateTracking"], layers["Inform7Data"], layers["JerichoEnv"]
