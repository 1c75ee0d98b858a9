"""The /v1 API: memories and documents. Writes go through Temporal workflows to the workers."""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from app import repository
from app.config import DOCUMENT_TASK_QUEUE, MEMORY_TASK_QUEUE
from app.contracts import (
    DELETE_MEMORY_WORKFLOW,
    DOCUMENT_TYPES,
    PROCESS_DOCUMENT_WORKFLOW,
    STORE_MEMORY_WORKFLOW,
    NewMemory,
    delete_workflow_id,
    document_type,
    document_workflow_id,
    memory_workflow_id,
)
from app.errors import ApiError
from app.security import require_api_key
from app.services import Services

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", dependencies=[Depends(require_api_key)])

# Multipart framing (boundaries, part headers) on top of the file itself.
_MULTIPART_OVERHEAD = 64 * 1024


def _services(request: Request) -> Services:
    return request.app.state.services


class MemoryIn(BaseModel):
    content: str = Field(min_length=1, description="the text to remember")
    metadata: dict[str, Any] = Field(default_factory=dict)


async def _finish_within(handle: WorkflowHandle, seconds: float) -> Any:
    """The workflow's result, or None when it is still running after `seconds`."""
    try:
        return await asyncio.wait_for(handle.result(), seconds)
    except TimeoutError:
        return None


@router.post("/memories", status_code=202)
async def create_memory(
    body: MemoryIn,
    request: Request,
    wait: bool = Query(False, description="wait until the memory worker stored it (201)"),
) -> JSONResponse:
    services = _services(request)
    if len(body.content) > services.settings.max_memory_chars:
        raise ApiError(422, f"content is longer than {services.settings.max_memory_chars} characters")
    memory_id = str(uuid4())
    client = await services.temporal.client_or_503()
    try:
        handle = await client.start_workflow(
            STORE_MEMORY_WORKFLOW,
            NewMemory(id=memory_id, content=body.content, metadata=body.metadata),
            id=memory_workflow_id(memory_id),
            task_queue=MEMORY_TASK_QUEUE,
        )
    except RPCError as error:
        raise ApiError(503, f"could not queue the memory: {error.message}") from None
    headers = {"Location": f"/v1/memories/{memory_id}"}
    log.info("memory queued", extra={"memory_id": memory_id, "wait": wait})
    if wait:
        stored = await _finish_within(handle, services.settings.wait_timeout_seconds)
        if stored is not None:
            return JSONResponse(stored, status_code=201, headers=headers)
    return JSONResponse({"id": memory_id, "status": "queued"}, status_code=202, headers=headers)


@router.get("/memories/search")
async def search_memories(
    request: Request,
    q: str = Query(min_length=1, max_length=1000, description="web-search style query"),
    limit: int = Query(10, ge=1, le=100),
) -> dict[str, Any]:
    async with _services(request).pool.connection() as conn:
        results = await repository.search_memories(conn, q, limit)
    return {"query": q, "count": len(results), "results": results}


async def _workflow_running(services: Services, workflow_id: str) -> bool:
    client = await services.temporal.client_or_503()
    try:
        description = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise ApiError(503, f"temporal: {error.message}") from None
    return description.status == WorkflowExecutionStatus.RUNNING


@router.get("/memories/{memory_id}")
async def get_memory(memory_id: UUID, request: Request) -> dict[str, Any]:
    services = _services(request)
    async with services.pool.connection() as conn:
        memory = await repository.get_memory(conn, memory_id)
    if memory is not None:
        return memory
    # Accepted but not written yet: say so rather than 404.
    if await _workflow_running(services, memory_workflow_id(str(memory_id))):
        return {"id": str(memory_id), "status": "queued"}
    raise ApiError(404, f"memory {memory_id} not found")


@router.delete("/memories/{memory_id}", status_code=204)
async def delete_memory(memory_id: UUID, request: Request) -> Response:
    services = _services(request)
    async with services.pool.connection() as conn:
        if await repository.get_memory(conn, memory_id) is None:
            raise ApiError(404, f"memory {memory_id} not found")
    client = await services.temporal.client_or_503()
    try:
        handle = await client.start_workflow(
            DELETE_MEMORY_WORKFLOW,
            str(memory_id),
            id=delete_workflow_id(str(memory_id)),
            task_queue=MEMORY_TASK_QUEUE,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
    except RPCError as error:
        raise ApiError(503, f"could not queue the deletion: {error.message}") from None
    if await _finish_within(handle, services.settings.wait_timeout_seconds) is None:
        return JSONResponse({"id": str(memory_id), "status": "deleting"}, status_code=202)
    return Response(status_code=204)


async def _read_limited(request: Request, limit: int) -> bytes:
    """The raw body, refusing (413) as soon as it grows past the limit."""
    received = bytearray()
    async for part in request.stream():
        received += part
        if len(received) > limit:
            raise ApiError(413, f"the document is larger than {limit} bytes")
    return bytes(received)


async def _upload(request: Request, limit: int, filename: str | None) -> tuple[bytes, str, str | None]:
    """(bytes, media type, file name) from a multipart `file` field or a raw body."""
    header_type = request.headers.get("content-type", "")
    declared = request.headers.get("content-length")
    is_multipart = header_type.lower().startswith("multipart/form-data")
    if (
        declared
        and declared.isdigit()
        and int(declared) > limit + (_MULTIPART_OVERHEAD if is_multipart else 0)
    ):
        raise ApiError(413, f"the document is larger than {limit} bytes")
    unsupported = ApiError(415, f"supported types: {', '.join(DOCUMENT_TYPES)}")
    if not is_multipart:
        media_type = document_type(header_type, filename)
        if media_type is None:
            raise unsupported
        return await _read_limited(request, limit), media_type, filename
    form = await request.form(max_files=1, max_fields=5)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ApiError(422, "multipart upload needs a `file` field")
    media_type = document_type(upload.content_type, upload.filename)
    if media_type is None:
        raise unsupported
    if upload.size is not None and upload.size > limit:
        raise ApiError(413, f"the document is larger than {limit} bytes")
    return await upload.read(), media_type, upload.filename or filename


@router.post("/documents", status_code=202)
async def create_document(
    request: Request, filename: str | None = Query(None, max_length=255, description="name for a raw body")
) -> JSONResponse:
    services = _services(request)
    content, media_type, name = await _upload(request, services.settings.max_upload_bytes, filename)
    if not content:
        raise ApiError(422, "the document is empty")
    client = await services.temporal.client_or_503()
    document_id = uuid4()
    # Commit before starting the workflow, so its first activity always finds the document.
    async with services.pool.connection() as conn, conn.transaction():
        await repository.create_document(conn, document_id, name, media_type, content)
    # The SDK retries a failed start itself with the same request id, which Temporal
    # de-duplicates; the workflow id is unique per document, so nothing is processed twice.
    try:
        await client.start_workflow(
            PROCESS_DOCUMENT_WORKFLOW,
            str(document_id),
            id=document_workflow_id(str(document_id)),
            task_queue=DOCUMENT_TASK_QUEUE,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except RPCError as error:
        # Not queued: drop the row, so the client's retry is the only copy.
        async with services.pool.connection() as conn:
            await repository.delete_document(conn, document_id)
        raise ApiError(503, f"could not queue the document: {error.message}") from None
    log.info(
        "document queued",
        extra={"document_id": str(document_id), "content_type": media_type, "size_bytes": len(content)},
    )
    return JSONResponse(
        {"id": str(document_id), "status": "queued"},
        status_code=202,
        headers={"Location": f"/v1/documents/{document_id}"},
    )


@router.get("/documents/{document_id}")
async def get_document(document_id: UUID, request: Request) -> dict[str, Any]:
    async with _services(request).pool.connection() as conn:
        document = await repository.get_document(conn, document_id)
    if document is None:
        raise ApiError(404, f"document {document_id} not found")
    return document
