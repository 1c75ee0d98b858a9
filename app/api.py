"""The /v1 API: memories and documents. Writes go through Temporal workflows to the workers.

Every write is recorded in PostgreSQL before the API answers 202 (memory_requests, documents),
so the id it hands out is visible at once and a retry with the same Idempotency-Key finds it."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from app import idempotency, repository
from app.config import DOCUMENT_TASK_QUEUE, MEMORY_TASK_QUEUE, MULTIPART_OVERHEAD_BYTES
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
    request_fingerprint,
)
from app.errors import NO_METHOD_ROUTE, ApiError
from app.models import (
    Document,
    DocumentAccepted,
    MemoryAccepted,
    MemoryIn,
    SearchResults,
    StoredMemory,
    error_responses,
)
from app.security import require_api_key
from app.services import Services
from app.validation import NO_NUL, UnstorableValue, check_json, check_text, json_size

log = logging.getLogger(__name__)


class _JsonRequest(Request):
    """Decodes JSON bodies so that what the parser itself cannot take (nesting deeper than the
    interpreter's recursion limit, integers longer than 4300 digits) is a 422, not a 400/500."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = json.loads(body)
            except json.JSONDecodeError:
                raise
            except RecursionError:
                raise HTTPException(422, "metadata: nested too deeply to parse") from None
            except ValueError as error:
                raise HTTPException(422, f"body: {error}") from None
        return self._json


class _JsonRoute(APIRoute):
    def get_route_handler(self):  # noqa: ANN201 - FastAPI's own signature
        handler = super().get_route_handler()

        async def json_route_handler(request: Request) -> Response:
            return await handler(_JsonRequest(request.scope, request.receive))

        return json_route_handler


router = APIRouter(
    prefix="/v1",
    dependencies=[Depends(require_api_key)],
    responses=error_responses(401, 405, 503),
    route_class=_JsonRoute,
)

IDEMPOTENCY_KEY = Header(
    None,
    alias=idempotency.HEADER,
    pattern=idempotency.KEY_PATTERN,
    description="retry-safe writes: the same key and body give the same id and one stored write;"
    " the same key with another body is refused (409). Kept at least 24 h.",
)


def _services(request: Request) -> Services:
    return request.app.state.services


def _location(kind: str, item_id: UUID | str) -> dict[str, str]:
    return {"Location": f"/v1/{kind}/{item_id}"}


async def _start(client: Client, workflow: str, argument: Any, workflow_id: str, task_queue: str) -> None:
    """Start a workflow once per id: a retry (same id) finds it running or finished and
    starts nothing. The SDK retries a failed start itself with the same request id."""
    try:
        await client.start_workflow(
            workflow,
            argument,
            id=workflow_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
    except WorkflowAlreadyStartedError:
        pass


async def _unrecorded_write(services: Services, memory_id: UUID) -> tuple[str, str | None] | None:
    """(status, error) of a write that has no memory_requests row: one accepted by a web server
    older than that table, known only to Temporal. 'queued' while its workflow runs, 'failed'
    when the workflow ended without storing; None when there is no such write (or it finished:
    then the memory table has the answer)."""
    client = await services.temporal.client_or_503()
    handle = client.get_workflow_handle(memory_workflow_id(str(memory_id)))
    try:
        # Longer than a health check: a busy Temporal must not turn a plain 404 into a 503.
        timeout = timedelta(seconds=services.settings.health_timeout_seconds * 3)
        described = await handle.describe(rpc_timeout=timeout)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise ApiError(503, f"cannot tell whether memory {memory_id} is queued: {error.message}") from None
    if described.status in (WorkflowExecutionStatus.RUNNING, WorkflowExecutionStatus.CONTINUED_AS_NEW):
        return "queued", None
    if described.status == WorkflowExecutionStatus.COMPLETED or described.status is None:
        return None
    return "failed", f"the write's workflow ended {described.status.name.lower()}"


async def _memory_state(services: Services, memory_id: UUID) -> dict[str, Any] | None:
    """The memory as stored, or its accepted write (queued/failed), or None."""
    async with services.pool.connection() as conn:
        memory = await repository.get_memory(conn, memory_id)
        if memory is not None:
            return memory
        request = await repository.memory_request(conn, memory_id)
    if request is None:
        request = await _unrecorded_write(services, memory_id)
    if request is None or request[0] == "stored":
        # Stored since the first read (or stored, then deleted): the memory table has the answer.
        async with services.pool.connection() as conn:
            return await repository.get_memory(conn, memory_id)
    if request[0] == "deleted":
        return None
    status, error = request
    return {"id": str(memory_id), "status": status, **({"error": error} if error else {})}


async def _wait_for_result(handle: WorkflowHandle, seconds: float) -> None:
    """Wait for the workflow; whatever goes wrong meanwhile (Temporal restarting, the workflow
    failing) only means the caller reports the write's state from PostgreSQL instead."""
    try:
        await asyncio.wait_for(handle.result(), seconds)
    except Exception as error:  # noqa: BLE001 - an accepted write never turns into a 5xx here
        log.info("waiting for the workflow ended early", extra={"error": f"{type(error).__name__}: {error}"})


def _check_memory(body: MemoryIn, services: Services) -> None:
    settings = services.settings
    if len(body.content) > settings.max_memory_chars:
        raise ApiError(422, f"content: longer than {settings.max_memory_chars} characters")
    try:
        check_json(body.metadata, "metadata", settings.max_metadata_depth)
    except UnstorableValue as error:
        raise ApiError(422, str(error)) from None
    size = json_size(body.metadata)
    if size > settings.max_metadata_bytes:
        raise ApiError(413, f"metadata: {size} bytes of JSON, the limit is {settings.max_metadata_bytes}")


@router.post(
    "/memories",
    status_code=202,
    response_model=MemoryAccepted,
    responses={
        201: {"model": StoredMemory, "description": "stored (with ?wait=true)"},
        **error_responses(400, 409, 413, 422),
    },
)
async def create_memory(
    body: MemoryIn,
    request: Request,
    wait: bool = Query(False, description="wait until the memory worker stored it (201)"),
    idempotency_key: str | None = IDEMPOTENCY_KEY,
) -> JSONResponse:
    services = _services(request)
    _check_memory(body, services)
    key = idempotency.parse_key(idempotency_key)
    memory_id = idempotency.derived_id("memory", request.state.api_key, key) if key else uuid4()
    memory = NewMemory(id=str(memory_id), content=body.content, metadata=body.metadata)
    request_hash = memory.fingerprint()
    async with services.pool.connection() as conn:
        new, known_hash, _status = await repository.accept_memory(
            conn, memory_id, request_hash, idempotent=key is not None
        )
    if known_hash != request_hash:
        raise idempotency.conflict(key or "")
    try:
        client = await services.temporal.client_or_503()
        await _start(
            client,
            STORE_MEMORY_WORKFLOW,
            memory,
            memory_workflow_id(str(memory_id)),
            MEMORY_TASK_QUEUE,
        )
    except (ApiError, RPCError) as error:
        if new and key is None:
            # Never queued and no key to retry with: forget it, so the client's retry is the only copy.
            async with services.pool.connection() as conn:
                await repository.forget_memory_request(conn, memory_id)
        message = error.message
        retry = f" retry with the same {idempotency.HEADER}" if key else " retry"
        raise ApiError(503, f"could not queue the memory ({message});{retry}") from None
    log.info("memory queued", extra={"memory_id": str(memory_id), "wait": wait, "new": new})
    headers = _location("memories", memory_id)
    if wait:
        await _wait_for_result(
            client.get_workflow_handle(memory_workflow_id(str(memory_id))),
            services.settings.wait_timeout_seconds,
        )
    state = await _memory_state(services, memory_id) or {"id": str(memory_id), "status": "deleted"}
    if wait and state["status"] == "stored":
        return JSONResponse(state, status_code=201, headers=headers)
    accepted = {key: state[key] for key in ("id", "status", "error") if key in state}
    return JSONResponse(accepted, status_code=202, headers=headers)


@router.get("/memories/search", response_model=SearchResults, responses=error_responses(422))
async def search_memories(
    request: Request,
    q: str = Query(min_length=1, max_length=1000, pattern=NO_NUL, description="web-search style query"),
    limit: int = Query(10, ge=1, le=100),
) -> dict[str, Any]:
    try:
        check_text(q, "q")
    except UnstorableValue as error:
        raise ApiError(422, str(error)) from None
    async with _services(request).pool.connection() as conn:
        results = await repository.search_memories(conn, q, limit)
    return {"query": q, "count": len(results), "results": results}


@router.api_route(
    "/memories/search",
    methods=["POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
    name=NO_METHOD_ROUTE,
)
async def search_other_methods() -> None:
    """Without this, DELETE /v1/memories/search would match /memories/{memory_id} (a 422)."""
    raise ApiError(405, "method not allowed")


@router.get(
    "/memories/{memory_id}",
    response_model=StoredMemory | MemoryAccepted,
    responses=error_responses(404, 422),
)
async def get_memory(memory_id: UUID, request: Request) -> JSONResponse:
    state = await _memory_state(_services(request), memory_id)
    if state is None:
        raise ApiError(404, f"memory {memory_id} not found")
    return JSONResponse(state)


@router.delete(
    "/memories/{memory_id}",
    status_code=204,
    response_class=Response,
    responses={
        202: {"model": MemoryAccepted, "description": "deletion still running"},
        **error_responses(404, 422),
    },
)
async def delete_memory(memory_id: UUID, request: Request) -> Response:
    services = _services(request)
    async with services.pool.connection() as conn:
        if await repository.cancel_queued_memory(conn, memory_id):
            log.info("queued memory cancelled", extra={"memory_id": str(memory_id)})
            return Response(status_code=204)
        stored = await repository.get_memory(conn, memory_id) is not None
        recorded = stored or await repository.memory_request(conn, memory_id) is not None
    unrecorded = None if recorded else await _unrecorded_write(services, memory_id)
    if unrecorded is not None and unrecorded[0] == "queued":
        # Queued by an older web server: record it deleted, so the memory worker never stores it.
        async with services.pool.connection() as conn:
            if await repository.cancel_unrecorded_memory(conn, memory_id):
                log.info("queued memory cancelled", extra={"memory_id": str(memory_id), "recorded": False})
                return Response(status_code=204)
            stored = await repository.get_memory(conn, memory_id) is not None
    if not stored:
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
    await _wait_for_result(handle, services.settings.wait_timeout_seconds)
    async with services.pool.connection() as conn:
        if await repository.get_memory(conn, memory_id) is not None:
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
        and int(declared) > limit + (MULTIPART_OVERHEAD_BYTES if is_multipart else 0)
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
        raise ApiError(422, "file: a multipart upload needs a `file` field")
    media_type = document_type(upload.content_type, upload.filename)
    if media_type is None:
        raise unsupported
    if upload.size is not None and upload.size > limit:
        raise ApiError(413, f"the document is larger than {limit} bytes")
    return await upload.read(), media_type, upload.filename or filename


_BINARY = {"schema": {"type": "string", "format": "binary", "minLength": 1}}
# UTF-8 text (other bytes are accepted and end the document failed: not UTF-8).
_TEXT = {"schema": {"type": "string", "minLength": 1}}
_DOCUMENT_BODY = {
    "requestBody": {
        "required": True,
        "description": "the document: a multipart `file` field, or the raw bytes with their media type"
        " (application/octet-stream falls back to the extension of `filename`)",
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary", "minLength": 1}},
                },
                "encoding": {"file": {"contentType": ", ".join(DOCUMENT_TYPES)}},
            },
            # application/octet-stream is accepted too when ?filename= ends in .txt, .md or .pdf.
            "text/plain": _TEXT,
            "text/markdown": _TEXT,
            "application/pdf": _BINARY,
        },
    }
}


def _check_filename(name: str | None) -> str | None:
    if name is None:
        return None
    try:
        return check_text(name, "filename")
    except UnstorableValue as error:
        raise ApiError(422, str(error)) from None


@router.post(
    "/documents",
    status_code=202,
    response_model=DocumentAccepted,
    responses=error_responses(400, 409, 413, 415, 422),
    openapi_extra=_DOCUMENT_BODY,
)
async def create_document(
    request: Request,
    filename: str | None = Query(None, max_length=255, pattern=NO_NUL, description="name for a raw body"),
    idempotency_key: str | None = IDEMPOTENCY_KEY,
) -> JSONResponse:
    services = _services(request)
    key = idempotency.parse_key(idempotency_key)
    _check_filename(filename)
    content, media_type, name = await _upload(request, services.settings.max_upload_bytes, filename)
    name = _check_filename(name[:255] if name else name)
    if not content:
        raise ApiError(422, "file: the document is empty")
    document_id = idempotency.derived_id("document", request.state.api_key, key) if key else uuid4()
    request_hash = request_fingerprint(media_type, name or "", content)
    # Commit before starting the workflow, so its first activity always finds the document.
    async with services.pool.connection() as conn, conn.transaction():
        known_hash = await repository.create_document(
            conn, document_id, name, media_type, content, request_hash
        )
    if known_hash is not None and known_hash != request_hash:
        raise idempotency.conflict(key or "")
    try:
        client = await services.temporal.client_or_503()
        await _start(
            client,
            PROCESS_DOCUMENT_WORKFLOW,
            str(document_id),
            document_workflow_id(str(document_id)),
            DOCUMENT_TASK_QUEUE,
        )
    except (ApiError, RPCError) as error:
        if key is None:
            # Not queued and no key to retry with: drop the row, so the client's retry is the only copy.
            async with services.pool.connection() as conn:
                await repository.delete_document(conn, document_id)
        retry = f" retry with the same {idempotency.HEADER}" if key else " retry"
        raise ApiError(503, f"could not queue the document ({error.message});{retry}") from None
    log.info(
        "document queued",
        extra={"document_id": str(document_id), "content_type": media_type, "size_bytes": len(content)},
    )
    async with services.pool.connection() as conn:
        document = await repository.get_document(conn, document_id)
    status = document["status"] if document else "queued"
    return JSONResponse(
        {"id": str(document_id), "status": status},
        status_code=202,
        headers=_location("documents", document_id),
    )


@router.get("/documents/{document_id}", response_model=Document, responses=error_responses(404, 422))
async def get_document(document_id: UUID, request: Request) -> dict[str, Any]:
    async with _services(request).pool.connection() as conn:
        document = await repository.get_document(conn, document_id)
    if document is None:
        raise ApiError(404, f"document {document_id} not found")
    return document
