"""Option 1's single container command: web server and both workers under one supervisor that
passes SIGTERM on, so the workers shut down gracefully too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from contextlib import AbstractContextManager

import httpx

from scripts.stack import LocalStack
from tests.ports import free_ports
from tests.service.conftest import service_process, wait_until

# Ports 56490-56499 belong to these tests.
PORT_RANGE = range(56490, 56500)


def _live_identities(client: httpx.Client, queue: str) -> set[str]:
    response = client.get("/health/workers")
    queues = response.json().get("task_queues", {}) if response.status_code in (200, 503) else {}
    return {poller["identity"] for poller in queues.get(queue, {}).get("pollers", [])}


def _started(stack: LocalStack, port: int, identity: str) -> AbstractContextManager[subprocess.Popen]:
    """The all-in-one supervisor (web server and workers) with the stack's settings."""
    env = {**stack.service_environment(), "WEBSITES_PORT": str(port), "PAPR_WORKER_IDENTITY": identity}
    return service_process([sys.executable, "-m", "app.all_in_one", "--host", "127.0.0.1"], env)


def _health(client: httpx.Client) -> int:
    try:
        return client.get("/health").status_code
    except httpx.TransportError:
        return 0


def _wait_until_serving(port: int, identity: str) -> None:
    """The web server answers and both workers poll (so their SIGTERM handlers are installed)."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        wait_until(lambda: _health(client) == 200, 90, "the all-in-one web server never became healthy")
        for queue in ("papr-memory", "papr-documents"):
            wait_until(
                lambda queue=queue: identity in _live_identities(client, queue),
                90,
                f"the all-in-one workers never polled {queue}",
            )


def test_web_and_workers_serve_and_stop_gracefully_on_sigterm(stack: LocalStack) -> None:
    (port,) = free_ports(1, PORT_RANGE)
    identity = f"all-in-one-{os.getpid()}"
    with _started(stack, port, identity) as process:
        _wait_until_serving(port, identity)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=90)
    assert process.returncode == 0, output
    # The workers got the signal and shut down themselves, not killed with the web server.
    assert '"message": "workers stopped"' in output, output
    assert stack.api_key not in output


def test_when_one_child_dies_the_other_is_stopped_and_the_code_passed_on(stack: LocalStack) -> None:
    (port,) = free_ports(1, PORT_RANGE)
    identity = f"all-in-one-crash-{os.getpid()}"
    with _started(stack, port, identity) as process:
        _wait_until_serving(port, identity)
        uvicorn = subprocess.run(
            ["pgrep", "-s", str(process.pid), "-f", "uvicorn app.main:app"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert len(uvicorn) == 1, uvicorn
        os.kill(int(uvicorn[0]), signal.SIGKILL)
        output, _ = process.communicate(timeout=90)
    assert process.returncode != 0
    assert "web exited with -9; stopping the others" in output
    assert '"message": "workers stopped"' in output, output
