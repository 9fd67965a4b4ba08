"""MCTS-DPO and Agent Q on the training loop: search, pair, DPO, once per iteration.

Each iteration, in the paper's order (Xie et al. 2024, Algorithm 1):

1. **Search.** ``trees_per_iteration`` training episodes are played by the
   sliding tree search (:mod:`.mcts`), one env slot each, with the search
   policy: the current actor, or with ``refresh_every = k`` a frozen copy of it
   refreshed every k updates (iterative, on-policy MCTS-DPO).
2. **Pairs.** At each committed node, the highest- and lowest-valued visited
   children make a step-level preference pair (:func:`.mcts_dpo.select_pairs`);
   Agent Q first ranks the candidates with the policy as an AI critic and values
   them by ``α·Q + (1−α)·Q̂``, keeping pairs whose values differ by at least the
   threshold. The pairs are saved as a Hugging Face dataset
   (``pairs/iter_NNNNNN.parquet``; ``datasets.load_dataset("parquet", data_files=...)``
   reads them, and trl's ``DPOTrainer`` trains on them).
3. **DPO.** The policy is updated on the pairs with the conservative loss
   ``−(1−α)·log σ(β·h) − α·log σ(−β·h)`` (:func:`.mcts_dpo.preference_loss`),
   α the pair's conservative weight (MCTS-DPO) or 0 (Agent Q's DPO). The
   reference log-probs come from the starting model (MCTS-DPO) or were logged
   at collection by the searching policy (Agent Q's off-policy DPO).

A pair is training samples with one group id, the chosen side first: the
learner keeps a group in one micro-batch and in its order, so the objective
finds each pair's two sides in consecutive rows (:class:`PreferenceObjective`).
:class:`TrajectoryDPO`, the trajectory-level baseline, pairs a won and a lost
episode of one task group with the same objective. Defaults and their sources:
``docs/papers.md``.

Example:
    >>> from agentgym.trainers.algorithms import get_algorithm
    >>> get_algorithm("agent-q").preset["algo"]["pairs"]
    {'alpha': 0.5, 'min_margin': 0.1}
"""

from __future__ import annotations

import copy
import random
import shutil
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from agentgym.policies.hf import TransformersPolicy
from agentgym.records import Trajectory
from agentgym.rollout import RolloutResult, group_episodes, summarize
from agentgym.trainers.algorithms import Needs, ReportSpec
from agentgym.trainers.batching import Sample
from agentgym.trainers.mcts import SearchConfig, SearchResult, TreeSearch
from agentgym.trainers.mcts_dpo import (
    PairConfig,
    conservative_alpha,
    critic_values,
    pairs_dataset,
    policy_critic,
    preference_loss,
    select_pairs,
    tree_record,
)
from agentgym.trainers.runlog import rollout_metrics

if TYPE_CHECKING:
    import datasets

    from agentgym.trainers.learner import Trainable
    from agentgym.trainers.trainer import Trainer

PAIRS_DIR = "pairs"
"""Where a run keeps each iteration's preference pairs (``iter_NNNNNN.parquet``)."""


class TreeDPOConfig(BaseModel):
    """MCTS-DPO's settings (the ``algo`` section); Agent Q is a preset of them.

    The policy's learning rate, grad clip and micro-batch are the ``optim``
    section's (``micro_batch_size`` of at least 2 keeps a pair in one pass).
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    trees_per_iteration: int = Field(8, ge=1, description="Training episodes searched per iteration.")
    search: SearchConfig = Field(default_factory=SearchConfig, description="The tree search.")
    pairs: PairConfig = Field(default_factory=PairConfig, description="Which siblings make pairs.")
    beta: float = Field(0.1, gt=0, description="β: DPO's inverse temperature on the log-ratio margin.")
    conservative: bool = Field(
        True, description="Weigh each pair by min(N_r/(N_c+N_r), 0.5) (MCTS-DPO); false: plain DPO."
    )
    reference: Literal["model", "collection"] = Field(
        "model",
        description="DPO's reference log-probs: the starting model (MCTS-DPO), or the searching "
        "policy's, logged at collection (Agent Q's off-policy DPO).",
    )
    refresh_every: int = Field(
        1, ge=1, description="Updates between refreshes of the search policy to the current actor."
    )


# -- the objective: DPO over pairs of consecutive row runs ------------------------------------------


class PreferenceObjective:
    """:func:`.mcts_dpo.preference_loss` on a micro-batch of pairs, as the learner's objective.

    A pair is a run of chosen rows followed by a run of rejected rows (one row
    each for a step-level pair, one row per step for a trajectory-level pair):
    ``advantages`` carry ``+(1 + α)`` on a chosen row's tokens and ``−(1 + α)``
    on a rejected row's, α the pair's conservative weight. A side's log-prob is
    the sum of its rows' log-probs over their ``action_mask``. The reference is
    the learner's reference model, or ``old_logprobs`` (logged at collection).
    The loss is the mean over the mini-batch's pairs, each weighted by its rows
    (equal weights for step-level pairs).

    Example:
        >>> from agentgym.trainers.batching import collate
        >>> rows = [Sample([1, 2], [0.0, 1.0], [0.0, -1.0], [0.0, side]) for side in (1.0, -1.0)]
        >>> objective = PreferenceObjective(beta=0.1, collected_reference=True)
        >>> lp = torch.tensor([[0.0, -0.5], [0.0, -1.5]])
        >>> loss, stats = objective(collate(rows, 0), lp, None, None, 2.0, 2)
        >>> round(loss.item(), 4), stats["accuracy"]  # -log σ(0.1·(0.5 − (−0.5)))
        (0.6444, 1.0)
    """

    needs_entropy = False

    def __init__(self, beta: float, collected_reference: bool) -> None:
        self.beta, self.needs_reference = beta, not collected_reference

    def __call__(self, batch, logprobs, entropy, ref_logprobs, num_tokens, num_samples):  # type: ignore[no-untyped-def]
        mask = batch.action_mask
        reference = ref_logprobs if ref_logprobs is not None else batch.old_logprobs
        policy, ref = (logprobs * mask).sum(-1), (reference * mask).sum(-1)
        marker = batch.advantages[:, -1]  # ±(1 + α) on every action token; the last one is (left padding)
        chosen = marker > 0
        opens = chosen & torch.cat([chosen.new_ones(1), ~chosen[:-1]])  # a chosen run after a rejected one
        pair = torch.cumsum(opens.long(), 0) - 1
        n = int(pair[-1]) + 1
        if not chosen[0] or bool((torch.bincount(pair[~chosen], minlength=n) == 0).any()):
            raise ValueError("a preference micro-batch holds whole pairs: chosen rows, then rejected rows")

        def side(values: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
            return values.new_zeros(n).index_add(0, pair[rows], values[rows])

        pi_c, pi_r, ref_c, ref_r = (
            side(policy, chosen),
            side(policy, ~chosen),
            side(ref, chosen),
            side(ref, ~chosen),
        )
        alpha = marker[opens] - 1
        losses = preference_loss(pi_c, pi_r, ref_c, ref_r, beta=self.beta, alpha=alpha)
        weight = torch.bincount(pair, minlength=n).to(losses.dtype) / num_samples
        h = ((pi_c - ref_c) - (pi_r - ref_r)).detach()
        loss = (losses * weight).sum()
        return loss, {
            "dpo_loss": loss.item(),
            "margin": (self.beta * h * weight).sum().item(),
            "accuracy": ((h > 0).to(weight.dtype) * weight).sum().item(),
        }


def pair_samples(rows: datasets.Dataset, alphas: Sequence[float]) -> list[Sample]:
    """Two samples per pair (chosen, then rejected) with the pair's id as group.

    Each is the recorded prompt ids followed by the reply's ids; only the reply's
    tokens from the first one where the two replies differ are trained, and
    ``old_logprobs`` hold the log-probs logged at collection.

    Example:
        >>> import datasets
        >>> rows = datasets.Dataset.from_dict({"prompt_token_ids": [[7]], "chosen_token_ids": [[1, 2]],
        ...     "rejected_token_ids": [[1, 3]], "chosen_logprobs": [[-0.1, -0.2]],
        ...     "rejected_logprobs": [[-0.1, -0.9]], "pair_id": [0]})
        >>> [(s.input_ids, s.action_mask) for s in pair_samples(rows, [0.25])]
        [([7, 1, 2], [0.0, 0.0, 1.0]), ([7, 1, 3], [0.0, 0.0, 1.0])]
    """
    samples = []
    for row, alpha in zip(rows, alphas, strict=True):
        prompt, chosen, rejected = row["prompt_token_ids"], row["chosen_token_ids"], row["rejected_token_ids"]
        start = next(
            (i for i, (a, b) in enumerate(zip(chosen, rejected, strict=False)) if a != b),
            min(len(chosen), len(rejected)),
        )
        for sign, ids, logps in (
            (1.0, chosen, row["chosen_logprobs"]),
            (-1.0, rejected, row["rejected_logprobs"]),
        ):
            n = len(prompt) + start
            samples.append(
                Sample(
                    input_ids=[*prompt, *ids],
                    action_mask=[0.0] * n + [1.0] * (len(ids) - start),
                    old_logprobs=[0.0] * len(prompt) + list(logps),
                    advantages=[sign * (1.0 + float(alpha))] * (len(prompt) + len(ids)),
                    group=f"pair:{row['pair_id']}",
                )
            )
    return samples


# -- the algorithm: one iteration in the paper's order -------------------------------------------


class TreeDPO:
    """MCTS-DPO (and Agent Q, a preset) as a :class:`~agentgym.trainers.trainer.Algorithm`."""

    Config = TreeDPOConfig
    report = ReportSpec(
        figures=(
            ("Preference pairs", (("pairs per tree", "pairs_per_tree"), ("value gap", "value_gap"))),
            ("DPO", (("loss", "dpo_loss"), ("β·margin", "margin"), ("pair accuracy", "accuracy"))),
            ("Search", (("env steps per episode step", "branching"), ("nodes per tree", "nodes"))),
        ),
        columns=(("N", "visits"), ("Q", "q"), ("prior", "prior"), ("siblings", "siblings")),
        note="Committed steps of a logged iteration's searched episodes: each chosen step's visit "
        "count N, value Q and prior, and how many siblings the search expanded beside it. "
        "The first searched tree of the iteration is drawn below the trajectories.",
    )

    @classmethod
    def needs(cls, config: TreeDPOConfig) -> Needs:
        """The starting model as reference (unless logged at collection); one slot per searched tree;
        its search, which search at test time on its runs starts from."""
        return Needs(
            reference=config.reference == "model",
            envs_per_iteration=config.trees_per_iteration,
            in_process_policy=True,  # the search samples from the actor (or its frozen copy) itself
            search=config.search,
        )

    def __init__(self, config: TreeDPOConfig, trainer: Trainer) -> None:
        self.config, self.trainer = config, trainer
        self.objective = PreferenceObjective(config.beta, collected_reference=config.reference != "model")
        self.searcher: Trainable | None = None  # the frozen search policy, with refresh_every > 1

    def modules(self) -> dict[str, Trainable]:
        from agentgym.trainers.learner import Trainable

        if self.config.refresh_every == 1:
            return {}  # the search samples from the actor itself
        model = copy.deepcopy(self.trainer.learner.model).requires_grad_(False).eval()
        self.searcher = Trainable(model)
        return {"search_policy": self.searcher}

    def train_iteration(self, iteration: int) -> dict[str, Any]:
        cfg, t = self.config, self.trainer
        # 1. Search: the sliding tree search plays each training episode, one env slot per tree.
        started = time.perf_counter()
        search = TreeSearch(t.engine, cfg.search)
        t.engine.policy = self._search_policy(iteration)
        specs = group_episodes(t.next_tasks(cfg.trees_per_iteration), seed=t.episode_seed(iteration))
        with torch.no_grad(), t.learner.autocast():
            results = search.run(specs)
            # 2. Pairs: siblings of the committed nodes, by Q (Agent Q: mixed with the AI critic's Q̂).
            if cfg.pairs.alpha < 1:
                critic_values(results, policy_critic(t.engine))
        search_s = time.perf_counter() - started
        rows = pairs_dataset(results, t.engine, cfg.pairs, self._pair_rng(iteration))
        self._save_pairs(rows, iteration)

        # 3. DPO on this iteration's pairs, each pair in one micro-batch.
        started = time.perf_counter()
        alphas = (
            conservative_alpha(rows["chosen_visits"], rows["rejected_visits"]).tolist()
            if cfg.conservative
            else [0.0] * len(rows)
        )
        stats = t.update(pair_samples(rows, alphas), self.objective, iteration) if len(rows) else {}
        update_s = time.perf_counter() - started

        trajectories = [r.state.trajectory for r in results]
        if t.logs_samples(iteration):
            self._log_samples(iteration + 1, results)
        committed = sum(len(traj.steps) for traj in trajectories)
        env_steps = sum(r.env_steps for r in results)
        gaps = np.subtract(rows["chosen_q"], rows["rejected_q"]) if len(rows) else np.zeros(1)
        return {
            **rollout_metrics(RolloutResult(trajectories, summarize(trajectories, search_s, env_steps))),
            "branching": env_steps / max(committed, 1),
            "nodes": float(np.mean([r.nodes for r in results])),
            "pairs": len(rows),
            "pairs_per_tree": len(rows) / len(results),
            "value_gap": float(np.mean(gaps)),
            "alpha": float(np.mean(alphas)) if alphas else 0.0,
            **stats,
            "search_s": search_s,
            "update_s": update_s,
        }

    def _pair_rng(self, iteration: int) -> random.Random:
        """Picks the random rejected child (``pairs.rejected=random``) of an iteration's pairs."""
        return random.Random(f"{self.trainer.config.seed}:{iteration}")

    def _search_policy(self, iteration: int) -> TransformersPolicy:
        """The actor itself, or the frozen copy, refreshed to the actor every ``refresh_every`` updates."""
        t = self.trainer
        if self.searcher is None:
            return t.policy
        if iteration % self.config.refresh_every == 0:
            self.searcher.module.load_state_dict(t.learner.model.state_dict())
        policy = TransformersPolicy(self.searcher.module, t.learner.tokenizer, seed=t.config.seed)
        policy.seeds = t.policy.seeds  # the trainer's per-iteration reply seeds
        return policy

    def _save_pairs(self, rows: datasets.Dataset, iteration: int) -> None:
        if not self.trainer.ranks.is_main:
            return
        folder = self.trainer.run_dir / PAIRS_DIR
        folder.mkdir(exist_ok=True)
        path = folder / f"iter_{iteration + 1:06d}.parquet"
        tmp = path.with_suffix(".tmp")
        rows.to_parquet(str(tmp))
        shutil.move(tmp, path)  # a resumed run rewrites the iterations after its checkpoint

    def _log_samples(self, iteration: int, results: Sequence[SearchResult], width: int = 300) -> None:
        t, out = self.trainer, []
        for result in results[:4]:
            traj = result.state.trajectory
            steps = []
            for step, node in zip(traj.steps, result.committed[1:], strict=True):
                steps.append(
                    {
                        "observation": step.observation[:width],
                        "action": step.action[:width],
                        "reward": step.reward,
                        "invalid": step.invalid_action,
                        "state_key": step.state_key,
                        "visits": node.visits,
                        "q": node.q,
                        "prior": node.prior,
                        "siblings": len(node.parent.children) - 1 if node.parent else 0,
                    }
                )
            out.append(
                {"task": traj.task, "outcome": traj.outcome, "group_id": traj.group_id, "steps": steps}
            )
        t.log.samples(iteration, out)
        first = results[0]
        pairs = select_pairs(first, self.config.pairs, self._pair_rng(iteration - 1))  # the dataset's
        t.log.trees(iteration, [{"task": first.state.trajectory.task, "tree": tree_record(first, pairs)}])

    def state_dict(self) -> dict[str, Any]:
        return {}  # the search policy is a module, saved by the trainer; pairs are files

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


# -- the trajectory-level baseline: whole won vs lost episodes -------------------------------------


class TrajectoryDPOConfig(BaseModel):
    """Trajectory-level DPO's settings (the ``algo`` section)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    group_size: int = Field(8, ge=2, description="Episodes per task group (same task, same start).")
    groups_per_iteration: int = Field(4, ge=1, description="Task groups played per iteration.")
    beta: float = Field(0.1, gt=0, description="β: DPO's inverse temperature on the log-ratio margin.")


class TrajectoryDPO:
    """DPO on whole episodes: per task group, the highest-return episode against the lowest.

    The baseline MCTS-DPO and Agent Q compare with (Agent Q's "outcome DPO"): a
    pair only where the two returns differ; each side's log-prob is the sum over
    its steps' replies; the reference is the starting model.
    """

    Config = TrajectoryDPOConfig
    report = ReportSpec(
        figures=(("DPO", (("loss", "dpo_loss"), ("β·margin", "margin"), ("pair accuracy", "accuracy"))),),
        note="Episodes of a logged iteration.",
    )

    @classmethod
    def needs(cls, config: TrajectoryDPOConfig) -> Needs:
        """The starting model as reference; every episode of the iteration's task groups at once
        (data-parallel ranks share the groups)."""
        return Needs(
            reference=True,
            envs_per_iteration=config.group_size * config.groups_per_iteration,
            group_rollouts=(config.groups_per_iteration, config.group_size),
        )

    def __init__(self, config: TrajectoryDPOConfig, trainer: Trainer) -> None:
        self.config, self.trainer = config, trainer
        self.objective = PreferenceObjective(config.beta, collected_reference=False)

    def modules(self) -> dict[str, Trainable]:
        return {}

    def train_iteration(self, iteration: int) -> dict[str, Any]:
        t = self.trainer
        result = t.iteration_rollout(iteration)  # this rank's task groups
        groups: dict[str | None, list[Trajectory]] = {}
        for traj in result.trajectories:
            if not traj.failed:
                groups.setdefault(traj.group_id, []).append(traj)
        samples, pairs = [], 0
        for group_id, trajectories in groups.items():
            best = max(trajectories, key=lambda traj: traj.return_)
            worst = min(trajectories, key=lambda traj: traj.return_)
            if best.return_ <= worst.return_:
                continue
            pairs += 1
            for traj, sign in ((best, 1.0), (worst, -1.0)):
                for sample in t.samples([traj], [sign] * len(traj.steps)):
                    sample.group = f"pair:{group_id}"
                    samples.append(sample)
        stats = t.update(samples, self.objective, iteration)  # every rank steps, with pairs or without
        return {**rollout_metrics(result), "pairs": pairs, **stats}

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass
