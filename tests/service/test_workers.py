"""Each worker alone (option 3), with its explicit identity, and a graceful stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
import pytest

from scripts.stack import REPO_ROOT, LocalStack
from tests.service.conftest import wait_until


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
    worker = subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        wait_until(
            lambda: identity in _live_identities(anonymous, queue), 60, f"{identity} never polled {queue}"
        )
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert worker.returncode == 0, output
    assert '"message": "workers stopped"' in output
    assert stack.api_key not in output
