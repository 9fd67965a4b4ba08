"""What a run records as it goes, and what it shows on the terminal.

:class:`RunLog` appends one JSON line per iteration and per evaluation to
``metrics.jsonl``, mirrors the numbers to TensorBoard (``tb/``), and keeps a
few annotated sample trajectories in ``samples.jsonl`` (and searched trees in
``trees.jsonl``) for the report. On
resume it drops whatever was logged after the checkpoint, so a resumed run's
logs read as if it had never stopped. :class:`Display` is the live rich view.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

from agentgym.trainers.files import write_atomic

METRICS = "metrics.jsonl"
SAMPLES = "samples.jsonl"
TREES = "trees.jsonl"


class RunLog:
    """JSONL metrics, TensorBoard scalars and sample trajectories of one run.

    Args:
        run_dir: the run directory.
        resume_from: iterations completed at the checkpoint being resumed;
            records after it are dropped. None starts fresh logs, dropping
            any a killed earlier attempt left.
    """

    def __init__(self, run_dir: Path, resume_from: int | None = None) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.run_dir = run_dir
        for name in (METRICS, SAMPLES, TREES):
            _truncate(run_dir / name, resume_from)
        if resume_from is None:
            shutil.rmtree(run_dir / "tb", ignore_errors=True)
        self.tb = SummaryWriter(
            str(run_dir / "tb"), purge_step=None if resume_from is None else resume_from + 1
        )

    def log(self, kind: str, iteration: int, metrics: dict[str, Any]) -> None:
        """One record of ``kind`` (train or eval) after ``iteration`` completed iterations."""
        record = {"kind": kind, "iteration": iteration, **metrics}
        _append(self.run_dir / METRICS, record)
        for key, value in metrics.items():
            if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
                self.tb.add_scalar(f"{kind}/{key}", value, iteration)
        self.tb.flush()

    def samples(self, iteration: int, records: list[dict[str, Any]]) -> None:
        """Annotated trajectories of ``iteration`` (for the report)."""
        for record in records:
            _append(self.run_dir / SAMPLES, {"iteration": iteration, **record})

    def trees(self, iteration: int, records: list[dict[str, Any]]) -> None:
        """Searched trees of ``iteration`` (``.mcts_dpo.tree_record``), drawn by the report."""
        for record in records:
            _append(self.run_dir / TREES, {"iteration": iteration, **record})

    def close(self) -> None:
        self.tb.close()


def rollout_metrics(result: Any) -> dict[str, Any]:
    """What every algorithm logs of its training rollouts (a :class:`~agentgym.rollout.RolloutResult`)."""
    s = result.summary
    return {
        "success": s.success_rate,
        "return": s.mean_return,
        "steps": s.mean_steps,
        "invalid": s.invalid_action_rate,
        "failed": s.failed,
        "failure_kinds": s.failure_kinds,
        "env_steps": s.env_steps,  # a search's branches included
        "policy_version": min((t.policy_version or 0 for t in result.trajectories), default=0),
    }


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every record of a JSONL file (none when it does not exist).

    A last line cut short by a killed process is skipped.
    """
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip()]
    if lines and not text.endswith("\n"):
        lines.pop()  # torn by a crash mid-write
    return [json.loads(line) for line in lines]


def _append(path: Path, record: dict[str, Any]) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def _truncate(path: Path, resume_from: int | None) -> None:
    if resume_from is None:
        path.unlink(missing_ok=True)
        return
    kept = [r for r in read_jsonl(path) if r["iteration"] <= resume_from]
    write_atomic(path, "".join(json.dumps(r) + "\n" for r in kept))


class Display:
    """A rich progress bar over iterations with the latest figures (or nothing)."""

    def __init__(self, enabled: bool, total: int = 0, title: str = "", start: int = 0) -> None:
        self.enabled = enabled
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[phase]:<8} {task.fields[figures]}"),
            console=Console(log_path=False),
        )
        self.task = self.bar.add_task(title, total=total, completed=start, phase="", figures="")
        self.bar.start()

    def phase(self, name: str) -> None:
        if self.enabled:
            self.bar.update(self.task, phase=name)

    def advance(self, figures: dict[str, float]) -> None:
        if self.enabled:
            text = "  ".join(f"{k} {_fmt(v)}" for k, v in figures.items())
            self.bar.update(self.task, advance=1, figures=text)

    def note(self, text: str) -> None:
        if self.enabled:
            self.bar.console.log(text)

    def close(self) -> None:
        if self.enabled:
            self.bar.stop()


def _fmt(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
