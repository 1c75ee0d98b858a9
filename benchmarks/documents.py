"""Documents per minute (upload to `done`, every chunk stored as a memory), and how responsive
the API stays meanwhile (search latency sampled continuously while the workers are busy).

    python -m benchmarks.documents [--count 100] [--kilobytes 20]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

import httpx

from benchmarks.target import add_target_arguments, percentiles, resolve_target


def _document(tag: str, number: int, kilobytes: int) -> bytes:
    words = (f"bench{tag}doc{number}word{n}" for n in range(kilobytes * 1024 // 20))
    return " ".join(words).encode()


async def _sample_search(client: httpx.AsyncClient, query: str, until: asyncio.Event) -> list[float]:
    samples = []
    while not until.is_set():
        started = time.perf_counter()
        (await client.get("/v1/memories/search", params={"q": query})).raise_for_status()
        samples.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.05)
    return samples


async def _wait_all(client: httpx.AsyncClient, ids: list[str], timeout: float) -> dict[str, dict]:
    pending, finished = set(ids), {}
    deadline = time.perf_counter() + timeout
    while pending and time.perf_counter() < deadline:
        for document_id in list(pending):
            body = (await client.get(f"/v1/documents/{document_id}")).json()
            if body["status"] in ("done", "failed"):
                finished[document_id] = body
                pending.discard(document_id)
        await asyncio.sleep(0.2)
    return finished


async def main_async(args: argparse.Namespace) -> None:
    url, api_key = resolve_target(args)
    tag = uuid.uuid4().hex[:6]
    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": api_key}, timeout=120) as client:
        done = asyncio.Event()
        sampler = asyncio.create_task(_sample_search(client, f"bench{tag}doc0word1", done))
        started = time.perf_counter()
        ids = []
        for number in range(args.count):
            response = await client.post(
                "/v1/documents",
                content=_document(tag, number, args.kilobytes),
                headers={"Content-Type": "text/plain"},
                params={"filename": f"bench-{number}.txt"},
            )
            response.raise_for_status()
            ids.append(response.json()["id"])
        uploaded = time.perf_counter() - started
        documents = await _wait_all(client, ids, args.timeout)
        seconds = time.perf_counter() - started
        done.set()
        search_latencies = await sampler

    failed = [body for body in documents.values() if body["status"] == "failed"]
    memories = sum(body["memory_count"] for body in documents.values())
    if len(documents) < len(ids) or failed:
        print(f"WARNING: {len(ids) - len(documents)} documents unfinished, {len(failed)} failed")
    print(
        f"{len(documents)} documents of {args.kilobytes} KB ({memories} chunk memories):"
        f" uploaded in {uploaded:.1f} s, all done in {seconds:.1f} s:"
        f" {len(documents) / seconds * 60:.0f} documents/min, {memories / seconds:.0f} chunk memories/s"
    )
    samples = len(search_latencies)
    print(f"search latency while processing ({samples} samples): {percentiles(search_latencies)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_target_arguments(parser)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--kilobytes", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=600)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
