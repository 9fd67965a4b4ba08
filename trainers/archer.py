"""ArCHer: hierarchical multi-turn RL (Zhou et al. 2024), an utterance-level critic and a token-level actor.

ArCHer trains at two levels. An off-policy **critic** learns the value of whole
utterances from a replay buffer of transitions (s, a, r, s', done): twin Q
heads regress on ``r + γ(1 − done)·V̄(s')`` and twin V heads on ``Q̄(s, ã)``
with ã freshly sampled from the current actor, both targets from a Polyak-
averaged target critic (:mod:`.critic`). The **actor** is the policy itself,
trained token by token with REINFORCE, every token of a sampled utterance ã
weighted by the critic's utterance advantage ``A = min(Q1,Q2)(s,ã) − min(V1,V2)(s)``.

Each iteration: play ``rollout_trajectories`` episodes into the buffer
(:mod:`.replay_buffer`); take ``critic_steps`` critic steps of
``critic_batch_size`` transitions, each followed by a target update; after
``warmup_iterations`` iterations, take ``actor_steps`` actor steps of
``actor_batch_size`` states. Defaults and their sources: ``docs/papers.md``.

Example:
    >>> from torch import tensor
    >>> utterance_advantage(tensor([1.0]), tensor([2.0]), tensor([0.5]), tensor([0.0]))
    tensor([1.])
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field

import agentgym
from agentgym.exceptions import ConfigError, ContractError
from agentgym.policies.base import SamplingParams
from agentgym.records import Trajectory
from agentgym.rollout import group_episodes
from agentgym.trainers.algorithms import Needs, ReportSpec
from agentgym.trainers.batching import Sample
from agentgym.trainers.config import OptimSettings
from agentgym.trainers.critic import Critic, load_encoder, polyak_update
from agentgym.trainers.replay_buffer import FILENAME, ReplayBuffer, Transition
from agentgym.trainers.runlog import rollout_metrics

if TYPE_CHECKING:
    from agentgym.trainers.learner import Trainable
    from agentgym.trainers.trainer import Trainer


class ArCHerConfig(BaseModel):
    """ArCHer's settings (the ``algo`` section); sources of the defaults in ``docs/papers.md``.

    The actor's learning rate, grad clip and micro-batch are the ``optim`` section's.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    rollout_trajectories: int = Field(32, ge=1, description="Episodes played into the buffer per iteration.")
    capacity: int = Field(10_000, ge=1, description="Replay buffer capacity in transitions.")
    critic_steps: int = Field(5, ge=0, description="Critic optimizer steps per iteration.")
    critic_batch_size: int = Field(256, ge=1, description="Transitions per critic step.")
    actor_steps: int = Field(3, ge=0, description="Actor optimizer steps per iteration after warm-up.")
    actor_batch_size: int = Field(256, ge=1, description="States per actor step (ã sampled afresh).")
    warmup_iterations: int = Field(20, ge=0, description="Iterations that train only the critic.")
    critic_lr: float = Field(1e-5, gt=0, description="Critic learning rate (Adam).")
    critic_grad_clip: float = Field(1.0, gt=0, description="Clip the critic's gradient norm to this value.")
    gamma: float = Field(0.95, ge=0, le=1, description="γ: discount of the critic's Bellman target.")
    tau: float = Field(0.1, gt=0, le=1, description="τ: Polyak step of the target critic per critic step.")
    critic_encoder: str = Field(
        "roberta-base",
        description="tiny (a small BERT from a config), policy (the policy's backbone) or a "
        "Hugging Face encoder id or path (the paper: roberta-base).",
    )
    critic_max_length: int = Field(512, ge=8, description="Longest text the critic reads, in tokens.")


# -- The losses, as the paper writes them -----------------------------------------------


def critic_loss(
    q1: torch.Tensor,
    q2: torch.Tensor,
    v1: torch.Tensor,
    v2: torch.Tensor,
    *,
    reward: torch.Tensor,
    done: torch.Tensor,
    next_v1: torch.Tensor,
    next_v2: torch.Tensor,
    pi_q1: torch.Tensor,
    pi_q2: torch.Tensor,
    gamma: float,
) -> torch.Tensor:
    """Σ_k MSE(Q_k, r + γ(1 − done)·V̄_k(s')) + MSE(V_k, Q̄_k(s, ã)); every input ``[B]``.

    ``q*``/``v*`` come from the online critic; ``next_v*`` (V̄ at s') and
    ``pi_q*`` (Q̄ at the actor's fresh ã) from the target critic, and are used
    without gradient.

    Example:
        >>> t = torch.tensor
        >>> critic_loss(t([1.0]), t([0.0]), t([0.0]), t([2.0]), reward=t([1.0]), done=t([0.0]),
        ...             next_v1=t([2.0]), next_v2=t([0.0]), pi_q1=t([1.0]), pi_q2=t([1.0]), gamma=0.5)
        tensor(4.)
    """
    not_done = 1.0 - done.to(q1.dtype)
    loss = q1.new_zeros(())
    for q, v, next_v, pi_q in ((q1, v1, next_v1, pi_q1), (q2, v2, next_v2, pi_q2)):
        target_q = reward + gamma * not_done * next_v.detach()  # Q's target: r + γ(1 − done) V̄(s')
        loss = loss + F.mse_loss(q, target_q) + F.mse_loss(v, pi_q.detach())  # V's target: Q̄(s, ã)
    return loss


def utterance_advantage(
    q1: torch.Tensor, q2: torch.Tensor, v1: torch.Tensor, v2: torch.Tensor
) -> torch.Tensor:
    """``A = min(Q1, Q2) − min(V1, V2)``, each ``[B]`` (pessimistic twin estimates)."""
    return torch.minimum(q1, q2) - torch.minimum(v1, v2)


def actor_loss(
    logprobs: torch.Tensor,
    mask: torch.Tensor,
    advantage: torch.Tensor,
    values: torch.Tensor | None = None,
) -> torch.Tensor:
    """REINFORCE with the utterance advantage on every token of the sampled utterance.

    Args:
        logprobs: ``[B, T]`` log π(ã_t | s, ã_<t).
        mask: ``[B, T]`` 1 at the utterance's tokens.
        advantage: ``[B]`` the critic's A (no gradient).
        values: ``[B, T]`` optional token-level baseline (the authors' ``use_baseline``),
            regressed on A; the policy gradient then uses the residual ``A − values``.

    Returns:
        Without ``values``: ``−mean_b(A_b · Σ_t logp·mask)``. With ``values``:
        ``mean(((A − values)·mask)²) − mean_b Σ_t (A − values)·logp·mask``, the
        residual without gradient.

    Example:
        >>> lp, m = torch.tensor([[-1.0, -2.0], [-0.5, 0.0]]), torch.tensor([[1.0, 1.0], [1.0, 0.0]])
        >>> actor_loss(lp, m, torch.tensor([1.0, -2.0]))
        tensor(1.)
    """
    advantage = advantage.detach()
    if values is None:
        return -(advantage * (logprobs * mask).sum(-1)).mean()
    residual = advantage.unsqueeze(-1) - values
    value_loss = ((residual * mask) ** 2).mean()
    return value_loss - (residual.detach() * logprobs * mask).sum(-1).mean()


# -- The algorithm: one iteration in the paper's order -----------------------------------


class _ActorObjective:
    """:func:`actor_loss` on a micro-batch, scaled to the mini-batch's mean over samples."""

    needs_reference = False
    needs_entropy = False

    def __call__(self, batch, logprobs, entropy, ref_logprobs, num_tokens, num_samples):  # type: ignore[no-untyped-def]
        advantage = batch.advantages[:, -1]  # A_b, broadcast to b's tokens (left padding: last is an action)
        loss = actor_loss(logprobs, batch.action_mask, advantage) * (len(advantage) / num_samples)
        return loss, {"pg_loss": loss.item()}


class ArCHer:
    """ArCHer as a :class:`~agentgym.trainers.trainer.Algorithm`: critic and actor on one replay buffer."""

    Config = ArCHerConfig
    report = ReportSpec(
        figures=(
            ("Critic", (("critic loss", "critic_loss"), ("critic grad norm", "critic_grad_norm"))),
            ("Values", (("Q(s, a)", "q"), ("V(s)", "v"), ("A(s, ã)", "advantage"))),
            ("Actor", (("policy loss", "pg_loss"), ("actor grad norm", "grad_norm"))),
        ),
        columns=(("Q", "Q"), ("V", "V"), ("A", "A")),
        note="Trajectories of a logged iteration, each step with its reward, the critic's "
        "Q = min(Q1, Q2)(s, a), V = min(V1, V2)(s) and A = Q − V after the iteration's critic steps.",
    )

    def __init__(self, config: ArCHerConfig, trainer: Trainer) -> None:
        _check_reward_signal(trainer.config.env, trainer.config.env_kwargs, trainer.config.seat)
        self.config, self.trainer = config, trainer
        self.buffer: ReplayBuffer | None = None  # opened by load_state_dict (resuming) or the first iteration
        self.objective = _ActorObjective()

    @classmethod
    def needs(cls, config: ArCHerConfig) -> Needs:
        """No reference model; the iteration's episodes at once; no task groups (one process)."""
        return Needs(envs_per_iteration=config.rollout_trajectories, in_process_policy=True)

    def modules(self) -> dict[str, Trainable]:
        from agentgym.trainers.learner import Trainable

        cfg, t = self.config, self.trainer
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(t.config.seed)
            encoder, tokenizer = load_encoder(
                cfg.critic_encoder, t.config.model.name_or_path, t.learner.tokenizer, seed=t.config.seed
            )
            critic = Critic(encoder, tokenizer, cfg.critic_max_length).to(t.learner.device)
        target = copy.deepcopy(critic).requires_grad_(False)
        optim = OptimSettings(lr=cfg.critic_lr, weight_decay=0.0, grad_clip=cfg.critic_grad_clip)
        self.critic, self.target = Trainable(critic, optim), Trainable(target)
        return {"critic": self.critic, "target_critic": self.target}

    def train_iteration(self, iteration: int) -> dict[str, Any]:
        cfg, t = self.config, self.trainer
        rng = np.random.default_rng([t.config.seed, iteration, 2])
        if self.buffer is None:  # a new run (or one started over): the buffer file starts empty
            self.buffer = ReplayBuffer(t.run_dir / FILENAME, cfg.capacity)
        # 1. Rollout: play episodes with the current actor into the replay buffer.
        started = time.perf_counter()
        tasks = t.next_tasks(cfg.rollout_trajectories)
        result = t.rollout(group_episodes(tasks, split="train", seed=t.episode_seed(iteration)))
        trajectories = [traj for traj in result.trajectories if not traj.failed]
        self.buffer.add(transitions(trajectories, t.learner.tokenizer))
        rollout_s = time.perf_counter() - started

        # 2. Critic: Bellman targets from the target critic, then a Polyak step, per critic step.
        started = time.perf_counter()
        critic_stats: list[dict[str, float]] = []
        for _ in range(cfg.critic_steps):
            critic_stats.append(self.critic_step(self.buffer.sample(cfg.critic_batch_size, rng)))
        critic_s = time.perf_counter() - started

        # 3. Actor: after warm-up, REINFORCE on fresh utterances weighted by the critic's advantage.
        started = time.perf_counter()
        actor_stats: list[dict[str, float]] = []
        if iteration >= cfg.warmup_iterations:
            for step in range(cfg.actor_steps):
                states = self.buffer.sample(cfg.actor_batch_size, rng)
                actor_stats.append(self.actor_step(states, iteration * max(cfg.actor_steps, 1) + step))
        actor_s = time.perf_counter() - started

        if t.logs_samples(iteration):
            t.log.samples(iteration + 1, self._annotate(trajectories[:4]))
        return {
            **rollout_metrics(result),  # failed episodes are counted by kind; none enters the buffer
            "buffer": len(self.buffer),
            **_mean(critic_stats),
            **_mean(actor_stats),
            "rollout_s": rollout_s,
            "critic_s": critic_s,
            "actor_s": actor_s,
        }

    def sample_utterances(self, states: Sequence[Transition]) -> list[Any]:
        """ã ~ π(·|s) for each state, sampled at temperature 1 from the current actor."""
        t = self.trainer
        sampling = SamplingParams(temperature=1.0, max_new_tokens=t.config.rollout.max_new_tokens)
        with torch.no_grad(), t.learner.autocast():
            return t.policy.generate_ids([s.prompt_ids for s in states], sampling)

    def critic_step(self, batch: Sequence[Transition]) -> dict[str, float]:
        """One critic step on ``batch`` (Bellman targets from the target critic), then a Polyak step."""
        critic, target = self.critic.module, self.target.module
        obs = [b.observation for b in batch]
        pi_actions = [g.text for g in self.sample_utterances(batch)]
        with torch.no_grad():
            next_v1, next_v2 = target.values([b.next_observation for b in batch])
            pi_q1, pi_q2, _, _ = target(obs, pi_actions)
        q1, q2, v1, v2 = critic(obs, [b.action for b in batch])
        device = q1.device
        loss = critic_loss(
            q1,
            q2,
            v1,
            v2,
            reward=torch.tensor([b.reward for b in batch], dtype=q1.dtype, device=device),
            done=torch.tensor([b.done for b in batch], dtype=q1.dtype, device=device),
            next_v1=next_v1,
            next_v2=next_v2,
            pi_q1=pi_q1,
            pi_q2=pi_q2,
            gamma=self.config.gamma,
        )
        grad_norm = self.critic.step(loss)
        polyak_update(target, critic, self.config.tau)
        return {
            "critic_loss": loss.item(),
            "critic_grad_norm": grad_norm,
            "q": torch.minimum(q1, q2).mean().item(),
            "v": torch.minimum(v1, v2).mean().item(),
        }

    def actor_step(self, states: Sequence[Transition], step: int) -> dict[str, float]:
        """One actor update: fresh utterances ã at ``states``, each token weighted by the critic's A(s, ã)."""
        generations = self.sample_utterances(states)
        with torch.no_grad():
            obs, utterances = [s.observation for s in states], [g.text for g in generations]
            q1, q2, v1, v2 = self.critic.module(obs, utterances)
            advantage = utterance_advantage(q1, q2, v1, v2).tolist()
        samples = []
        for state, gen, a in zip(states, generations, advantage, strict=True):
            n, m = len(state.prompt_ids), len(gen.token_ids)
            samples.append(
                Sample(
                    input_ids=[*state.prompt_ids, *gen.token_ids],
                    action_mask=[0.0] * n + [1.0] * m,
                    old_logprobs=[0.0] * n + list(gen.logprobs),
                    advantages=[0.0] * n + [a] * m,
                )
            )
        stats = self.trainer.update(samples, self.objective, step)
        return {**stats, "advantage": float(np.mean(advantage))}

    def _annotate(self, trajectories: Sequence[Trajectory], width: int = 300) -> list[dict[str, Any]]:
        """Trajectories with each step's Q, V and A under the current critic, for the report."""
        tokenizer, out = self.trainer.learner.tokenizer, []
        for traj in trajectories:
            rows = transitions([traj], tokenizer)
            with torch.no_grad():
                q1, q2, v1, v2 = self.critic.module([r.observation for r in rows], [r.action for r in rows])
            q, v = torch.minimum(q1, q2).tolist(), torch.minimum(v1, v2).tolist()
            steps = [
                {
                    "observation": step.observation[:width],
                    "action": step.action[:width],
                    "reward": step.reward,
                    "invalid": step.invalid_action,
                    "state_key": step.state_key,
                    "Q": q[i],
                    "V": v[i],
                    "A": q[i] - v[i],
                }
                for i, step in enumerate(traj.steps)
            ]
            out.append(
                {"task": traj.task, "outcome": traj.outcome, "group_id": traj.group_id, "steps": steps}
            )
        return out

    def state_dict(self) -> dict[str, Any]:
        # critic and target critic are modules(), saved by the trainer
        return {"replay_added": self.buffer.added if self.buffer else 0}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        path = self.trainer.run_dir / FILENAME
        self.buffer = ReplayBuffer(path, self.config.capacity, added=state["replay_added"])


def transitions(trajectories: Sequence[Trajectory], tokenizer: Any) -> list[Transition]:
    """The utterance transitions of ``trajectories``: s is the prompt the policy saw, a its reply.

    An episode's last step is ``done`` whether the env terminated or truncated it
    (the authors' code ends an episode at the turn limit the same way).
    """
    out = []
    for traj in trajectories:
        states = [tokenizer.decode(step.prompt_token_ids or []) for step in traj.steps]
        for i, step in enumerate(traj.steps):
            if step.prompt_token_ids is None:
                raise ConfigError("ArCHer trains on trajectories of a model policy (recorded token ids)")
            last = i == len(traj.steps) - 1
            out.append(
                Transition(
                    prompt_ids=step.prompt_token_ids,
                    observation=states[i],
                    action=step.response,
                    reward=step.reward,
                    next_observation="" if last else states[i + 1],
                    done=last,
                )
            )
    return out


def _check_reward_signal(env_id: str, env_kwargs: dict[str, Any], seat: dict[str, Any] | None) -> None:
    """Refuse an env whose expert episode on train task 0 is paid no reward at all (nothing to learn).

    Envs without an expert are not probed.
    """
    env = agentgym.make(env_id, **env_kwargs)
    if isinstance(env, agentgym.TextAECEnv):
        env = agentgym.seat(env, **(seat or {}))
    rewards: list[float] = []
    try:
        env.reset(seed=0, options={"split": "train", "task_id": 0})
        done = False
        while not done:
            try:
                action = env.unwrapped.expert_action()
            except ContractError:
                return  # no expert to probe with
            _, reward, terminated, truncated, _ = env.step(action)
            rewards.append(reward)
            done = terminated or truncated
    finally:
        env.close()
    if not any(rewards):
        raise ConfigError(
            f"env {env_id!r} paid no reward over an expert episode ({len(rewards)} steps, every reward 0); "
            "ArCHer's critic learns from rewards: choose an env (or env_kwargs) that pays them"
        )


def _mean(stats: Sequence[dict[str, float]]) -> dict[str, float]:
    return {key: float(np.mean([s[key] for s in stats])) for key in stats[0]} if stats else {}
