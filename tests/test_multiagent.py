"""The multi-agent contract on Nim, and the seat wrapper."""

from __future__ import annotations

import copy
import json
import pickle
from typing import Any

import numpy as np
import pytest

import agentgym
from agentgym.policies import ScriptedPolicy
from agentgym.testing import aec_trace, check_aec_env, check_determinism, check_snapshot


def test_nim_passes_pettingzoo_api_test_and_our_checks() -> None:
    with pytest.warns(UserWarning):
        check_aec_env("nim")


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("env_id", ["nim", "bargain", "dealornodeal", "werewolf"])
def test_step_after_the_game_ended_is_a_contract_error(env_id: str) -> None:
    env = agentgym.make(env_id)
    aec_trace(env, seed=0)
    assert not env.agents
    message = r"^the game is over; call reset\(\) to start a new one$"
    for action in ("take 1", None):
        with pytest.raises(agentgym.ContractError, match=message):
            env.step(action)
    aec_trace(env, seed=1)  # the game is still usable after a reset


def test_seat_conforms() -> None:
    check_snapshot(agentgym.seat(agentgym.make("nim"), others="optimal"), seed=0, max_steps=30)
    check_determinism(lambda: agentgym.seat(agentgym.make("nim"), others="optimal"), seed=1, max_steps=30)


def test_seat_against_optimal_bot_loses_from_a_losing_pile() -> None:
    env = agentgym.seat(agentgym.make("nim"), learner="player_0", others="optimal")
    obs, info = env.reset(seed=0, options={"split": "train", "task_id": 3})  # pile 8: first mover loses
    assert "There are 8 stones left" in obs and info["seat"] == "player_0"
    total, done = 0.0, False
    while not done:
        obs, reward, terminated, truncated, info = env.step("take 1")
        total += reward
        done = terminated or truncated
    assert total == -1.0 and not info["won"] and "player_1 wins" in obs


def test_seat_with_a_callable_and_a_policy() -> None:
    game = agentgym.make("nim")
    env = agentgym.seat(game, learner="player_1", others={"player_0": lambda obs, info: "take 3"})
    obs, _ = env.reset(seed=0, options={"task_id": 0})  # pile 5, player_0 takes 3
    assert obs.startswith("player_0 took 3.")
    env = agentgym.seat(agentgym.make("nim"), learner="player_1", others=ScriptedPolicy(["take 2"] * 30))
    obs, _ = env.reset(seed=0, options={"task_id": 0})
    assert obs.startswith("player_0 took 2.")


def test_invalid_command_takes_one_stone_and_is_flagged() -> None:
    env = agentgym.seat(agentgym.make("nim"), learner="player_0", others="optimal")
    env.reset(seed=0, options={"task_id": 10})  # pile 15
    obs, _, _, _, info = env.step("take everything")
    assert obs.startswith("Say `take N` with N from 1 to 3. You took 1 stone instead.")
    assert info["invalid_action"]


def test_seat_errors_name_the_choices() -> None:
    with pytest.raises(agentgym.ConfigError, match=r"seats: \['player_0', 'player_1'\]"):
        agentgym.seat(agentgym.make("nim"), learner="player_9")
    env = agentgym.seat(agentgym.make("nim"), others="grandmaster")
    with pytest.raises(agentgym.ConfigError, match=r"this game's bots: \['optimal'\] or 'random'"):
        env.reset(seed=0)


def test_random_seat_varies_with_the_seed() -> None:
    env = agentgym.seat(agentgym.make("nim"))
    seats = {env.reset(seed=s)[1]["seat"] for s in range(10)}
    assert seats == {"player_0", "player_1"}


def test_a_seat_of_bots_snapshots_natively_and_restores_into_a_fresh_seat() -> None:
    from agentgym.episode import REPLAY

    def make() -> agentgym.TextEnv:
        return agentgym.seat(agentgym.make("werewolf"), learner="player_0", others="random")

    env, fresh = make(), make()
    _, info = env.reset(seed=3, options={"split": "test", "task_id": 0})
    for _ in range(2):
        _, _, _, _, info = env.step((info["admissible_actions"] or ["pass"])[0])
    snap = env.unwrapped.snapshot()
    assert pickle.loads(snap)["native"] is not REPLAY  # the other seats' thinking is not replayed
    action = (info["admissible_actions"] or ["pass"])[-1]
    expected = env.step(action)
    fresh.unwrapped.restore(snap)  # never reset
    assert fresh.step(action) == expected


GAMES = {"nim": "optimal", "bargain": "tough", "dealornodeal": "fair", "werewolf": "rule"}
"""Each game and one of its built-in bots."""


def seen(env: agentgym.TextAECEnv) -> str:
    """All that every agent can see now: observations, rewards, endings and infos."""
    state = {
        "selected": env.agent_selection,  # PettingZoo's dead-agent steps move it at the end too
        "observations": {a: str(env.observe(a)) for a in env.agents},
        "rewards": env.rewards,
        "returns": env._cumulative_rewards,
        "terminations": env.terminations,
        "truncations": env.truncations,
        "infos": env.infos,
    }
    return json.dumps(state, sort_keys=True)


def pick(game: Any, agent: str, admissible: list[str] | None, rng: np.random.Generator) -> str:
    """A random admissible action, or the game's random action where speech is open."""
    if admissible:
        return admissible[int(rng.integers(len(admissible)))]
    return game.random_action(agent, rng)


def move(env: agentgym.TextAECEnv, rng: np.random.Generator) -> str:
    """One random move, or a dead agent's None; what everyone sees after it."""
    agent = env.agent_selection
    done = env.terminations[agent] or env.truncations[agent]
    env.step(None if done else pick(env, agent, env.infos[agent].get("admissible_actions"), rng))
    return seen(env)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("env_id", GAMES)
def test_a_game_snapshots_natively_and_a_fresh_game_restores_every_later_move(env_id: str) -> None:
    from agentgym.episode import REPLAY

    env = agentgym.make(env_id)
    env.reset(seed=5, options={"split": "test"})
    rng = np.random.default_rng(5)
    snaps, trace = [], []
    while env.agents:  # to the end, the dead agents' last turns included
        snaps.append((env.snapshot(), copy.deepcopy(rng)))
        trace.append(move(env, rng))
    assert all(pickle.loads(snap)["native"] is not REPLAY for snap, _ in snaps)
    for i in sorted({*range(0, len(snaps), max(1, len(snaps) // 5)), len(snaps) - 1}):
        fresh = agentgym.make(env_id)  # never reset
        snap, rng = snaps[i]
        fresh.restore(snap)
        replayed = []
        while fresh.agents:
            replayed.append(move(fresh, rng))
        assert replayed == trace[i:], f"{env_id}: the game restored at move {i} went another way"


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize(("env_id", "bot"), GAMES.items())
@pytest.mark.parametrize("players", ["bot", "random"])
def test_a_seat_restored_into_a_fresh_seat_plays_on_exactly(env_id: str, bot: str, players: str) -> None:
    from agentgym.episode import REPLAY

    def make() -> agentgym.TextEnv:
        return agentgym.seat(agentgym.make(env_id), others=bot if players == "bot" else "random")

    env = make()
    for seed in range(3):
        rng = np.random.default_rng(seed)
        _, info = env.reset(seed=seed, options={"split": "test"})
        snaps, actions, trace, done = [], [], [], False
        while not done:
            snaps.append(env.unwrapped.snapshot())
            actions.append(pick(env.unwrapped.game, info["seat"], info["admissible_actions"], rng))
            out = env.step(actions[-1])
            trace.append(json.dumps(out, sort_keys=True))
            info, done = out[4], out[2] or out[3]
        assert all(pickle.loads(snap)["native"] is not REPLAY for snap in snaps)
        for i in sorted({0, len(snaps) // 2, len(snaps) - 1}):
            fresh = make()  # never reset
            fresh.unwrapped.restore(snaps[i])
            replayed = [json.dumps(fresh.step(a), sort_keys=True) for a in actions[i:]]
            assert replayed == trace[i:], f"{env_id}: the seat restored at step {i} went another way"


def test_reset_options_choose_an_episodes_seat_and_players() -> None:
    env = agentgym.seat(agentgym.make("nim"), learner="player_0", others="random")
    _, info = env.reset(seed=0, options={"task_id": 0, "learner": "player_1", "others": "optimal"})
    assert info["seat"] == "player_1" and type(env.players["player_0"]).__name__ != "RandomPlayer"
    _, info = env.reset(seed=0, options={"task_id": 0})  # the wrapper's own choice again
    assert info["seat"] == "player_0" and type(env.players["player_1"]).__name__ == "RandomPlayer"
    with pytest.raises(agentgym.ConfigError, match=r"^learner 'player_9' is not a seat of this game"):
        env.reset(seed=0, options={"learner": "player_9"})


def test_every_seats_return_is_in_the_info() -> None:
    env = agentgym.seat(agentgym.make("nim"), learner="player_0", others="optimal")
    _, info = env.reset(seed=0, options={"task_id": 3})
    assert info["returns"] == {"player_0": 0.0, "player_1": 0.0}
    done = False
    while not done:
        _, _, terminated, truncated, info = env.step("take 1")
        done = terminated or truncated
    assert info["returns"] == {"player_0": -1.0, "player_1": 1.0}


def test_an_expert_bot_plays_the_learners_seat() -> None:
    from agentgym.trainers.sft import expert_trajectories

    seat = {"learner": "random", "others": "fair", "expert": "fair"}
    games = expert_trajectories("dealornodeal", 4, seat=seat)
    assert [g.outcome for g in games] == ["won"] * 4  # two fair bots always make a deal
    assert games[0].steps[0].action.startswith(("I would like", "Deal."))
    with pytest.raises(agentgym.ConfigError, match=r"^expert 'oracle' is not a bot of this game"):
        agentgym.seat(agentgym.make("dealornodeal"), expert="oracle")


def test_a_saved_model_plays_a_seat_the_same_from_its_seed(tmp_path) -> None:
    from agentgym.policies.tiny import tiny_model

    model, tokenizer = tiny_model(["Hello! propose: book=1 hat=0 ball=2", "Deal?"], vocab_size=300, seed=0)
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    (tmp_path / "player.json").write_text(json.dumps({"sampling": {"temperature": 1.0, "max_new_tokens": 8}}))
    others = {"player_0": f"hf:{tmp_path}"}

    def first_message(seed: int) -> str:
        env = agentgym.seat(agentgym.make("dealornodeal"), learner="player_1", others=others)
        return env.reset(seed=seed, options={"task_id": 0})[0]

    # The model loads once per process and serves every episode; each episode samples from its seed.
    assert first_message(0) == first_message(0) == first_message(0)
    assert len({first_message(seed) for seed in range(4)}) > 1
    check_determinism(
        lambda: agentgym.seat(agentgym.make("dealornodeal"), learner="player_1", others=others),
        seed=3,
        max_steps=4,
    )
