"""MCTS-DPO and Agent Q on the training loop: pairs, DPO update, run directory, report, bad input."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import datasets
import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from agentgym.cli.main import app
from agentgym.exceptions import ConfigError
from agentgym.trainers.batching import Sample, collate
from agentgym.trainers.checkpoint import latest_checkpoint, load_state
from agentgym.trainers.config import build_config
from agentgym.trainers.evaluate import evaluate_run
from agentgym.trainers.learner import sample_units
from agentgym.trainers.mcts import TreeSearch
from agentgym.trainers.report import write_report
from agentgym.trainers.runlog import read_jsonl
from agentgym.trainers.trainer import Trainer
from agentgym.trainers.tree_dpo import PreferenceObjective, pair_samples

SMALL = [
    "algo.trees_per_iteration=2",
    "algo.search.simulations=3",
    "algo.search.k=3",
    "algo.search.lookahead=1",
    "algo.search.self_eval_weight=0.5",  # an untrained model never wins: its own judgement tells steps apart
    "rollout.max_new_tokens=6",
    "optim.lr=0.01",
    "optim.micro_batch_size=4",
    "iterations=2",
    "eval.every=1",
    "eval.episodes=2",
    "checkpoint_every=1",
    "progress=false",
]


def _config(model: Path, algorithm: str = "mcts-dpo", *sets: str, env_kwargs: dict[str, Any] | None = None):
    base = {
        "env": "guess",
        "env_kwargs": env_kwargs or {"max_steps": 3},
        "model": {"name_or_path": str(model)},
    }
    return build_config(algorithm, base, [*SMALL, *sets])


# -- the objective on hand values ------------------------------------------------------------------


def test_preference_objective_matches_the_conservative_loss_by_hand() -> None:
    # Two pairs; the reference is the learner's (given), α = 0.25 and 0.5: ±(1 + α) on every token.
    rows = [
        Sample([1, 2, 3], [0.0, 1.0, 1.0], None, [1.25] * 3, group="a"),
        Sample([1, 2, 4], [0.0, 1.0, 1.0], None, [-1.25] * 3, group="a"),
        Sample([1, 5], [0.0, 1.0], None, [1.5] * 2, group="b"),
        Sample([1, 6], [0.0, 1.0], None, [-1.5] * 2, group="b"),
    ]
    batch = collate(rows, 0)
    policy = torch.tensor([[0.0, -1.0, -1.0], [0.0, -2.0, -2.0], [0.0, 0.0, -1.0], [0.0, 0.0, -1.0]])
    ref = torch.tensor([[0.0, -1.0, -1.5], [0.0, -1.5, -1.5], [0.0, 0.0, -2.0], [0.0, 0.0, -1.0]])
    loss, stats = PreferenceObjective(beta=0.5, collected_reference=False)(batch, policy, None, ref, 6.0, 4)

    def log_sigmoid(x: float) -> float:
        return -math.log1p(math.exp(-x))

    h1 = (-2.0 - -2.5) - (-4.0 - -3.0)  # 1.5
    h2 = (-1.0 - -2.0) - (-1.0 - -1.0)  # 1.0
    l1 = -0.75 * log_sigmoid(0.5 * h1) - 0.25 * log_sigmoid(-0.5 * h1)
    l2 = -0.5 * log_sigmoid(0.5 * h2) - 0.5 * log_sigmoid(-0.5 * h2)
    assert loss.item() == pytest.approx((l1 + l2) / 2, abs=1e-6)
    assert stats["accuracy"] == 1.0 and stats["margin"] == pytest.approx(0.5 * (h1 + h2) / 2)


def test_pair_samples_train_from_the_first_differing_token_and_stay_together() -> None:
    rows = datasets.Dataset.from_dict(
        {
            "prompt_token_ids": [[7, 8], [9]],
            "chosen_token_ids": [[1, 2, 3], [4]],
            "rejected_token_ids": [[1, 5], [6, 6]],
            "chosen_logprobs": [[-0.1, -0.2, -0.3], [-0.4]],
            "rejected_logprobs": [[-0.1, -0.9], [-0.5, -0.6]],
            "pair_id": [0, 1],
        }
    )
    samples = pair_samples(rows, [0.1, 0.0])
    assert [s.action_mask for s in samples[:2]] == [[0, 0, 0, 1, 1], [0, 0, 0, 1]]
    assert samples[0].old_logprobs == [0.0, 0.0, -0.1, -0.2, -0.3] and samples[1].advantages == [-1.1] * 4
    assert sample_units(samples) == [[0, 1], [2, 3]]  # a pair, chosen first, is one unit of the learner


def test_a_trajectory_pair_sums_its_steps_on_each_side() -> None:
    # Pair 1: two chosen steps, one rejected step; pair 2: one step each. α = 0 (plain DPO).
    rows = [Sample([1, 2], [0.0, 1.0], None, [0.0, side]) for side in (1.0, 1.0, -1.0, 1.0, -1.0)]
    policy = torch.tensor([[0.0, -1.0], [0.0, -2.0], [0.0, -1.0], [0.0, -1.0], [0.0, -3.0]])
    ref = torch.tensor([[0.0, -1.5], [0.0, -2.5], [0.0, -1.0], [0.0, -1.0], [0.0, -1.0]])
    loss, _ = PreferenceObjective(beta=1.0, collected_reference=False)(
        collate(rows, 0), policy, None, ref, 5, 5
    )
    h1, h2 = (-3.0 - -4.0) - 0.0, 0.0 - (-3.0 - -1.0)  # 1.0, 2.0

    def nll(h: float) -> float:
        return math.log1p(math.exp(-h))

    assert loss.item() == pytest.approx((3 * nll(h1) + 2 * nll(h2)) / 5, abs=1e-6)  # weighted by rows
    with pytest.raises(ValueError, match="whole pairs"):
        PreferenceObjective(beta=1.0, collected_reference=False)(
            collate(rows[:2], 0), policy[:2], None, ref[:2], 2, 2
        )


# -- the algorithms end to end --------------------------------------------------------------------


def test_mcts_dpo_searches_pairs_and_updates_with_a_run_directory_like_the_others(
    tiny_model_dir, tmp_path
) -> None:
    run = tmp_path / "run"
    Trainer(_config(tiny_model_dir), run).run()

    # The pairs of each iteration are a dataset in the run directory, token-exact, with visits and Q.
    pairs = datasets.load_dataset("parquet", data_files=str(run / "pairs" / "*.parquet"), split="train")
    assert len(pairs) >= 1
    assert all(c > r for c, r in zip(pairs["chosen_q"], pairs["rejected_q"], strict=True))
    assert all(
        len(ids) == len(lp)
        for ids, lp in zip(pairs["chosen_token_ids"], pairs["chosen_logprobs"], strict=True)
    )

    # The policy moved; the search stepped more env steps than it committed; the DPO figures are logged.
    before = load_file(tiny_model_dir / "model.safetensors")
    after = load_file(latest_checkpoint(run) / "model" / "model.safetensors")
    assert any(not torch.equal(before[k], after[k]) for k in before)
    train = [r for r in read_jsonl(run / "metrics.jsonl") if r["kind"] == "train"]
    assert len(train) == 2 and all(r["branching"] > 1 for r in train)
    assert all(r["env_steps"] > r["steps"] * 2 for r in train)
    assert any("dpo_loss" in r and "accuracy" in r for r in train)

    # The report draws a searched tree with visits, Q, prior and the chosen and rejected children.
    html = write_report(run).read_text()
    assert "Searched trees" in html and "N=" in html and "p=" in html and "chosen" in html
    assert "rejected" in html and "<th>N</th>" in html

    # agentgym eval RUN_DIR plays the checkpoint, as for the other algorithms.
    assert evaluate_run(run, split="valid", episodes=2).episodes == 2


def test_search_at_test_time_on_a_run_uses_its_own_search_unless_the_command_line_replaces_it(
    tiny_model_dir, tmp_path, monkeypatch
) -> None:
    run = tmp_path / "run"
    Trainer(_config(tiny_model_dir, "mcts-dpo", "iterations=1", "eval.every=0"), run).run()
    used = []
    search_init = TreeSearch.__init__

    def spy(self, engine, config, evaluator=None) -> None:  # the real search, its settings noted
        used.append(config)
        search_init(self, engine, config, evaluator)

    monkeypatch.setattr(TreeSearch, "__init__", spy)
    common = ["eval", str(run), "--split", "valid", "--episodes", "2", "--search", "mcts"]
    replace = ["--simulations", "2", "--search-option", "lookahead=0", "--search-option", "c_puct=2"]
    for extra, expected in (([], (3, 3, 1, 1.0, 0.5)), (replace, (2, 3, 0, 2.0, 0.5))):  # the run's: SMALL
        result = CliRunner().invoke(app, [*common, *extra])
        assert result.exit_code == 0, result.output
        c = used[-1]
        assert (c.simulations, c.k, c.lookahead, c.c_puct, c.self_eval_weight) == expected

    result = CliRunner().invoke(app, [*common, "--search-option", "c_puc=2"])  # main() prints it as one line
    assert isinstance(result.exception, ConfigError) and len(used) == 2
    assert str(result.exception) == "unknown search option 'c_puc'; did you mean 'c_puct'?"


def test_agent_q_ranks_candidates_with_the_policy_and_trains_off_policy(tiny_model_dir, tmp_path) -> None:
    config = _config(tiny_model_dir, "agent-q", "algo.pairs.min_margin=0.05")
    assert config.algo.search.selection == "ucb1" and config.algo.pairs.alpha == 0.5  # preset kept
    assert config.algo.reference == "collection" and not config.algo.conservative
    run = tmp_path / "run"
    trainer = Trainer(config, run)
    assert trainer.learner.reference is None  # the reference log-probs are the ones logged at collection
    trainer.run()
    pairs = datasets.load_dataset("parquet", data_files=str(run / "pairs" / "*.parquet"), split="train")
    assert len(pairs) >= 1
    for row in pairs:
        mixed = [0.5 * row[f"{s}_q"] + 0.5 * row[f"{s}_critic"] for s in ("chosen", "rejected")]
        assert mixed[0] - mixed[1] >= 0.05  # the threshold, on α·Q + (1−α)·Q̂
    assert all(
        r["pairs"] == 0 or "dpo_loss" in r for r in read_jsonl(run / "metrics.jsonl") if r["kind"] == "train"
    )


def test_the_search_policy_is_refreshed_to_the_actor_every_k_updates(tiny_model_dir, tmp_path) -> None:
    run = tmp_path / "run"
    Trainer(_config(tiny_model_dir, "mcts-dpo", "algo.refresh_every=2", "iterations=3"), run).run()
    # After 3 updates the search policy is the actor as it was after 2 (refreshed at iteration 2).
    last = load_state(run / "checkpoints" / "iter_000003")["modules"]["search_policy"]["module"]
    actor_2 = load_file(run / "checkpoints" / "iter_000002" / "model" / "model.safetensors")
    actor_3 = load_file(run / "checkpoints" / "iter_000003" / "model" / "model.safetensors")
    shared = [k for k in actor_2 if k in last]
    assert shared and all(torch.equal(last[k], actor_2[k]) for k in shared)
    assert any(not torch.equal(last[k], actor_3[k]) for k in shared)


def test_trajectory_dpo_prefers_the_best_episode_of_a_group(tiny_model_dir, tmp_path) -> None:
    sets = ["algo.group_size=3", "algo.groups_per_iteration=2", "eval.every=0"]
    base = {"env": "guess", "env_kwargs": {"max_steps": 4}, "model": {"name_or_path": str(tiny_model_dir)}}
    config = build_config("traj-dpo", base, [*SMALL[5:], *sets])
    Trainer(config, tmp_path / "run").run()
    train = [r for r in read_jsonl(tmp_path / "run" / "metrics.jsonl") if r["kind"] == "train"]
    assert len(train) == 2 and all(r["pairs"] == 0 or "dpo_loss" in r for r in train)


# -- bad input ----------------------------------------------------------------------------------


def test_bad_search_settings_are_one_line() -> None:
    with pytest.raises(
        ConfigError, match=r"config key 'algo.search.simulations': .*greater than or equal to 1"
    ):
        build_config(
            "mcts-dpo", {"env": "guess", "model": {"name_or_path": "m"}}, ["algo.search.simulations=0"]
        )


def test_a_tree_past_its_node_budget_stops_training_in_one_line(tiny_model_dir, tmp_path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(_config(tiny_model_dir, "mcts-dpo", "algo.search.max_nodes=2").model_dump_json())
    result = CliRunner().invoke(
        app, ["train", "mcts-dpo", "--config", str(config), "--out", str(tmp_path / "r")]
    )
    assert result.exit_code == 2
    assert result.output.splitlines()[0].startswith("error: the tree of task ")
    assert "reached max_nodes=2; raise max_nodes or lower simulations or k" in result.output
