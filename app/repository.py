"""Every SQL statement of the service, shared by the web server and the workers."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from app.contracts import NewMemory


def _memory(row: dict[str, Any]) -> dict[str, Any]:
    memory = {
        "id": str(row["id"]),
        "status": "stored",
        "content": row["content"],
        "metadata": row["metadata"],
        "document_id": str(row["document_id"]) if row["document_id"] else None,
        "chunk_index": row["chunk_index"],
        "created_at": row["created_at"].isoformat(),
    }
    if "rank" in row:
        memory["rank"] = round(float(row["rank"]), 6)
    return memory


async def insert_memory(conn: AsyncConnection, memory: NewMemory) -> dict[str, Any]:
    """Store an accepted memory exactly once (call inside a transaction).

    The request row is locked first, so a DELETE of the queued memory either ran before (the
    memory is never stored) or waits until it is stored. A memory accepted before requests were
    recorded (an older web server) gets its row here, with the request's fingerprint: that lock
    covers it too, and a keyed retry of the same request matches it instead of a 409. Storing the
    same id again changes nothing."""
    lock = "SELECT status FROM memory_requests WHERE id = %s FOR UPDATE"
    request = await (await conn.execute(lock, (memory.id,))).fetchone()
    if request is None:
        await conn.execute(
            "INSERT INTO memory_requests (id, request_hash) VALUES (%s, %s) ON CONFLICT (id) DO NOTHING",
            (memory.id, memory.fingerprint()),
        )
        request = await (await conn.execute(lock, (memory.id,))).fetchone()
    if request[0] != "queued":
        return await get_memory(conn, UUID(memory.id)) or {"id": memory.id, "status": request[0]}
    await conn.execute(
        "INSERT INTO memories (id, content, metadata) VALUES (%s, %s, %s) ON CONFLICT (id) DO NOTHING",
        (memory.id, memory.content, Jsonb(memory.metadata)),
    )
    await conn.execute(
        "UPDATE memory_requests SET status = 'stored', updated_at = now() WHERE id = %s", (memory.id,)
    )
    stored = await get_memory(conn, UUID(memory.id))
    assert stored is not None
    return stored


async def accept_memory(
    conn: AsyncConnection, memory_id: UUID, request_hash: str, *, idempotent: bool
) -> tuple[bool, str, str]:
    """Record an accepted write; returns (new, request_hash, status) of the row now there."""
    cur = await conn.execute(
        "INSERT INTO memory_requests (id, request_hash, idempotent) VALUES (%s, %s, %s)"
        " ON CONFLICT (id) DO NOTHING RETURNING request_hash, status",
        (memory_id, request_hash, idempotent),
    )
    row = await cur.fetchone()
    if row is not None:
        return True, row[0], row[1]
    cur = await conn.execute("SELECT request_hash, status FROM memory_requests WHERE id = %s", (memory_id,))
    row = await cur.fetchone()
    if row is None:  # cleaned up between the two statements: record it again
        return await accept_memory(conn, memory_id, request_hash, idempotent=idempotent)
    return False, row[0], row[1]


async def forget_memory_request(conn: AsyncConnection, memory_id: UUID) -> None:
    """Drop a request that was never queued (its workflow could not be started)."""
    await conn.execute("DELETE FROM memory_requests WHERE id = %s AND status = 'queued'", (memory_id,))


async def memory_request(conn: AsyncConnection, memory_id: UUID) -> tuple[str, str | None] | None:
    """(status, error) of an accepted write, or None."""
    cur = await conn.execute("SELECT status, error FROM memory_requests WHERE id = %s", (memory_id,))
    row = await cur.fetchone()
    return (row[0], row[1]) if row else None


async def cancel_queued_memory(conn: AsyncConnection, memory_id: UUID) -> bool:
    """Mark a write that is still queued deleted: the memory worker will never store it."""
    cur = await conn.execute(
        "UPDATE memory_requests SET status = 'deleted', updated_at = now()"
        " WHERE id = %s AND status = 'queued'",
        (memory_id,),
    )
    return cur.rowcount > 0


async def cancel_unrecorded_memory(conn: AsyncConnection, memory_id: UUID) -> bool:
    """Record a write accepted by an older web server (no row, its workflow still queued) as
    deleted. Conflicts with the row the memory worker inserts before storing: if the worker got
    there first this waits for it and changes nothing (False), the memory is stored."""
    cur = await conn.execute(
        "INSERT INTO memory_requests (id, request_hash, status) VALUES (%s, '', 'deleted')"
        " ON CONFLICT (id) DO UPDATE SET status = 'deleted', updated_at = now()"
        " WHERE memory_requests.status = 'queued' RETURNING status",
        (memory_id,),
    )
    return await cur.fetchone() is not None


async def fail_memory_request(conn: AsyncConnection, memory_id: str, error: str) -> None:
    await conn.execute(
        "INSERT INTO memory_requests (id, request_hash, status, error) VALUES (%s, '', 'failed', %s)"
        " ON CONFLICT (id) DO UPDATE SET status = 'failed', error = excluded.error, updated_at = now()"
        " WHERE memory_requests.status = 'queued'",
        (memory_id, error[:2000]),
    )


async def forget_old_requests(conn: AsyncConnection, hours: float) -> int:
    """Drop finished write records (and so their Idempotency-Keys) older than `hours`. Deleted
    ones stay: their row is what keeps a late workflow from storing them."""
    cur = await conn.execute(
        "DELETE FROM memory_requests WHERE status IN ('stored', 'failed')"
        " AND updated_at < now() - make_interval(secs => %s)",
        (hours * 3600,),
    )
    return cur.rowcount


async def get_memory(conn: AsyncConnection, memory_id: UUID) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        ("SELECT id, content, metadata, document_id, chunk_index, created_at FROM memories WHERE id = %s"),
        (memory_id,),
    )
    row = await cur.fetchone()
    return _memory(row) if row else None


async def delete_memory(conn: AsyncConnection, memory_id: UUID) -> bool:
    cur = await conn.execute("DELETE FROM memories WHERE id = %s", (memory_id,))
    return cur.rowcount > 0


async def search_memories(conn: AsyncConnection, query: str, limit: int) -> list[dict[str, Any]]:
    """Ranked full-text search over the GIN-indexed generated tsvector."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT id, content, metadata, document_id, chunk_index, created_at,"
        " ts_rank(search_vector, q) AS rank"
        " FROM memories, websearch_to_tsquery('english', %s) AS q"
        " WHERE search_vector @@ q ORDER BY rank DESC, created_at DESC, id LIMIT %s",
        (query, limit),
    )
    return [_memory(row) for row in await cur.fetchall()]


async def create_document(
    conn: AsyncConnection,
    document_id: UUID,
    filename: str | None,
    content_type: str,
    content: bytes,
    request_hash: str,
) -> str | None:
    """Insert the document and its bytes (call inside a transaction). When the id exists
    already (an Idempotency-Key retry) nothing is written and its request fingerprint is
    returned; None means this call created it."""
    cur = await conn.execute(
        "INSERT INTO documents (id, filename, content_type, size_bytes, request_hash)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
        (document_id, filename, content_type, len(content), request_hash),
    )
    if cur.rowcount == 0:
        cur = await conn.execute(
            "SELECT coalesce(request_hash, '') FROM documents WHERE id = %s", (document_id,)
        )
        row = await cur.fetchone()
        return row[0] if row else ""
    await conn.execute(
        "INSERT INTO document_blobs (document_id, content) VALUES (%s, %s)", (document_id, content)
    )
    return None


async def delete_document(conn: AsyncConnection, document_id: UUID) -> None:
    await conn.execute("DELETE FROM documents WHERE id = %s", (document_id,))


async def get_document(conn: AsyncConnection, document_id: UUID) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT d.id, d.filename, d.content_type, d.size_bytes, d.status, d.chunk_count, d.error,"
        " d.truncated,"
        " d.created_at, d.updated_at,"
        " (SELECT count(*) FROM memories m WHERE m.document_id = d.id) AS memory_count"
        " FROM documents d WHERE d.id = %s",
        (document_id,),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return {
        "id": str(row["id"]),
        "status": row["status"],
        "filename": row["filename"],
        "content_type": row["content_type"],
        "size_bytes": row["size_bytes"],
        "chunk_count": row["chunk_count"],
        "memory_count": row["memory_count"],
        "error": row["error"],
        "truncated": row["truncated"],
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
    }


async def start_processing(conn: AsyncConnection, document_id: UUID) -> tuple[str, bytes] | None:
    """Mark the document processing and return (content_type, bytes), or None if it is unknown."""
    cur = await conn.execute(
        "UPDATE documents SET status = 'processing', error = NULL, updated_at = now()"
        " FROM document_blobs b WHERE documents.id = %s AND b.document_id = documents.id"
        " RETURNING documents.content_type, b.content",
        (document_id,),
    )
    row = await cur.fetchone()
    return (row[0], bytes(row[1])) if row else None


async def save_chunks(conn: AsyncConnection, document_id: UUID, chunks: list[str]) -> None:
    """Store the chunk texts (deterministic for a document, so a retry writes the same rows)."""
    async with conn.transaction():
        async with conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO document_chunks (document_id, chunk_index, content) VALUES (%s, %s, %s)"
                " ON CONFLICT (document_id, chunk_index) DO NOTHING",
                [(document_id, index, text) for index, text in enumerate(chunks)],
            )
        await conn.execute(
            "UPDATE documents SET chunk_count = %s, updated_at = now() WHERE id = %s",
            (len(chunks), document_id),
        )


async def mark_truncated(conn: AsyncConnection, document_id: UUID) -> None:
    await conn.execute("UPDATE documents SET truncated = true WHERE id = %s", (document_id,))


async def store_chunk_memories(conn: AsyncConnection, document_id: UUID, start: int, end: int) -> int:
    """Turn chunks [start, end) into memories exactly once.

    The memory id is derived from (document id, chunk index) and the pair is unique, so a retried
    or duplicated activity inserts nothing twice. Returns the number of rows inserted now."""
    cur = await conn.execute(
        "INSERT INTO memories (id, content, metadata, document_id, chunk_index)"
        " SELECT md5(c.document_id::text || ':' || c.chunk_index)::uuid, c.content,"
        "  jsonb_build_object('document_id', d.id, 'chunk_index', c.chunk_index,"
        "   'filename', d.filename, 'content_type', d.content_type),"
        "  c.document_id, c.chunk_index"
        " FROM document_chunks c JOIN documents d ON d.id = c.document_id"
        " WHERE c.document_id = %s AND c.chunk_index >= %s AND c.chunk_index < %s"
        " ON CONFLICT DO NOTHING",
        (document_id, start, end),
    )
    return cur.rowcount


async def finish_document(conn: AsyncConnection, document_id: UUID) -> None:
    await conn.execute(
        "UPDATE documents SET status = 'done', error = NULL, updated_at = now() WHERE id = %s",
        (document_id,),
    )


async def fail_document(conn: AsyncConnection, document_id: UUID, error: str) -> None:
    await conn.execute(
        "UPDATE documents SET status = 'failed', error = %s, updated_at = now() WHERE id = %s",
        (error[:2000], document_id),
    )
