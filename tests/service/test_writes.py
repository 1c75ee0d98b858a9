"""Writes against the real stack: read-your-write, DELETE of a queued memory, Idempotency-Key,
?wait=true, and documents that contain what PostgreSQL cannot store."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
import uuid

import httpx
import psycopg
import pytest
from temporalio.client import Client

from app.config import DOCUMENT_TASK_QUEUE, MEMORY_TASK_QUEUE
from app.contracts import STORE_MEMORY_WORKFLOW, NewMemory, document_workflow_id, memory_workflow_id
from app.idempotency import derived_id
from scripts.stack import LocalStack
from tests.service.conftest import wait_for_document, wait_until
from tests.service.pdfs import bomb_pdf, text_pdf


def _stored(api: httpx.Client, memory_id: str) -> bool:
    return api.get(f"/v1/memories/{memory_id}").json().get("status") == "stored"


def _rows(db: psycopg.Connection, memory_id: str) -> int:
    return db.execute("SELECT count(*) FROM memories WHERE id = %s", (memory_id,)).fetchone()[0]


def test_the_id_handed_out_is_readable_at_once(api: httpx.Client) -> None:
    """Every read, from the 202 until the memory is stored, answers 200: polling across the
    queued -> stored change is where an answer pieced together from two sources (PostgreSQL,
    then Temporal) said 404."""
    for number in range(20):
        created = api.post("/v1/memories", json={"content": f"read your write {number}"})
        assert created.status_code == 202, created.text
        deadline = time.monotonic() + 60
        while True:
            read = api.get(created.headers["location"])
            assert read.status_code == 200, read.text
            assert read.json()["id"] == created.json()["id"]
            assert read.json()["status"] in ("queued", "stored")
            if read.json()["status"] == "stored":
                break
            assert time.monotonic() < deadline, "not stored within 60 s"


def test_a_queued_memory_is_readable_while_temporal_is_down(stack: LocalStack, api: httpx.Client) -> None:
    """The accepted write is in PostgreSQL: reading it does not depend on asking Temporal."""
    stack.stop("workers")
    try:
        created = api.post("/v1/memories", json={"content": "readable without Temporal"})
        assert created.status_code == 202, created.text
        stack.stop("temporal", signal.SIGKILL)
        read = api.get(created.headers["location"])
        assert read.status_code == 200, read.text
        assert read.json() == {"id": created.json()["id"], "status": "queued"}
    finally:
        stack.start_temporal()
        stack.start_workers()
    wait_until(lambda: _stored(api, created.json()["id"]), 90, "the memory was not stored after the restart")


def test_a_queued_memory_deleted_is_never_stored(
    stack: LocalStack, api: httpx.Client, db: psycopg.Connection
) -> None:
    stack.stop("workers")
    try:
        doomed = api.post("/v1/memories", json={"content": "deleted before the worker saw it"}).json()
        kept = api.post("/v1/memories", json={"content": "stored once the worker runs"}).json()
        assert api.get(f"/v1/memories/{doomed['id']}").json() == {"id": doomed["id"], "status": "queued"}
        assert api.delete(f"/v1/memories/{doomed['id']}").status_code == 204
        assert api.get(f"/v1/memories/{doomed['id']}").status_code == 404
        assert api.delete(f"/v1/memories/{doomed['id']}").status_code == 404
    finally:
        stack.start_workers()
    # The workflow of the deleted memory runs now too; once the later write is stored, the
    # earlier one (same queue, started first) has been handled.
    wait_until(lambda: _stored(api, kept["id"]), 90, "the memory worker did not catch up")
    status = db.execute("SELECT status FROM memory_requests WHERE id = %s", (doomed["id"],)).fetchone()
    assert status == ("deleted",)
    assert _rows(db, doomed["id"]) == 0
    assert api.get(f"/v1/memories/{doomed['id']}").status_code == 404


def test_writes_queued_by_an_older_web_server_are_readable_and_deletable(
    stack: LocalStack, api: httpx.Client, db: psycopg.Connection
) -> None:
    """A web server from before memory_requests started the workflow and recorded nothing: GET
    still answers queued (Temporal knows the write), and DELETE means it is never stored."""
    doomed, kept = str(uuid.uuid4()), str(uuid.uuid4())

    async def start_like_an_older_web_server() -> None:
        client = await Client.connect(stack.temporal_address)
        for memory_id in (doomed, kept):
            memory = NewMemory(id=memory_id, content=f"queued before the upgrade {memory_id}")
            await client.start_workflow(
                STORE_MEMORY_WORKFLOW, memory, id=memory_workflow_id(memory_id), task_queue=MEMORY_TASK_QUEUE
            )

    async def outcome(memory_id: str) -> dict:
        client = await Client.connect(stack.temporal_address)
        return await asyncio.wait_for(client.get_workflow_handle(memory_workflow_id(memory_id)).result(), 90)

    stack.stop("workers")
    try:
        asyncio.run(start_like_an_older_web_server())
        for memory_id in (doomed, kept):
            assert api.get(f"/v1/memories/{memory_id}").json() == {"id": memory_id, "status": "queued"}
        assert api.delete(f"/v1/memories/{doomed}").status_code == 204
        assert api.get(f"/v1/memories/{doomed}").status_code == 404
        assert api.delete(f"/v1/memories/{doomed}").status_code == 404
    finally:
        stack.start_workers()
    assert asyncio.run(outcome(doomed)) == {"id": doomed, "status": "deleted"}
    assert asyncio.run(outcome(kept))["status"] == "stored"
    assert _rows(db, doomed) == 0 and _rows(db, kept) == 1
    assert api.get(f"/v1/memories/{doomed}").status_code == 404
    assert api.get(f"/v1/memories/{kept}").json()["status"] == "stored"
    assert api.get(f"/v1/memories/{uuid.uuid4()}").status_code == 404


def test_idempotency_key_gives_one_memory(api: httpx.Client, db: psycopg.Connection) -> None:
    key = {"Idempotency-Key": f'"{uuid.uuid4()}"'}
    payload = {"content": "charged exactly once", "metadata": {"order": 7}}
    first = api.post("/v1/memories?wait=true", json=payload, headers=key)
    assert first.status_code == 201, first.text
    again = api.post("/v1/memories", json=payload, headers=key)
    assert again.status_code == 202, again.text
    assert again.json() == {"id": first.json()["id"], "status": "stored"}
    waited = api.post("/v1/memories?wait=true", json=payload, headers=key)
    assert waited.status_code == 201 and waited.json() == first.json()
    assert _rows(db, first.json()["id"]) == 1
    # Same key, another body: refused, naming the key.
    other = api.post("/v1/memories", json={**payload, "metadata": {"order": 8}}, headers=key)
    assert other.status_code == 409 and other.json()["error"]["code"] == "conflict", other.text
    assert key["Idempotency-Key"].strip('"') in other.json()["error"]["message"]
    # The key belongs to the memory endpoint: documents have their own ids.
    document = api.post("/v1/documents", content=b"same key", headers={**key, "Content-Type": "text/plain"})
    assert document.status_code == 202 and document.json()["id"] != first.json()["id"]


def test_idempotency_key_on_documents(api: httpx.Client, db: psycopg.Connection) -> None:
    key = {"Idempotency-Key": uuid.uuid4().hex, "Content-Type": "text/plain"}
    first = api.post("/v1/documents", params={"filename": "k.txt"}, content=b"keyed words", headers=key)
    again = api.post("/v1/documents", params={"filename": "k.txt"}, content=b"keyed words", headers=key)
    assert first.status_code == again.status_code == 202, (first.text, again.text)
    assert first.json()["id"] == again.json()["id"]
    other = api.post("/v1/documents", params={"filename": "k.txt"}, content=b"other words", headers=key)
    assert other.status_code == 409, other.text
    assert wait_for_document(api, first.json()["id"])["status"] == "done"
    count = db.execute("SELECT count(*) FROM documents WHERE id = %s", (first.json()["id"],)).fetchone()[0]
    assert count == 1


async def _running_store_workflows(stack: LocalStack) -> set[str]:
    client = await Client.connect(stack.temporal_address)
    query = f"WorkflowType = '{STORE_MEMORY_WORKFLOW}' AND ExecutionStatus = 'Running'"
    return {workflow.id async for workflow in client.list_workflows(query)}


def test_a_retry_after_an_unanswered_attempt_stores_once(
    stack: LocalStack, api: httpx.Client, db: psycopg.Connection
) -> None:
    """The first attempt queued the write but its answer was lost (a 503 from a timeout, the
    web server dying mid-request): the client's retry with the same key stores it once. Here
    the first attempt left no request row (as an older web server) and the memory worker stored
    it before the retry came: the worker's row carries the request's fingerprint, so the retry
    matches it (it once got a 409 when the worker won that race)."""
    key = uuid.uuid4().hex
    payload = {"content": f"queued by an attempt nobody heard back from {key}"}
    memory_id = str(derived_id("memory", stack.api_key, key))

    async def first_attempt() -> None:
        # What the web server did before its answer got lost: the workflow is started.
        client = await Client.connect(stack.temporal_address)
        memory = NewMemory(id=memory_id, content=payload["content"])
        handle = await client.start_workflow(
            STORE_MEMORY_WORKFLOW, memory, id=memory_workflow_id(memory_id), task_queue=MEMORY_TASK_QUEUE
        )
        await asyncio.wait_for(handle.result(), 90)

    asyncio.run(first_attempt())
    retry = api.post("/v1/memories?wait=true", json=payload, headers={"Idempotency-Key": key})
    assert retry.status_code in (201, 202) and retry.json()["id"] == memory_id, retry.text
    wait_until(lambda: _stored(api, memory_id), 90, "the memory was not stored")
    query = "SELECT count(*) FROM memories WHERE content = %s"
    assert db.execute(query, (payload["content"],)).fetchone()[0] == 1


def test_wait_true_across_a_temporal_crash_is_never_a_5xx(stack: LocalStack, api: httpx.Client) -> None:
    key = uuid.uuid4().hex
    memory_id = str(derived_id("memory", stack.api_key, key))
    payload = {"content": "written across a Temporal crash"}
    answers: list[httpx.Response] = []
    stack.stop("workers")
    try:
        before = asyncio.run(_running_store_workflows(stack))
        # Waits (no worker) while Temporal is killed under it.
        waiter = threading.Thread(
            target=lambda: answers.append(
                api.post("/v1/memories?wait=true", json=payload, headers={"Idempotency-Key": key})
            )
        )
        waiter.start()
        wait_until(lambda: asyncio.run(_running_store_workflows(stack)) - before, 30, "never queued")
        stack.stop("temporal", signal.SIGKILL)
        waiter.join(timeout=120)
    finally:
        stack.start_temporal()
        stack.start_workers()
    assert answers and answers[0].status_code == 202, answers and answers[0].text
    assert answers[0].json() == {"id": memory_id, "status": "queued"}
    final = api.post("/v1/memories?wait=true", json=payload, headers={"Idempotency-Key": key})
    assert final.status_code in (201, 202) and final.json()["id"] == memory_id, final.text
    wait_until(lambda: _stored(api, memory_id), 90, "the memory was not stored after the restart")


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b"before\x00after nulword{tag}"),
        ("text/markdown", b"# Title\x00\n\nnulword{tag} in markdown"),
        ("application/pdf", None),
    ],
    ids=["text", "markdown", "pdf"],
)
def test_documents_with_nul_bytes_are_stored_without_them(
    api: httpx.Client, db: psycopg.Connection, content_type: str, body: bytes | None
) -> None:
    tag = uuid.uuid4().hex[:8]
    data = text_pdf(f"nul\\000byte nulword{tag}") if body is None else body.replace(b"{tag}", tag.encode())
    response = api.post("/v1/documents", content=data, headers={"Content-Type": content_type})
    assert response.status_code == 202, response.text
    document = wait_for_document(api, response.json()["id"], timeout=60)
    assert document["status"] == "done", document
    stored = db.execute(
        "SELECT content FROM memories WHERE document_id = %s", (response.json()["id"],)
    ).fetchall()
    assert stored and all("\x00" not in row[0] for row in stored)
    assert any(f"nulword{tag}" in row[0] for row in stored)


def test_a_decompression_bomb_pdf_fails_within_seconds(api: httpx.Client) -> None:
    bomb = bomb_pdf(32)
    assert len(bomb) < 120_000
    started = time.monotonic()
    response = api.post("/v1/documents", content=bomb, headers={"Content-Type": "application/pdf"})
    assert response.status_code == 202, response.text
    document = wait_for_document(api, response.json()["id"], timeout=60)
    assert time.monotonic() - started < 30
    assert document["status"] == "failed", document
    assert "decompress" in document["error"] and document["memory_count"] == 0


def test_a_documents_chunk_writes_stay_off_the_user_write_queue(stack: LocalStack, api: httpx.Client) -> None:
    """User writes (papr-memory) never wait behind chunk writes: a document's workflow runs on
    papr-documents, its work as local activities of the document worker (no activity task on
    any other queue)."""
    text = " ".join(f"queueword{n}" for n in range(600)).encode()
    response = api.post("/v1/documents", content=text, headers={"Content-Type": "text/plain"})
    assert response.status_code == 202, response.text
    document = wait_for_document(api, response.json()["id"])
    assert document["status"] == "done" and document["memory_count"] > 1, document

    async def queues() -> tuple[str, set[str], set[str]]:
        client = await Client.connect(stack.temporal_address)
        history = await client.get_workflow_handle(document_workflow_id(document["id"])).fetch_history()
        workflow_queue = history.events[0].workflow_execution_started_event_attributes.task_queue.name
        activity_queues = {
            event.activity_task_scheduled_event_attributes.task_queue.name
            for event in history.events
            if event.HasField("activity_task_scheduled_event_attributes")
        }
        workers = {
            event.workflow_task_completed_event_attributes.identity.split("@")[0]
            for event in history.events
            if event.HasField("workflow_task_completed_event_attributes")
        }
        return workflow_queue, activity_queues, workers

    workflow_queue, activity_queues, workers = asyncio.run(queues())
    assert workflow_queue == DOCUMENT_TASK_QUEUE
    assert activity_queues <= {DOCUMENT_TASK_QUEUE}
    assert workers == {"document-worker"}
