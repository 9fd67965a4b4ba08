"""Policies: one protocol (``generate(queries, sampling) -> generations``), many backends.

Model backends import their heavy dependencies lazily, on first use.
"""

from __future__ import annotations

from agentgym.lazy import lazy_exports
from agentgym.policies.base import ConcurrentPolicy, Generation, Policy, Query, SamplingParams
from agentgym.policies.models import OFFLINE_MODELS, OfflineModel, resolve_model
from agentgym.policies.scripted import ExpertPolicy, NoopPolicy, RandomPolicy, ScriptedPolicy

__all__ = [
    # protocol
    "ConcurrentPolicy",
    "Generation",
    "Policy",
    "Query",
    "SamplingParams",
    # no model
    "ExpertPolicy",
    "NoopPolicy",
    "RandomPolicy",
    "ScriptedPolicy",
    # model names: offline models and local folders
    "OFFLINE_MODELS",
    "OfflineModel",
    "resolve_model",
    # models (imported on first use)
    "OpenAIPolicy",
    "TransformersPolicy",
    "VLLMPolicy",
    "make_policy",
]

_LAZY = {
    "OpenAIPolicy": "agentgym.policies.openai",
    "TransformersPolicy": "agentgym.policies.hf",
    "VLLMPolicy": "agentgym.policies.vllm",
}


__getattr__ = lazy_exports("agentgym.policies", _LAZY)


def make_policy(
    spec: str, *, seed: int | None = None, model: str | None = None, noop_action: str = ""
) -> Policy:
    """A policy from its command-line name.

    ``expert``, ``random``, ``noop`` (plays ``noop_action``, the env's
    :attr:`~agentgym.TextEnv.noop_action`), ``hf:MODEL`` (transformers), ``vllm:MODEL``,
    ``openai:URL`` (with ``model``, the served model's name), or ``tiny`` (a random tiny
    model, for demos). ``MODEL`` is a local folder, an offline model (``agentgym models``:
    ``hf:smollm2``) or a hub id. ``seed`` seeds the policy's sampler once, here
    (``random`` and the model policies): a run is reproducible from it.

    Example:
        >>> make_policy("random", seed=1).name
        'random'
    """
    from agentgym.exceptions import ConfigError

    kind, _, arg = spec.partition(":")
    if kind == "expert" and not arg:
        return ExpertPolicy()
    if kind == "random" and not arg:
        return RandomPolicy(seed=seed)
    if kind == "noop" and not arg:
        return NoopPolicy(noop_action)
    if kind == "hf" and arg:
        from agentgym.policies.hf import TransformersPolicy

        return TransformersPolicy(arg, seed=seed or 0)
    if kind == "vllm" and arg:
        from agentgym.policies.vllm import VLLMPolicy

        return VLLMPolicy(arg, seed=seed)
    if kind == "openai" and arg:
        from agentgym.policies.openai import OpenAIPolicy

        if not model:
            raise ConfigError("an openai: policy needs --model NAME (the served model's name)")
        return OpenAIPolicy(arg, model=model, seed=seed)
    raise ConfigError(
        f"unknown policy {spec!r}",
        hint="use expert, random, noop, hf:MODEL, vllm:MODEL or openai:URL --model NAME",
    )
