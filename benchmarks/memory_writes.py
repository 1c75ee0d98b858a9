"""Memory writes per second through the API, the Temporal workflow and the memory worker.

    python -m benchmarks.memory_writes [--count 400] [--concurrency 16]

`stored/s` counts POST /v1/memories?wait=true answered 201 (the row is in PostgreSQL);
`accepted/s` counts plain POSTs answered 202 (queued in Temporal)."""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

import httpx

from benchmarks.target import add_target_arguments, percentiles, resolve_target


async def _run(client: httpx.AsyncClient, count: int, concurrency: int, wait: bool, tag: str) -> list[float]:
    semaphore = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    expected = 201 if wait else 202

    async def write(number: int) -> None:
        async with semaphore:
            started = time.perf_counter()
            response = await client.post(
                "/v1/memories",
                params={"wait": "true"} if wait else None,
                json={
                    "content": f"benchmark {tag} memory {number} about tide pools",
                    "metadata": {"n": number},
                },
            )
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code != expected:
                raise RuntimeError(f"unexpected answer {response.status_code}: {response.text}")

    await asyncio.gather(*(write(number) for number in range(count)))
    return latencies


async def main_async(args: argparse.Namespace) -> None:
    url, api_key = resolve_target(args)
    tag = uuid.uuid4().hex[:8]
    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": api_key}, timeout=120) as client:
        for wait, label in ((True, "stored"), (False, "accepted")):
            started = time.perf_counter()
            latencies = await _run(client, args.count, args.concurrency, wait, f"{tag}{label}")
            seconds = time.perf_counter() - started
            print(
                f"{args.count} memory writes ({label}, concurrency {args.concurrency}): {seconds:.1f} s,"
                f" {args.count / seconds:.0f} {label}/s; latency {percentiles(latencies)}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_target_arguments(parser)
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
