"""Policy-gradient losses as pure functions on token tensors.

Every function takes tensors of shape ``[B, T]`` (B samples, T token
positions; ``logits`` add a vocabulary axis ``V``) and returns per-token values,
so the caller picks the aggregation. ``mask`` is 1.0 on the agent's own
(action) tokens and 0.0 on prompt, environment and padding tokens: only masked
tokens reach the loss.

The equations follow GiGPO (Feng et al. 2025), whose loss is PPO's clipped
surrogate (Schulman et al. 2017) with the dual clip of Ye et al. 2020, a k3 KL
penalty to a frozen reference model (Schulman 2020, "Approximating KL
divergence") and an entropy bonus, aggregated as a token mean. Tokens sampled
by older weights than the ones being updated (asynchronous training) are
corrected with AReaL's decoupled objective (Fu et al. 2025,
:func:`decoupled_ppo_loss`). Sources of each default: ``docs/papers.md``.

Example:
    >>> import torch
    >>> logp = torch.log(torch.tensor([[0.5, 0.5]]))
    >>> loss, clipped = ppo_clip_loss(logp, logp, torch.tensor([[1.0, -1.0]]))
    >>> loss.tolist(), clipped.tolist()
    ([[-1.0, 1.0]], [[False, False]])
"""

from __future__ import annotations

from typing import Any

import torch


def token_mean(values: torch.Tensor, mask: torch.Tensor, num_tokens: float | None = None) -> torch.Tensor:
    """Mean of ``values`` over the masked tokens of a batch.

    Eq. (token-mean): ``Σ_{b,t} values·mask / Σ_{b,t} mask``. Every token weighs
    the same, whatever its sample's length. With gradient accumulation, pass
    the mask sum of the whole mini-batch as ``num_tokens`` so that the summed
    micro-batch losses equal the mini-batch's token mean.

    Args:
        values: ``[B, T]`` per-token values.
        mask: ``[B, T]`` 1.0 where the token counts.
        num_tokens: the denominator; ``mask.sum()`` when None.

    Returns:
        A scalar tensor (0 when no token is masked).

    Example:
        >>> token_mean(torch.tensor([[1.0, 2.0], [3.0, 5.0]]), torch.tensor([[1.0, 0.0], [1.0, 1.0]]))
        tensor(3.)
    """
    total = mask.sum() if num_tokens is None else torch.as_tensor(num_tokens, dtype=values.dtype)
    return (values * mask).sum() / total.clamp(min=1.0)


def ppo_clip_loss(
    logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    clip_eps: float = 0.2,
    dual_clip: float = 3.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token PPO clipped surrogate loss, with the dual clip for negative advantages.

    Eq. (PPO): ``r = exp(logp - logp_old)``,
    ``L = max(-A·r, -A·clip(r, 1-ε, 1+ε))``.
    Eq. (dual clip, Ye et al. 2020): for ``A < 0``, ``L = min(L, -A·c)``, so a
    token whose ratio grew far beyond ``1+ε`` under a negative advantage adds
    at most ``|A|·c``.

    Args:
        logprobs: ``[B, T]`` log π_θ of each token (with gradient).
        old_logprobs: ``[B, T]`` log π_old recorded at rollout.
        advantages: ``[B, T]`` advantage of each token.
        clip_eps: ε of the clip range.
        dual_clip: c (> 1) of the dual clip.

    Returns:
        ``(loss, clipped)``: ``[B, T]`` per-token losses (to minimise) and a
        ``[B, T]`` bool tensor marking tokens where a clip was active.

    Example:
        >>> old = torch.zeros(1, 3)
        >>> new = torch.log(torch.tensor([[1.5, 1.5, 5.0]]))
        >>> loss, clipped = ppo_clip_loss(new, old, torch.tensor([[1.0, -1.0, -1.0]]))
        >>> [round(x, 4) for x in loss[0].tolist()], clipped[0].tolist()
        ([-1.2, 1.5, 3.0], [True, False, True])
    """
    ratio = torch.exp(logprobs - old_logprobs)  # Eq. r_t(θ)
    surrogate = -advantages * ratio
    surrogate_clipped = -advantages * torch.clamp(ratio, 1.0 - clip_eps, 1.0 + clip_eps)
    clip_loss = torch.maximum(surrogate, surrogate_clipped)  # Eq. PPO clip
    dual_bound = -advantages * dual_clip
    dual_active = (advantages < 0) & (dual_bound < clip_loss)
    loss = torch.where(dual_active, dual_bound, clip_loss)  # Eq. dual clip
    return loss, (surrogate_clipped > surrogate) | dual_active


def decoupled_ppo_loss(
    logprobs: torch.Tensor,
    proximal_logprobs: torch.Tensor,
    behaviour_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    clip_eps: float = 0.2,
    dual_clip: float = 3.0,
    weight_cap: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-token decoupled PPO loss (AReaL, Fu et al. 2025) for tokens sampled by older weights.

    Three policies: π_behav sampled the tokens (weights some versions old),
    π_prox is the policy before this update (the PPO trust region's centre)
    and π_θ the one being trained. The clip applies to ``π_θ / π_prox``, and
    the token is re-weighted by the importance ratio of the behaviour policy:
    ``w = π_prox / π_behav`` (data, no gradient),
    ``L = w · L_clip(π_θ / π_prox, A)`` (:func:`ppo_clip_loss`).
    With ``weight_cap``, tokens whose ``w`` exceeds it get weight 0 (AReaL's
    ``behav_imp_weight_cap``). When π_behav = π_prox, ``w`` is exactly 1 and
    the loss is :func:`ppo_clip_loss`'s.

    Args:
        logprobs: ``[B, T]`` log π_θ (with gradient).
        proximal_logprobs: ``[B, T]`` log π_prox, recomputed before the update.
        behaviour_logprobs: ``[B, T]`` log π_behav, recorded at generation.
        advantages: ``[B, T]`` advantage of each token.
        clip_eps, dual_clip: as in :func:`ppo_clip_loss`.
        weight_cap: drop tokens with ``w`` above it (> 1); None keeps all.

    Returns:
        ``(loss, clipped, weight)``: ``[B, T]`` per-token losses, clip flags and ``w``.

    Example:
        >>> prox = torch.log(torch.tensor([[0.5, 0.5, 0.9]]))
        >>> behav = torch.log(torch.tensor([[0.5, 0.25, 0.1]]))
        >>> loss, clipped, w = decoupled_ppo_loss(prox, prox, behav, torch.ones(1, 3), weight_cap=5.0)
        >>> [round(x, 4) for x in w[0].tolist()], [round(x, 4) for x in loss[0].tolist()]
        ([1.0, 2.0, 0.0], [-1.0, -2.0, -0.0])
    """
    loss, clipped = ppo_clip_loss(logprobs, proximal_logprobs, advantages, clip_eps, dual_clip)
    weight = torch.exp(proximal_logprobs - behaviour_logprobs).detach()  # π_prox / π_behav
    if weight_cap is not None:
        weight = torch.where(weight <= weight_cap, weight, torch.zeros_like(weight))
    return loss * weight, clipped, weight


def k3_kl(logprobs: torch.Tensor, ref_logprobs: torch.Tensor, clamp: float = 10.0) -> torch.Tensor:
    """Per-token k3 estimator of KL(π_θ ‖ π_ref), always ≥ 0.

    Eq. (k3): with ``x = log π_ref - log π_θ``, ``KL ≈ exp(x) - x - 1``. The
    log-ratio is clamped to ±20 before the exponential (no overflow) and the
    estimate to ±``clamp`` (the reference code's ``low_var_kl``).

    Args:
        logprobs: ``[B, T]`` log π_θ (with gradient).
        ref_logprobs: ``[B, T]`` log π_ref (no gradient).
        clamp: bound on each token's estimate.

    Returns:
        ``[B, T]`` per-token KL estimates.

    Example:
        >>> logp = torch.log(torch.tensor([[0.5, 0.25]]))
        >>> ref = torch.log(torch.tensor([[0.5, 0.5]]))
        >>> [round(x, 4) for x in k3_kl(logp, ref)[0].tolist()]
        [0.0, 0.3069]
    """
    log_ratio = torch.clamp(ref_logprobs - logprobs, -20.0, 20.0)
    kl = torch.exp(log_ratio) - log_ratio - 1.0  # Eq. k3
    return torch.clamp(kl, -clamp, clamp)


def token_logprobs(
    logits: torch.Tensor, labels: torch.Tensor, *, entropy: bool = False
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Log-probability of each label, and optionally each position's entropy, from one log-softmax.

    Eq.: ``log π(y_t) = log softmax(z_t)[y_t]``; ``H_t = -Σ_v π_v·log π_v``.
    One float32 log-softmax serves both (the vocabulary axis is the largest
    tensor of a training step: read once, not once per quantity).

    Args:
        logits: ``[B, T, V]``.
        labels: ``[B, T]`` token ids.
        entropy: also return the entropies.

    Returns:
        ``([B, T] log-probs, [B, T] entropies in nats or None)``, float32.

    Example:
        >>> z = torch.log(torch.tensor([[[0.25, 0.75], [0.5, 0.5]]]))
        >>> logp, ent = token_logprobs(z, torch.tensor([[1, 0]]), entropy=True)
        >>> [round(x, 4) for x in logp.exp()[0].tolist()], round(ent[0, 1].item(), 4)  # log 2
        ([0.75, 0.5], 0.6931)
    """
    logp = torch.log_softmax(logits.float(), dim=-1)
    picked = logp.gather(-1, labels.unsqueeze(-1)).squeeze(-1)
    return picked, (-(logp.exp() * logp).sum(-1) if entropy else None)


def policy_loss(
    logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    *,
    clip_eps: float,
    dual_clip: float,
    kl_coef: float = 0.0,
    ref_logprobs: torch.Tensor | None = None,
    entropy: torch.Tensor | None = None,
    entropy_coef: float = 0.0,
    num_tokens: float | None = None,
    behaviour_logprobs: torch.Tensor | None = None,
    weight_cap: float | None = None,
) -> tuple[torch.Tensor, dict[str, Any]]:
    """The full GiGPO objective for one (micro-)batch, to minimise.

    Eq.: ``L = mean_tok(L_clip) + β·mean_tok(KL_k3) - c_H·mean_tok(H)``; with
    ``behaviour_logprobs`` (tokens of older weights), ``L_clip`` is the
    decoupled loss (:func:`decoupled_ppo_loss`), ``old_logprobs`` the proximal
    policy's.

    Args:
        logprobs, old_logprobs, advantages, mask: ``[B, T]`` tensors (see above).
        clip_eps, dual_clip: the PPO clip range and the dual-clip constant.
        kl_coef: β; the KL term is skipped when 0 or ``ref_logprobs`` is None.
        ref_logprobs: ``[B, T]`` log π_ref.
        entropy: ``[B, T]`` per-token entropy; the bonus is skipped when None.
        entropy_coef: c_H.
        num_tokens: token-mean denominator (see :func:`token_mean`).
        behaviour_logprobs: ``[B, T]`` log π_behav where the tokens came from
            older weights than ``old_logprobs``'; None: the same policy.
        weight_cap: see :func:`decoupled_ppo_loss`.

    Returns:
        ``(loss, stats)`` where stats holds detached floats: ``pg_loss``,
        ``clip_frac``, ``kl``, ``entropy`` (each a token mean over this batch)
        and, with ``behaviour_logprobs``, ``behaviour_weight`` (the mean ``w``).

    Example:
        >>> z = torch.zeros(1, 2)
        >>> loss, stats = policy_loss(z, z, torch.ones(1, 2), torch.ones(1, 2), clip_eps=0.2, dual_clip=3.0)
        >>> loss.item(), stats["clip_frac"]
        (-1.0, 0.0)
    """
    stats: dict[str, Any] = {}
    if behaviour_logprobs is None:
        pg, clipped = ppo_clip_loss(logprobs, old_logprobs, advantages, clip_eps, dual_clip)
    else:
        pg, clipped, weight = decoupled_ppo_loss(
            logprobs, old_logprobs, behaviour_logprobs, advantages, clip_eps, dual_clip, weight_cap
        )
        stats["behaviour_weight"] = token_mean(weight, mask, num_tokens).item()
    pg_loss = token_mean(pg, mask, num_tokens)
    loss = pg_loss
    stats["pg_loss"] = pg_loss.item()
    stats["clip_frac"] = token_mean(clipped.float(), mask, num_tokens).item()
    if kl_coef and ref_logprobs is not None:
        kl = token_mean(k3_kl(logprobs, ref_logprobs), mask, num_tokens)
        loss = loss + kl_coef * kl
        stats["kl"] = kl.item()
    if entropy is not None:
        mean_entropy = token_mean(entropy, mask, num_tokens)
        loss = loss - entropy_coef * mean_entropy
        stats["entropy"] = mean_entropy.item()
    return loss, stats
