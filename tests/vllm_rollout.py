"""The rollout the vLLM tests run: two tasks, two copies each, a seeded policy, two turns of 8 tokens.

``python tests/vllm_rollout.py OUT.jsonl`` runs it with the in-process ``vllm:smollm2``
policy (from ``.venv-vllm``); ``tests/test_vllm.py`` imports :func:`rollout` for the server.
"""

from __future__ import annotations

import sys

from agentgym.policies import Policy, SamplingParams, make_policy
from agentgym.prompting import PromptConfig
from agentgym.records import Trajectory, TrajectoryWriter
from agentgym.rollout import EnvFactory, RolloutConfig, RolloutEngine, group_episodes

PROMPT = PromptConfig(history=None)


def rollout(policy: Policy, temperature: float = 1.0) -> list[Trajectory]:
    sampling = SamplingParams(max_new_tokens=8, temperature=temperature)
    config = RolloutConfig(num_envs=4, progress=False, prompt=PROMPT, sampling=sampling)
    with RolloutEngine(EnvFactory("guess", {"max_steps": 2}), policy, config) as engine:
        return engine.run(group_episodes([0, 1], split="test", group_size=2)).trajectories


if __name__ == "__main__":
    with TrajectoryWriter(sys.argv[1]) as writer:
        for trajectory in rollout(make_policy("vllm:smollm2", seed=0)):
            writer.write(trajectory)
