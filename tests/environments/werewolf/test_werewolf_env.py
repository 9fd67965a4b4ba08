"""The Werewolf AEC env: PettingZoo conformance, the seat wrapper, bad input, state keys."""

from __future__ import annotations

import pytest

import agentgym
from agentgym.exceptions import ConfigError
from agentgym.multiagent import RandomPlayer
from agentgym.testing import (
    check_aec_env,
    check_bad_actions,
    check_determinism,
    check_global_rng_untouched,
    check_info_keys,
    check_snapshot,
)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"players": 12, "reveal_roles": False},
        {"players": 5, "discussion_rounds": 0, "shaping": 0.1},
    ],
)
def test_pettingzoo_api_and_agentgym_checks(kwargs):
    check_aec_env("werewolf", **kwargs)


def seat_env(**kwargs):
    game = agentgym.make("werewolf", roles={"player_0": "werewolf"})
    return agentgym.seat(game, learner="player_0", others="rule", **kwargs)


def test_seat_wrapper_passes_the_single_agent_checks():
    env = seat_env()
    for seed in range(3):
        check_info_keys(env, seed, max_steps=40)
    check_determinism(seat_env, seed=1, max_steps=40)
    check_snapshot(env, seed=2, max_steps=40)
    check_bad_actions(env, seed=0)  # the pinned werewolf acts first, at night: a closed command set
    check_global_rng_untouched(env, seed=3, max_steps=40)


def test_splits_are_disjoint_and_pins_fix_the_learners_role():
    env = agentgym.make("werewolf")
    assert env.splits == {"test": 42, "valid": 42, "train": 336}
    deals = {s: set(d) for s, d in env._deals.items()}
    assert not (
        deals["train"] & deals["valid"] or deals["train"] & deals["test"] or deals["valid"] & deals["test"]
    )
    env = agentgym.seat(
        agentgym.make("werewolf", roles={"player_2": "seer"}), learner="player_2", others="rule"
    )
    for seed in range(3):
        _, info = env.reset(seed=seed)
        assert info["role"] == "seer" and info["seat"] == "player_2"


def test_a_seated_learner_plays_to_the_end_and_gets_plus_or_minus_one():
    env = seat_env()
    returns = []
    for seed in range(4):
        obs, info = env.reset(seed=seed)
        assert "Your role: werewolf" in obs and "Your fellow werewolves: player_" in obs
        total, done = 0.0, False
        while not done:
            action = info["admissible_actions"][0] if info["admissible_actions"] else "I am a villager."
            obs, reward, terminated, truncated, info = env.step(action)
            total += reward
            done = terminated or truncated
        assert "The game is over" in obs
        assert total in (1.0, -1.0) and info["won"] == (total == 1.0)
        returns.append(total)


def test_a_learner_whose_game_ends_before_its_first_turn_gets_the_result_on_its_first_step():
    game = agentgym.make("werewolf", roles={"player_0": "villager"})
    env = agentgym.seat(game, learner="player_0", others="rule")
    obs, _ = env.reset(seed=5)  # player_0 dies on the first night; the bots play on to the end
    assert "The game is over. You lost." in obs
    final, reward, terminated, truncated, info = env.step("anything")
    assert (reward, terminated, truncated, info["invalid_action"]) == (-1.0, True, False, False)
    assert final == obs


def test_random_others_can_speak_in_open_phases():
    env = agentgym.seat(agentgym.make("werewolf"), learner="random", others="random")
    for seed in range(3):
        _, info = env.reset(seed=seed)
        done = False
        while not done:
            action = (info["admissible_actions"] or ["nothing to say"])[-1]
            _, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated


def test_state_keys_repeat_across_episodes_with_the_same_seed_and_ignore_wording():
    env = agentgym.make("werewolf")

    def keys(speech: str) -> list[str]:
        env.reset(seed=5)
        bots = {a: env.bots["rule"](env, a, i) for i, a in enumerate(env.possible_agents)}
        out = []
        for agent in env.agent_iter():
            obs, _, term, trunc, info = env.last()
            out.append(info["state_key"])
            if term or trunc:
                env.step(None)
                continue
            action = bots[agent].act(obs, info)
            env.step(speech + action if env.game.phase == "day_discussion" else action)
        return out

    assert keys("") == keys("Good morning. ")
    env.reset(seed=5)
    first = {a: env.infos[a]["state_key"] for a in env.agents}
    assert len(set(first.values())) == len(first)  # every seat is a different state


def test_bad_replies_are_no_ops_flagged_in_info_and_explained_in_the_next_observation():
    env = agentgym.make("werewolf", roles={"player_0": "werewolf", "player_1": "werewolf"})
    env.reset(seed=0, options={"task_id": 0})
    env.step("kill: player_42")
    assert env.infos["player_0"]["invalid_action"]
    assert "'player_42' is not a player in this game" in env.observe("player_0")
    assert not env.infos["player_1"]["invalid_action"]
    env.step("")
    assert env.infos["player_1"]["invalid_action"]
    assert "Your reply was empty" in env.observe("player_1")


def test_huge_speeches_are_cut_by_the_game_and_refused_by_the_seat():
    env = agentgym.make("werewolf", players=5, roles={"player_0": "werewolf"})
    env.reset(seed=0)
    players = {a: RandomPlayer(env, a, i) for i, a in enumerate(env.possible_agents)}
    while env.game.phase != "day_discussion":
        agent = env.agent_selection
        env.step(players[agent].act(env.observe(agent), env.infos[agent]))
    speaker = env.agent_selection
    env.step("blah " * 20_000)
    assert env.infos[speaker]["invalid_action"]
    assert "100000 characters long; only the first 1000 were kept" in env.observe(speaker)
    assert len(env.observe(speaker)) < 65536
    seat = seat_env()
    seat.reset(seed=0)
    obs, _, _, _, info = seat.step("x" * 100_000)
    assert info["invalid_action"] and "the limit is 4096" in obs


def test_long_games_keep_observations_within_the_space():
    env = agentgym.make("werewolf", players=12, max_speech=4096, max_days=3)
    env.reset(seed=0)
    for _ in env.agent_iter():
        obs, _, term, trunc, info = env.last()
        assert len(obs) <= 65536
        if term or trunc:
            env.step(None)
        elif env.game.phase == "night_werewolves":
            env.step("x" * 4000 + f" kill: {info['admissible_actions'][0].split()[-1]}")
        else:
            env.step((info["admissible_actions"] or ["x" * 4096])[-1])
    assert "older messages and speeches are not shown" in env.observe("player_0")


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"players": 4}, "players must be 5 to 12"),
        ({"roles": {"player_9": "seer"}}, "unknown seats ['player_9']"),
        ({"roles": {"player_0": "seer", "player_1": "seer"}}, "pins 2 seers"),
        ({"roles": {"player_0": "mayor"}}, "unknown roles ['mayor']"),
        ({"discussion_rounds": 9}, "discussion_rounds must be 0 to 5"),
    ],
)
def test_bad_options_are_refused_with_a_message(kwargs, fragment):
    with pytest.raises(ConfigError, match="") as err:
        agentgym.make("werewolf", **kwargs)
    assert fragment in str(err.value)
