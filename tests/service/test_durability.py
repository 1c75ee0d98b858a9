"""Durability: documents queued while the workers are SIGKILLed mid-processing all end done,
with exactly one memory per chunk (nothing lost, nothing duplicated)."""

from __future__ import annotations

import signal

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
