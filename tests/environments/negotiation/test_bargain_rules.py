"""Bargain rules: utility relative to one's target, commands, deals and no deals."""

from __future__ import annotations

import pytest

from agentgym.environments.negotiation.bargain import Bargain, Scenario, parse, scenarios

BIKE = Scenario("bike", "Bike", "Red.", price=400, buyer_target=200)  # midpoint 300


@pytest.mark.parametrize(
    ("price", "seller", "buyer"),
    [
        (400, 1.0, -1.0),
        (300, 0.0, 0.0),
        (350, 0.5, -0.5),
        (200, -1.0, 1.0),
        (500, 1.0, -1.0),
        (50, -1.0, 1.0),
    ],
)
def test_utility_is_relative_to_ones_own_target_and_clipped(price, seller, buyer):
    assert BIKE.utility("seller", price) == seller
    assert BIKE.utility("buyer", price) == buyer


@pytest.mark.parametrize(
    ("text", "words", "offer", "note"),
    [
        ("Would you take $250?\noffer: $250", set(), 250.0, ""),
        ("offer: 1,250.50", set(), 1250.5, ""),
        ("offer: $100 ... no, offer: $120", set(), 120.0, ""),
        ("I can't accept that.", set(), None, ""),
        ("Deal!\n  Accept. ", {"accept"}, None, ""),
        ("no\nreject\noffer: $280", {"reject"}, 280.0, ""),
        ("bye\nquit", {"quit"}, None, ""),
        (
            "offer: $0",
            set(),
            None,
            "Your offer named $0; offers are `offer: $N` with 0 < N <= 4000.",
        ),
        (
            "offer: lots",
            set(),
            None,
            "Your offer named no price; offers are `offer: $N` with 0 < N <= 4000.",
        ),
        (
            "offer: $99999",
            set(),
            None,
            "Your offer named $99999; offers are `offer: $N` with 0 < N <= 4000.",
        ),
    ],
)
def test_parse(text, words, offer, note):
    reply = parse(text, limit=4000)
    assert (reply.words, reply.offer, reply.note) == (words, offer, note)


def test_accepting_the_standing_offer_makes_the_deal():
    g = Bargain(BIKE)
    g.act("Hi, 250?\noffer: $250")
    g.act("I need 350.\noffer: $350")
    out = g.act("Fine.\naccept")
    assert (g.result, g.price) == ("deal", 350.0)
    assert out.rewards == {"buyer": -0.5, "seller": 0.5}


def test_accept_without_an_offer_is_invalid_and_the_talk_goes_on():
    g = Bargain(BIKE)
    out = g.act("accept")
    assert out.invalid and "no offer from the seller to accept" in out.message
    assert not g.over and g.current == "seller"


def test_reject_clears_the_offer_it_rejects():
    g = Bargain(BIKE)
    g.act("offer: $150")
    g.act("No way.\nreject\noffer: $390")
    assert g.standing == {"buyer": None, "seller": 390.0}
    out = g.act("accept")  # accepts the seller's 390
    assert g.price == 390.0 and out.rewards["seller"] == pytest.approx(0.9)


def test_quit_and_the_turn_limit_end_without_a_deal():
    g = Bargain(BIKE)
    g.act("offer: $250")
    assert g.act("Forget it.\nquit").rewards == {"buyer": 0.0, "seller": 0.0}
    assert g.result == "quit" and g.price is None
    g = Bargain(BIKE, max_turns=3)
    outs = [g.act("offer: $300"), g.act("offer: $320"), g.act("hmm")]
    assert g.result == "timeout" and outs[-1].rewards == {"buyer": 0.0, "seller": 0.0}


def test_bad_messages_are_flagged_but_sent():
    g = Bargain(BIKE, max_message=10)
    empty = g.act("  ")
    long = g.act("z" * 100_000)
    offer = g.act("offer: $-5")
    assert empty.invalid and "empty" in empty.message
    assert long.invalid and "100000 characters" in long.message and g.messages[1] == ("seller", "z" * 10)
    assert offer.invalid and "offers are `offer: $N`" in offer.message
    assert g.standing == {"buyer": None, "seller": None}


def test_scenarios_split_by_item():
    titles = {split: {s.title for s in scenarios(split)} for split in ("train", "valid", "test")}
    assert [len(scenarios(s)) for s in ("train", "valid", "test")] == [360, 45, 45]
    assert not (titles["train"] & titles["valid"] or titles["train"] & titles["test"])
    assert not titles["valid"] & titles["test"]
    for s in scenarios("train"):
        assert 0 < s.buyer_target < s.price
