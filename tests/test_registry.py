"""The registry: ids, aliases, gymnasium, and unknown names."""

from __future__ import annotations

import pytest

import agentgym
from agentgym.registry import resolve


@pytest.mark.parametrize(
    "name", ["agentgym/GuessNumber-v0", "GuessNumber-v0", "guessnumber", "guess", "GUESS"]
)
def test_names_resolve(name: str) -> None:
    assert resolve(name).id == "agentgym/GuessNumber-v0"


def test_unknown_env_suggests_the_closest() -> None:
    with pytest.raises(agentgym.UnknownEnvError) as err:
        agentgym.make("guesnumber")
    assert str(err.value) == "unknown environment 'guesnumber'; did you mean agentgym/GuessNumber-v0?"
    assert "agentgym envs" in err.value.hint


def test_unknown_env_without_close_match() -> None:
    with pytest.raises(agentgym.UnknownEnvError, match=r"^unknown environment 'zzzz'$"):
        agentgym.make("zzzz")


def test_list_envs_has_descriptions() -> None:
    envs = agentgym.list_envs()
    assert {"agentgym/GuessNumber-v0", "agentgym/Nim-v0"} <= {e.id for e in envs}
    assert all(e.description for e in envs)


def test_module_prefix_imports_then_resolves() -> None:
    assert resolve("helper_envs:agentgym/Count-v0").id == "agentgym/Count-v0"


def test_ids_must_carry_the_prefix() -> None:
    with pytest.raises(ValueError, match="start with 'agentgym/'"):
        agentgym.register("Foo-v0", "x:y", description="d")
