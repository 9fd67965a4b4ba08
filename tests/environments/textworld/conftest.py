"""One game cache for the whole session: each game is made and compiled once."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentgym.testing import require_backend

try:
    import textworld  # noqa: F401

    HAVE_TEXTWORLD = True
except ImportError:
    HAVE_TEXTWORLD = False


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    require_backend(HAVE_TEXTWORLD, "textworld is not installed (pip install 'agentgym[textworld]')")
    return tmp_path_factory.mktemp("textworld-games")
