"""Do user memory writes wait behind document processing? Stored memory writes (POST
/v1/memories?wait=true answered 201) and GET /health, idle and then while N documents of K KB
process, in the same run; prints p50/p99 of each and the load/idle ratio (the goal: <= 1.5 for
writes at p50).

    python -m benchmarks.writes_under_documents [--documents 200] [--kilobytes 20] [--rate 1]
        [--idle-seconds 60] [--timeline] [--own-stack]

Writes are sent at a fixed rate (--rate a second, an open loop), in both phases alike.
--own-stack starts a fresh local stack (own state folder and ports) and stops it afterwards, and
prints each component's CPU and run-queue wait per phase; otherwise the target is the running
stack (make stack-up) or --url/--api-key."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from benchmarks.target import add_target_arguments, quantile, resolve_target
from scripts.stack import LocalStack, StackPorts

# Writes go out at a fixed rate, each on its own, whether or not earlier ones have answered (an
# open loop): the latency is that of a steady offered load, and a slow period yields as many
# samples as a fast one. Each latency counts from the moment the write was due, so a client
# that falls behind cannot hide the delay. /health is polled at a modest pace.
WRITES_PER_SECOND = 1.0
PAUSE_SECONDS = 0.05
# (due, latency ms) of every write, for --timeline.
TIMELINE: list[tuple[float, float]] = []


async def _writes(
    client: httpx.AsyncClient, tag: str, until: asyncio.Event, rate: float, late: list[int]
) -> list[float]:
    """Latencies of stored writes sent at `rate` a second until `until`; a write not stored within
    the server's wait timeout (202) counts with the time it took, and in `late`."""
    latencies: list[float] = []

    async def write(number: int, due: float) -> None:
        response = await client.post(
            "/v1/memories",
            params={"wait": "true"},
            json={"content": f"user write {tag} {number} about tide pools"},
        )
        if response.status_code == 202:
            late.append(1)
        elif response.status_code != 201:
            raise RuntimeError(f"write failed: {response.status_code} {response.text}")
        latencies.append((time.perf_counter() - due) * 1000)
        TIMELINE.append((due, latencies[-1]))

    first, sent = time.perf_counter(), []
    while not until.is_set():
        due = first + len(sent) / rate
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(until.wait(), max(0.0, due - time.perf_counter()))
            break
        sent.append(asyncio.create_task(write(len(sent), due)))
    await asyncio.gather(*sent)
    return latencies


async def _health(client: httpx.AsyncClient, until: asyncio.Event) -> list[float]:
    latencies: list[float] = []
    degraded = 0
    while not until.is_set():
        started = time.perf_counter()
        degraded += (await client.get("/health")).status_code != 200
        latencies.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(PAUSE_SECONDS * 2)
    if degraded:
        print(f"/health answered 503 (a check over its timeout) {degraded} of {len(latencies)} times")
    return latencies


async def _measure(client: httpx.AsyncClient, tag: str, until: asyncio.Event, rate: float):
    health = asyncio.create_task(_health(client, until))
    late: list[int] = []
    writes = await _writes(client, tag, until, rate, late)
    if late:
        print(f"{tag}: {len(late)} of {len(writes)} writes not stored within the server's wait timeout")
    return writes, await health


def _document(tag: str, number: int, kilobytes: int) -> bytes:
    return " ".join(f"load{tag}doc{number}word{n}" for n in range(kilobytes * 1024 // 20)).encode()


async def _upload_and_wait(client: httpx.AsyncClient, tag: str, args: argparse.Namespace) -> dict[str, int]:
    semaphore = asyncio.Semaphore(8)

    async def upload(number: int) -> str:
        async with semaphore:
            response = await client.post(
                "/v1/documents",
                content=_document(tag, number, args.kilobytes),
                headers={"Content-Type": "text/plain"},
                params={"filename": f"load-{number}.txt"},
            )
            response.raise_for_status()
            return response.json()["id"]

    uploading = time.perf_counter()
    ids = await asyncio.gather(*(upload(number) for number in range(args.documents)))
    print(f"{args.documents} documents uploaded in {time.perf_counter() - uploading:.1f} s")
    pending, statuses = list(ids), {"done": 0, "failed": 0}
    deadline = time.perf_counter() + args.timeout
    while pending and time.perf_counter() < deadline:
        # Roughly first in, first done: ask in order and stop at the first unfinished one, so
        # polling adds a few requests per second, not one per document.
        while pending:
            status = (await client.get(f"/v1/documents/{pending[0]}")).json()["status"]
            if status not in statuses:
                break
            statuses[status] += 1
            pending.pop(0)
        await asyncio.sleep(1)
    statuses["unfinished"] = len(pending)
    return statuses


def _timeline(load_started: float, window: float = 10.0) -> None:
    """p50 of the writes started in each window of the load phase: where the time goes."""
    windows: dict[int, list[float]] = {}
    for started, latency in TIMELINE:
        if started >= load_started:
            windows.setdefault(int((started - load_started) // window), []).append(latency)
    for index, latencies in sorted(windows.items()):
        p50 = quantile(latencies, 50)
        print(f"  load +{index * window:4.0f} s: writes p50 {p50:7.1f} ms ({len(latencies)})")


def _line(label: str, idle: list[float], load: list[float]) -> float:
    ratio = quantile(load, 50) / quantile(idle, 50)
    print(
        f"{label}: idle p50 {quantile(idle, 50):.1f} ms p99 {quantile(idle, 99):.1f} ms ({len(idle)});"
        f" under load p50 {quantile(load, 50):.1f} ms p99 {quantile(load, 99):.1f} ms ({len(load)});"
        f" ratio p50 {ratio:.2f}, p99 {quantile(load, 99) / quantile(idle, 99):.2f}"
    )
    return ratio


class StackProfile:
    """Where the time goes (--own-stack): CPU seconds and run-queue wait (runnable, but waiting
    for a CPU: /proc/PID/task/TID/schedstat) of each component of the stack, per phase."""

    def __init__(self, stack: LocalStack) -> None:
        self._roots = {
            name: int((stack.run_dir / f"{name}.pid").read_text()) for name in ("temporal", "web", "workers")
        }
        self._postmaster = int((stack.pg_data / "postmaster.pid").read_text().splitlines()[0])

    def _component(self, pid: int, fields: list[str]) -> str | None:
        parent, session = int(fields[1]), int(fields[3])
        if self._postmaster in (pid, parent):
            return "postgres"
        for name, root in self._roots.items():
            if session == root:
                if name != "workers":
                    return name
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
                return next(
                    (
                        f"{kind} worker"
                        for kind in ("memory", "document")
                        if f"{kind}_worker".encode() in command
                    ),
                    "workers supervisor",
                )
        return None

    def sample(self) -> dict[str, list[float]]:
        """{component: [CPU s, run-queue wait s]}, summed over its processes."""
        ticks = os.sysconf("SC_CLK_TCK")
        totals: dict[str, list[float]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                component = self._component(int(entry.name), fields)
                if component is None:
                    continue
                waited = sum(
                    int((task / "schedstat").read_text().split()[1]) for task in (entry / "task").iterdir()
                )
            except (OSError, ValueError, IndexError):
                continue  # exited meanwhile
            total = totals.setdefault(component, [0.0, 0.0])
            total[0] += (int(fields[11]) + int(fields[12])) / ticks
            total[1] += waited / 1e9
        return totals

    @staticmethod
    def machine_busy() -> float:
        """CPU seconds the whole machine has spent busy (all processes, ours or not)."""
        times = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return (sum(times) - times[3] - times[4]) / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def report(label: str, before: dict, after: dict, seconds: float, busy: float) -> None:
        parts = [
            f"{name} {(after[name][0] - before.get(name, [0, 0])[0]) / seconds:.2f}"
            f"/{(after[name][1] - before.get(name, [0, 0])[1]) / seconds:.2f}"
            for name in sorted(after)
        ]
        machine = f"machine busy {busy / seconds:.2f} of {os.cpu_count()} CPUs"
        print(f"  {label} ({seconds:.0f} s, {machine}): {', '.join(parts)}")


def _load_average() -> str:
    """The machine's load (1, 5, 15 min): the figures mean little on a busy shared machine."""
    return ", ".join(f"{load:.2f}" for load in os.getloadavg())


async def run(url: str, api_key: str, args: argparse.Namespace, profile: StackProfile | None = None) -> float:
    tag = uuid.uuid4().hex[:6]
    print(f"load average at start: {_load_average()}; writes at {args.rate:g}/s")
    samples = []

    def mark() -> None:
        if profile is not None:
            samples.append((time.perf_counter(), StackProfile.machine_busy(), profile.sample()))

    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": api_key}, timeout=120) as client:
        idle_done = asyncio.Event()
        idle = asyncio.create_task(_measure(client, f"{tag}idle", idle_done, args.rate))
        mark()
        await asyncio.sleep(args.idle_seconds)
        idle_done.set()
        idle_writes, idle_health = await idle
        mark()

        load_done = asyncio.Event()
        load = asyncio.create_task(_measure(client, f"{tag}load", load_done, args.rate))
        started = time.perf_counter()
        statuses = await _upload_and_wait(client, tag, args)
        seconds = time.perf_counter() - started
        load_done.set()
        load_writes, load_health = await load
        mark()
    print(
        f"{args.documents} documents of {args.kilobytes} KB: {statuses} in {seconds:.1f} s"
        f" ({args.documents / seconds * 60:.0f} documents/min)"
    )
    if args.timeline:
        _timeline(started)
    ratio = _line("stored memory writes", idle_writes, load_writes)
    _line("GET /health", idle_health, load_health)
    if len(samples) == 3:
        print("CPU / run-queue wait, in seconds per second of the phase, per component of the stack:")
        for label, (first, last) in (("idle", samples[:2]), ("under load", samples[1:])):
            StackProfile.report(label, first[2], last[2], last[0] - first[0], last[1] - first[1])
    print(f"load average at end: {_load_average()}")
    print(f"writes p50 ratio {ratio:.2f}: {'within' if ratio <= 1.5 else 'OVER'} the 1.5 goal")
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_target_arguments(parser)
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--kilobytes", type=int, default=20)
    parser.add_argument("--rate", type=float, default=WRITES_PER_SECOND, help="memory writes per second")
    parser.add_argument("--idle-seconds", type=float, default=60)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument(
        "--timeline", action="store_true", help="also print write p50 per 10 s of the load phase"
    )
    parser.add_argument("--own-stack", action="store_true", help="start (and stop) a fresh local stack")
    parser.add_argument("--port-base", type=int, default=56300)
    args = parser.parse_args()
    if not args.own_stack:
        url, api_key = resolve_target(args)
        asyncio.run(run(url, api_key, args))
        return
    state_dir = Path(tempfile.mkdtemp(prefix="papr-bench-", dir="/tmp"))
    stack = LocalStack(state_dir=state_dir, ports=StackPorts.from_base(args.port_base), say=lambda _l: None)
    try:
        stack.up()
        ratio = asyncio.run(run(stack.url, stack.api_key, args, StackProfile(stack)))
    finally:
        stack.down()
        shutil.rmtree(state_dir, ignore_errors=True)
    sys.exit(0 if ratio <= 1.5 else 1)


if __name__ == "__main__":
    main()
