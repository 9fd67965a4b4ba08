"""Sandbox speed: create+first exec, exec in a session, snapshot, restore; bwrap vs docker vs local.

All backends are measured in one run and compared to each other (medians).
The Docker engine is a private ``dockerd`` started here (``--bridge=none``),
with the image built from the host's ``/usr``; it is stopped at the end.
Also: 32 bwrap sandboxes running ``exec("true")`` concurrently (threads).

Run: ``.venv/bin/python benchmarks/sandbox_speed.py`` (as root for docker);
``--backends bwrap,local`` to skip docker.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import threading
import time
import warnings
from collections.abc import Callable

from agentgym.sandboxes import Limits, Sandbox, create

FILES = 1000
LIMITS = Limits(memory_mb=512, disk_mb=256, pids=256)


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def measure(backend: str, repeat: int, **options: object) -> dict[str, float]:
    opened: list[Sandbox] = []

    def create_and_exec() -> None:
        opened.append(create(backend, limits=LIMITS, **options))
        opened[-1].exec("true")

    figures = {"create+first exec": median_ms(create_and_exec, repeat)}
    figures["close"] = median_ms(lambda: opened.pop().close(), repeat)
    with create(backend, limits=LIMITS, **options) as sb:
        sb.exec("true")
        figures["exec in session"] = median_ms(lambda: sb.exec("true"), 5 * repeat)
        sb.exec(f"mkdir d{{0..9}} && for i in {{1..{FILES}}}; do echo $i > d$((i % 10))/f$i; done")
        handle = sb.snapshot()
        figures[f"snapshot ({FILES} files)"] = median_ms(sb.snapshot, repeat)
        figures[f"restore ({FILES} files)"] = median_ms(lambda: sb.restore(handle), repeat)
    return figures


def baselines(repeat: int) -> dict[str, float]:
    """What this machine needs to start a process, and a bare bwrap with our flags, right now."""
    from agentgym.sandboxes.bwrap import _flags
    from agentgym.sandboxes.config import BwrapConfig

    bare = ["bwrap", *_flags(BwrapConfig(limits=LIMITS)), "/bin/true"]
    if os.geteuid() == 0:  # as the sandboxes run: an unprivileged host uid
        bare = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *bare]
    return {
        "/bin/true (a process)": median_ms(lambda: subprocess.run(["/bin/true"], check=True), repeat),
        "bare bwrap /bin/true": median_ms(lambda: subprocess.run(bare, check=True), repeat),
    }


def concurrent_throughput(n: int, seconds: float) -> float:
    """exec("true") per second, summed over ``n`` bwrap sandboxes driven by one thread each."""
    sandboxes: list[Sandbox] = [create("bwrap", limits=LIMITS) for _ in range(n)]
    counts = [0] * n
    stop = time.monotonic() + seconds

    def drive(i: int) -> None:
        while time.monotonic() < stop:
            sandboxes[i].exec("true")
            counts[i] += 1

    try:
        threads = [threading.Thread(target=drive, args=(i,)) for i in range(n)]
        start = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return sum(counts) / (time.monotonic() - start)
    finally:
        for sb in sandboxes:
            sb.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="bwrap,docker,local")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--concurrent", type=int, default=32)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # the local backend's warning
    backends = args.backends.split(",")
    results: dict[str, dict[str, float]] = {}
    engine = None
    try:
        for backend in backends:
            options: dict[str, object] = {}
            if backend == "docker":
                from agentgym.sandboxes.docker import connect
                from agentgym.sandboxes.dockerd import PrivateDockerd
                from agentgym.sandboxes.image import build_from_host

                engine = PrivateDockerd().start()
                build_from_host(connect(engine.base_url))
                options["base_url"] = engine.base_url
            results[backend] = measure(backend, args.repeat, **options)
    finally:
        if engine is not None:
            engine.stop()
    rows = list(next(iter(results.values())))
    print(f"{'median ms':26}" + "".join(f"{b:>10}" for b in backends))
    for row in rows:
        print(f"{row:26}" + "".join(f"{results[b][row]:10.1f}" for b in backends))
    if "docker" in results and "bwrap" in results:
        for row in rows:
            print(f"docker / bwrap, {row}: {results['docker'][row] / results['bwrap'][row]:.1f}x")
    if "bwrap" in results:
        for name, value in baselines(args.repeat).items():
            print(f"baseline, {name}: {value:.1f} ms")
        print(f"load average (1 min) during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        bw = results["bwrap"]
        print(f"bwrap create+first exec {bw['create+first exec']:.1f} ms (target <= 50)")
        print(f"bwrap exec in session {bw['exec in session']:.2f} ms (target <= 5)")
        rate = concurrent_throughput(args.concurrent, 5.0)
        print(f"{args.concurrent} concurrent bwrap sandboxes: {rate:.0f} exec('true')/s in total")


if __name__ == "__main__":
    main()
