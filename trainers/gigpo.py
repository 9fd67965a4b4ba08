"""GiGPO: Group-in-Group Policy Optimization (Feng et al. 2025), with GRPO and RLOO as presets.

GiGPO trains an LLM agent without a critic. Each iteration it plays N
trajectories of every task group from the same initial state, and gives every
step two relative advantages:

1. an **episode** advantage: how the trajectory's return compares with the
   other trajectories of its group (GRPO's advantage);
2. a **step** advantage: the step's discounted return compared with the other
   steps of the group taken from the same *anchor state* (the same
   ``state_key``), whichever trajectory or time step they come from.

Their sum ``A = A^E + ω·A^S`` (Eq. 8; equation numbers are the paper's)
weighs each action token in a PPO-style clipped objective with a KL penalty to
the reference model (:mod:`.losses`). Every
environment step is its own sample: the prompt the agent saw (task, the last
``history`` steps, the observation, the admissible actions) and its reply.

GRPO is ω = 0; RLOO is ω = 0 with a leave-one-out baseline and no std
normalisation (see :mod:`.algorithms`). Defaults and their sources:
``docs/papers.md``.

Example:
    >>> gigpo_advantages(["g", "g"], [0, 1], [1.0, 0.0], ["s", "s"], norm="none").tolist()
    [1.0, -1.0]
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field

from agentgym.exceptions import ConfigError
from agentgym.records import Trajectory
from agentgym.trainers.algorithms import Needs, ReportSpec
from agentgym.trainers.batching import StepRows
from agentgym.trainers.config import PolicyLossSettings
from agentgym.trainers.runlog import rollout_metrics

if TYPE_CHECKING:
    from agentgym.trainers.trainer import Trainer

Norm = Literal["std", "none"]
Baseline = Literal["mean", "leave_one_out", "none"]
EPS = 1e-6


class GiGPOConfig(PolicyLossSettings):
    """GiGPO's settings (the ``algo`` section); GRPO and RLOO presets override a few."""

    group_size: int = Field(
        8,
        ge=2,
        description="N: trajectories per task group (same task, same start); at least 2, "
        "since a group of one has no baseline and every advantage would be 0.",
    )
    groups_per_iteration: int = Field(16, ge=1, description="Task groups played per iteration.")
    gamma: float = Field(0.95, ge=0, le=1, description="γ: discount of the step return.")
    omega: float = Field(1.0, ge=0, description="ω: weight of the step advantage A^S (0 is GRPO).")
    norm: Norm = Field("std", description="Divide by the group's std (std) or not (none).")
    baseline: Baseline = Field(
        "mean",
        description="Group mean, the mean of the others (leave_one_out, RLOO), or none "
        "(the raw return: rejection-sampling fine-tuning).",
    )
    invalid_action_penalty: float = Field(
        0.1, ge=0, description="Subtracted from the reward of a step whose action was invalid."
    )


# -- Group normalisation, shared by both levels -------------------------------------


def group_normalise(
    values: np.ndarray, keys: Sequence[Hashable], norm: Norm = "std", baseline: Baseline = "mean"
) -> np.ndarray:
    """``(x - baseline) / F`` within each group of equal keys; 0 for a group of one.

    The baseline is the group mean, (``leave_one_out``) the mean of the
    group's other members, or (``none``) 0, which keeps the raw values;
    F is the group's unbiased std + 1e-6 (``std``) or 1.

    Example:
        >>> group_normalise(np.array([1.0, 0.0, 5.0]), ["a", "a", "b"], norm="none").tolist()
        [0.5, -0.5, 0.0]
        >>> group_normalise(np.array([3.0, 1.0, 2.0]), ["a"] * 3, "none", "leave_one_out").tolist()
        [1.5, -1.5, 0.0]
        >>> group_normalise(np.array([1.0, 0.0, 5.0]), ["a", "a", "b"], "none", "none").tolist()
        [1.0, 0.0, 5.0]
    """
    out = np.zeros(len(values), dtype=np.float64)
    for idx in _members(keys):
        out[idx] = _normalise(values[idx], norm, baseline)
    return out


def _members(keys: Sequence[Hashable]) -> list[list[int]]:
    """The row indices of each group of equal keys, in order of first appearance."""
    members: dict[Hashable, list[int]] = {}
    for i, key in enumerate(keys):
        members.setdefault(key, []).append(i)
    return list(members.values())


def _normalise(x: np.ndarray, norm: Norm, baseline: Baseline) -> np.ndarray:
    """One group's ``(x - baseline) / F`` (see :func:`group_normalise`)."""
    n = len(x)
    if baseline == "none":
        return x
    if n == 1:
        return np.zeros(1)  # a group of one has nothing to compare with
    base = x.mean() if baseline == "mean" else (x.sum() - x) / (n - 1)
    centred = x - base
    if norm == "std":
        centred = centred / (x.std(ddof=1) + EPS)
    return centred


# -- Episode level: the trajectory's return against its group --------------------------


def episode_advantages(
    group_ids: Sequence[Hashable],
    traj_ids: Sequence[Hashable],
    step_rewards: Sequence[float],
    norm: Norm = "std",
    baseline: Baseline = "mean",
) -> np.ndarray:
    """A^E of every step row: its trajectory's advantage within the group.

    Episode return: ``R(τ) = Σ_t r_t``.
    Eq. 3: ``A^E(τ) = (R(τ) - mean{R(τ_j)}) / F`` over the
    trajectories of the group, each counted once however many steps it has.

    Example:
        >>> episode_advantages(["g"] * 3, [0, 0, 1], [0.0, 1.0, 0.0], norm="none").tolist()
        [0.5, 0.5, -0.5]
    """
    trajectories = list(dict.fromkeys(zip(group_ids, traj_ids, strict=True)))
    index = {key: i for i, key in enumerate(trajectories)}
    returns = np.zeros(len(trajectories))
    for group, traj, reward in zip(group_ids, traj_ids, step_rewards, strict=True):
        returns[index[(group, traj)]] += reward  # R(τ) = Σ_t r_t
    per_traj = group_normalise(returns, [g for g, _ in trajectories], norm, baseline)
    return np.array([per_traj[index[key]] for key in zip(group_ids, traj_ids, strict=True)])


# -- Step level: discounted returns compared within anchor-state groups ---------------


def discounted_returns(
    group_ids: Sequence[Hashable],
    traj_ids: Sequence[Hashable],
    step_rewards: Sequence[float],
    gamma: float = 0.95,
) -> np.ndarray:
    """Eq. 5: ``R_t = Σ_{k≥t} γ^{k-t} r_k`` within each trajectory (rows in time order).

    Example:
        >>> discounted_returns(["g"] * 3, [0, 0, 0], [0.0, 0.0, 1.0], gamma=0.5).tolist()
        [0.25, 0.5, 1.0]
    """
    return _discounted(_trajectories(group_ids, traj_ids), step_rewards, gamma)


def _trajectories(group_ids: Sequence[Hashable], traj_ids: Sequence[Hashable]) -> list[list[int]]:
    """The rows of each trajectory, in time order."""
    return _members(list(zip(group_ids, traj_ids, strict=True)))


def _discounted(trajectories: list[list[int]], step_rewards: Sequence[float], gamma: float) -> np.ndarray:
    """Eq. 5 on the rows of each trajectory (see :func:`discounted_returns`)."""
    out = np.zeros(len(step_rewards), dtype=np.float64)
    for idx in trajectories:
        running = 0.0
        for i in reversed(idx):
            running = step_rewards[i] + gamma * running  # Eq. 5: R_t = r_t + γ R_{t+1}
            out[i] = running
    return out


def step_advantages(
    group_ids: Sequence[Hashable],
    traj_ids: Sequence[Hashable],
    step_rewards: Sequence[float],
    state_keys: Sequence[Hashable],
    gamma: float = 0.95,
    norm: Norm = "std",
    baseline: Baseline = "mean",
    truncated: Sequence[bool] | None = None,
) -> np.ndarray:
    """A^S of every step row: its discounted return within its anchor-state group.

    Eq. 6 (step groups): the rows of a task group that share an anchor state
    ``s̃`` (``state_key``), from any trajectory and any time step.
    Eq. 7: ``A^S = (R_t - mean{R_t' : same s̃}) / F``; a state
    visited once in the group gets 0.

    Truncated tails (``truncated`` true on the rows of a trajectory cut by the
    time limit): a return there is short only because less time was left, so
    the last repeats of a mistake would look best.

    - Within a trajectory cut by the limit each state counts once, with the
      return of the trajectory's first visit (first-visit Monte Carlo), and
      every revisit shares that A^S.
    - Across trajectories, members are compared over a common horizon. A
      member's horizon ``h`` is its steps left before the limit, unbounded if
      its trajectory ended on its own (no reward after the end). Eq. 7 with the
      mean baseline is ``(1/n) Σ_v (R_u - R_v)``; each pair's difference is
      taken over ``H_uv = min(h_u, h_v)`` steps, ``R(H) = Σ_{k<H} γ^k r_{t+k}``:
      ``A^S_u = (1/n) Σ_v (R_u(H_uv) - R_v(H_uv)) / F``, ``1/(n-1)`` for
      leave-one-out, F the std of these centred values + 1e-6. Where no
      member's return is cut (no truncation, equal horizons) this is Eq. 7 as
      is; ``baseline="none"`` keeps the raw first-visit return.

    Example:
        >>> step_advantages(["g"] * 4, [0, 0, 1, 1], [0.0, 1.0, 0.0, 0.0], ["a", "b", "a", "c"],
        ...                 gamma=1.0, norm="none").tolist()
        [0.5, 0.0, -0.5, 0.0]
        >>> step_advantages(["g"] * 3, [0] * 3, [-0.1] * 3, ["s"] * 3, truncated=[True] * 3).tolist()
        [0.0, 0.0, 0.0]

        The same mistake from ``s`` with 2 and with 1 step left: equal over the one step both have.

        >>> step_advantages(["g"] * 3, [0, 0, 1], [-0.1] * 3, ["s"] * 3, truncated=[True] * 3).tolist()
        [0.0, 0.0, 0.0]
    """
    rewards = np.asarray(step_rewards, dtype=np.float64)
    trajectories = _trajectories(group_ids, traj_ids)
    returns = _discounted(trajectories, rewards, gamma)
    cut = truncated if truncated is not None else [False] * len(returns)
    rows = zip(group_ids, traj_ids, state_keys, cut, strict=True)
    units = [(g, traj, key) if trunc else (g, traj, key, i) for i, (g, traj, key, trunc) in enumerate(rows)]
    first = {unit: i for i, unit in reversed(list(enumerate(units)))}  # each unit's first row
    unique = list(first)
    trajectory, left = _steps_left(trajectories, len(rewards))
    horizon = np.where(cut, left, np.inf)  # steps left before the time limit; unbounded if it ended
    per_unit = np.zeros(len(unique), dtype=np.float64)
    for idx in _members([(unit[0], unit[2]) for unit in unique]):  # (task group, anchor state)
        starts = [first[unique[j]] for j in idx]
        if len(idx) > 1 and baseline != "none":
            common = np.minimum.outer(horizon[starts], horizon[starts])  # H_uv
            if (left[starts][:, None] > common).any():  # a return is cut
                tails = [rewards[trajectory[i][-left[i] :]] for i in starts]
                per_unit[idx] = _common_horizon(tails, common, gamma, norm, baseline)
                continue
        per_unit[idx] = _normalise(returns[starts], norm, baseline)  # Eq. 7: no return is cut
    value = dict(zip(unique, per_unit, strict=True))
    return np.array([value[u] for u in units], dtype=np.float64)


def _steps_left(trajectories: list[list[int]], rows: int) -> tuple[list[list[int]], np.ndarray]:
    """Each row's trajectory (its rows in time order) and the steps from the row to its end."""
    trajectory: list[list[int]] = [[] for _ in range(rows)]
    left = np.zeros(rows, dtype=np.int64)
    for idx in trajectories:
        for k, i in enumerate(idx):
            trajectory[i], left[i] = idx, len(idx) - k
    return trajectory, left


def _common_horizon(
    tails: list[np.ndarray], common: np.ndarray, gamma: float, norm: Norm, baseline: Baseline
) -> np.ndarray:
    """One step group's A^S, every pair compared over ``common[u, v]`` steps (``H_uv``).

    ``tails[u]``: the rewards from member u's step to its trajectory's end.
    """
    n, width = len(tails), max(len(tail) for tail in tails)
    discounted = np.zeros((n, width))  # zero after a trajectory's end
    for u, tail in enumerate(tails):
        discounted[u, : len(tail)] = tail
    discounted *= gamma ** np.arange(width)  # γ^k r_{t+k}
    partial = np.concatenate([np.zeros((n, 1)), discounted.cumsum(axis=1)], axis=1)  # [u, H] = R_u(H)
    mine = partial[np.arange(n)[:, None], np.minimum(common, width).astype(int)]  # R_u(H_uv)
    centred = (mine - mine.T).sum(axis=1) / n  # (1/n) Σ_v (R_u(H_uv) - R_v(H_uv))
    out = centred * n / (n - 1) if baseline == "leave_one_out" else centred
    return out / (centred.std(ddof=1) + EPS) if norm == "std" else out


def advantage_terms(
    group_ids: Sequence[Hashable],
    traj_ids: Sequence[Hashable],
    step_rewards: Sequence[float],
    state_keys: Sequence[Hashable],
    gamma: float = 0.95,
    norm: Norm = "std",
    baseline: Baseline = "mean",
    truncated: Sequence[bool] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(A^E, A^S)`` of every step row (see :func:`gigpo_advantages`)."""
    a_episode = episode_advantages(group_ids, traj_ids, step_rewards, norm, baseline)
    a_step = step_advantages(group_ids, traj_ids, step_rewards, state_keys, gamma, norm, baseline, truncated)
    return a_episode, a_step


def gigpo_advantages(
    group_ids: Sequence[Hashable],
    traj_ids: Sequence[Hashable],
    step_rewards: Sequence[float],
    state_keys: Sequence[Hashable],
    gamma: float = 0.95,
    omega: float = 1.0,
    norm: Norm = "std",
    *,
    baseline: Baseline = "mean",
    truncated: Sequence[bool] | None = None,
) -> np.ndarray:
    """GiGPO's advantage of every step row: ``A = A^E + ω·A^S``.

    All sequences have one entry per step row; the rows of one trajectory
    appear in time order. A trajectory is identified by ``(group_id,
    traj_id)``. ``baseline="leave_one_out"`` (keyword only) gives RLOO's
    baseline at both levels; ``truncated`` (keyword only, per row) marks rows of
    trajectories cut by the time limit (see :func:`step_advantages`).

    Returns:
        ``[rows]`` float64 advantages, to broadcast to each step's action tokens.

    Example:
        >>> gigpo_advantages(["g"] * 3, [0, 0, 1], [0.0, 1.0, 0.0], ["a", "b", "a"],
        ...                  gamma=1.0, norm="none").tolist()
        [1.0, 0.5, -1.0]
    """
    a_episode, a_step = advantage_terms(
        group_ids, traj_ids, step_rewards, state_keys, gamma, norm, baseline, truncated
    )
    return a_episode + omega * a_step  # Eq. 8: A = A^E + ω A^S


# -- The algorithm: one iteration in the paper's order ----------------------------------


class GiGPO:
    """GiGPO (GRPO and RLOO by preset) as a :class:`~agentgym.trainers.trainer.Algorithm`."""

    Config = GiGPOConfig
    report = ReportSpec(
        figures=(
            ("Loss terms", (("policy loss", "pg_loss"), ("KL", "kl"), ("entropy", "entropy"))),
            (
                "Advantages",
                (
                    ("|A^E|", "adv_episode_abs"),
                    ("|A^S|", "adv_step_abs"),
                    ("steps in shared state groups", "step_group_share"),
                ),
            ),
        ),
        columns=(("A^E", "A_E"), ("A^S", "A_S"), ("A", "A")),
        note="One task group per logged iteration: every trajectory of the group, each step with its "
        "reward (after the invalid-action penalty), A^E, A^S and A = A^E + ω·A^S. Steps sharing an "
        "anchor state across the group share a state key.",
    )

    def __init__(self, config: GiGPOConfig, trainer: Trainer) -> None:
        from agentgym.trainers.learner import ClippedObjective  # torch loads with training, not config

        if config.omega > 0 and not trainer.env_info.get("state_key"):
            raise ConfigError(
                f"env {trainer.config.env!r} gives no info['state_key'], which GiGPO's step groups "
                "need; train grpo instead, or --set algo.omega=0"
            )
        self.config, self.trainer = config, trainer
        self.objective = ClippedObjective(config)

    @classmethod
    def needs(cls, config: GiGPOConfig) -> Needs:
        """A reference model when the KL term is on; every episode of the iteration's groups at once."""
        from agentgym.trainers.learner import ClippedObjective

        return Needs(
            reference=ClippedObjective(config).needs_reference,
            envs_per_iteration=config.group_size * config.groups_per_iteration,
            group_rollouts=(config.groups_per_iteration, config.group_size),
        )

    def modules(self) -> dict[str, Any]:
        return {}  # the policy is all GiGPO trains

    def train_iteration(self, iteration: int) -> dict[str, Any]:
        cfg, t = self.config, self.trainer
        # 1. Rollout: N trajectories of each task group, from the same initial state.
        started = time.perf_counter()
        result = t.iteration_rollout(iteration)  # with async_staleness K: played ahead, ≤ K versions old
        trajectories = [traj for traj in result.trajectories if not traj.failed]
        rollout_s = time.perf_counter() - started

        # 2. Step rewards: the env's, minus the penalty for an invalid action.
        started = time.perf_counter()
        rows = StepRows.from_trajectories(trajectories)
        rewards = rows.rewards - cfg.invalid_action_penalty * rows.invalid

        # 3. Advantages: A^E over the group's trajectories, A^S over anchor-state groups.
        a_episode, a_step = advantage_terms(
            rows.group_ids,
            rows.traj_ids,
            rewards,
            rows.state_keys,
            cfg.gamma,
            cfg.norm,
            cfg.baseline,
            rows.truncated,
        )
        advantages = a_episode + cfg.omega * a_step  # Eq. 8: A = A^E + ω A^S
        advantage_s = time.perf_counter() - started

        # 4. Policy update: the clipped objective on every step's action tokens.
        started = time.perf_counter()
        samples = t.samples(trajectories, advantages)
        stats = t.update(samples, self.objective, iteration)  # every rank, with samples or not
        update_s = time.perf_counter() - started

        if t.logs_samples(iteration):
            shown = annotate(trajectories[: cfg.group_size], rewards, a_episode, a_step, cfg.omega)
            t.log.samples(iteration + 1, shown)
        tokens = sum(x.num_action_tokens for x in samples)
        return {
            **rollout_metrics(result),  # failed episodes are counted by kind; none is trained on
            "step_group_share": _shared_share(rows.group_ids, rows.state_keys),
            "adv_episode_abs": float(np.abs(a_episode).mean()) if len(rows) else 0.0,
            "adv_step_abs": float(np.abs(a_step).mean()) if len(rows) else 0.0,
            **stats,
            "tokens": tokens,
            "tokens_per_s": tokens / update_s if update_s else 0.0,
            "rollout_s": rollout_s,
            "advantage_s": advantage_s,
            "update_s": update_s,
        }

    def state_dict(self) -> dict[str, Any]:
        return {}  # everything GiGPO needs lives in the model, optimizer and cursor

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


def _shared_share(group_ids: Sequence[str], state_keys: Sequence[str]) -> float:
    """Fraction of step rows whose anchor state another row of the group shares."""
    counts = Counter(zip(group_ids, state_keys, strict=True))
    return sum(counts[k] > 1 for k in zip(group_ids, state_keys, strict=True)) / max(len(group_ids), 1)


def annotate(
    trajectories: Sequence[Trajectory],
    rewards: np.ndarray,
    a_episode: np.ndarray,
    a_step: np.ndarray,
    omega: float = 1.0,
    width: int = 300,
) -> list[dict[str, Any]]:
    """Trajectories with each step's reward, A^E, A^S and A = A^E + ω·A^S, for the run's report."""
    out, row = [], 0
    for traj in trajectories:
        steps = []
        for step in traj.steps:
            steps.append(
                {
                    "observation": step.observation[:width],
                    "action": step.action[:width],
                    "reward": float(rewards[row]),
                    "invalid": step.invalid_action,
                    "state_key": step.state_key,
                    "A_E": float(a_episode[row]),
                    "A_S": float(a_step[row]),
                    "A": float(a_episode[row] + omega * a_step[row]),
                }
            )
            row += 1
        out.append({"group_id": traj.group_id, "task": traj.task, "outcome": traj.outcome, "steps": steps})
    return out
