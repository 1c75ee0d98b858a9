"""Names and payloads shared by the web server (which starts workflows) and the workers.

Only standard-library imports: the workflow sandbox imports this module."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

STORE_MEMORY_WORKFLOW = "StoreMemory"
DELETE_MEMORY_WORKFLOW = "DeleteMemory"
PROCESS_DOCUMENT_WORKFLOW = "ProcessDocument"

STORE_MEMORY_ACTIVITY = "store_memory"
DELETE_MEMORY_ACTIVITY = "delete_memory"
STORE_CHUNK_MEMORIES_ACTIVITY = "store_chunk_memories"
EXTRACT_DOCUMENT_ACTIVITY = "extract_document"
# Extract, chunk and store the chunk memories in one activity on the document worker, so user
# writes on papr-memory never queue behind a document's chunk writes.
EXTRACT_AND_STORE_DOCUMENT_ACTIVITY = "extract_and_store_document"
# The same, and the document marked done, in one activity: a document costs Temporal one activity
# and two workflow tasks, which leaves more of it to user writes.
EXTRACT_STORE_AND_FINISH_DOCUMENT_ACTIVITY = "extract_store_and_finish_document"
FINISH_DOCUMENT_ACTIVITY = "finish_document"
FAIL_DOCUMENT_ACTIVITY = "fail_document"

# Error types that retrying cannot fix.
EXTRACTION_ERROR = "ExtractionError"
DOCUMENT_NOT_FOUND = "DocumentNotFound"
UNSTORABLE_INPUT = "UnstorableInput"

# workflow.patched() ids: a workflow started before the change replays the old path.
PATCH_DOCUMENT_WORKER_STORES_CHUNKS = "document-worker-stores-chunks"
PATCH_DOCUMENT_DONE_IN_ONE_ACTIVITY = "document-done-in-one-activity"
PATCH_DOCUMENT_IN_ONE_WORKFLOW_TASK = "document-in-one-workflow-task"


# Upload types the document worker can extract text from.
DOCUMENT_TYPES = ("text/plain", "text/markdown", "application/pdf")
_TYPE_ALIASES = {"text/x-markdown": "text/markdown"}
_EXTENSION_TYPES = {
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".pdf": "application/pdf",
}


def document_type(content_type: str | None, filename: str | None = None) -> str | None:
    """The supported media type of an upload, or None. A generic type (octet-stream, none)
    falls back to the file name's extension, as browsers and curl -F often send one."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    media_type = _TYPE_ALIASES.get(media_type, media_type)
    if media_type in DOCUMENT_TYPES:
        return media_type
    if media_type in ("", "application/octet-stream") and filename:
        for extension, guessed in _EXTENSION_TYPES.items():
            if filename.lower().endswith(extension):
                return guessed
    return None


def memory_workflow_id(memory_id: str) -> str:
    return f"memory-{memory_id}"


def delete_workflow_id(memory_id: str) -> str:
    return f"memory-delete-{memory_id}"


def document_workflow_id(document_id: str) -> str:
    return f"document-{document_id}"


def request_fingerprint(*parts: Any) -> str:
    """A stable hash of a write's content (JSON values in canonical form, bytes as they are),
    kept with the write so an Idempotency-Key reused with another body is refused."""
    digest = hashlib.sha256()
    for part in parts:
        if not isinstance(part, bytes):
            part = json.dumps(part, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


@dataclass
class NewMemory:
    id: str
    content: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """The same for the web server and, for a write it did not record, the memory worker."""
        return request_fingerprint(self.content, self.metadata)


@dataclass
class ChunkRange:
    """Chunks [start, end) of one document; the texts stay in PostgreSQL."""

    document_id: str
    start: int
    end: int
