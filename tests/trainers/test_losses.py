"""The loss functions on hand-made tensors: values and where the gradient is zero."""

from __future__ import annotations

import math

import pytest
import torch

from agentgym.trainers.losses import (
    decoupled_ppo_loss,
    k3_kl,
    policy_loss,
    ppo_clip_loss,
    token_logprobs,
    token_mean,
)

RATIOS = [0.5, 1.0, 1.5, 5.0]


def _ppo(advantage: float) -> tuple[list[float], list[bool], list[float]]:
    logp = torch.log(torch.tensor([RATIOS])).requires_grad_()
    loss, clipped = ppo_clip_loss(logp, torch.zeros(1, 4), torch.full((1, 4), advantage), 0.2, 3.0)
    loss.sum().backward()
    return loss[0].tolist(), clipped[0].tolist(), logp.grad[0].tolist()


def test_clip_for_positive_advantage() -> None:
    # L = max(-r, -clip(r, 0.8, 1.2)): r=0.5 → -0.5; 1 → -1; 1.5 → -1.2 (clipped); 5 → -1.2 (clipped).
    loss, clipped, grad = _ppo(1.0)
    assert loss == pytest.approx([-0.5, -1.0, -1.2, -1.2])
    assert clipped == [False, False, True, True]
    # dL/dlogp = -A·r where unclipped, 0 where clipped.
    assert grad == pytest.approx([-0.5, -1.0, 0.0, 0.0])


def test_dual_clip_for_negative_advantage() -> None:
    # L = min(max(r, clip(r)), 3): r=0.5 → 0.8 (clipped); 1 → 1; 1.5 → 1.5; 5 → 3 (dual clip).
    loss, clipped, grad = _ppo(-1.0)
    assert loss == pytest.approx([0.8, 1.0, 1.5, 3.0])
    assert clipped == [True, False, False, True]
    assert grad == pytest.approx([0.0, 1.0, 1.5, 0.0])


def test_token_mean_weighs_tokens_not_samples() -> None:
    values = torch.tensor([[1.0, 1.0, 1.0, 0.0], [4.0, 0.0, 0.0, 0.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    assert token_mean(values, mask).item() == pytest.approx(7 / 4)  # not the sample mean (1 + 4) / 2
    # Micro-batches divided by the mini-batch's token count add up to its token mean.
    halves = token_mean(values[:1], mask[:1], 4.0) + token_mean(values[1:], mask[1:], 4.0)
    assert halves.item() == pytest.approx(7 / 4)
    assert token_mean(values, torch.zeros_like(mask)).item() == 0.0


def test_k3_kl() -> None:
    logp = torch.log(torch.tensor([[0.5, 0.25, 0.1]]))
    ref = torch.log(torch.tensor([[0.5, 0.5, 0.4]]))
    x = [0.0, math.log(2.0), math.log(4.0)]  # log π_ref - log π
    expected = [math.exp(v) - v - 1 for v in x]
    assert k3_kl(logp, ref)[0].tolist() == pytest.approx(expected)
    # A huge log-ratio is clamped to 20 inside, then the estimate to 10.
    assert k3_kl(torch.tensor([[-50.0]]), torch.tensor([[0.0]])).item() == 10.0


def test_entropy() -> None:
    logits = torch.tensor([[[0.0, 0.0, 0.0, 0.0], [100.0, 0.0, 0.0, 0.0]]])
    entropy = token_logprobs(logits, torch.zeros(1, 2, dtype=torch.long), entropy=True)[1]
    assert entropy[0].tolist() == pytest.approx([math.log(4), 0.0], abs=1e-6)


def test_token_logprobs() -> None:
    logits = torch.log(torch.tensor([[[0.1, 0.9], [0.7, 0.3]]]))
    got, entropy = token_logprobs(logits, torch.tensor([[1, 0]]))
    assert got.exp()[0].tolist() == pytest.approx([0.9, 0.7])
    assert entropy is None


def test_policy_loss_combines_the_terms() -> None:
    logp = torch.log(torch.tensor([[0.5, 0.25, 0.3]]))
    old = torch.log(torch.tensor([[0.5, 0.5, 0.3]]))
    ref = torch.log(torch.tensor([[0.25, 0.25, 0.3]]))
    adv = torch.tensor([[2.0, -1.0, 9.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0]])  # the third token is not the agent's
    entropy = torch.tensor([[1.0, 3.0, 100.0]])
    loss, stats = policy_loss(
        logp,
        old,
        adv,
        mask,
        clip_eps=0.2,
        dual_clip=3.0,
        kl_coef=0.1,
        ref_logprobs=ref,
        entropy=entropy,
        entropy_coef=0.01,
    )
    # PG: token 1 r=1 → -2; token 2 r=0.5 under A=-1 → max(0.5, 0.8) = 0.8. Mean -0.6.
    # KL: token 1 x = log 0.5 → 0.5 + ln 2 - 1; token 2 x = 0 → 0.
    kl = (0.5 + math.log(2) - 1) / 2
    assert stats["pg_loss"] == pytest.approx(-0.6)
    assert stats["kl"] == pytest.approx(kl)
    assert stats["entropy"] == pytest.approx(2.0)
    assert stats["clip_frac"] == pytest.approx(0.5)
    assert loss.item() == pytest.approx(-0.6 + 0.1 * kl - 0.01 * 2.0)


def test_decoupled_loss_clips_against_the_proximal_policy_and_weighs_by_the_behaviour_ratio() -> None:
    # π_θ / π_prox = RATIOS; π_prox / π_behav = [2, 0.5, 1, 4].
    prox = torch.log(torch.tensor([[0.4, 0.2, 0.1, 0.2]]))
    behav = torch.log(torch.tensor([[0.2, 0.4, 0.1, 0.05]]))
    logp = (prox + torch.log(torch.tensor([RATIOS]))).detach().requires_grad_()
    loss, clipped, weight = decoupled_ppo_loss(logp, prox, behav, torch.ones(1, 4), 0.2, 3.0)
    loss.sum().backward()
    assert weight[0].tolist() == pytest.approx([2.0, 0.5, 1.0, 4.0])
    # L = w·max(-r, -clip(r, 0.8, 1.2)) with r against π_prox: -0.5·2, -1·0.5, -1.2·1, -1.2·4.
    assert loss[0].tolist() == pytest.approx([-1.0, -0.5, -1.2, -4.8])
    assert clipped[0].tolist() == [False, False, True, True]
    # dL/dlogp = -A·r·w where unclipped; the weight is data (no gradient through π_prox or π_behav).
    assert logp.grad[0].tolist() == pytest.approx([-1.0, -0.5, 0.0, 0.0])


def test_decoupled_loss_cap_drops_tokens_of_too_large_a_weight() -> None:
    prox = torch.log(torch.tensor([[0.4, 0.2, 0.2]]))
    behav = torch.log(torch.tensor([[0.2, 0.4, 0.02]]))  # w = 2, 0.5, 10
    loss, _, weight = decoupled_ppo_loss(prox, prox, behav, torch.ones(1, 3), weight_cap=5.0)
    assert weight[0].tolist() == pytest.approx([2.0, 0.5, 0.0])
    assert loss[0].tolist() == pytest.approx([-2.0, -0.5, 0.0])


def test_decoupled_loss_is_ppo_bit_for_bit_when_behaviour_is_proximal() -> None:
    torch.manual_seed(0)
    old = torch.log_softmax(torch.randn(3, 5), -1)
    logp = (old + 0.3 * torch.randn(3, 5)).requires_grad_()
    adv = torch.randn(3, 5)
    ppo, ppo_clipped = ppo_clip_loss(logp, old, adv)
    decoupled, clipped, weight = decoupled_ppo_loss(logp, old, old.clone(), adv)
    assert torch.equal(weight, torch.ones(3, 5)) and torch.equal(clipped, ppo_clipped)
    assert torch.equal(decoupled, ppo)
    mask = torch.ones(3, 5)
    clip = {"clip_eps": 0.2, "dual_clip": 3.0}
    with_behaviour, stats = policy_loss(logp, old, adv, mask, **clip, behaviour_logprobs=old)
    without, _ = policy_loss(logp, old, adv, mask, **clip)
    assert torch.equal(with_behaviour, without) and stats["behaviour_weight"] == 1.0


def test_token_logprobs_values_and_gradients_match_torch() -> None:
    # One log-softmax for both quantities: the same values and gradients as torch's
    # cross-entropy and Categorical entropy computed apart.
    torch.manual_seed(0)
    logits = (3 * torch.randn(2, 3, 50)).requires_grad_()
    labels = torch.randint(0, 50, (2, 3))
    logp, entropy = token_logprobs(logits, labels, entropy=True)
    (logp.sum() + 0.3 * entropy.sum()).backward()
    ours = logits.grad.clone()
    logits.grad = None
    want_logp = -torch.nn.functional.cross_entropy(logits.transpose(1, 2), labels, reduction="none")
    want_entropy = torch.distributions.Categorical(logits=logits).entropy()
    (want_logp.sum() + 0.3 * want_entropy.sum()).backward()
    assert torch.allclose(logp, want_logp, atol=1e-6) and torch.allclose(entropy, want_entropy, atol=1e-5)
    assert torch.allclose(ours, logits.grad, atol=1e-6)
