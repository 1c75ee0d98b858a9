"""Activities: the only code that touches PostgreSQL on the workers' side.

Input that still cannot be stored (the API refuses it, see app/validation.py; this is the last
line of defence) is a permanent failure: the memory or document ends `failed` with the reason,
and the activity fails without retries instead of retrying forever."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any
from uuid import UUID

import psycopg
from psycopg_pool import AsyncConnectionPool
from temporalio import activity
from temporalio.exceptions import ApplicationError

from app import repository
from app.config import Settings
from app.contracts import (
    DELETE_MEMORY_ACTIVITY,
    DOCUMENT_NOT_FOUND,
    EXTRACT_AND_STORE_DOCUMENT_ACTIVITY,
    EXTRACT_DOCUMENT_ACTIVITY,
    EXTRACT_STORE_AND_FINISH_DOCUMENT_ACTIVITY,
    EXTRACTION_ERROR,
    FAIL_DOCUMENT_ACTIVITY,
    FINISH_DOCUMENT_ACTIVITY,
    STORE_CHUNK_MEMORIES_ACTIVITY,
    STORE_MEMORY_ACTIVITY,
    UNSTORABLE_INPUT,
    ChunkRange,
    NewMemory,
)
from workers.extraction import ExtractionError, ExtractionLimits, chunk_text, extract

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0
# Chunk memories written per transaction by the document worker: short transactions, so its
# writes interleave with user writes instead of holding locks and I/O for a whole document.
CHUNKS_PER_TRANSACTION = 50

# What retrying cannot fix: the value itself is refused by PostgreSQL (SQLSTATE classes 22 and
# 54, e.g. NUL in text, invalid JSON numbers, a tsvector too long) or by the driver (ValueError,
# e.g. a string that is not valid Unicode).
UNSTORABLE = (psycopg.DataError, psycopg.errors.ProgramLimitExceeded, ValueError)


def unstorable(error: Exception) -> ApplicationError:
    return ApplicationError(
        f"cannot be stored: {type(error).__name__}: {error}", type=UNSTORABLE_INPUT, non_retryable=True
    )


class MemoryActivities:
    """Run by the memory worker (task queue papr-memory): the users' memory writes."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    @activity.defn(name=STORE_MEMORY_ACTIVITY)
    async def store_memory(self, memory: NewMemory) -> dict[str, Any]:
        try:
            async with self._pool.connection() as conn, conn.transaction():
                return await repository.insert_memory(conn, memory)
        except UNSTORABLE as error:
            failure = unstorable(error)
            async with self._pool.connection() as conn:
                await repository.fail_memory_request(conn, memory.id, failure.message)
            log.warning("memory failed", extra={"memory_id": memory.id, "error": failure.message})
            raise failure from None

    @activity.defn(name=DELETE_MEMORY_ACTIVITY)
    async def delete_memory(self, memory_id: str) -> bool:
        async with self._pool.connection() as conn:
            return await repository.delete_memory(conn, UUID(memory_id))

    @activity.defn(name=STORE_CHUNK_MEMORIES_ACTIVITY)
    async def store_chunk_memories(self, chunks: ChunkRange) -> int:
        """Only for document workflows started before the document worker stored its own chunks."""
        async with self._pool.connection() as conn:
            inserted = await repository.store_chunk_memories(
                conn, UUID(chunks.document_id), chunks.start, chunks.end
            )
        log.info(
            "chunk memories stored",
            extra={"document_id": chunks.document_id, "chunks": [chunks.start, chunks.end], "new": inserted},
        )
        return inserted


class Pace:
    """At most `per_second` starts a second, evenly spaced: the worker's own rate limit covers
    activity tasks only, not local activities."""

    def __init__(self, per_second: float) -> None:
        self._interval = 1 / per_second
        self._next = 0.0

    async def wait(self) -> None:
        now = time.monotonic()
        start = max(now, self._next)
        self._next = start + self._interval
        await asyncio.sleep(start - now)


def heartbeat() -> None:
    """Heartbeat an activity task; a local activity has none to send (its workflow task is what
    Temporal watches, and the SDK keeps that alive)."""
    if not activity.info().is_local:
        activity.heartbeat()


class DocumentActivities:
    """Run by the document worker (task queue papr-documents): extraction, the document's chunk
    memories and its status, on the document worker's own connection pool."""

    def __init__(self, pool: AsyncConnectionPool, settings: Settings) -> None:
        self._pool = pool
        self._pace = Pace(settings.document_worker_activities_per_second)
        self._chunk_size = settings.chunk_size
        self._chunk_overlap = settings.chunk_overlap
        self._max_chunks = settings.max_document_chunks
        self._limits = ExtractionLimits(
            max_pages=settings.max_document_pages,
            max_chars=settings.max_document_chars,
            timeout_seconds=settings.extraction_timeout_seconds,
            memory_mb=settings.extraction_memory_mb,
        )

    async def _extract_and_save_chunks(self, document_id: str) -> list[str]:
        """Read the stored bytes, extract and chunk the text within the limits, store the chunks."""
        async with self._pool.connection() as conn:
            loaded = await repository.start_processing(conn, UUID(document_id))
        if loaded is None:
            raise ApplicationError(f"document {document_id} does not exist", type=DOCUMENT_NOT_FOUND)
        content_type, data = loaded
        try:
            extracted = await _with_heartbeats(asyncio.to_thread(extract, content_type, data, self._limits))
        except ExtractionError as error:
            raise ApplicationError(str(error), type=EXTRACTION_ERROR, non_retryable=True) from None
        chunks = chunk_text(extracted.text, self._chunk_size, self._chunk_overlap)
        truncated = extracted.truncated or len(chunks) > self._max_chunks
        chunks = chunks[: self._max_chunks]
        try:
            async with self._pool.connection() as conn:
                await repository.save_chunks(conn, UUID(document_id), chunks)
                if truncated:
                    await repository.mark_truncated(conn, UUID(document_id))
        except UNSTORABLE as error:
            raise unstorable(error) from None
        log.info(
            "document extracted",
            extra={"document_id": document_id, "chunk_count": len(chunks), "truncated": truncated},
        )
        return chunks

    @activity.defn(name=EXTRACT_DOCUMENT_ACTIVITY)
    async def extract_document(self, document_id: str) -> int:
        """Workflows started before PATCH_DOCUMENT_WORKER_STORES_CHUNKS: chunks only."""
        return len(await self._extract_and_save_chunks(document_id))

    @activity.defn(name=EXTRACT_STORE_AND_FINISH_DOCUMENT_ACTIVITY)
    async def extract_store_and_finish_document(self, document_id: str) -> int:
        """Extract, chunk, store every chunk as a memory and mark the document done; returns the
        number of chunks. Each step is idempotent, so a retried attempt finishes the same way."""
        if activity.info().is_local:
            await self._pace.wait()
        chunk_count = await self._extract_and_store(document_id)
        await self._finish(document_id)
        return chunk_count

    @activity.defn(name=EXTRACT_AND_STORE_DOCUMENT_ACTIVITY)
    async def extract_and_store_document(self, document_id: str) -> int:
        """Workflows started before PATCH_DOCUMENT_DONE_IN_ONE_ACTIVITY: without marking it done."""
        return await self._extract_and_store(document_id)

    async def _extract_and_store(self, document_id: str) -> int:
        """Extract, chunk, and store every chunk as a memory; returns the number of chunks."""
        chunks = await self._extract_and_save_chunks(document_id)
        try:
            for start in range(0, len(chunks), CHUNKS_PER_TRANSACTION):
                async with self._pool.connection() as conn:
                    await repository.store_chunk_memories(
                        conn, UUID(document_id), start, start + CHUNKS_PER_TRANSACTION
                    )
                heartbeat()
        except UNSTORABLE as error:
            raise unstorable(error) from None
        log.info("chunk memories stored", extra={"document_id": document_id, "chunk_count": len(chunks)})
        return len(chunks)

    @activity.defn(name=FINISH_DOCUMENT_ACTIVITY)
    async def finish_document(self, document_id: str) -> None:
        await self._finish(document_id)

    async def _finish(self, document_id: str) -> None:
        async with self._pool.connection() as conn:
            await repository.finish_document(conn, UUID(document_id))
        log.info("document done", extra={"document_id": document_id})

    @activity.defn(name=FAIL_DOCUMENT_ACTIVITY)
    async def fail_document(self, document_id: str, error: str) -> None:
        async with self._pool.connection() as conn:
            await repository.fail_document(conn, UUID(document_id), error)
        log.warning("document failed", extra={"document_id": document_id, "error": error})


async def _with_heartbeats(work: Any) -> Any:
    """Await long work while heartbeating, so a dead worker's attempt is retried within the
    heartbeat timeout instead of the much longer start-to-close timeout."""
    task = asyncio.ensure_future(work)
    while True:
        done, _ = await asyncio.wait({task}, timeout=HEARTBEAT_SECONDS)
        if done:
            return task.result()
        heartbeat()
