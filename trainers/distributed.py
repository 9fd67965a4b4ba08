"""Data-parallel training: N processes, each rolling out its share of the task groups.

A run launched with ``agentgym train ... --nproc N`` (or under ``torchrun`` /
``accelerate launch``, which set ``RANK`` and ``WORLD_SIZE``) runs the same
trainer in N processes joined by torch.distributed (gloo on CPU, NCCL on GPU):

- every rank draws the same task groups and keeps a contiguous block of them
  (:meth:`Ranks.share`): a group is never split, so its advantages are computed
  where its trajectories are;
- the global mini-batches are cut from the concatenation of the ranks' samples
  in rank order, exactly as one process cuts its own (:meth:`Ranks.local`); each
  rank backpropagates its part, every loss divided by the global mini-batch's
  token count, and the gradients are summed across ranks (:meth:`Ranks.reduce_grads`)
  before clipping, so every rank takes the same optimizer step;
- rank 0 alone writes the run directory (config, logs, checkpoints) and
  evaluates; a checkpoint holds nothing rank-specific, so any N resumes it.

A rank that dies stops the others: the launcher stops them and says which rank
died, and a rank blocked on a collective with a dead peer fails in one line.

Example (one process: every method is the identity):
    >>> ranks = Ranks.from_env({})
    >>> ranks.size, ranks.is_main, ranks.share(["a", "a", "b"], ["g1", "g1", "g2"])
    (1, True, ['a', 'a', 'b'])
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import torch

from agentgym.exceptions import AgentGymError, ConfigError

T = TypeVar("T")

INIT_METHOD = "AGENTGYM_INIT_METHOD"
"""Environment variable: where the ranks meet (a torch.distributed ``init_method``; unset: ``env://``)."""


class RankFailedError(AgentGymError, RuntimeError):
    """Another rank of a data-parallel run stopped (killed, or failed)."""


@dataclass(frozen=True)
class Ranks:
    """This process's place in a data-parallel run (``size`` 1: a plain single-process run)."""

    rank: int = 0
    size: int = 1

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Ranks:
        """Join the process group that :func:`launch`, ``torchrun`` or ``accelerate launch`` describe.

        ``RANK`` and ``WORLD_SIZE`` in ``environ`` place this process; the ranks
        meet through ``AGENTGYM_INIT_METHOD`` (:func:`launch` sets a ``file://``
        store), else through ``env://`` (``MASTER_ADDR``/``MASTER_PORT``, set by
        torchrun and accelerate). gloo on CPU; NCCL (one GPU per ``LOCAL_RANK``)
        where CUDA is present. Without ``WORLD_SIZE`` (or with 1) it is a single
        process and joins nothing.
        """
        size = int(environ.get("WORLD_SIZE", "1"))
        if size == 1:
            return cls()
        import torch.distributed as dist

        if not dist.is_initialized():
            cuda = torch.cuda.is_available()
            if cuda:
                torch.cuda.set_device(int(environ.get("LOCAL_RANK", "0")))
            dist.init_process_group(
                "nccl" if cuda else "gloo",
                init_method=environ.get(INIT_METHOD, "env://"),
                rank=int(environ["RANK"]),
                world_size=size,
            )
        return cls(dist.get_rank(), dist.get_world_size())

    @property
    def is_main(self) -> bool:
        """Rank 0: the one that writes the run directory and evaluates."""
        return self.rank == 0

    def check_groups(self, groups: int | None) -> None:
        """Refuse more ranks than task groups per iteration (a rank would have nothing to do).

        ``groups`` is None for an algorithm whose iterations hold no task groups (ArCHer:
        its critic and replay buffer live in one process): it runs in one process only.
        """
        if self.size == 1:
            return
        if groups is None:
            from agentgym.trainers.algorithms import data_parallel_algorithms

            raise ConfigError(
                f"only group methods ({', '.join(data_parallel_algorithms())}) run data-parallel: ranks "
                "share an iteration's task groups, and this algorithm has none",
                hint="drop --nproc",
            )
        if groups < self.size:
            raise ConfigError(
                f"{self.size} ranks need at least {self.size} task groups per iteration (got {groups}); "
                f"lower --nproc or raise algo.groups_per_iteration"
            )

    def share(self, items: Sequence[T], group_ids: Sequence[str | None]) -> list[T]:
        """This rank's contiguous block of whole groups of ``items`` (in order).

        Groups are consecutive runs of equal ``group_ids``; rank r gets groups
        ``[r*G/N, (r+1)*G/N)`` of the G groups.

        Example:
            >>> Ranks(1, 2).share(list("aabbcc"), ["x", "x", "y", "y", "z", "z"])
            ['b', 'b', 'c', 'c']
        """
        starts = [i for i in range(len(items)) if i == 0 or group_ids[i] != group_ids[i - 1]]
        bounds = [*starts, len(items)]
        g = len(starts)
        first, last = self.rank * g // self.size, (self.rank + 1) * g // self.size
        return list(items[bounds[first] : bounds[last]])

    # -- collectives (no-ops in one process) -----------------------------------------

    def concat(self, items: Sequence[T]) -> tuple[int, list[T]]:
        """``(offset, everyone's)``: every rank's ``items`` joined in rank order, and where this rank's start.

        Example:
            >>> Ranks(0, 1).concat([2, 1])
            (0, [2, 1])
        """
        if self.size == 1:
            return 0, list(items)
        lists = self._gather(list(items))
        return sum(len(theirs) for theirs in lists[: self.rank]), [x for theirs in lists for x in theirs]

    def sum(self, value: float) -> float:
        """``value`` summed over the ranks."""
        if self.size == 1:
            return value
        return float(self._all_reduce(torch.tensor([value], dtype=torch.float64))[0])

    def sum_stats(self, stats: dict[str, float]) -> dict[str, float]:
        """Each entry of ``stats`` summed over the ranks (a rank may lack some)."""
        if self.size == 1:
            return stats
        out: dict[str, float] = {}
        for theirs in self._gather(stats):
            for key, value in theirs.items():
                out[key] = out.get(key, 0.0) + value
        return out

    def reduce_grads(self, params: Sequence[torch.Tensor]) -> None:
        """Sum the gradients of ``params`` over the ranks (a rank without samples adds zeros)."""
        if self.size == 1:
            return
        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        flat = torch.cat([p.grad.reshape(-1) for p in params])
        self._all_reduce(flat)
        start = 0
        for p in params:
            p.grad.copy_(flat[start : start + p.numel()].view_as(p))
            start += p.numel()

    def combine(self, metrics: dict[str, Any]) -> dict[str, Any]:
        """An iteration's figures over all ranks: counts (ints, failure kinds) add up; the rest average."""
        if self.size == 1:
            return metrics
        everyone = self._gather(metrics)
        out: dict[str, Any] = {}
        for key, value in metrics.items():
            values = [m[key] for m in everyone]
            if key == "failure_kinds":
                kinds: dict[str, int] = {}
                for v in values:
                    for kind, n in v.items():
                        kinds[kind] = kinds.get(kind, 0) + n
                out[key] = kinds
            elif isinstance(value, bool) or not isinstance(value, int | float):
                out[key] = value
            elif isinstance(value, int):
                out[key] = sum(values)
            else:
                out[key] = sum(values) / len(values)
        return out

    def broadcast(self, value: T) -> T:
        """Rank 0's ``value`` on every rank."""
        if self.size == 1:
            return value
        import torch.distributed as dist

        box = [value]
        self._collective(dist.broadcast_object_list, box, src=0)
        return box[0]

    def close(self) -> None:
        """Leave the process group together, once the run is over (a rank leaving alone aborts gloo)."""
        if self.size > 1:
            import torch.distributed as dist

            self._collective(dist.barrier)
            dist.destroy_process_group()

    def _gather(self, value: T) -> list[T]:
        import torch.distributed as dist

        out: list[Any] = [None] * self.size
        self._collective(dist.all_gather_object, out, value)
        return out

    def _all_reduce(self, tensor: torch.Tensor) -> torch.Tensor:
        import torch.distributed as dist

        on = tensor.to("cuda") if dist.get_backend() == "nccl" else tensor
        self._collective(dist.all_reduce, on)
        if on is not tensor:
            tensor.copy_(on)
        return tensor

    def _collective(self, op: Any, *args: Any, **kwargs: Any) -> None:
        try:
            op(*args, **kwargs)
        except (RuntimeError, ConnectionError) as err:  # gloo/NCCL's answer for a peer gone
            raise RankFailedError(
                f"rank {self.rank}: another rank of the run stopped ({str(err).splitlines()[0][:120]}); "
                "rerun the same command with --resume to continue from the last checkpoint"
            ) from None


class SilentLog:
    """The run log of a rank other than 0: it writes nothing."""

    def log(self, kind: str, iteration: int, metrics: dict[str, Any]) -> None:
        pass

    def samples(self, iteration: int, records: list[dict[str, Any]]) -> None:
        pass

    def trees(self, iteration: int, records: list[dict[str, Any]]) -> None:
        pass

    def close(self) -> None:
        pass


def launch(argv: Sequence[str], nproc: int) -> int:
    """Run ``python -m agentgym.trainers.cli *argv`` as ``nproc`` ranks on this machine; the exit status.

    The ranks are this process's children, in its process group. They meet
    through a file store in a private temporary folder (no TCP rendezvous), and
    gloo talks over the loopback interface only (``GLOO_SOCKET_IFNAME=lo``), so
    nothing listens beyond 127.0.0.1. A rank that stops with an error or a
    signal makes the launcher stop the others (by PID) and say which one, in one line.
    """
    with tempfile.TemporaryDirectory(prefix="agentgym-ranks-") as store:
        base = {
            **os.environ,
            "WORLD_SIZE": str(nproc),
            "LOCAL_WORLD_SIZE": str(nproc),
            INIT_METHOD: f"file://{store}/rendezvous",
            "GLOO_SOCKET_IFNAME": "lo",
        }
        ranks = [
            subprocess.Popen(
                [sys.executable, "-m", "agentgym.trainers.cli", *argv],
                env={**base, "RANK": str(r), "LOCAL_RANK": str(r)},
            )
            for r in range(nproc)
        ]
        try:
            while (codes := [p.poll() for p in ranks]).count(0) < nproc:
                failed = [r for r, code in enumerate(codes) if code not in (None, 0)]
                if failed:  # the one a signal stopped first: the others failed because it did
                    rank = min(failed, key=lambda r: (codes[r] >= 0, r))
                    code = codes[rank]
                    why = f"signal {-code}" if code < 0 else f"exit {code}"
                    print(
                        f"error: rank {rank} of {nproc} stopped ({why}), so the run was stopped; "
                        "rerun the same command with --resume to continue from the last checkpoint",
                        file=sys.stderr,
                    )
                    return 1
                time.sleep(0.05)
            return 0
        finally:
            _stop(ranks)


def _stop(processes: Sequence[subprocess.Popen[bytes]], grace_s: float = 5.0) -> None:
    """Stop whichever of ``processes`` still run: SIGTERM, then SIGKILL after ``grace_s``."""
    for p in processes:
        if p.poll() is None:
            p.terminate()
    deadline = time.monotonic() + grace_s
    for p in processes:
        try:
            p.wait(max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
