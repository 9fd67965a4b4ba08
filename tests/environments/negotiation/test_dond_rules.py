"""Deal-or-No-Deal rules: the paper's context rules, the dataset loader, selections and rewards."""

from __future__ import annotations

import pytest

from agentgym.environments.negotiation.dond import (
    OVER,
    SELECTION,
    Context,
    DealOrNoDeal,
    all_contexts,
    is_valid,
    load_contexts,
    parse_share,
    split_of,
)
from agentgym.exceptions import ConfigError

CTX = Context((1, 2, 3), ((4, 0, 2), (0, 2, 2)))


def test_every_generated_context_follows_the_papers_rules():
    contexts = all_contexts()
    assert len(contexts) == len(set(contexts)) == 5295
    for ctx in contexts:
        assert all(1 <= c <= 4 for c in ctx.counts) and 5 <= sum(ctx.counts) <= 7
        for player in (0, 1):
            assert ctx.worth(player, ctx.counts) == 10 and min(ctx.values[player]) >= 0
        a, b = ctx.values
        assert all(x + y > 0 for x, y in zip(a, b, strict=True))
        assert any(x > 0 and y > 0 for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize(
    ("counts", "a", "b", "valid"),
    [
        ((1, 0, 3), (4, 0, 2), (1, 0, 3), False),  # a type with no item
        ((1, 1, 2), (2, 0, 4), (0, 2, 4), False),  # only 4 items
        ((4, 2, 2), (1, 1, 2), (1, 1, 2), False),  # 8 items, worth 10 each though
        ((1, 2, 3), (4, 0, 2), (0, 2, 2), True),
        ((1, 2, 3), (2, 1, 2), (2, 1, 2), True),  # identical values are allowed
        ((1, 2, 3), (4, 0, 2), (10, 0, 0), False),  # hats are worth nothing to anyone
        ((1, 4, 1), (10, 0, 0), (0, 1, 6), False),  # no type is worth something to both
        ((1, 2, 3), (4, 0, 1), (0, 2, 2), False),  # worth 7, not 10
    ],
)
def test_context_rules(counts, a, b, valid):
    assert is_valid(counts, a, b) is valid


def test_splits_are_disjoint_and_keep_mirrors_together():
    by_split = {}
    for ctx in all_contexts():
        by_split.setdefault(split_of(ctx), set()).add(ctx)
        mirror = Context(ctx.counts, (ctx.values[1], ctx.values[0]))
        assert split_of(mirror) == split_of(ctx)
    assert sorted(by_split) == ["test", "train", "valid"]
    assert sum(len(s) for s in by_split.values()) == 5295


@pytest.mark.parametrize(
    ("text", "share", "why"),
    [
        ("book=1 hat=2 ball=3", (1, 2, 3), ""),
        ("BOOKS = 1, balls: 2", (1, 0, 2), ""),
        ("ball=0", (0, 0, 0), ""),
        ("book=2", None, "You asked for 2 books but there are only 1."),
        ("hat=-1", None, "You asked for -1 hats but there are only 2."),
        ("all of them", None, "Name items as `book=N hat=N ball=N`."),
    ],
)
def test_parse_share(text, share, why):
    assert parse_share(text, CTX.counts) == (share, why)


def play(game: DealOrNoDeal, *replies: str) -> list:
    return [game.act(r) for r in replies]


def test_complementary_selections_pay_each_its_value():
    g = DealOrNoDeal(CTX)
    out = play(g, "propose: book=1 ball=2", "<selection> hat=2 ball=1", "<selection> book=1 ball=2")
    assert g.over and g.agreed
    assert out[-1].rewards == {0: 8.0, 1: 6.0}  # 4 + 2*2 and 2*2 + 2
    assert g.proposals == [(0, (1, 0, 2))]


@pytest.mark.parametrize(
    "second",
    ["<selection> book=1 hat=2 ball=1", "<selection> no agreement", "<selection> book=9"],
)
def test_selections_that_do_not_add_up_pay_nothing(second):
    g = DealOrNoDeal(CTX)
    out = play(g, "<selection> hat=2 ball=1", second)
    assert g.over and not g.agreed and out[-1].rewards == {0: 0.0, 1: 0.0}


def test_a_selection_exceeding_the_counts_is_invalid_and_counts_as_no_agreement():
    g = DealOrNoDeal(CTX)
    out = g.act("<selection> book=3 hat=0 ball=0")
    assert out.invalid and "only 1" in out.message and "no agreement" in out.message
    assert g.selections[0] is None and (g.phase, g.current) == (SELECTION, 1)


def test_the_turn_limit_starts_the_selection_with_the_first_player():
    g = DealOrNoDeal(CTX, max_turns=3)
    play(g, "hi", "hello", "well?")
    assert (g.phase, g.current) == (SELECTION, 0)
    out = g.act("I take the book")
    assert out.invalid and "`<selection>`" in out.message
    g.act("<selection> book=0 hat=2 ball=3")
    assert g.phase == OVER and not g.agreed


def test_bad_messages_are_sent_but_flagged():
    g = DealOrNoDeal(CTX, max_message=20)
    empty, long, bad_proposal = play(g, "", "y" * 100_000, "ok. propose: book=7")
    assert empty.invalid and "empty" in empty.message
    assert long.invalid and "100000 characters" in long.message and g.messages[1] == (1, "y" * 20)
    assert bad_proposal.invalid and "proposal was ignored" in bad_proposal.message
    assert g.proposals == [] and g.turn == 3


def test_loader_reads_both_layouts_of_the_original_files(tmp_path):
    selfplay = tmp_path / "selfplay.txt"
    selfplay.write_text("1 0 4 0 1 10\n1 1 4 1 1 5\n3 1 2 1 1 5\n3 1 2 1 1 5\n")
    assert load_contexts(selfplay) == [
        Context((1, 4, 1), ((0, 0, 10), (1, 1, 5))),
        Context((3, 2, 1), ((1, 1, 5), (1, 1, 5))),
    ]
    data = tmp_path / "data.txt"
    data.write_text(
        "1 4 4 1 1 2 THEM: i would like 4 hats <eos> YOU: deal <eos> THEM: <selection> "
        "item0=1 item1=0 item2=1 <eos> reward=6 agree 1 0 4 2 1 2\n"
        "1 0 4 2 1 2 YOU: i would like 4 hats <eos> THEM: deal <eos> YOU: <selection> "
        "item0=0 item1=4 item2=0 <eos> reward=8 agree 1 4 4 1 1 2\n"
    )
    assert load_contexts(data) == [
        Context((1, 4, 1), ((4, 1, 2), (0, 2, 2))),
        Context((1, 4, 1), ((0, 2, 2), (4, 1, 2))),
    ]
    broken = tmp_path / "broken.txt"
    broken.write_text("1 0 4 0 1 10\n1 1 4 1 1 6\n")
    with pytest.raises(ConfigError, match="context 1 breaks the generation rules"):
        load_contexts(broken)
