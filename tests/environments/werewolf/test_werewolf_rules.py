"""Werewolf rules move by move: nights, days, ties, parity, the doctor's save, the seer."""

from __future__ import annotations

import pytest

from agentgym.environments.werewolf.rules import (
    DISCUSSION,
    NIGHT_SEER,
    NIGHT_WOLVES,
    VOTE,
    Werewolf,
    deals,
    find_command,
    role_mix,
)

FIVE = ["werewolf", "seer", "doctor", "villager", "villager"]
SEVEN = ["werewolf", "werewolf", "seer", "doctor", "villager", "villager", "villager"]


def game(roles: list[str], **kwargs) -> Werewolf:
    return Werewolf({f"player_{i}": r for i, r in enumerate(roles)}, **kwargs)


def play(g: Werewolf, *replies: str) -> list:
    return [g.act(reply) for reply in replies]


@pytest.mark.parametrize(
    ("players", "wolves"), [(5, 1), (6, 1), (7, 2), (8, 2), (9, 2), (10, 3), (11, 3), (12, 3)]
)
def test_role_mix_has_one_seer_one_doctor_and_a_quarter_wolves(players, wolves):
    mix = role_mix(players)
    assert len(mix) == players
    assert (mix.count("werewolf"), mix.count("seer"), mix.count("doctor")) == (wolves, 1, 1)


def test_deals_are_distinct_and_respect_pins():
    seats = [f"player_{i}" for i in range(7)]
    every = deals(seats, {})
    assert len(every) == len(set(every)) == 420  # 7! / (2! 3!)
    pinned = deals(seats, {"player_3": "seer", "player_0": "werewolf"})
    assert pinned and all(d[3] == "seer" and d[0] == "werewolf" for d in pinned)


@pytest.mark.parametrize(
    ("text", "verb", "target"),
    [
        ("vote: player_3", "vote", "player_3"),
        ("I think... VOTE : Player 3", "vote", "player_3"),
        ("vote: player_1 no wait, vote: player_2", "vote", "player_2"),
        ("kill:player-4 tonight", "kill", "player_4"),
        ("vote: bob", "vote", "bob"),
        ("I will vote player_3", "vote", None),
        ("check: player_2", "vote", None),
        ("", "protect", None),
    ],
)
def test_find_command(text, verb, target):
    assert find_command(text, verb) == target


def test_night_kill_then_day_discussion_in_rotating_order():
    g = game(FIVE)
    play(g, "kill: player_4", "check: player_3", "protect: player_2")
    assert g.alive == ["player_0", "player_1", "player_2", "player_3"]
    assert g.public[-1] == {"kind": "night", "day": 1, "killed": "player_4", "role": "villager"}
    assert (g.phase, g.queue) == (DISCUSSION, ["player_0", "player_1", "player_2", "player_3"])
    play(g, *["hello"] * 8)
    assert g.phase == VOTE
    play(g, "vote: player_3", "vote: player_0", "vote: player_0", "vote: player_0")
    assert g.over and g.winner == "village"  # player_0, the only werewolf, was voted out


def test_day_two_discussion_starts_one_seat_later():
    g = game(SEVEN)
    play(g, "kill: player_6", "kill: player_6", "check: player_0", "protect: player_2")
    play(g, *["..."] * 12, *["abstain"] * 6)
    play(g, "kill: player_5", "kill: player_5", "check: player_1", "protect: player_3")
    assert g.day == 2 and g.phase == DISCUSSION
    assert g.queue == ["player_1", "player_2", "player_3", "player_4", "player_0"]


def test_doctor_saves_the_victim():
    g = game(FIVE)
    outcomes = play(g, "kill: player_3", "check: player_4", "protect: player_3")
    assert not any(o.invalid for o in outcomes)
    assert g.public[-1] == {"kind": "night", "day": 1, "killed": None}
    assert len(g.alive) == 5


def test_doctor_cannot_protect_the_same_player_two_nights_running():
    g = game(FIVE, discussion_rounds=0)
    play(g, "kill: player_3", "check: player_4", "protect: player_3", *["abstain"] * 5)
    out = play(g, "kill: player_3", "check: player_0", "protect: player_3")[-1]
    assert out.invalid and "you protected player_3 last night" in out.message.lower()
    assert "player_3" not in g.alive  # nobody was protected: the attack went through


def test_seer_learns_sides_privately():
    g = game(FIVE)
    seer = play(g, "kill: player_4", "check: player_0")[-1]
    assert seer.message == "player_0 is a werewolf."
    assert g.private["player_1"] == [{"kind": "check", "night": 1, "target": "player_0", "werewolf": True}]
    assert all(not g.private[p] for p in ("player_0", "player_3", "player_4"))
    g2 = game(FIVE)
    assert play(g2, "kill: player_4", "check: player_3")[-1].message == "player_3 is not a werewolf."


def test_wolves_who_disagree_get_a_second_round_then_the_lowest_seat_decides_ties():
    g = game(SEVEN)
    play(g, "kill: player_4", "kill: player_5")
    assert (g.phase, g.round, g.queue) == (NIGHT_WOLVES, 2, ["player_0", "player_1"])
    play(g, "kill: player_6", "kill: player_5")
    assert g.phase == NIGHT_SEER and g.victim() == "player_6"


def test_wolves_who_agree_in_round_one_skip_round_two():
    g = game(SEVEN)
    play(g, "still thinking... kill: player_4", "agreed, kill: player_4")
    assert g.phase == NIGHT_SEER and g.victim() == "player_4"


def test_a_tied_vote_eliminates_nobody():
    g = game(FIVE, discussion_rounds=0)
    play(g, "kill: player_4", "check: player_0", "protect: player_1")
    play(g, "vote: player_1", "vote: player_0", "vote: player_0", "vote: player_1")
    vote = g.public[-1]
    assert vote["eliminated"] is None and vote["tied"] == ["player_0", "player_1"]
    assert len(g.alive) == 4 and g.phase == NIGHT_WOLVES


def test_all_abstain_eliminates_nobody():
    g = game(FIVE, discussion_rounds=0)
    play(g, "kill: player_4", "check: player_0", "protect: player_1", *["abstain"] * 4)
    assert g.public[-1]["eliminated"] is None and g.public[-1]["tied"] == []


def test_werewolves_win_at_parity_after_the_night():
    g = game(FIVE, discussion_rounds=0)
    play(g, "kill: player_4", "check: player_3", "protect: player_1")
    play(g, "vote: player_3", "vote: player_3", "vote: player_3", "abstain")  # a villager goes
    assert g.alive == ["player_0", "player_1", "player_2"]
    rewards = play(g, "kill: player_1", "check: player_0", "protect: player_2")[-1].rewards
    assert g.over and g.winner == "werewolves" and g.alive == ["player_0", "player_2"]
    assert rewards == {
        "player_0": 1.0,
        "player_1": -1.0,
        "player_2": -1.0,
        "player_3": -1.0,
        "player_4": -1.0,
    }


def test_hidden_roles_are_not_revealed():
    g = game(FIVE, reveal_roles=False, discussion_rounds=0)
    play(g, "kill: player_4", "check: player_0", "protect: player_1")
    assert g.public[-1]["role"] is None


def test_game_ends_without_winner_after_max_days():
    g = game(FIVE, discussion_rounds=0, max_days=2)
    for _ in range(2):
        play(g, "kill: player_3", "check: player_0", "protect: player_3", *["abstain"] * 5)
        g.last_protected = None  # let the doctor save the same player again in this test
    assert g.over and g.truncated and g.winner is None


def test_shaping_pays_votes_against_the_other_side_and_found_wolves():
    g = game(FIVE, discussion_rounds=0, shaping=0.1)
    assert play(g, "kill: player_4", "check: player_0")[-1].rewards == {"player_1": 0.1}
    play(g, "protect: player_1")
    rewards = play(g, "vote: player_3", "vote: player_0", "vote: player_0", "vote: player_0")[-1].rewards
    assert rewards["player_0"] == pytest.approx(0.1 - 1.0)  # a correct vote, then the loss
    assert rewards["player_1"] == pytest.approx(1.1)


@pytest.mark.parametrize(
    ("reply", "fragment"),
    [
        ("", "Your reply was empty"),
        ("I have no idea", "had no `vote: player_N` command"),
        ("vote: player_99", "'player_99' is not a player in this game"),
        ("vote: player_4", "player_4 is dead"),
        ("vote: player_1", "cannot name yourself"),
    ],
)
def test_bad_votes_abstain_with_a_clear_message(reply, fragment):
    g = game(FIVE, discussion_rounds=0)
    play(g, "kill: player_4", "check: player_0", "protect: player_2", "vote: player_0")
    out = g.act(reply)
    assert out.invalid and fragment in out.message and "abstain" in out.message
    assert g.votes["player_1"] is None


def test_wolf_naming_a_wolf_or_nobody_names_no_victim():
    g = game(SEVEN)
    first, second = play(g, "kill: player_1", "let us wait")
    assert first.invalid and "player_1 is a werewolf" in first.message
    assert second.invalid and "no `kill: player_N` command" in second.message
    play(g, "kill: player_1", "")
    assert g.victim() is None


def test_speeches_are_cut_and_empty_ones_flagged():
    g = game(FIVE, max_speech=50)
    play(g, "kill: player_4", "check: player_0", "protect: player_2")
    long = g.act("x" * 100_000)
    assert long.invalid and "100000 characters" in long.message and "first 50" in long.message
    assert len(g.public[-1]["text"]) == 50
    empty = g.act("   ")
    assert empty.invalid and "stayed silent" in empty.message
