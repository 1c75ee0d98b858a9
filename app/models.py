"""The API's request and response bodies: the OpenAPI document is built from these."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.config import Settings
from app.validation import HAS_TEXT, METADATA_SCHEMAS, check_text


class ErrorDetail(BaseModel):
    code: str = Field(description="stable machine-readable code, e.g. validation_error")
    message: str = Field(description="what is wrong, naming the field")


class ErrorBody(BaseModel):
    """The one error shape of every error answer."""

    error: ErrorDetail


class MemoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str = Field(min_length=1, description="the text to remember (not only whitespace)")
    metadata: dict[str, Any] = Field(
        default_factory=dict,
        description="any JSON object: strings without NUL, finite numbers, bounded nesting and size",
    )

    @field_validator("content")
    @classmethod
    def _storable_content(cls, value: str) -> str:
        check_text(value, "content")
        if not re.search(r"\S", value):
            raise ValueError("content has no text (only whitespace)")
        return value


class StoredMemory(BaseModel):
    id: str
    status: Literal["stored"]
    content: str
    metadata: dict[str, Any]
    document_id: str | None = Field(description="the document this memory is a chunk of")
    chunk_index: int | None
    created_at: str


class SearchHit(StoredMemory):
    rank: float


class SearchResults(BaseModel):
    query: str
    count: int
    results: list[SearchHit]


class MemoryAccepted(BaseModel):
    """A write that is accepted but not (or not yet) stored."""

    id: str
    status: Literal["queued", "stored", "failed", "deleting", "deleted"]
    error: str | None = Field(None, description="why the write could not be stored (status failed)")


class DocumentAccepted(BaseModel):
    id: str
    status: Literal["queued", "processing", "done", "failed"]


class Document(BaseModel):
    id: str
    status: Literal["queued", "processing", "done", "failed"]
    filename: str | None
    content_type: str
    size_bytes: int
    chunk_count: int | None
    memory_count: int
    error: str | None
    truncated: bool = Field(description="the text was cut at a page, character or chunk limit")
    created_at: str
    updated_at: str


class HealthCheck(BaseModel):
    model_config = ConfigDict(extra="allow")

    status: Literal["ok", "error"]
    latency_ms: float
    error: str | None = None


class HealthReport(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    checks: dict[str, HealthCheck]
    failing: list[str] | None = None


class TaskQueueReport(BaseModel):
    status: Literal["ok", "no_live_worker"]
    pollers: list[dict[str, str]]
    backlog: int


class WorkersReport(BaseModel):
    status: Literal["ok", "degraded"]
    liveness_seconds: float | None = None
    task_queues: dict[str, TaskQueueReport]
    failing: list[str] | None = None
    error: str | None = None


_DESCRIPTIONS = {
    400: "the body could not be parsed",
    401: "no valid API key",
    404: "not found",
    405: "method not allowed (the Allow header lists the allowed ones)",
    409: "the Idempotency-Key was used with a different request",
    413: "the body (or the metadata) is larger than its limit",
    415: "unsupported media type",
    422: "invalid input; the message names the field",
    503: "PostgreSQL or Temporal is not reachable; retry (with the same Idempotency-Key)",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for error statuses, all with the one error body."""
    return {status: {"model": ErrorBody, "description": _DESCRIPTIONS[status]} for status in statuses}


def publish_contract(app: FastAPI, settings: Settings) -> None:
    """Complete the generated OpenAPI document with what the API checks at run time, so the
    document states exactly what is accepted: content limits, and metadata as JSON whose
    strings and keys hold no NUL (a recursive schema pydantic does not generate)."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        schemas = document["components"]["schemas"]
        schemas.update(METADATA_SCHEMAS)
        memory = schemas["MemoryIn"]["properties"]
        memory["content"].update(pattern=HAS_TEXT, maxLength=settings.max_memory_chars)
        memory["metadata"] = {
            "$ref": "#/components/schemas/Metadata",
            "description": memory["metadata"].get("description", ""),
        }
        return document

    app.openapi = openapi  # type: ignore[method-assign]
