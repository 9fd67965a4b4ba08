"""League self-play: per-role credit, Elo ratings, the opponent sampler, bad input, a run on DealOrNoDeal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from agentgym.exceptions import ConfigError
from agentgym.records import Step, Trajectory
from agentgym.rollout import group_episodes
from agentgym.trainers import algorithms
from agentgym.trainers.algorithms import AlgorithmSpec
from agentgym.trainers.batching import StepRows
from agentgym.trainers.cli import app
from agentgym.trainers.config import LeagueSettings, build_config
from agentgym.trainers.gigpo import advantage_terms
from agentgym.trainers.league import LEARNER, League, elo_update, game_score
from agentgym.trainers.report import write_report
from agentgym.trainers.runlog import read_jsonl
from agentgym.trainers.trainer import Trainer

# -- Per-role credit -----------------------------------------------------------------------


def _game(role: str, rewards: list[float], states: list[str], group: str = "g") -> Trajectory:
    steps = [
        Step(
            observation="o",
            state_key=key,
            response="r",
            action="a",
            reward=r,
            info={"seat": "p0", "role": role},
        )
        for r, key in zip(rewards, states, strict=True)
    ]
    return Trajectory(
        env_id="agentgym/Werewolf-v0", data_version="1", task_id=0, split="train", seed=0,
        group_id=group, policy="p", steps=steps,
    )  # fmt: skip


def test_advantages_are_grouped_by_role_in_hand_built_games() -> None:
    # One task group, two werewolf and two villager games; the roles' returns differ in scale.
    games = [
        _game("werewolf", [0.0, 1.0], ["s", "w1"]),  # R = 1
        _game("werewolf", [0.0, 0.0], ["s", "w2"]),  # R = 0
        _game("villager", [0.0, 5.0], ["s", "v1"]),  # R = 5
        _game("villager", [0.0, 3.0], ["s", "v2"]),  # R = 3
    ]
    rows = StepRows.from_trajectories(games)
    assert rows.group_ids == ["g|werewolf"] * 4 + ["g|villager"] * 4
    a_episode, a_step = advantage_terms(
        rows.group_ids, rows.traj_ids, rows.rewards, rows.state_keys, gamma=1.0, norm="none"
    )
    # A^E: each game against its own role's mean (0.5 and 4), not the group's (2.25).
    assert a_episode.tolist() == [0.5, 0.5, -0.5, -0.5, 1.0, 1.0, -1.0, -1.0]
    # A^S: state "s" is shared by all four games, but its step groups are (role, state):
    # werewolves' returns from s are 1 and 0, villagers' 5 and 3.
    assert a_step.tolist() == [0.5, 0.0, -0.5, 0.0, 1.0, 0.0, -1.0, 0.0]


def test_a_seat_without_a_role_is_its_own_role() -> None:
    game = _game("x", [1.0], ["s"])
    game.steps[0].info = {"seat": "player_1"}
    assert StepRows.from_trajectories([game]).group_ids == ["g|player_1"]
    game.steps[0].info = {}  # single-agent envs keep their groups
    assert StepRows.from_trajectories([game]).group_ids == ["g"]


# -- Ratings -----------------------------------------------------------------------------


class _Saver:
    """Stands in for the Learner where only ``save`` is used (a snapshot's files)."""

    def save(self, path: str) -> None:
        Path(path).mkdir(parents=True)
        (Path(path) / "weights").write_text("w")


def _league(tmp_path: Path, **settings: Any) -> League:
    return League(LeagueSettings(**settings), tmp_path, ["player_0", "player_1"], ["fair", "random"], 0, {})


def _outcome(seat: str, mine: float, theirs: float) -> Trajectory:
    other = "player_1" if seat == "player_0" else "player_0"
    step = Step(
        observation="o", state_key="s", response="r", action="a", reward=mine,
        info={"seat": seat, "returns": {seat: mine, other: theirs}},
    )  # fmt: skip
    return Trajectory(
        env_id="e", data_version="1", task_id=0, split="train", seed=0, policy="p", steps=[step]
    )


def test_elo_updates_follow_a_hand_computed_sequence(tmp_path) -> None:
    league = _league(tmp_path, elo_k=32.0)
    league.snapshot(0, _Saver())
    assert (tmp_path / "league" / "snapshot-000000" / "player.json").is_file()
    # Three games, in order: beat the snapshot, lose to the fair bot, draw with the snapshot.
    league._assigned = [
        ("player_0", "snapshot-000000"),
        ("player_1", "fair"),
        ("player_0", "snapshot-000000"),
    ]
    league.record([_outcome("player_0", 6, 4), _outcome("player_1", 2, 8), _outcome("player_0", 0, 0)])
    # Game 1: E = 0.5; learner 1000 + 32(1 - 0.5) = 1016, snapshot 1000 - 16 = 984.
    # Game 2: E = 1/(1 + 10^(-16/400)) = 0.522996; learner 1016 - 32 * 0.522996 = 999.2641;
    #         the fair bot is an anchor and stays at 1000.
    # Game 3: E = 1/(1 + 10^((984 - 999.2641)/400)) = 0.521956; learner 999.2641 + 32(0.5 - 0.521956)
    #         = 998.5615, snapshot 984 + 32(0.5 - 0.478044) = 984.7026.
    assert league.ratings[LEARNER] == pytest.approx(998.5615, abs=1e-3)
    assert league.ratings["snapshot-000000"] == pytest.approx(984.7026, abs=1e-3)
    assert league.ratings["fair"] == league.ratings["random"] == 1000.0
    assert league.games == {"fair": 1, "random": 0, "snapshot-000000": 2}
    assert league.scores == {"fair": 0.0, "random": 0.0, "snapshot-000000": 1.5}
    figures = league.end_iteration(1, _Saver())
    assert figures["league_games"] == 3 and figures["league_score"] == 0.5
    assert figures["league_margin"] == pytest.approx((2 - 6 + 0) / 3)
    assert figures["rating/learner"] == pytest.approx(998.562, abs=1e-3)


def test_elo_and_scores_as_functions() -> None:
    assert elo_update(1000.0, 1000.0, 0.5, 32.0) == (1000.0, 1000.0)
    assert game_score({"a": 1.0, "b": -1.0, "c": -1.0}, "a") == (1.0, 2.0)  # a Werewolf win


# -- The opponent sampler ----------------------------------------------------------------------


def _draws(league: League, iteration: int, groups: int = 3000) -> dict[str, int]:
    specs = group_episodes(list(range(groups)), group_size=2, seed=0)
    assigned = league.assign(specs, iteration)
    assert all(a.group_id == b.group_id for a, b in zip(assigned[::2], assigned[1::2], strict=True))
    members = [spec.group_id.rsplit(" vs ", 1)[1] for spec in assigned[::2]]
    return {name: members.count(name) for name in league.members}


def test_the_sampler_draws_each_scheme_at_its_frequencies_for_a_fixed_seed(tmp_path) -> None:
    league = _league(tmp_path, sampling="uniform")
    league.snapshot(0, _Saver())
    league.snapshot(1, _Saver())
    assert _draws(league, 0) == {"fair": 729, "random": 745, "snapshot-000000": 776, "snapshot-000001": 750}
    assert _draws(league, 0) == _draws(league, 0)  # a function of (seed, iteration)
    assert _draws(league, 1) != _draws(league, 0)

    league.settings = LeagueSettings(sampling="latest", latest_share=0.4)  # newest: 0.4 + 0.6 / 4
    assert _draws(league, 0) == {"fair": 437, "random": 445, "snapshot-000000": 460, "snapshot-000001": 1658}

    # PFSP: the learner beat the fair bot 3 times of 3 and lost to random once; x = (S + 0.5) / (n + 1).
    league.settings = LeagueSettings(sampling="pfsp", pfsp_power=2.0)
    league.games.update(fair=3, random=1)
    league.scores.update(fair=3.0, random=0.0)
    weights = np.array([(1 - 3.5 / 4) ** 2, (1 - 0.5 / 2) ** 2, 0.25, 0.25])
    assert league.weights() == pytest.approx(weights / weights.sum())
    counts = _draws(league, 0)
    assert counts == {"fair": 38, "random": 1558, "snapshot-000000": 699, "snapshot-000001": 705}
    assert np.array(list(counts.values())) / 3000 == pytest.approx(weights / weights.sum(), abs=0.02)


def test_seats_are_drawn_per_group_and_sent_with_the_episode(tmp_path) -> None:
    league = _league(tmp_path, sampling="uniform")
    specs = league.assign(group_episodes([0, 1, 2, 3], group_size=2, seed=5), 0)
    assert {spec.options["learner"] for spec in specs} == {"player_0", "player_1"}
    assert all(spec.options["others"] in ("fair", "random") for spec in specs)
    assert [spec.group_id for spec in specs][:2] == [specs[0].group_id] * 2


# -- Bad input ---------------------------------------------------------------------------


def _cli(*args: str) -> tuple[int, list[str]]:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output.splitlines()


def test_a_seat_the_game_does_not_have_is_one_line(dond_model_dir, tmp_path) -> None:
    code, lines = _cli(
        "grpo", "--env", "dealornodeal", "--model", str(dond_model_dir), "--league",
        "--set", "league.seats=[player_0, player_7]", "--set", "seat.others=fair",
        "--out", str(tmp_path / "r"),
    )  # fmt: skip
    assert (code, lines) == (
        2,
        [
            "error: league.seats: 'player_7' is not a seat of 'dealornodeal'; "
            "its seats: ['player_0', 'player_1']"
        ],
    )


def test_a_member_the_game_does_not_have_is_one_line(dond_model_dir) -> None:
    config = build_config(
        "grpo",
        {"env": "dealornodeal", "model": {"name_or_path": str(dond_model_dir)}},
        ["league.members=[fair, greedy]", "seat.others=fair"],
    )
    with pytest.raises(ConfigError, match=r"^league.members: 'greedy' is not a player of 'dealornodeal'"):
        Trainer(config, "/nonexistent/never-written")


def test_a_snapshot_interval_of_zero_is_one_line(dond_model_dir) -> None:
    code, lines = _cli(
        "grpo", "--env", "dealornodeal", "--model", str(dond_model_dir), "--league",
        "--set", "league.snapshot_every=0",
    )  # fmt: skip
    assert (code, lines) == (
        2,
        ["error: config key 'league.snapshot_every': Input should be greater than or equal to 1 (got 0)"],
    )


def test_a_misspelt_league_key_suggests_the_right_one() -> None:
    with pytest.raises(ConfigError, match=r"^unknown config key 'league.snapshot_evry'; did you mean "):
        build_config(
            "grpo", {"env": "dealornodeal", "model": {"name_or_path": "m"}}, ["league.snapshot_evry=2"]
        )


def test_an_algorithm_that_cannot_train_in_a_league_is_one_line(monkeypatch, dond_model_dir) -> None:
    # A tree-search algorithm branches from snapshots that replay the other seats: it declares no league.
    spec = AlgorithmSpec("search", "agentgym.trainers.gigpo:GiGPO", "A search algorithm.")
    monkeypatch.setitem(algorithms.ALGORITHMS, "search", spec)
    with pytest.raises(ConfigError) as err:
        build_config("search", {"env": "dealornodeal", "model": {"name_or_path": "m"}, "league": {}})
    assert str(err.value) == (
        "invalid config: search cannot train in a league (multi-agent self-play); "
        "train one of gigpo, grpo, rloo, rft, archer, traj-dpo, or drop the league section"
    )


def test_a_single_agent_env_has_no_league(tiny_model_dir) -> None:
    code, lines = _cli("grpo", "--env", "guess", "--model", str(tiny_model_dir), "--league")
    assert (code, lines) == (2, ["error: a league needs a multi-agent game; 'guess' has a single agent"])


# -- A league run ------------------------------------------------------------------------


def test_a_league_run_on_dealornodeal_rates_snapshots_and_reports_them(write_league_config, tmp_path) -> None:
    config = write_league_config(tmp_path / "run.yaml", iterations=3, league={"snapshot_every": 2})
    code, lines = _cli("grpo", "--config", str(config), "--out", str(tmp_path / "run"))
    assert code == 0, lines
    run = tmp_path / "run"
    assert sorted(p.name for p in (run / "league").iterdir()) == ["snapshot-000000", "snapshot-000002"]
    train = [r for r in read_jsonl(run / "metrics.jsonl") if r["kind"] == "train"]
    assert [r["league_members"] for r in train] == [5, 6, 6]  # tough, fair, soft, random + snapshots
    assert all(r["league_games"] == 4 and r["rating/fair"] == 1000.0 for r in train)
    assert "rating/snapshot-000002" in train[-1] and "rating/learner" in train[0]
    assert "League ratings (Elo)" in write_report(run).read_text()


def test_archer_and_gigpo_train_in_a_league(write_league_config, tmp_path) -> None:
    archer = {
        "rollout_trajectories": 2,
        "capacity": 20,
        "critic_steps": 1,
        "critic_batch_size": 4,
        "actor_steps": 1,
        "actor_batch_size": 4,
        "warmup_iterations": 0,
        "critic_encoder": "tiny",
        "critic_max_length": 64,
    }
    for algorithm, algo in (("archer", archer), ("gigpo", {"group_size": 2, "groups_per_iteration": 1})):
        config = write_league_config(tmp_path / f"{algorithm}.yaml", iterations=2, algo=algo)
        code, lines = _cli(algorithm, "--config", str(config), "--out", str(tmp_path / algorithm))
        assert code == 0, lines
        train = [r for r in read_jsonl(tmp_path / algorithm / "metrics.jsonl") if r["kind"] == "train"]
        assert [r["league_games"] for r in train] == [2, 2] and "rating/snapshot-000002" in train[-1]


def test_rft_and_trajectory_dpo_train_in_a_league(write_league_config, tmp_path) -> None:
    # The episode-level baselines of MCTS-DPO: each task group plays one seat against one opponent.
    for algorithm in ("rft", "traj-dpo"):
        config = write_league_config(tmp_path / f"{algorithm}.yaml", iterations=2)
        code, lines = _cli(algorithm, "--config", str(config), "--out", str(tmp_path / algorithm))
        assert code == 0, lines
        train = [r for r in read_jsonl(tmp_path / algorithm / "metrics.jsonl") if r["kind"] == "train"]
        assert [r["league_games"] for r in train] == [4, 4] and "rating/snapshot-000002" in train[-1]


def test_a_league_with_async_rollouts_is_one_line(dond_model_dir, tmp_path) -> None:
    config = build_config(
        "grpo",
        {"env": "dealornodeal", "model": {"name_or_path": str(dond_model_dir)}},
        ["league.snapshot_every=2", "seat.others=fair", "async_staleness=1"],
    )
    with pytest.raises(ConfigError, match=r"^a league draws opponents as it trains, so it cannot roll out"):
        Trainer(config, tmp_path / "run")
    assert not (tmp_path / "run").exists()
