"""What a rollout did, in numbers, and its progress bar while it runs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from pydantic import BaseModel

from agentgym.exceptions import FAILURE_KINDS, FailureKind
from agentgym.records import Trajectory


class Summary(BaseModel):
    """Aggregates over a set of trajectories.

    Failed episodes count only in ``failed``, ``failure_kinds`` (every kind, zeros
    included) and ``failure_reasons`` (the five most common messages).
    """

    episodes: int
    failed: int
    success_rate: float
    mean_return: float
    mean_steps: float
    env_steps: int
    """Environment steps the play took: every episode's steps, failed ones too, and with
    search at test time every branch the search stepped."""
    invalid_action_rate: float
    prompt_tokens: int
    generated_tokens: int
    wall_time_s: float
    steps_per_s: float
    failure_kinds: dict[FailureKind, int]
    failure_reasons: dict[str, int]

    def table_row(self) -> dict[str, str]:
        """The summary as strings for a results table."""
        return {
            "episodes": str(self.episodes),
            "failed": str(self.failed),
            "success": f"{self.success_rate:.1%}",
            "return": f"{self.mean_return:.3f}",
            "steps": f"{self.mean_steps:.1f}",
            "invalid": f"{self.invalid_action_rate:.1%}",
            "tokens": str(self.prompt_tokens + self.generated_tokens),
            "wall s": f"{self.wall_time_s:.2f}",
            "steps/s": f"{self.steps_per_s:.0f}",
        }


def summarize(
    trajectories: Sequence[Trajectory], wall_time_s: float, env_steps: int | None = None
) -> Summary:
    """Summary of ``trajectories``, run in ``wall_time_s`` seconds with ``env_steps`` env steps.

    ``env_steps`` is None where the play stepped only the trajectories' own steps.

    Example:
        >>> t = Trajectory(env_id="agentgym/GuessNumber-v0", data_version="1", task_id=0,
        ...                split="train", seed=0, policy="expert", outcome="won")
        >>> summarize([t], 1.0).success_rate
        1.0
    """
    ok = [t for t in trajectories if not t.failed]
    steps = [s for t in ok for s in t.steps]
    all_steps = sum(len(t.steps) for t in trajectories)
    n = max(len(ok), 1)
    kinds = Counter(t.failure_kind for t in trajectories if t.failed)
    reasons = Counter(_reason(t.failure) for t in trajectories if t.failed)
    return Summary(
        episodes=len(trajectories),
        failed=len(trajectories) - len(ok),
        success_rate=sum(t.won for t in ok) / n,
        mean_return=sum(t.return_ for t in ok) / n,
        mean_steps=len(steps) / n,
        env_steps=all_steps if env_steps is None else env_steps,
        invalid_action_rate=sum(s.invalid_action for s in steps) / max(len(steps), 1),
        prompt_tokens=sum(len(s.prompt_token_ids or ()) for s in steps),
        generated_tokens=sum(len(s.action_token_ids or ()) for s in steps),
        wall_time_s=wall_time_s,
        steps_per_s=all_steps / wall_time_s if wall_time_s > 0 else 0.0,
        failure_kinds={kind: kinds[kind] for kind in FAILURE_KINDS},
        failure_reasons=dict(reasons.most_common(5)),
    )


def _reason(failure: str | None) -> str:
    return (failure or "unknown").split(" (at ")[0][:200]


class progress_bar:
    """A rich progress bar over episodes with the running success rate (or nothing)."""

    def __init__(self, enabled: bool, total: int, label: str) -> None:
        self.enabled, self.total, self.label = enabled, total, label
        self.won = self.finished = 0

    def __enter__(self) -> Callable[[Trajectory], None]:
        if self.enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("success {task.fields[rate]}"),
                TimeElapsedColumn(),
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=self.total, rate="-")
        return self.update

    def update(self, traj: Trajectory) -> None:
        self.finished += 1
        self.won += traj.won
        if self.enabled:
            self.bar.update(self.task, advance=1, rate=f"{self.won / self.finished:.0%}")

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.bar.stop()
