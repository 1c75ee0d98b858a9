"""Each worker alone (option 3), with its explicit identity, and a graceful stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import sys

import httpx
import pytest

from scripts.stack import LocalStack
from tests.service.conftest import service_process, wait_until


def _live_identities(anonymous: httpx.Client, queue: str) -> set[str]:
    queues = anonymous.get("/health/workers").json().get("task_queues", {})
    return {poller["identity"] for poller in queues.get(queue, {}).get("pollers", [])}


@pytest.mark.parametrize(
    ("command", "queue"),
    [
        ([sys.executable, "-m", "workers.memory_worker"], "papr-memory"),
        ([sys.executable, "-m", "workers.document_worker"], "papr-documents"),
        ([sys.executable, "workers/start_all_workers.py"], "papr-documents"),
    ],
    ids=["memory-worker", "document-worker", "start_all_workers-script"],
)
def test_worker_polls_with_its_identity_and_stops_cleanly_on_sigterm(
    stack: LocalStack, anonymous: httpx.Client, command: list[str], queue: str
) -> None:
    identity = f"test-{queue}-{os.getpid()}-{len(command[-1])}"
    env = {**os.environ, **stack.service_environment(), "PAPR_WORKER_IDENTITY": identity}
    with service_process(command, env) as worker:
        wait_until(
            lambda: identity in _live_identities(anonymous, queue), 60, f"{identity} never polled {queue}"
        )
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=60)
    assert worker.returncode == 0, output
    assert '"message": "workers stopped"' in output
    assert stack.api_key not in output


def test_memories_accepted_without_workers_are_stored_when_a_worker_starts(
    stack: LocalStack, api: httpx.Client
) -> None:
    stack.stop("workers")
    try:
        queued = api.post("/v1/memories", json={"content": "written later by the memory worker"})
        assert queued.status_code == 202, queued.text
        memory_id = queued.json()["id"]
        # Accepted and waiting in Temporal: GET says so instead of 404.
        assert api.get(f"/v1/memories/{memory_id}").json() == {"id": memory_id, "status": "queued"}
        # ?wait=true gives up after PAPR_WAIT_TIMEOUT_SECONDS and answers 202 like a plain POST.
        waited = api.post("/v1/memories?wait=true", json={"content": "also written later"})
        assert waited.status_code == 202 and waited.json()["status"] == "queued", waited.text
    finally:
        stack.start_workers()
    for pending in (memory_id, waited.json()["id"]):
        wait_until(
            lambda pending=pending: api.get(f"/v1/memories/{pending}").json()["status"] == "stored",
            90,
            f"memory {pending} was not stored after the workers started",
        )


def test_a_stop_while_the_workers_start_is_a_clean_stop(stack: LocalStack) -> None:
    """SIGTERM as soon as the supervisor has started its children (they are still importing, before
    their own handlers): the forwarded signal ends them and the supervisor reports a clean stop."""
    env = {**os.environ, **stack.service_environment()}
    with service_process([sys.executable, "workers/start_all_workers.py"], env) as supervisor:
        for line in supervisor.stdout:
            if "worker processes started" in line:
                break
        supervisor.send_signal(signal.SIGTERM)
        output, _ = supervisor.communicate(timeout=60)
    assert "workers polling" not in output, "a child was already polling: the stop came too late to test"
    assert supervisor.returncode == 0, output
