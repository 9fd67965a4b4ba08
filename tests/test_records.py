"""Trajectory records: JSONL round trips, torn lines, groups, datasets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentgym.records import (
    EpisodeGroup,
    Step,
    Trajectory,
    TrajectoryWriter,
    load_trajectories,
    to_dataset,
)


def make_traj(task_id: int, group: str | None = None, outcome: str = "won") -> Trajectory:
    step = Step(
        observation="obs",
        state_key="k",
        admissible_actions=["a"],
        response="<action>a</action>",
        action="a",
        reward=1.0,
        terminated=True,
        info={"won": True, "nested": {"x": [1, 2]}},
        prompt_token_ids=[1, 2],
        action_token_ids=[3],
        action_logprobs=[-0.1],
    )
    return Trajectory(
        env_id="agentgym/GuessNumber-v0",
        data_version="1",
        task_id=task_id,
        split="train",
        seed=task_id,
        group_id=group,
        policy="p",
        steps=[step],
        **{"return": 1.0},
        outcome=outcome,
    )


def test_jsonl_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "runs" / "x.jsonl"
    trajs = [make_traj(i) for i in range(3)]
    with TrajectoryWriter(path) as writer:
        for t in trajs:
            writer.write(t)
    assert load_trajectories(path) == trajs
    line = json.loads(path.read_text().splitlines()[0])
    assert line["return"] == 1.0 and line["agentgym_version"] == "0.1.0"


def test_appending_keeps_earlier_episodes(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    for i in range(2):
        with TrajectoryWriter(path) as writer:
            writer.write(make_traj(i))
    assert [t.task_id for t in load_trajectories(path)] == [0, 1]


def test_torn_last_line_is_skipped_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    with TrajectoryWriter(path) as writer:
        writer.write(make_traj(0))
    with open(path, "a") as f:
        f.write(make_traj(1).to_json()[:40])
    with pytest.warns(UserWarning, match="torn last line"):
        assert [t.task_id for t in load_trajectories(path)] == [0]


def test_corruption_in_the_middle_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(make_traj(0).to_json() + "\n{not json}\n" + make_traj(1).to_json() + "\n")
    with pytest.raises(ValueError):
        load_trajectories(path)


def test_records_refuse_unknown_fields() -> None:
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        Step(observation="o", state_key="k", response="r", action="a", reward=0, surprise=1)


def test_episode_groups_gather_by_group_id() -> None:
    groups = EpisodeGroup.from_trajectories([make_traj(1, "g1"), make_traj(2, "g2"), make_traj(1, "g1")])
    assert [(g.group_id, len(g.trajectories)) for g in groups] == [("g1", 2), ("g2", 1)]


def test_to_dataset_keeps_every_step() -> None:
    ds = to_dataset([make_traj(0), make_traj(1, outcome="failed")])
    assert len(ds) == 2 and ds[1]["outcome"] == "failed"
    assert json.loads(ds[0]["steps"][0]["info"]) == {"nested": {"x": [1, 2]}, "won": True}
    assert ds[0]["steps"][0]["action_logprobs"] == pytest.approx([-0.1])
