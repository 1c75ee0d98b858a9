"""Activities in process (temporalio's ActivityEnvironment) against the stack's real PostgreSQL:
input that cannot be stored ends failed with its reason and is not retried; document limits."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import AsyncIterator

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from app.config import Settings
from app.contracts import EXTRACTION_ERROR, UNSTORABLE_INPUT, NewMemory
from scripts.stack import LocalStack
from tests.service.pdfs import bomb_pdf
from workers.activities import DocumentActivities, MemoryActivities, Pace


@pytest.fixture
async def pool(stack: LocalStack) -> AsyncIterator[AsyncConnectionPool]:
    async with AsyncConnectionPool(
        stack.database_url, min_size=1, max_size=2, kwargs={"autocommit": True}
    ) as connections:
        yield connections


def _settings(stack: LocalStack, **overrides: object) -> Settings:
    return Settings(DATABASE_URL=stack.database_url, **overrides)


def _document(db: psycopg.Connection, content_type: str, data: bytes) -> str:
    document_id = str(uuid.uuid4())
    db.execute(
        "INSERT INTO documents (id, content_type, size_bytes) VALUES (%s, %s, %s)",
        (document_id, content_type, len(data)),
    )
    db.execute("INSERT INTO document_blobs (document_id, content) VALUES (%s, %s)", (document_id, data))
    return document_id


@pytest.mark.parametrize(
    ("content", "metadata"),
    [("a\x00b", {}), ("ok", {"k": "a\x00b"}), ("ok", {"n": float("nan")}), ("\ud800", {})],
    ids=["nul-content", "nul-metadata", "nan", "surrogate"],
)
async def test_unstorable_memory_fails_for_good(
    pool: AsyncConnectionPool, db: psycopg.Connection, content: str, metadata: dict
) -> None:
    memory = NewMemory(id=str(uuid.uuid4()), content=content, metadata=metadata)
    db.execute("INSERT INTO memory_requests (id, request_hash) VALUES (%s, 'test')", (memory.id,))
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(MemoryActivities(pool).store_memory, memory)
    assert raised.value.non_retryable and raised.value.type == UNSTORABLE_INPUT
    status, error = db.execute(
        "SELECT status, error FROM memory_requests WHERE id = %s", (memory.id,)
    ).fetchone()
    assert status == "failed" and "cannot be stored" in error
    assert db.execute("SELECT count(*) FROM memories WHERE id = %s", (memory.id,)).fetchone()[0] == 0


async def test_a_deleted_request_is_never_stored(pool: AsyncConnectionPool, db: psycopg.Connection) -> None:
    memory = NewMemory(id=str(uuid.uuid4()), content="cancelled")
    db.execute(
        "INSERT INTO memory_requests (id, request_hash, status) VALUES (%s, 'x', 'deleted')", (memory.id,)
    )
    result = await ActivityEnvironment().run(MemoryActivities(pool).store_memory, memory)
    assert result == {"id": memory.id, "status": "deleted"}
    assert db.execute("SELECT count(*) FROM memories WHERE id = %s", (memory.id,)).fetchone()[0] == 0


async def test_a_memory_without_request_row_is_stored(pool: AsyncConnectionPool) -> None:
    """Workflows started before requests were recorded still store their memory."""
    memory = NewMemory(id=str(uuid.uuid4()), content="from an older web server")
    result = await ActivityEnvironment().run(MemoryActivities(pool).store_memory, memory)
    assert result["status"] == "stored" and result["content"] == "from an older web server"


async def test_document_limits_truncate_and_say_so(
    stack: LocalStack, pool: AsyncConnectionPool, db: psycopg.Connection
) -> None:
    text = " ".join(f"limitword{n}" for n in range(5000)).encode()
    document_id = _document(db, "text/plain", text)
    settings = _settings(stack, PAPR_CHUNK_SIZE=200, PAPR_CHUNK_OVERLAP=20, PAPR_MAX_DOCUMENT_CHUNKS=7)
    activities = DocumentActivities(pool, settings)
    chunks = await ActivityEnvironment().run(activities.extract_store_and_finish_document, document_id)
    assert chunks == 7
    query = "SELECT truncated, chunk_count, status FROM documents WHERE id = %s"
    assert db.execute(query, (document_id,)).fetchone() == (True, 7, "done")
    memories = db.execute("SELECT count(*) FROM memories WHERE document_id = %s", (document_id,)).fetchone()
    assert memories == (7,)


async def test_a_decompression_bomb_fails_fast_without_retries(
    stack: LocalStack, pool: AsyncConnectionPool, db: psycopg.Connection
) -> None:
    document_id = _document(db, "application/pdf", bomb_pdf(64))
    activities = DocumentActivities(pool, _settings(stack, PAPR_EXTRACTION_MEMORY_MB=256))
    started = time.monotonic()
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(activities.extract_and_store_document, document_id)
    assert time.monotonic() - started < 20
    assert raised.value.non_retryable and raised.value.type == EXTRACTION_ERROR
    assert "limit" in raised.value.message


async def test_extraction_past_its_time_limit_fails(
    stack: LocalStack, pool: AsyncConnectionPool, db: psycopg.Connection
) -> None:
    pages = b"".join(b"BT /F1 12 Tf 72 720 Td (slow page) Tj ET\n" for _ in range(200_000))
    from tests.service.pdfs import pdf_with_content

    document_id = _document(db, "application/pdf", pdf_with_content(pages))
    activities = DocumentActivities(pool, _settings(stack, PAPR_EXTRACTION_TIMEOUT_SECONDS=0.5))
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(activities.extract_and_store_document, document_id)
    assert raised.value.non_retryable and "longer than 0.5 s" in raised.value.message


async def test_a_document_as_a_local_activity_sends_no_heartbeats_and_is_paced(
    stack: LocalStack, pool: AsyncConnectionPool, db: psycopg.Connection
) -> None:
    """The document workflow runs its work as a local activity (one workflow task per document):
    it has no activity task to heartbeat, and the worker's activity rate does not cover it, so
    the activity paces itself."""
    text = " ".join(f"localword{n}" for n in range(2000)).encode()
    document_ids = [_document(db, "text/plain", text) for _ in range(3)]
    rate = 4.0
    activities = DocumentActivities(
        pool,
        _settings(
            stack, PAPR_CHUNK_SIZE=200, PAPR_CHUNK_OVERLAP=20, PAPR_DOCUMENT_WORKER_ACTIVITIES_PER_SECOND=rate
        ),
    )
    environment = ActivityEnvironment()
    environment.info = dataclasses.replace(environment.info, is_local=True)
    heartbeats: list[object] = []
    environment.on_heartbeat = lambda *details: heartbeats.append(details)
    started = time.monotonic()
    for document_id in document_ids:
        assert await environment.run(activities.extract_store_and_finish_document, document_id) > 1
    assert time.monotonic() - started >= (len(document_ids) - 1) / rate
    assert heartbeats == []
    statuses = db.execute(
        "SELECT DISTINCT status FROM documents WHERE id = ANY(%s)", (document_ids,)
    ).fetchall()
    assert statuses == [("done",)]


async def test_pace_spaces_starts_evenly() -> None:
    pace = Pace(per_second=20)
    started = time.monotonic()
    for _ in range(5):
        await pace.wait()
    assert time.monotonic() - started >= 4 / 20
