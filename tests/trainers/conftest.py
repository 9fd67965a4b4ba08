"""Fixtures of the trainer tests: a tiny model whose tokenizer knows GuessNumber's text."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentgym.policies.tiny import tiny_model
from agentgym.prompting import PromptConfig
from agentgym.trainers.sft import corpus, expert_trajectories

GUESS = {"max_steps": 4}
"""GuessNumber kept short for the tests: at most 4 steps per episode."""


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread(one_torch_thread) -> None:
    """Every trainer test runs torch on one thread (see tests/conftest.py)."""


@pytest.fixture(scope="session")
def guess_kwargs() -> dict[str, int]:
    return dict(GUESS)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 2-layer Qwen2-shaped model saved with its tokenizer."""
    trajectories = expert_trajectories("guess", 12, env_kwargs=GUESS)
    texts = corpus(trajectories, PromptConfig(history=2)) + corpus(trajectories, PromptConfig(history=None))
    model, tok = tiny_model(texts, vocab_size=400, hidden_size=32, layers=2, heads=2, seed=0)
    path = tmp_path_factory.mktemp("tiny-model")
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def write_run_config(tiny_model_dir, guess_kwargs) -> Callable[..., Path]:
    """Writes a deterministic one-thread GuessNumber run of the tiny model, with ``sections`` on top."""

    def write(path: Path, **sections: Any) -> Path:
        base = {
            "env": "guess",
            "env_kwargs": guess_kwargs,
            "model": {"name_or_path": str(tiny_model_dir)},
            "rollout": {"max_new_tokens": 6},
            "checkpoint_every": 1,
            "deterministic": True,
            "cpu_threads": 1,
            "progress": False,
        }
        path.write_text(yaml.safe_dump({**base, **sections}))
        return path

    return write


DOND = {"max_turns": 4}
"""Deal-or-No-Deal kept short for the tests: at most 4 messages before the selections."""


@pytest.fixture(scope="session")
def dond_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random tiny model whose tokenizer knows Deal-or-No-Deal's text (the fair bot's games)."""
    seat = {"learner": "random", "others": "fair", "expert": "fair"}
    trajectories = expert_trajectories("dealornodeal", 8, env_kwargs=DOND, seat=seat)
    model, tok = tiny_model(
        corpus(trajectories, PromptConfig(history=2)), vocab_size=400, hidden_size=32, seed=0
    )
    path = tmp_path_factory.mktemp("tiny-dond-model")
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def write_league_config(write_run_config, dond_model_dir) -> Callable[..., Path]:
    """Writes such a run as a GRPO league on Deal-or-No-Deal, with ``sections`` on top."""

    def write(path: Path, **sections: Any) -> Path:
        league = {
            "env": "dealornodeal",
            "env_kwargs": DOND,
            "seat": {"learner": "random", "others": "fair"},
            "league": {"snapshot_every": 2},
            "model": {"name_or_path": str(dond_model_dir)},
            "algo": {"group_size": 2, "groups_per_iteration": 2},
            "optim": {"lr": 0.01, "micro_batch_size": 4},
            "eval": {"every": 0, "episodes": 2},
        }
        return write_run_config(path, **{**league, **sections})

    return write
