"""Activities: the only code that touches PostgreSQL on the workers' side."""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from uuid import UUID

from psycopg_pool import AsyncConnectionPool
from temporalio import activity
from temporalio.exceptions import ApplicationError

from app import repository
from app.config import Settings
from app.contracts import (
    DELETE_MEMORY_ACTIVITY,
    DOCUMENT_NOT_FOUND,
    EXTRACT_DOCUMENT_ACTIVITY,
    EXTRACTION_ERROR,
    FAIL_DOCUMENT_ACTIVITY,
    FINISH_DOCUMENT_ACTIVITY,
    STORE_CHUNK_MEMORIES_ACTIVITY,
    STORE_MEMORY_ACTIVITY,
    ChunkRange,
    NewMemory,
)
from workers.extraction import ExtractionError, chunk_text, extract_text

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0


class MemoryActivities:
    """Run by the memory worker (task queue papr-memory): every write to the memories table."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    @activity.defn(name=STORE_MEMORY_ACTIVITY)
    async def store_memory(self, memory: NewMemory) -> dict[str, Any]:
        async with self._pool.connection() as conn:
            return await repository.insert_memory(conn, memory)

    @activity.defn(name=DELETE_MEMORY_ACTIVITY)
    async def delete_memory(self, memory_id: str) -> bool:
        async with self._pool.connection() as conn:
            return await repository.delete_memory(conn, UUID(memory_id))

    @activity.defn(name=STORE_CHUNK_MEMORIES_ACTIVITY)
    async def store_chunk_memories(self, chunks: ChunkRange) -> int:
        async with self._pool.connection() as conn:
            inserted = await repository.store_chunk_memories(
                conn, UUID(chunks.document_id), chunks.start, chunks.end
            )
        log.info(
            "chunk memories stored",
            extra={"document_id": chunks.document_id, "chunks": [chunks.start, chunks.end], "new": inserted},
        )
        return inserted


class DocumentActivities:
    """Run by the document worker (task queue papr-documents): extraction and document status."""

    def __init__(self, pool: AsyncConnectionPool, settings: Settings) -> None:
        self._pool = pool
        self._chunk_size = settings.chunk_size
        self._chunk_overlap = settings.chunk_overlap

    @activity.defn(name=EXTRACT_DOCUMENT_ACTIVITY)
    async def extract_document(self, document_id: str) -> int:
        """Read the stored bytes, extract and chunk the text, store the chunks; return their count."""
        async with self._pool.connection() as conn:
            loaded = await repository.start_processing(conn, UUID(document_id))
        if loaded is None:
            raise ApplicationError(f"document {document_id} does not exist", type=DOCUMENT_NOT_FOUND)
        content_type, data = loaded
        try:
            text = await _with_heartbeats(asyncio.to_thread(extract_text, content_type, data))
        except ExtractionError as error:
            raise ApplicationError(str(error), type=EXTRACTION_ERROR, non_retryable=True) from None
        chunks = chunk_text(text, self._chunk_size, self._chunk_overlap)
        async with self._pool.connection() as conn:
            await repository.save_chunks(conn, UUID(document_id), chunks)
        log.info("document extracted", extra={"document_id": document_id, "chunk_count": len(chunks)})
        return len(chunks)

    @activity.defn(name=FINISH_DOCUMENT_ACTIVITY)
    async def finish_document(self, document_id: str) -> None:
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
        activity.heartbeat()
