"""Durability: documents queued while the workers are SIGKILLed mid-processing all end done,
with exactly one memory per chunk; memories written while Temporal is SIGKILLed mid-burst, by a
client that retries every failed POST with its Idempotency-Key, are each stored exactly once."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest

from scripts.stack import LocalStack
from tests.service.conftest import CHUNK_OVERLAP, CHUNK_SIZE, wait_until
from workers.extraction import chunk_text

DOCUMENTS = 50


def _document_text(number: int) -> str:
    # ~8 KB of words unique to this document: about 30 chunks of 300 characters each.
    return " ".join(f"durable{number}word{word}" for word in range(500))


def _statuses(db: psycopg.Connection, ids: list[str]) -> dict[str, int]:
    rows = db.execute(
        "SELECT status, count(*) FROM documents WHERE id = ANY(%s::uuid[]) GROUP BY status", (ids,)
    ).fetchall()
    return dict(rows)


def _memory_count(db: psycopg.Connection, ids: list[str]) -> int:
    query = "SELECT count(*) FROM memories WHERE document_id = ANY(%s::uuid[])"
    return db.execute(query, (ids,)).fetchone()[0]


@pytest.mark.slow
def test_sigkilled_workers_lose_and_duplicate_nothing(
    stack: LocalStack, api: httpx.Client, db: psycopg.Connection
) -> None:
    texts = [_document_text(number) for number in range(DOCUMENTS)]
    expected = [len(chunk_text(text, CHUNK_SIZE, CHUNK_OVERLAP)) for text in texts]
    # Queue all 50 while no worker runs, so the kill below surely lands mid-way through the batch.
    stack.stop("workers")
    ids = []
    for number, text in enumerate(texts):
        response = api.post(
            "/v1/documents",
            params={"filename": f"durable-{number}.txt"},
            content=text.encode(),
            headers={"Content-Type": "text/plain"},
        )
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])

    assert _statuses(db, ids) == {"queued": DOCUMENTS}

    # Kill the workers as soon as they have finished a document, while others are in flight.
    stack.start_workers()
    wait_until(lambda: _statuses(db, ids).get("done", 0) >= 1, 120, "no document was processed", 0.05)
    stack.stop("workers", signal.SIGKILL)
    at_kill = _statuses(db, ids)
    memories_at_kill = _memory_count(db, ids)
    print(f"when the workers were killed: {at_kill}, {memories_at_kill} memories")
    assert at_kill.get("done", 0) < DOCUMENTS, f"all documents finished before the kill: {at_kill}"
    assert 0 < memories_at_kill < sum(expected)

    stack.start_workers()
    wait_until(
        lambda: _statuses(db, ids).get("done", 0) == DOCUMENTS,
        300,
        f"not every document finished after the restart: {_statuses(db, ids)}",
        1,
    )

    rows = db.execute(
        "SELECT d.id::text, d.status, d.chunk_count, count(m.id), count(DISTINCT m.chunk_index),"
        " coalesce(max(m.chunk_index), -1)"
        " FROM documents d LEFT JOIN memories m ON m.document_id = d.id"
        " WHERE d.id = ANY(%s::uuid[]) GROUP BY d.id",
        (ids,),
    ).fetchall()
    by_id = {row[0]: row[1:] for row in rows}
    for document_id, chunks in zip(ids, expected, strict=True):
        status, chunk_count, memories, distinct_chunks, last_chunk = by_id[document_id]
        assert (status, chunk_count, memories, distinct_chunks, last_chunk) == (
            "done",
            chunks,
            chunks,
            chunks,
            chunks - 1,
        ), document_id
    assert _memory_count(db, ids) == sum(expected)
    # The API reports the same counts.
    sample = api.get(f"/v1/documents/{ids[-1]}").json()
    assert (sample["status"], sample["chunk_count"], sample["memory_count"]) == (
        "done",
        expected[-1],
        expected[-1],
    )


BURST = 120
CLIENT_RETRY_SECONDS = 0.2  # the client's back-off between attempts, as a real client would


@pytest.mark.slow
def test_temporal_killed_mid_burst_stores_every_memory_exactly_once(
    stack: LocalStack, api: httpx.Client, db: psycopg.Connection
) -> None:
    tag = uuid.uuid4().hex[:10]
    keys = [uuid.uuid4().hex for _ in range(BURST)]
    accepted: dict[int, str] = {}
    failed_attempts: Counter[str] = Counter()
    lock = threading.Lock()

    def write(number: int) -> None:
        deadline = time.monotonic() + 240
        while True:
            try:
                response = api.post(
                    "/v1/memories",
                    json={"content": f"burst{tag} memory {number}"},
                    headers={"Idempotency-Key": keys[number]},
                )
                if response.status_code == 202:
                    with lock:
                        accepted[number] = response.json()["id"]
                    return
                assert response.status_code == 503, response.text
                outcome = "503"
            except httpx.TransportError as error:
                outcome = type(error).__name__
            with lock:
                failed_attempts[outcome] += 1
            assert time.monotonic() < deadline, f"memory {number} never accepted"
            time.sleep(CLIENT_RETRY_SECONDS)

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(write, number) for number in range(BURST)]
        wait_until(lambda: len(accepted) >= BURST // 4, 120, "the burst did not start", 0.02)
        stack.stop("temporal", signal.SIGKILL)
        # Keep Temporal down until clients have seen it fail, then bring it back mid-burst.
        wait_until(lambda: sum(failed_attempts.values()) >= 3, 120, "no write failed during the outage", 0.05)
        at_kill = len(accepted)
        stack.start_temporal()
        for future in futures:
            future.result()
    print(f"accepted before the outage was noticed: {at_kill}; failed attempts: {dict(failed_attempts)}")
    assert at_kill < BURST, "the whole burst was accepted before Temporal died"
    assert len(set(accepted.values())) == BURST

    def stored() -> int:
        query = "SELECT count(*) FROM memories WHERE content LIKE %s"
        return db.execute(query, (f"burst{tag} %",)).fetchone()[0]

    wait_until(lambda: stored() >= BURST, 240, f"not every memory was stored ({stored()}/{BURST})", 1)
    rows = db.execute(
        "SELECT content, count(*) FROM memories WHERE content LIKE %s GROUP BY content",
        (f"burst{tag} %",),
    ).fetchall()
    assert len(rows) == BURST and all(count == 1 for _, count in rows)
    ids = db.execute("SELECT id::text FROM memories WHERE content LIKE %s", (f"burst{tag} %",)).fetchall()
    assert {row[0] for row in ids} == set(accepted.values())
