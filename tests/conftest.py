"""Shared test set-up: offline Hugging Face, loopback ports, tiny models."""

from __future__ import annotations

import os
import socket

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest


@pytest.fixture
def free_port() -> int:
    """A TCP port free on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def tiny() -> tuple:
    """A tiny random Qwen2-shaped model and a tokenizer trained on GuessNumber's text."""
    from agentgym.policies.tiny import tiny_model

    texts = [
        "I am thinking of a whole number between 1 and 16. Guess it: say `guess N`.",
        "guess 8 is too high. 4 is too low. Correct! The number was 6.",
        "<action>guess 8</action> Admissible actions: guess 1 | guess 2",
    ]
    return tiny_model(texts, seed=0)
