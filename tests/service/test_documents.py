"""Documents: upload, extraction and chunk memories on the document worker, and the upload
errors."""

from __future__ import annotations

import uuid

import httpx
import psycopg
import pytest
from fpdf import FPDF
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from app.contracts import document_workflow_id
from scripts.stack import LocalStack
from tests.service.conftest import CHUNK_OVERLAP, CHUNK_SIZE, MAX_UPLOAD_BYTES, wait_for_document
from workers.extraction import chunk_text

TEXT = {"Content-Type": "text/plain"}
PDF = {"Content-Type": "application/pdf"}


def _pdf(lines: list[str]) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    for line in lines:
        pdf.cell(0, 7, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code, response.text
    return response.json()["error"]["message"]


def _search_ids(api: httpx.Client, query: str) -> set[str]:
    found = api.get("/v1/memories/search", params={"q": query, "limit": 100})
    assert found.status_code == 200, found.text
    return {result["id"] for result in found.json()["results"]}


def _assert_done_and_searchable(
    api: httpx.Client, db: psycopg.Connection, document_id: str, word: str
) -> dict:
    document = wait_for_document(api, document_id)
    assert document["status"] == "done", document
    assert document["error"] is None
    assert document["chunk_count"] >= 1
    assert document["memory_count"] == document["chunk_count"]
    rows = db.execute(
        "SELECT id::text, chunk_index FROM memories WHERE document_id = %s ORDER BY chunk_index",
        (document_id,),
    ).fetchall()
    assert [index for _, index in rows] == list(range(document["chunk_count"]))
    hits = _search_ids(api, word)
    assert hits and hits <= {memory_id for memory_id, _ in rows}
    return document


def test_pdf_upload_becomes_searchable_memories(api: httpx.Client, db: psycopg.Connection) -> None:
    word = f"pdfword{uuid.uuid4().hex[:8]}"
    lines = [f"Line {n} of the report mentions {word} and harbour cranes." for n in range(30)]
    response = api.post("/v1/documents", files={"file": ("report.pdf", _pdf(lines), "application/pdf")})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "queued" and response.headers["location"] == f"/v1/documents/{body['id']}"
    document = _assert_done_and_searchable(api, db, body["id"], word)
    assert document["filename"] == "report.pdf" and document["content_type"] == "application/pdf"
    # 30 lines of ~60 characters in 300-character chunks: the text really was extracted.
    assert document["chunk_count"] >= 5
    memory = api.get(f"/v1/memories/{next(iter(_search_ids(api, word)))}").json()
    assert memory["metadata"]["document_id"] == body["id"]
    assert memory["metadata"]["filename"] == "report.pdf"


def test_markdown_raw_body_becomes_searchable(api: httpx.Client, db: psycopg.Connection) -> None:
    word = f"mdword{uuid.uuid4().hex[:8]}"
    text = f"# Notes\n\nThe {word} lives in the *markdown* file.\n"
    response = api.post(
        "/v1/documents",
        params={"filename": "notes.md"},
        content=text.encode(),
        headers={"Content-Type": "text/markdown; charset=utf-8"},
    )
    assert response.status_code == 202, response.text
    document = _assert_done_and_searchable(api, db, response.json()["id"], word)
    assert document["chunk_count"] == 1 and document["filename"] == "notes.md"


def test_text_upload_is_chunked_with_overlap(api: httpx.Client, db: psycopg.Connection) -> None:
    word = f"txtword{uuid.uuid4().hex[:8]}"
    text = " ".join(f"{word} sentence{n}" for n in range(200))
    response = api.post("/v1/documents", files={"file": ("long.txt", text.encode(), "text/plain")})
    assert response.status_code == 202, response.text
    document = _assert_done_and_searchable(api, db, response.json()["id"], word)
    expected = chunk_text(text, CHUNK_SIZE, CHUNK_OVERLAP)
    assert document["chunk_count"] == len(expected) > 5
    stored = [
        row[0]
        for row in db.execute(
            "SELECT content FROM memories WHERE document_id = %s ORDER BY chunk_index",
            (response.json()["id"],),
        )
    ]
    assert stored == expected
    # Consecutive chunks overlap: the last word of one chunk starts the next one.
    assert stored[1].startswith(stored[0].split()[-1]) or stored[0].split()[-1] in stored[1]


async def test_a_document_costs_temporal_no_activity_task(api: httpx.Client, stack: LocalStack) -> None:
    """Its work runs as a local activity inside its workflow task (recorded as a marker): no
    activity task and, unless the work outlasts the workflow task timeout, no second workflow
    task, which is Temporal work the users' memory writes would wait behind."""
    text = " ".join(f"onetask sentence{n}" for n in range(400)).encode()
    response = api.post("/v1/documents", content=text, headers=TEXT)
    assert response.status_code == 202, response.text
    assert wait_for_document(api, response.json()["id"])["status"] == "done"
    client = await Client.connect(stack.temporal_address)
    history = await client.get_workflow_handle(document_workflow_id(response.json()["id"])).fetch_history()
    kinds = [event.event_type for event in history.events]
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in kinds, kinds
    # The patch marker and the local activity's result.
    assert kinds.count(EventType.EVENT_TYPE_MARKER_RECORDED) == 2, kinds
    assert kinds[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED


def test_octet_stream_falls_back_to_the_file_extension(api: httpx.Client) -> None:
    response = api.post(
        "/v1/documents", files={"file": ("plain.txt", b"hello extension", "application/octet-stream")}
    )
    assert response.status_code == 202, response.text
    assert wait_for_document(api, response.json()["id"])["status"] == "done"


def test_unreadable_pdf_fails_with_a_useful_error(api: httpx.Client) -> None:
    response = api.post(
        "/v1/documents", content=b"%PDF-1.4 broken", headers={"Content-Type": "application/pdf"}
    )
    assert response.status_code == 202, response.text
    document = wait_for_document(api, response.json()["id"])
    assert document["status"] == "failed"
    assert "PDF" in document["error"]
    assert document["memory_count"] == 0


def test_invalid_utf8_text_fails(api: httpx.Client) -> None:
    response = api.post("/v1/documents", content=b"\xff\xfe\xfa", headers=TEXT)
    document = wait_for_document(api, response.json()["id"])
    assert document["status"] == "failed" and "UTF-8" in document["error"]


def test_too_large_is_413(api: httpx.Client, db: psycopg.Connection) -> None:
    before = db.execute("SELECT count(*) FROM documents").fetchone()[0]
    big = b"a" * (MAX_UPLOAD_BYTES + 1)
    raw = api.post("/v1/documents", content=big, headers=TEXT)
    assert str(MAX_UPLOAD_BYTES) in _error(raw, 413, "payload_too_large")
    multipart = api.post("/v1/documents", files={"file": ("big.txt", big, "text/plain")})
    _error(multipart, 413, "payload_too_large")

    def chunked():  # no Content-Length: the limit holds while streaming
        for _ in range(MAX_UPLOAD_BYTES // 65536 + 2):
            yield b"b" * 65536

    streamed = api.post("/v1/documents", content=chunked(), headers=TEXT)
    _error(streamed, 413, "payload_too_large")
    assert db.execute("SELECT count(*) FROM documents").fetchone()[0] == before
    exactly = api.post("/v1/documents", content=b"c" * MAX_UPLOAD_BYTES, headers=TEXT)
    assert exactly.status_code == 202, exactly.text


@pytest.mark.parametrize(
    ("kwargs"),
    [
        {"content": b"\x89PNG", "headers": {"Content-Type": "image/png"}},
        {"content": b"x", "headers": {"Content-Type": "application/octet-stream"}},
        {"content": b"x"},
        {"files": {"file": ("photo.png", b"\x89PNG", "image/png")}},
        {"files": {"file": ("blob.bin", b"x", "application/octet-stream")}},
    ],
)
def test_unsupported_type_is_415(api: httpx.Client, kwargs: dict) -> None:
    assert "text/plain" in _error(api.post("/v1/documents", **kwargs), 415, "unsupported_media_type")


def test_empty_or_missing_file_is_422(api: httpx.Client) -> None:
    _error(
        api.post("/v1/documents", content=b"", headers=TEXT),
        422,
        "validation_error",
    )
    wrong_field = api.post("/v1/documents", files={"upload": ("a.txt", b"abc", "text/plain")})
    assert "file" in _error(wrong_field, 422, "validation_error")


def test_unknown_document_is_404(api: httpx.Client) -> None:
    _error(api.get(f"/v1/documents/{uuid.uuid4()}"), 404, "not_found")
    _error(api.get("/v1/documents/123"), 422, "validation_error")
