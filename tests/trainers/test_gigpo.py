"""GiGPO's advantages against hand-computed groups (Feng et al. 2025, Eqs. of A^E and A^S)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agentgym.records import Step, Trajectory
from agentgym.trainers.batching import StepRows
from agentgym.trainers.config import build_config
from agentgym.trainers.gigpo import (
    discounted_returns,
    episode_advantages,
    gigpo_advantages,
    group_normalise,
    step_advantages,
)

EPS = 1e-6

# One task group "g", three trajectories, rows in time order:
#   τ0: states s0 → s1 → s0 (s0 visited twice), rewards 0, 0, 1   (R = 1, 3 rows)
#   τ1: states s0 → s2,                          rewards 0, 0      (R = 0, 2 rows)
#   τ2: states s0 → s1,                          rewards 0, 1      (R = 1, 2 rows)
GROUPS = ["g"] * 7
TRAJS = [0, 0, 0, 1, 1, 2, 2]
REWARDS = [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
STATES = ["s0", "s1", "s0", "s0", "s2", "s0", "s1"]
GAMMA = 0.5


def test_episode_advantage_counts_each_trajectory_once() -> None:
    # Returns 1, 0, 1: mean 2/3; unbiased std sqrt(((1/3)^2 + (2/3)^2 + (1/3)^2) / 2) = sqrt(1/3).
    std = math.sqrt(1 / 3)
    up, down = (1 / 3) / (std + EPS), (-2 / 3) / (std + EPS)
    expected = [up, up, up, down, down, up, up]
    assert episode_advantages(GROUPS, TRAJS, REWARDS) == pytest.approx(expected, abs=1e-12)
    # Counting rows instead (τ0 weighs 3/7) would give mean 5/7 — not what we do.
    assert episode_advantages(GROUPS, TRAJS, REWARDS)[3] != pytest.approx(-5 / 7 / (std + EPS))


def test_episode_advantage_without_std() -> None:
    expected = [1 / 3] * 3 + [-2 / 3] * 2 + [1 / 3] * 2
    assert episode_advantages(GROUPS, TRAJS, REWARDS, norm="none") == pytest.approx(expected, abs=1e-12)


def test_discounted_step_returns() -> None:
    # τ0: 0.25, 0.5, 1; τ1: 0, 0; τ2: 0.5, 1.
    assert discounted_returns(GROUPS, TRAJS, REWARDS, GAMMA).tolist() == [
        0.25,
        0.5,
        1.0,
        0.0,
        0.0,
        0.5,
        1.0,
    ]


def test_step_advantage_groups_repeated_states_across_and_within_trajectories() -> None:
    # s0 rows: τ0 t0 (0.25), τ0 t2 (1.0), τ1 t0 (0.0), τ2 t0 (0.5): mean 0.4375,
    #   squared deviations 0.03515625 + 0.31640625 + 0.19140625 + 0.00390625 = 0.546875, /3.
    s0_std = math.sqrt(0.546875 / 3)
    # s1 rows: τ0 t1 (0.5), τ2 t1 (1.0): mean 0.75, std sqrt(2 * 0.0625 / 1).
    s1_std = math.sqrt(0.125)
    expected = [
        (0.25 - 0.4375) / (s0_std + EPS),
        (0.5 - 0.75) / (s1_std + EPS),
        (1.0 - 0.4375) / (s0_std + EPS),
        (0.0 - 0.4375) / (s0_std + EPS),
        0.0,  # s2: a singleton step group
        (0.5 - 0.4375) / (s0_std + EPS),
        (1.0 - 0.75) / (s1_std + EPS),
    ]
    got = step_advantages(GROUPS, TRAJS, REWARDS, STATES, gamma=GAMMA)
    assert got == pytest.approx(expected, abs=1e-12)


def test_step_advantage_without_std() -> None:
    expected = [0.25 - 0.4375, -0.25, 1.0 - 0.4375, -0.4375, 0.0, 0.5 - 0.4375, 0.25]
    got = step_advantages(GROUPS, TRAJS, REWARDS, STATES, gamma=GAMMA, norm="none")
    assert got == pytest.approx(expected, abs=1e-12)


def test_gigpo_is_episode_plus_omega_times_step() -> None:
    for norm in ("std", "none"):
        a_e = episode_advantages(GROUPS, TRAJS, REWARDS, norm=norm)
        a_s = step_advantages(GROUPS, TRAJS, REWARDS, STATES, gamma=GAMMA, norm=norm)
        got = gigpo_advantages(GROUPS, TRAJS, REWARDS, STATES, gamma=GAMMA, omega=0.5, norm=norm)
        assert got == pytest.approx(a_e + 0.5 * a_s, abs=1e-12)
        assert got.dtype == np.float64 and got.shape == (7,)


def test_omega_zero_is_grpo() -> None:
    got = gigpo_advantages(GROUPS, TRAJS, REWARDS, STATES, omega=0.0)
    assert got.tolist() == episode_advantages(GROUPS, TRAJS, REWARDS).tolist()


def test_rft_preset_clones_won_episodes_and_ignores_lost_ones() -> None:
    # Rejection-sampling fine-tuning: no baseline, no std, so A = the episode's return (1 won, 0 lost),
    # in a group of one as well; invalid actions cost nothing and no KL or entropy term is added.
    algo = build_config("rft", {"env": "guess", "model": {"name_or_path": "m"}}).algo
    assert (algo.omega, algo.invalid_action_penalty, algo.kl_coef, algo.entropy_coef) == (0, 0, 0, 0)
    got = gigpo_advantages(
        ["g", "g", "g", "solo"],
        [0, 0, 1, 0],
        [0.0, 1.0, 0.0, 1.0],
        ["a", "b", "a", "c"],
        omega=algo.omega,
        norm=algo.norm,
        baseline=algo.baseline,
    )
    assert got.tolist() == [1.0, 1.0, 0.0, 1.0]


def test_singleton_groups_get_zero() -> None:
    # A group with one trajectory: A^E = 0; its states each visited once: A^S = 0.
    got = gigpo_advantages(["solo"] * 2, [0, 0], [0.0, 1.0], ["a", "b"], gamma=1.0)
    assert got.tolist() == [0.0, 0.0]


def test_repeated_state_within_a_lone_trajectory_still_forms_a_step_group() -> None:
    # One trajectory, states a, a, b, rewards 0, 0, 1, γ = 0.5: returns 0.25, 0.5, 1.
    # The two visits of "a" form a step group (mean 0.375); b is alone.
    got = gigpo_advantages(["solo"] * 3, [0, 0, 0], [0.0, 0.0, 1.0], ["a", "a", "b"], gamma=0.5, norm="none")
    assert got.tolist() == [-0.125, 0.125, 0.0]


def test_groups_never_mix() -> None:
    # Same state key and trajectory ids in two task groups: compared only within each group.
    got = gigpo_advantages(
        ["g1", "g1", "g2", "g2"], [0, 1, 0, 1], [1.0, 0.0, 5.0, 5.0], ["s"] * 4, norm="none"
    )
    assert got.tolist() == [1.0, -1.0, 0.0, 0.0]


def test_interleaved_rows_keep_each_trajectory_in_time_order() -> None:
    # Rows of τ0 and τ1 interleaved: τ0 = (a: 0, b: 1), τ1 = (a: 0, c: 0).
    got = step_advantages(
        ["g"] * 4, [0, 1, 0, 1], [0.0, 0.0, 1.0, 0.0], ["a", "a", "b", "c"], gamma=1.0, norm="none"
    )
    assert got.tolist() == [0.5, -0.5, 0.0, 0.0]


def test_leave_one_out_baseline_is_rloo() -> None:
    # Returns 1, 0, 1: A_i = R_i - mean of the others = 0.5, -1, 0.5.
    got = gigpo_advantages(GROUPS, TRAJS, REWARDS, STATES, omega=0.0, norm="none", baseline="leave_one_out")
    assert got.tolist() == [0.5] * 3 + [-1.0] * 2 + [0.5] * 2


def test_equal_returns_give_zero_not_nan() -> None:
    got = gigpo_advantages(["g"] * 2, [0, 1], [1.0, 1.0], ["s", "s"])
    assert got.tolist() == [0.0, 0.0]


def test_repeating_an_invalid_action_in_a_truncated_tail_earns_no_positive_step_advantage() -> None:
    # Trajectory 0 reaches s and repeats an invalid action (−0.1 each) until the time limit;
    # trajectory 1 passes through a and wins. Only trajectory 0 visits s.
    groups, trajs = ["g"] * 7, [0, 0, 0, 0, 0, 1, 1]
    rewards = [0.0, -0.1, -0.1, -0.1, -0.1, 0.0, 10.0]
    states = ["a", "s", "s", "s", "s", "a", "b"]
    cut = [True] * 5 + [False] * 2
    every_visit = step_advantages(groups, trajs, rewards, states)
    assert every_visit[4] > 0 and list(every_visit[1:5]) == sorted(every_visit[1:5])  # the bug, untruncated
    fixed = step_advantages(groups, trajs, rewards, states, truncated=cut)
    assert fixed[1:5].tolist() == [0.0] * 4  # one trajectory at s: nothing to compare with
    assert fixed[0] < 0 < fixed[5]  # at a, the looping trajectory still loses to the winner

    # Two truncated trajectories loop at s for different lengths: each counts once, with its
    # first visit's return, so every repeat of the longer loop shares its (negative) A^S.
    # The first visits have 3 and 2 steps left: they are compared over the 2 both have.
    groups, trajs = ["g"] * 5, [0, 0, 0, 1, 1]
    rewards, states = [-0.1, -0.1, -0.1, -0.1, 0.0], ["s"] * 5
    fixed = step_advantages(groups, trajs, rewards, states, truncated=[True] * 5, norm="none")
    first_0, first_1 = -0.1 - 0.095, -0.1
    assert fixed.tolist() == pytest.approx([(first_0 - first_1) / 2] * 3 + [(first_1 - first_0) / 2] * 2)


def _stuck_group(first_visits: list[int], limit: int = 20) -> tuple[list, list, list, list]:
    """Rows of one task group: trajectory j moves validly (reward 0) through its own states until
    step ``first_visits[j]``, then repeats an invalid action (−0.1) at state s until the limit."""
    groups, trajs, rewards, states = [], [], [], []
    for j, arrive in enumerate(first_visits):
        for t in range(limit):
            groups.append("g"), trajs.append(j)
            rewards.append(0.0 if t < arrive else -0.1)
            states.append("start" if t == 0 else f"path-{j}-{t}" if t < arrive else "s")
    return groups, trajs, rewards, states


def test_a_later_first_visit_of_a_state_earns_nothing_from_the_horizon_alone() -> None:
    # The seed-2 group of docs/results.md, "GiGPO's truncated-tail fix": 8 trajectories act
    # invalidly at every step from s until the time limit; seven reach s at step 1 (19 steps
    # left), one at step 2 (18 left). Compared over the 18 steps all have, the same mistake is
    # worth the same: every A^S at s is 0 (it was +2.47 for the late one and -0.35 for the
    # others when returns over 19 and 18 steps were compared).
    groups, trajs, rewards, states = _stuck_group([1] * 7 + [2])
    at_s = [i for i, state in enumerate(states) if state == "s"]
    for norm in ("std", "none"):
        for baseline in ("mean", "leave_one_out"):
            cut = [True] * len(groups)
            got = step_advantages(groups, trajs, rewards, states, norm=norm, baseline=baseline, truncated=cut)
            assert got[at_s].tolist() == [0.0] * len(at_s)


def test_a_member_that_wins_within_the_shared_horizon_still_beats_a_truncated_one() -> None:
    # At s: τ0 wins on its 2nd step, τ1 repeats an invalid action until the time limit (3 steps
    # left), τ2 wins on its 4th step, after τ1's cut. Over the steps each pair shares (γ = 1):
    #   τ0 vs τ1 over 3 steps: 1 vs -0.3; τ2 vs τ1 over 3 steps: 0 vs -0.3; τ0 vs τ2 (both
    #   ended on their own): 1 vs 1.
    groups, trajs = ["g"] * 9, [0, 0, 1, 1, 1, 2, 2, 2, 2]
    rewards = [0.0, 1.0, -0.1, -0.1, -0.1, 0.0, 0.0, 0.0, 1.0]
    states = ["s", "w0", "s", "s", "s", "s", "x1", "x2", "x3"]
    cut = [False] * 2 + [True] * 3 + [False] * 4
    got = step_advantages(groups, trajs, rewards, states, gamma=1.0, norm="none", truncated=cut)
    a0, a1, a2 = (1.3 + 0.0) / 3, (-1.3 - 0.3) / 3, (0.0 + 0.3) / 3
    assert got[[0, 2, 3, 4, 5]].tolist() == pytest.approx([a0, a1, a1, a1, a2])
    assert got[0] > got[5] > 0 > got[2]
    # Cutting every member at the group's shortest horizon (3 steps) would throw τ2's win away:
    # returns 1, -0.3, 0 there, and τ2 would fall below the mean though it won.


def test_step_advantage_without_cut_returns_is_eq_7_bit_for_bit() -> None:
    # Random groups, no truncation, or every trajectory truncated at one length with states that
    # include the time step (each step group's members then have equal horizons): Eq. 7 exactly,
    # as before the common horizon (members summed last row first, as step_advantages always has).
    rng = np.random.default_rng(0)

    def eq_7(returns: np.ndarray, keys: list, norm: str, baseline: str) -> list[float]:
        return group_normalise(returns[::-1], keys[::-1], norm, baseline)[::-1].tolist()

    for _ in range(50):
        n, length = int(rng.integers(2, 7)), int(rng.integers(1, 9))
        groups = [str(g) for g in rng.integers(0, 2, n) for _ in range(length)]
        trajs = [j for j in range(n) for _ in range(length)]
        rewards = rng.choice([0.0, -0.1, 1.0, 0.5], n * length)
        states = rng.choice(["a", "b", "c"], n * length).tolist()
        timed = [f"{state}@{t % length}" for t, state in enumerate(states)]
        gamma = float(rng.choice([0.5, 0.95, 1.0]))
        returns = discounted_returns(groups, trajs, rewards, gamma)
        for norm in ("std", "none"):
            for baseline in ("mean", "leave_one_out", "none"):
                got = step_advantages(groups, trajs, rewards, states, gamma, norm, baseline)
                assert got.tolist() == eq_7(returns, list(zip(groups, states, strict=True)), norm, baseline)
                cut = [True] * n * length
                got = step_advantages(groups, trajs, rewards, timed, gamma, norm, baseline, cut)
                assert got.tolist() == eq_7(returns, list(zip(groups, timed, strict=True)), norm, baseline)


def test_step_rows_mark_rows_of_truncated_trajectories() -> None:
    step = Step(observation="o", state_key="s", response="r", action="a", reward=0.0)
    cut = Trajectory(env_id="e", data_version="1", task_id=0, split="train", seed=0, policy="p",
                     steps=[step, step], outcome="truncated")  # fmt: skip
    won = cut.model_copy(update={"outcome": "won"})
    assert StepRows.from_trajectories([cut, won]).truncated.tolist() == [True, True, False, False]
