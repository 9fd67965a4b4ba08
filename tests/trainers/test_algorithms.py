"""What algorithms declare, and that the shared core reads only that."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import agentgym.trainers
from agentgym.trainers.algorithms import ALGORITHMS, Needs
from agentgym.trainers.config import build_config
from agentgym.trainers.distributed import Ranks
from agentgym.trainers.mcts import SearchConfig

TRAINERS = Path(agentgym.trainers.__file__).parent
GENERIC = {"model_dump", "model_dump_json", "model_copy", "model_fields"}
"""What any pydantic model answers: reading these is not reading an algorithm's field."""


def _algo_reads(path: Path) -> list[str]:
    """``config.algo.FIELD`` and ``getattr(config.algo, ...)`` in ``path``, as ``line: source``."""

    def is_algo(node: ast.expr) -> bool:
        return isinstance(node, ast.Attribute) and node.attr == "algo"

    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        field_read = isinstance(node, ast.Attribute) and is_algo(node.value) and node.attr not in GENERIC
        by_name = (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", None) in ("getattr", "hasattr")
            and bool(node.args)
            and is_algo(node.args[0])
        )
        if field_read or by_name:
            found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_shared_module_reads_an_algorithm_config_field_by_name() -> None:
    own = {spec.entry_point.split(":")[0].rsplit(".", 1)[-1] for spec in ALGORITHMS.values()}
    shared = [p for p in sorted(TRAINERS.glob("*.py")) if p.stem not in own]
    assert {"trainer", "cli", "report", "evaluate", "distributed"} <= {p.stem for p in shared}
    assert [read for path in shared for read in _algo_reads(path)] == []


@pytest.mark.parametrize(
    ("algorithm", "sets", "needs"),
    [
        ("gigpo", ["algo.group_size=4", "algo.groups_per_iteration=3"], Needs(True, 12, (3, 4))),
        ("grpo", ["algo.kl_coef=0"], Needs(False, 128, (16, 8))),
        ("archer", ["algo.rollout_trajectories=5"], Needs(False, 5, None, in_process_policy=True)),
        (
            "mcts-dpo",
            ["algo.trees_per_iteration=3", "algo.search.k=2"],
            Needs(True, 3, None, in_process_policy=True, search=SearchConfig(k=2)),
        ),
        ("traj-dpo", ["algo.group_size=4"], Needs(True, 16, (4, 4))),
    ],
)
def test_needs_are_a_function_of_the_algo_section(algorithm: str, sets: list[str], needs: Needs) -> None:
    config = build_config(algorithm, {"env": "guess", "model": {"name_or_path": "m"}}, sets)
    assert ALGORITHMS[algorithm].needs(config.algo) == needs


def test_data_parallel_ranks_are_checked_against_the_declared_task_groups() -> None:
    config = build_config(
        "gigpo", {"env": "guess", "model": {"name_or_path": "m"}}, ["algo.groups_per_iteration=1"]
    )
    with pytest.raises(ValueError, match=r"^2 ranks need at least 2 task groups per iteration \(got 1\)"):
        Ranks(0, 2).check_groups(ALGORITHMS["gigpo"].needs(config.algo).task_groups)


@pytest.mark.parametrize(("algorithm", "sets"), [("archer", ["algo.critic_encoder=tiny"]), ("mcts-dpo", [])])
def test_an_algorithm_that_samples_in_process_refuses_the_vllm_rollout(
    algorithm: str, sets: list[str], tiny_model_dir: Path, tmp_path: Path
) -> None:
    from agentgym.exceptions import ConfigError
    from agentgym.trainers.trainer import Trainer

    base = {"env": "guess", "model": {"name_or_path": str(tiny_model_dir)}, "rollout": {"backend": "vllm"}}
    config = build_config(algorithm, base, sets)
    with pytest.raises(ConfigError, match=rf"^{algorithm} samples from the model in-process, so it cannot"):
        Trainer(config, tmp_path / "run")
