"""Held-out evaluation: what it reports of the play, with and without search at test time."""

from __future__ import annotations

from agentgym.policies import RandomPolicy
from agentgym.records import TrajectoryWriter, load_trajectories
from agentgym.trainers.config import build_config
from agentgym.trainers.evaluate import evaluate_policy
from agentgym.trainers.mcts import SearchConfig


def test_an_evaluation_reports_its_env_steps_with_every_branch_of_the_search(tmp_path) -> None:
    # Three guesses among 1..16: the search steps its expansions and lookahead on snapshots
    # beside each committed guess, so it steps the env more often than its episodes are long.
    config = build_config(
        "mcts-dpo", {"env": "guess", "model": {"name_or_path": "m"}, "env_kwargs": {"max_steps": 3}}, []
    )
    for search in (None, SearchConfig(simulations=8, k=3, lookahead=1)):
        out = tmp_path / f"{search is not None}.jsonl"
        with TrajectoryWriter(out) as writer:
            summary = evaluate_policy(config, RandomPolicy(seed=0), "valid", 3, writer=writer, search=search)
        lengths = sum(len(t.steps) for t in load_trajectories(out))
        assert summary.episodes == 3 and summary.failed == 0
        if search is None:
            assert summary.env_steps == lengths
        else:
            assert summary.env_steps > 2 * lengths, (summary.env_steps, lengths)
