"""MCTS-DPO's formulas on hand values, and the search on a hand-built tree whose values are known."""

from __future__ import annotations

import importlib.util
import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import helper_envs  # noqa: F401  (registers count)
import numpy as np
import pytest
import torch

from agentgym.core import TextEnv, state_digest
from agentgym.episode import ResetOptions
from agentgym.exceptions import AgentGymError
from agentgym.policies import RandomPolicy
from agentgym.policies.base import Generation, Query, SamplingParams
from agentgym.registry import register
from agentgym.rollout import EnvFactory, EpisodeSpec, RolloutConfig, RolloutEngine
from agentgym.server import create_app
from agentgym.testing import require_backend, serve_in_thread
from agentgym.trainers.mcts import SearchBudgetError, SearchConfig, TreeSearch, ucb1
from agentgym.trainers.mcts_dpo import conservative_alpha, preference_loss, puct, step_prior


def test_puct_matches_hand_values() -> None:
    # 0.2 + 1.5 · 0.4 · √9 / (1 + 2) = 0.2 + 0.6 = 0.8
    assert puct(0.2, 0.4, 9, 2, 1.5) == pytest.approx(0.8)
    scores = puct(np.array([0.0, 0.5]), np.array([0.7, 0.3]), 4, np.array([0, 3]), c_puct=1.0)
    assert scores.tolist() == pytest.approx([1.4, 0.65])


def test_ucb1_matches_hand_values_and_tries_unvisited_children_first() -> None:
    # 0.5 + 2 · √(ln 10 / 5) = 0.5 + 2 · 0.678614
    assert ucb1(np.array([0.5, 0.9]), 10, np.array([5, 0]), 2.0).tolist() == pytest.approx(
        [1.857228, math.inf]
    )


def test_step_prior_is_length_normalised() -> None:
    assert step_prior([-0.2, -0.4], lam=1.0) == pytest.approx(math.exp(-0.3))
    assert step_prior([-0.2, -0.4], lam=0.0) == pytest.approx(math.exp(-0.6))
    assert step_prior([-1.0] * 4, lam=1.25) == pytest.approx(math.exp(-4 / 4**1.25))
    assert step_prior([], lam=1.25) == 1.0


def test_conservative_alpha_is_capped_at_one_half() -> None:
    assert conservative_alpha([6, 1, 2, 0], [2, 7, 2, 0]).tolist() == [0.25, 0.5, 0.5, 0.0]


def test_preference_loss_matches_hand_values() -> None:
    pc, pr = torch.tensor([-1.0, -2.0]), torch.tensor([-3.0, -1.0])
    rc, rr = torch.tensor([-2.0, -2.0]), torch.tensor([-2.0, -2.0])
    # h = (π_c − ref_c) − (π_r − ref_r) = [1 − (−1), 0 − 1] = [2, −1]; β = 0.5 ⇒ βh = [1, −0.5]
    alpha = torch.tensor([0.0, 0.25])
    loss = preference_loss(pc, pr, rc, rr, beta=0.5, alpha=alpha)

    def log_sigmoid(x: float) -> float:
        return -math.log1p(math.exp(-x))

    expected = [-log_sigmoid(1.0), -0.75 * log_sigmoid(-0.5) - 0.25 * log_sigmoid(0.5)]
    assert loss.tolist() == pytest.approx(expected)
    pc.requires_grad_(True)
    preference_loss(pc, pr, rc, rr, beta=0.5, alpha=0.0).sum().backward()
    assert pc.grad is not None and (pc.grad < 0).all()  # raising the chosen log-prob lowers the loss


# -- a hand-built tree --------------------------------------------------------------------


class TreeEnv(TextEnv):
    """Two moves, `a` and `b`. `a` ends the episode unrewarded; after `b`, `a` wins (reward 1), `b` loses."""

    def __init__(self) -> None:
        super().__init__(max_steps=5)
        self.splits = {"train": 1, "valid": 1, "test": 1}
        self.path = ""

    def _reset(self, task_id: int, options: ResetOptions) -> tuple[str, dict[str, Any]]:
        self.path = ""
        return "root", self._info()

    def data_digest(self) -> str:
        return state_digest("tree")

    def _step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if action not in ("a", "b"):
            return "no such move", 0.0, False, False, {**self._info(), "invalid_action": True}
        self.path += action
        won = self.path == "ba"
        return f"at {self.path}", float(won), self.path != "b", False, self._info()

    def _get_state(self) -> str:
        return self.path

    def _set_state(self, state: str) -> None:
        self.path = state

    def _info(self) -> dict[str, Any]:
        return {
            "task": "find the winning leaf",
            "admissible_actions": ["a", "b"],
            "state_key": state_digest(self.path),
            "won": self.path == "ba",
            "invalid_action": False,
        }


register("agentgym/MCTSTree-v0", f"{__name__}:TreeEnv", description="hand-built search tree")

LOGPROBS = {("root", "a"): [-0.1], ("root", "b"): [-1.0], ("at b", "a"): [-0.5], ("at b", "b"): [-0.5]}


class CyclingPolicy:
    """The j-th copy of an observation in a batch plays the j-th admissible action; log-probs from a table."""

    name = "cycling"
    wants_messages = False
    wants_expert = False

    def generate(self, queries: Sequence[Query], sampling: SamplingParams) -> list[Generation]:
        seen: Counter[str] = Counter()
        out = []
        for q in queries:
            actions = q.info["admissible_actions"]
            action = actions[seen[q.observation] % len(actions)]
            seen[q.observation] += 1
            out.append(Generation(action, action=action, logprobs=LOGPROBS[(q.observation, action)]))
        return out


def tree_engine() -> RolloutEngine:
    """An engine of one slot on the hand-built tree, played by :class:`CyclingPolicy`."""
    return RolloutEngine("agentgym/MCTSTree-v0", CyclingPolicy(), RolloutConfig(num_envs=1, progress=False))


HAND_TRACED = SearchConfig(simulations=6, k=2, c_puct=1.0, lam=1.0, lookahead=1)
"""The search traced by hand in the test below."""


def test_search_on_a_hand_built_tree_finds_the_winning_move_with_the_known_visit_counts() -> None:
    # Priors at the root: a = e^-0.1 / (e^-0.1 + e^-1) = 0.711, b = 0.289; after b, 0.5 each.
    # Hand trace (c_puct 1, lookahead 1, whose policy plays `a`): simulations 2-3 try a (Q 0), the 4th
    # tries b, whose lookahead `a` wins (Q 1); 5-6 go to b, then b-a; commit b (3 visits vs 2).
    # From b: 7-9 go to b-a, the 10th to b-b (PUCT 1.2247 > 1.2041), 11-12 to b-a; commit b-a: won.
    with tree_engine() as engine:
        [result] = TreeSearch(engine, HAND_TRACED).run([EpisodeSpec(0, "test", seed=0)])
    root = result.root
    assert [c.action for c in result.committed[1:]] == ["b", "a"]
    assert result.state.trajectory.outcome == "won"
    assert root.visits == 6
    assert {c.action: c.visits for c in root.children} == {"a": 2, "b": 9}
    b = root.children[1]
    assert {c.action: c.visits for c in b.children} == {"a": 7, "b": 1}
    assert b.q == pytest.approx(8 / 9)
    assert [c.prior for c in root.children] == pytest.approx([0.7109495, 0.2890505])
    assert result.nodes == 5


def test_replies_that_parse_to_one_action_are_merged() -> None:
    config = SearchConfig(simulations=1, k=4, lookahead=0)
    with tree_engine() as engine:
        [result] = TreeSearch(engine, config).run([EpisodeSpec(0, "test", seed=0)])
    assert [(c.action, c.replies) for c in result.root.children] == [("a", 2), ("b", 2)]


def test_a_tree_past_its_node_budget_is_a_one_line_error() -> None:
    config = SearchConfig(simulations=8, k=2, lookahead=0, max_nodes=3)
    with (
        tree_engine() as engine,
        pytest.raises(
            SearchBudgetError, match="reached max_nodes=3; raise max_nodes or lower simulations or k"
        ),
    ):
        TreeSearch(engine, config).run([EpisodeSpec(0, "test", seed=0)])


class UnrestorableTreeEnv(TreeEnv):
    """The hand-built tree with a native state that cannot be put back."""

    def _set_state(self, state: str) -> None:
        raise RuntimeError("this state cannot be restored")


def test_an_env_whose_snapshots_cannot_restore_is_a_one_line_error_before_any_search(
    scratch_registry,
) -> None:
    register("agentgym/MCTSUnrestorable-v0", f"{__name__}:UnrestorableTreeEnv", description="no restore")
    engine = RolloutEngine("agentgym/MCTSUnrestorable-v0", CyclingPolicy(), RolloutConfig(progress=False))
    with engine, pytest.raises(AgentGymError) as err:
        TreeSearch(engine, SearchConfig(simulations=2, k=2)).run([EpisodeSpec(0, "test", seed=0)])
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("search: restore on env slot 0 failed: ") and "cannot be restored" in message
    assert message.endswith("drop its _get_state/_set_state so that snapshots replay seed and actions")


def test_zero_simulations_is_refused() -> None:
    with pytest.raises(ValueError, match="simulations"):
        SearchConfig(simulations=0)


def test_self_evaluation_is_mixed_into_leaf_values() -> None:
    config = SearchConfig(simulations=6, k=2, lam=1.0, lookahead=0, self_eval_weight=0.5)

    def judge(states):  # the step into "at b" is judged good, the others bad
        return [1.0 if s.observation == "at b" else 0.0 for s in states]

    with tree_engine() as engine:
        [result] = TreeSearch(engine, config, evaluator=judge).run([EpisodeSpec(0, "test", seed=0)])
    b = result.root.children[1]
    assert b.self_eval == 1.0 and result.committed[1] is b


# -- searched episodes replay from their root, on every worker kind and through the server ----------


def replayed_observations(factory: EnvFactory, spec: EpisodeSpec, actions: list[str]) -> list[str]:
    env = factory()
    observations = [env.reset(seed=spec.seed, options={"split": spec.split, "task_id": spec.task_id})[0]]
    observations += [env.step(a)[0] for a in actions]
    env.close()
    return observations


def search_and_replay(factory: EnvFactory, **config: Any) -> None:
    specs = [EpisodeSpec(t, "test", seed=10 + t) for t in range(2)]
    search = SearchConfig(simulations=4, k=3, lookahead=1)
    with RolloutEngine(
        factory, RandomPolicy(seed=0), RolloutConfig(num_envs=2, progress=False, **config)
    ) as engine:
        results = TreeSearch(engine, search).run(specs)
    local = EnvFactory(factory.env_id, factory.kwargs, seat=factory.seat)
    for spec, result in zip(specs, results, strict=True):
        steps = result.state.trajectory.steps
        assert result.env_steps > len(steps)  # the search stepped branches it did not commit to
        searched = [s.observation for s in steps] + [result.state.observation]
        assert searched == replayed_observations(local, spec, [s.action for s in steps])


GAME_SEAT = EnvFactory("nim", seat={"learner": "player_0", "others": "random"})
"""A game seat: its snapshots replay the game's log (no native state)."""


@pytest.mark.parametrize("workers", ["thread", "process", "ray"])
def test_a_searched_episode_replays_from_its_root(workers: str) -> None:
    if workers == "ray":
        require_backend(importlib.util.find_spec("ray") is not None, "ray is not installed")
    search_and_replay(EnvFactory("guess"), workers=workers)  # native snapshots
    search_and_replay(GAME_SEAT, workers=workers)  # the replay fallback


def test_a_searched_episode_replays_from_its_root_through_the_env_server(free_port: int) -> None:
    with serve_in_thread(create_app(["guess", "count"]), free_port) as url:
        search_and_replay(EnvFactory("guess", server_urls=(url,)))
        search_and_replay(EnvFactory("count", server_urls=(url,)))  # the replay fallback, on the server


# -- search at test time --------------------------------------------------------------------


def test_search_at_test_time_wins_more_than_the_same_policy_played_directly() -> None:
    # A random policy with three guesses among the numbers 1..16 seldom wins; searching from each
    # state (lookahead on snapshots tries the remaining guesses) finds the number every time.
    specs = [EpisodeSpec(t, "test", seed=t) for t in range(3)]
    config = RolloutConfig(num_envs=3, progress=False)
    with RolloutEngine("guess", RandomPolicy(seed=0), config, env_kwargs={"max_steps": 3}) as engine:
        direct = engine.run(specs)
        searched = TreeSearch(engine, SearchConfig(simulations=16, k=4)).play(specs)
    assert direct.summary.success_rate < 1.0
    assert searched.summary.success_rate == 1.0
    assert [t.task_id for t in searched.trajectories] == [0, 1, 2]
    assert all(len(t.steps) <= 3 for t in searched.trajectories)
