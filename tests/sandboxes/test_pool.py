"""SandboxPool: warm sandboxes, a fresh one per episode, health checks, crashes told to the episode."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal

import pytest
from sandbox_helpers import SMALL

from agentgym.exceptions import ConfigError, EnvCrashedError
from agentgym.sandboxes.pool import SandboxPool
from agentgym.testing import require_backend

pytestmark = pytest.mark.bwrap


@pytest.fixture(autouse=True)
def _needs_bwrap() -> None:
    require_backend(shutil.which("bwrap") is not None, "no bwrap (apt-get install bubblewrap)")


def pool(size: int, **options: object) -> SandboxPool:
    return SandboxPool(size, backend="bwrap", limits=SMALL, health_interval_s=0, **options)


def test_each_episode_gets_a_fresh_sandbox_and_the_pool_keeps_its_size() -> None:
    async def main() -> None:
        async with pool(2) as p:
            async with p.lease() as first:
                first.exec("echo secret > left-behind")
            await asyncio.sleep(0)  # let the refill start
            leases = [await p.acquire() for _ in range(2)]
            assert all(sb.alive and sb.list_dir() == [] for sb in leases)
            assert not first.alive  # closed at release
            waiter = asyncio.ensure_future(p.acquire())
            await asyncio.sleep(0.3)
            assert not waiter.done()  # all leased: the third episode waits
            await p.release(leases[0])
            third = await asyncio.wait_for(waiter, 10)
            assert third.exec("echo ok").stdout == "ok\n"
            for sb in (leases[1], third):
                await p.release(sb)

    asyncio.run(main())


def test_a_sandbox_that_dies_mid_episode_is_replaced_and_the_episode_told() -> None:
    told: list[str] = []

    async def main() -> None:
        async with pool(1) as p:
            sb = await p.acquire(on_crash=lambda sandbox, reason: told.append(reason))
            os.kill(sb.session.shell, signal.SIGKILL)  # what the OOM killer would do
            assert await _replaced(p) == 1
            assert told == ["the sandbox died during the episode; it was replaced"]
            with pytest.raises(EnvCrashedError):
                sb.exec("echo hi")
            await p.release(sb)  # harmless: it was already replaced
            async with p.lease() as fresh:
                assert fresh.exec("echo ok").stdout == "ok\n"

    asyncio.run(main())


def test_a_dead_idle_sandbox_is_never_handed_out() -> None:
    async def main() -> None:
        async with pool(2) as p:
            assert p._idle is not None
            idle = list(p._idle._queue)  # type: ignore[attr-defined]
            os.kill(idle[0].session.shell, signal.SIGKILL)
            assert await _replaced(p) == 1 and p.replaced == 1
            await asyncio.sleep(0.5)
            leases = [await asyncio.wait_for(p.acquire(), 10) for _ in range(2)]
            assert all(sb.exec("true").exit_code == 0 for sb in leases)

    asyncio.run(main())


async def _replaced(p: SandboxPool) -> int:
    """Health checks until one replaces something (a killed process takes a moment to die)."""
    for _ in range(100):
        if count := await p.check():
            return count
        await asyncio.sleep(0.01)
    return 0


def test_bad_pool_arguments() -> None:
    with pytest.raises(ConfigError, match="at least 1"):
        SandboxPool(0)
    with pytest.raises(ConfigError, match="unknown sandbox backend"):
        SandboxPool(1, backend="vm")
