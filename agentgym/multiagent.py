"""The multi-agent contract (:class:`TextAECEnv`, a PettingZoo AEC env) and :func:`seat`.

A ``TextAECEnv`` is a PettingZoo ``AECEnv`` whose observations and actions are
strings and whose ``infos[agent]`` carry the keys of the single-agent contract.
:func:`seat` turns one seat of such a game into a :class:`~agentgym.core.TextEnv`
whose other seats are played by given players: built-in bots, random players,
a frozen copy of the learner, or any agentgym policy.
"""

from __future__ import annotations

import functools
import json
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from gymnasium.utils import seeding
from pettingzoo import AECEnv
from pydantic import ConfigDict, Field

from agentgym.core import TextEnv, check_info
from agentgym.episode import EpisodeMixin, ResetOptions, check_seed, dumps_sharing, loads_sharing
from agentgym.exceptions import ConfigError, ContractError
from agentgym.policies.base import Policy, Query, SamplingParams, stable_seed
from agentgym.prompting import HistoryItem, PromptConfig, offered_tools, parse_action, render_messages
from agentgym.spaces import UnicodeText


class TextObservation(str):
    """A ``str`` observation that PettingZoo's ``api_test`` can check.

    ``api_test`` compares ``observation.dtype`` with the space's ``dtype``;
    strings have none, so AEC observations carry ``dtype = None`` like
    :class:`~agentgym.spaces.UnicodeText`. In every other respect it is a str.
    """

    dtype = None


class AECResetOptions(ResetOptions):
    """Reset options of multi-agent games: unknown keys are ignored with a warning.

    PettingZoo's ``api_test`` resets with options of its own, so games cannot
    refuse them as single-agent envs do.
    """

    model_config = ConfigDict(extra="allow")

    def model_post_init(self, context: Any) -> None:
        if self.model_extra:
            warnings.warn(f"ignored unknown reset options {sorted(self.model_extra)}", stacklevel=4)


class SeatResetOptions(ResetOptions):
    """Reset options of a seat: the episode's own seat and players, over the wrapper's.

    A league trainer sends each episode's opponents this way, so the choice travels with
    the episode to whichever worker (thread, subprocess, Ray actor) plays it.
    """

    learner: str | None = Field(None, description="The learner's seat this episode (or 'random').")
    others: str | dict[str, str] | None = Field(
        None,
        description="This episode's player of the other seats, one for all or by seat: a bot name, "
        "'random' or 'hf:DIR'.",
    )


_AEC_STATE = (
    "agents",
    "rewards",
    "_cumulative_rewards",
    "terminations",
    "truncations",
    "infos",
    "agent_selection",
    "_skip_agent_selection",
)
"""What PettingZoo's ``AECEnv`` changes during an episode (dead agents' turns included)."""


class TextAECEnv(EpisodeMixin, AECEnv):
    """Base class of multi-agent text games (PettingZoo AEC).

    Subclasses set ``possible_agents`` and ``splits`` in ``__init__`` and
    implement ``_observe(agent)``, ``_reset`` (set ``agents``, ``rewards``, ``terminations``,
    ``truncations``, ``infos``, ``agent_selection``) and ``_step`` (apply the
    selected agent's action, set ``rewards`` of this step and advance
    ``agent_selection``). The base class seeds, picks the task, zeroes and
    accumulates rewards, handles dead agents, refuses a step after the game ended
    (:class:`~agentgym.exceptions.ContractError`), and snapshots natively when the
    game names the attributes its episode changes in ``episode_state`` (by replay
    when it names none). An invalid command must not raise: it becomes the game's
    no-op with ``invalid_action=True`` in the acting agent's info.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "is_parallelizable": False}
    options_model = AECResetOptions
    bots: ClassVar[Mapping[str, Callable[..., Player]]] = {}
    """Built-in players by name; ``bots[name](env, agent, seed)`` makes one."""
    episode_state: ClassVar[tuple[str, ...]] = ()
    """The attributes an episode changes besides the AEC bookkeeping (the rules object,
    notes to players): a native snapshot copies them with it. None named: snapshots replay."""

    def __init__(self, *, max_action_length: int = 4096, max_observation_length: int = 65536) -> None:
        super().__init__()
        self._action_space = UnicodeText(max_action_length)
        self._observation_space = UnicodeText(max_observation_length)
        self.np_random, _ = seeding.np_random(None)
        self._skip_agent_selection: str | None = None

    def observation_space(self, agent: str) -> UnicodeText:
        return self._observation_space

    def action_space(self, agent: str) -> UnicodeText:
        return self._action_space

    def _reset(self, task_id: int, options: ResetOptions) -> None:
        raise NotImplementedError

    def _step(self, action: str) -> None:
        raise NotImplementedError

    def _observe(self, agent: str) -> str:
        """What ``agent`` sees now."""
        raise NotImplementedError

    def observe(self, agent: str) -> str:
        return TextObservation(self._observe(agent))

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        check_seed(seed)
        if seed is not None:
            self.np_random, _ = seeding.np_random(seed)
        task_id, opts = self._select_task(options)
        self._begin(task_id, opts)

    def _begin(self, task_id: int, options: ResetOptions) -> None:
        self._reset(task_id, options)
        self._cumulative_rewards = {a: 0.0 for a in self.agents}
        self._skip_agent_selection = None
        for agent in self.agents:
            check_info(self.infos[agent], f"{type(self).__name__}._reset (infos[{agent!r}])")

    def step(self, action: str | None) -> None:
        if self._episode is None:
            raise ContractError("call reset() before step()")
        if not self.agents:
            raise ContractError("the game is over; call reset() to start a new one")
        agent = self.agent_selection
        self._episode.actions.append(action)
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        if not isinstance(action, str):
            raise ContractError(f"actions are str, got {type(action).__name__}: {action!r}")
        self._cumulative_rewards[agent] = 0.0
        self.rewards = {a: 0.0 for a in self.agents}
        self._step(action)
        self._accumulate_rewards()
        for a in self.agents:
            check_info(self.infos[a], f"{type(self).__name__}._step (infos[{a!r}])")

    def _replay_step(self, action: str | None) -> None:
        self.step(action)

    def _get_state(self) -> tuple[Any, ...]:
        """The AEC bookkeeping and the game's ``episode_state``, as they are (the snapshot pickles them)."""
        if not self.episode_state:
            raise NotImplementedError
        return tuple(getattr(self, name) for name in (*_AEC_STATE, *self.episode_state))

    def _set_state(self, state: tuple[Any, ...]) -> None:
        for name, value in zip((*_AEC_STATE, *self.episode_state), state, strict=True):
            setattr(self, name, value)  # unpickled: this env's own copy

    def render(self) -> str | None:
        return self.observe(self.agent_selection) if self.agents else None

    def close(self) -> None:
        pass


@runtime_checkable
class Player(Protocol):
    """Plays one seat: an action from the seat's observation and info."""

    def act(self, observation: str, info: dict[str, Any]) -> str: ...


class PolicyPlayer:
    """Any agentgym policy as a player, prompted with the seat's history.

    Use a frozen copy of the learner's model for self-play. After ``reset(seed)``
    each reply samples from its own stream, a function of the seed and the turn, so
    an episode replays the same however many other episodes the policy served.
    """

    def __init__(
        self,
        policy: Policy,
        prompt: PromptConfig | None = None,
        sampling: SamplingParams | None = None,
    ) -> None:
        self.policy = policy
        self.prompt = prompt or PromptConfig()
        self.sampling = sampling or SamplingParams()
        self.history: list[HistoryItem] = []
        self.seed: int | None = None

    def reset(self, seed: int | None = None) -> None:
        self.history = []
        self.seed = seed

    def act(self, observation: str, info: dict[str, Any]) -> str:
        messages = []
        if self.policy.wants_messages:
            messages = render_messages(
                str(info.get("task", "")),
                self.history,
                observation,
                info.get("admissible_actions"),
                self.prompt,
            )
        turn = len(self.history)
        seed = None if self.seed is None else stable_seed(self.seed, turn)
        query = Query(observation, info, messages, turn, offered_tools(None, self.prompt), seed)
        gen = self.policy.generate([query], self.sampling)[0]
        self.history.append(HistoryItem(observation, gen.text))
        if gen.action is not None:
            return gen.action
        parsed = parse_action(gen.text, self.prompt.action_format, gen.tool_calls)
        return parsed.action if parsed.valid else gen.text.strip()


class RandomPlayer:
    """Uniform over the seat's admissible actions (or its game's ``random_action``).

    Games with open phases (free speech, messages) implement
    ``random_action(agent, rng) -> str``; it is used when the seat's info has no
    admissible actions.
    """

    def __init__(self, env: TextAECEnv, agent: str, seed: int | None = None) -> None:
        self.env = env
        self.agent = agent
        self.rng, _ = seeding.np_random(seed)

    def reset(self, seed: int | None = None) -> None:
        self.rng, _ = seeding.np_random(seed)

    def act(self, observation: str, info: dict[str, Any]) -> str:
        actions = info.get("admissible_actions")
        if actions:
            return actions[int(self.rng.integers(len(actions)))]
        random_action = getattr(self.env, "random_action", None)
        if random_action is None:
            raise ConfigError(
                "a random player needs admissible actions in the seat's info "
                f"or a random_action(agent, rng) method on {type(self.env).__name__}"
            )
        return random_action(self.agent, self.rng)


PlayerSpec = str | Player | Policy | Callable[[str, dict[str, Any]], str]


class SeatEnv(TextEnv):
    """One seat of a :class:`TextAECEnv` as a single-agent :class:`TextEnv`.

    The learner's reward is what the game paid it since its last action; the
    episode ends when the learner is done. ``info["seat"]`` names its seat and
    ``info["returns"]`` holds every seat's return so far; reset options
    (:class:`SeatResetOptions`) may choose the episode's seat and players. When
    the game ends before the learner's first turn, its first step ignores the
    action and ends the episode with the final observation and reward.
    """

    options_model = SeatResetOptions

    def __init__(
        self,
        game: TextAECEnv,
        learner: str = "random",
        others: PlayerSpec | Mapping[str, PlayerSpec] = "random",
        max_steps: int = 1000,
        expert: str | None = None,
    ) -> None:
        super().__init__(
            max_steps=max_steps,
            max_action_length=game.action_space(game.possible_agents[0]).max_length,
            max_observation_length=game.observation_space(game.possible_agents[0]).max_length,
        )
        if learner != "random" and learner not in game.possible_agents:
            raise ConfigError(
                f"learner {learner!r} is not a seat of this game; seats: {game.possible_agents}"
            )
        if expert is not None and expert not in game.bots:
            raise ConfigError(f"expert {expert!r} is not a bot of this game; its bots: {sorted(game.bots)}")
        self.game = game
        self.learner_choice = learner
        self.others = others
        self.expert = expert
        self.splits = game.splits
        self.data_version = game.data_version
        self.seat = game.possible_agents[0]
        self.players: dict[str, Player] = {}
        self.returns: dict[str, float] = {}
        """Every seat's return so far this episode (``info["returns"]``)."""
        self._bots_only = True
        """Every other seat is a built-in bot or a random player (native snapshots)."""

    def _reset(self, task_id: int, options: ResetOptions) -> tuple[str, dict[str, Any]]:
        assert isinstance(options, SeatResetOptions)
        game = self.game
        learner = options.learner or self.learner_choice
        if learner != "random" and learner not in game.possible_agents:
            raise ConfigError(
                f"learner {learner!r} is not a seat of this game; seats: {game.possible_agents}"
            )
        others = self.others if options.others is None else options.others
        seed = int(self.np_random.integers(2**31))
        game.reset(seed=seed, options={"split": options.split, "task_id": options.task_id})
        agents = list(game.possible_agents)
        self.seat = agents[int(self.np_random.integers(len(agents)))] if learner == "random" else learner
        self.players = {}
        self.returns = {agent: 0.0 for agent in agents}
        self._bots_only = True
        for agent in agents:
            if agent == self.seat:
                continue
            spec = others.get(agent, "random") if isinstance(others, Mapping) else others
            self._bots_only &= isinstance(spec, str) and (spec == "random" or spec in game.bots)
            player = self._make_player(spec, agent, int(self.np_random.integers(2**31)))
            self.players[agent] = player
        if self.expert is not None:  # the learner's own seat, played only by expert_action()
            self.players[self.seat] = self._make_player(
                self.expert, self.seat, int(self.np_random.integers(2**31))
            )
        self._advance()
        return str(game.observe(self.seat)), self._info()

    def data_digest(self) -> str:
        return self.game.data_digest()

    def _get_state(self) -> Any:
        """The game's snapshot and the other seats' players (bots and random players only).

        The players are pickled with the game they play left out (bound again to
        this seat's game on restore), so restoring never replays their thinking.
        A seat played by a policy or a user's player snapshots by replay.
        """
        if not self._bots_only:
            raise NotImplementedError
        players = dumps_sharing(self.players, {"game": self.game})
        return self.game.snapshot(), self.seat, players, dict(self.returns)

    def _set_state(self, state: Any) -> None:
        game, self.seat, players, returns = state
        self.game.restore(game)
        self.returns = dict(returns)
        self.players = loads_sharing(players, {"game": self.game})

    def _step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        game = self.game
        seat_done = game.terminations.get(self.seat, True) or game.truncations.get(self.seat)
        invalid = False
        if not seat_done and game.agent_selection == self.seat:
            self._play(action)
            # The learner's own action decides invalid_action, not the moves that follow it.
            invalid = bool((game.infos.get(self.seat) or {}).get("invalid_action", False))
            self._advance()
        # else the game ended before the learner's first turn (in Werewolf, a player killed
        # on the first night): reset cannot say so, so this step ignores the action and
        # returns the final observation and reward.
        reward = float(game._cumulative_rewards.get(self.seat, 0.0))
        terminated = bool(game.terminations.get(self.seat, True))
        truncated = bool(game.truncations.get(self.seat, False))
        info = {**self._info(), "invalid_action": invalid}
        return str(game.observe(self.seat)), reward, terminated, truncated, info

    def _advance(self) -> None:
        """Let the other seats play until it is the learner's turn or the learner is done."""
        game = self.game
        while game.agents and game.agent_selection != self.seat:
            if game.terminations.get(self.seat) or game.truncations.get(self.seat):
                break
            agent = game.agent_selection
            if game.terminations[agent] or game.truncations[agent]:
                game.step(None)
                continue
            player = self.players[agent]
            self._play(player.act(game.observe(agent), game.infos[agent]))

    def _play(self, action: str) -> None:
        """One move of the game, its rewards added to the seats' returns."""
        self.game.step(action)
        for agent, reward in self.game.rewards.items():
            self.returns[agent] = self.returns.get(agent, 0.0) + float(reward)

    def _info(self) -> dict[str, Any]:
        info = dict(self.game.infos.get(self.seat) or self._last_known_info())
        info["seat"] = self.seat
        info["returns"] = dict(self.returns)
        return info

    def _last_known_info(self) -> dict[str, Any]:
        assert self._episode is not None
        return {**self._episode.last_info, "admissible_actions": []}

    def _make_player(self, spec: PlayerSpec, agent: str, seed: int) -> Player:
        if isinstance(spec, str):
            if spec == "random":
                return RandomPlayer(self.game, agent, seed)
            if spec.startswith("hf:"):
                player = saved_player(spec.removeprefix("hf:"))
                player.reset(seed)
                return player
            if spec not in self.game.bots:
                raise ConfigError(
                    f"unknown player {spec!r}; this game's bots: {sorted(self.game.bots)} or 'random' "
                    "(or 'hf:DIR', a saved model)"
                )
            return self.game.bots[spec](self.game, agent, seed)
        if isinstance(spec, Policy):
            return PolicyPlayer(spec)
        if isinstance(spec, Player):
            if hasattr(spec, "reset"):
                spec.reset(seed)
            return spec
        if callable(spec):
            return _CallablePlayer(spec)
        raise ConfigError(f"{spec!r} is not a player: give a bot name, a policy or a callable")

    def expert_action(self) -> str:
        """The ``expert`` bot's action in the learner's seat, or else the game's own expert's."""
        if self.expert is not None:
            game = self.game
            return self.players[self.seat].act(game.observe(self.seat), game.infos[self.seat])
        expert = getattr(self.game, "expert_action", None)
        if expert is None:
            raise ContractError(f"{type(self.game).__name__} has no expert policy; give seat(expert=BOT)")
        return expert(self.seat)


PLAYER_SETTINGS = "player.json"
"""In a saved model's directory: the prompt and sampling it plays a seat with (optional)."""


def saved_player(path: str | Path) -> PolicyPlayer:
    """A player of the model saved in ``path`` (``save_pretrained``), as its ``player.json`` says.

    The model loads once per process and path; each call makes a fresh player (its own
    history) around it. ``player.json`` holds ``{"prompt": PromptConfig, "sampling":
    SamplingParams}`` fields; without it the defaults apply. Seat players name it ``hf:DIR``.
    """
    path = Path(path)
    if not path.is_dir():
        raise ConfigError(f"saved player {str(path)!r} is not a directory of a saved model")
    settings_file = path / PLAYER_SETTINGS
    settings = json.loads(settings_file.read_text(encoding="utf-8")) if settings_file.is_file() else {}
    prompt = PromptConfig.model_validate(settings.get("prompt", {}))
    sampling = SamplingParams.model_validate(settings.get("sampling", {}))
    return PolicyPlayer(_saved_policy(str(path.resolve())), prompt, sampling)


@functools.lru_cache(maxsize=16)
def _saved_policy(path: str) -> Policy:
    from agentgym.policies.hf import TransformersPolicy

    return TransformersPolicy(path, name=f"hf:{path}")


class _CallablePlayer:
    def __init__(self, fn: Callable[[str, dict[str, Any]], str]) -> None:
        self.fn = fn

    def act(self, observation: str, info: dict[str, Any]) -> str:
        return self.fn(observation, info)


def seat(
    game: TextAECEnv,
    learner: str = "random",
    others: PlayerSpec | Mapping[str, PlayerSpec] = "random",
    max_steps: int = 1000,
    expert: str | None = None,
) -> SeatEnv:
    """Turn one seat of a multi-agent game into a single-agent ``TextEnv``.

    Args:
        game: the AEC game (e.g. ``agentgym.make("nim")``).
        learner: the learner's seat, or ``"random"`` for a random seat each episode.
        others: the other seats' players, one for all or a dict by seat. A player
            is a bot name from ``game.bots``, ``"random"``, ``"hf:DIR"`` (a saved
            model, see :func:`saved_player`), an agentgym policy
            (e.g. a frozen copy of the learner), an object with ``act(obs, info)``
            or a callable ``(obs, info) -> action``.
        max_steps: the learner's step limit.
        expert: a bot of the game that answers ``expert_action()`` for the learner's seat
            (demonstrations for behaviour cloning from the rule bots).

    Example:
        >>> import agentgym
        >>> env = seat(agentgym.make("nim"), learner="player_0", others="optimal")
        >>> obs, info = env.reset(seed=0, options={"task_id": 0})
        >>> info["seat"]
        'player_0'
    """
    return SeatEnv(game, learner, others, max_steps, expert)


__all__: Sequence[str] = [
    "Player",
    "PolicyPlayer",
    "RandomPlayer",
    "SeatEnv",
    "SeatResetOptions",
    "TextAECEnv",
    "saved_player",
    "seat",
]
