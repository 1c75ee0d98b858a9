"""One real stack per test session: PostgreSQL, the Temporal dev server, the web server and the
workers, started by scripts/stack.py in a temporary folder on this suite's own ports."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from scripts.stack import REPO_ROOT, LocalStack, StackPorts
from tests.ports import free_port_block

# Ports 56000-56499 belong to this suite; the stack takes six consecutive free ones from here
# (free ones, so two runs of the suite at the same time, or a benchmark stack, do not collide).
PORT_RANGE = range(56010, 56490, 10)
CHUNK_SIZE = 300
CHUNK_OVERLAP = 50
MAX_UPLOAD_BYTES = 256 * 1024
WAIT_TIMEOUT_SECONDS = 10  # ?wait=true answers 202 after this; long enough for a busy box


def _start_stack() -> LocalStack:
    """A healthy stack on the first free ports; a start that fails (a port taken between the probe
    and the bind) is torn down and tried again further up the range."""
    candidates = PORT_RANGE
    for attempt in range(3):
        # Not pytest's tmp_path: its parent is 0700 and pytest resets that mode, which would lock
        # the postgres account out of its data folder.
        state_dir = Path(tempfile.mkdtemp(prefix="papr-stack-", dir="/tmp"))
        base = free_port_block(6, candidates)
        service = LocalStack(
            state_dir=state_dir,
            ports=StackPorts.from_base(base),
            service_env={
                "PAPR_CHUNK_SIZE": str(CHUNK_SIZE),
                "PAPR_CHUNK_OVERLAP": str(CHUNK_OVERLAP),
                "PAPR_MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES),
                "PAPR_DOCUMENT_WORKER_CONCURRENCY": "2",
                "PAPR_LOG_LEVEL": "INFO",
                "PAPR_WAIT_TIMEOUT_SECONDS": str(WAIT_TIMEOUT_SECONDS),
            },
        )
        try:
            service.up(timeout=240)
            return service
        except RuntimeError:
            service.down(graceful=False)
            _remove_state(state_dir)
            if attempt == 2:
                raise
            candidates = range(base + PORT_RANGE.step, PORT_RANGE.stop, PORT_RANGE.step)
    raise AssertionError("unreachable")


def _remove_state(state_dir: Path) -> None:
    if os.environ.get("PAPR_KEEP_STACK_STATE") != "1":
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    service = _start_stack()
    try:
        yield service
    finally:
        service.down(graceful=False)
        _remove_state(service.state_dir)


@pytest.fixture(scope="session")
def api(stack: LocalStack) -> Iterator[httpx.Client]:
    """An authenticated client for the web server."""
    with httpx.Client(base_url=stack.url, headers={"X-API-Key": stack.api_key}, timeout=60) as client:
        yield client


@pytest.fixture(scope="session")
def anonymous(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.url, timeout=60) as client:
        yield client


@pytest.fixture
def db(stack: LocalStack) -> Iterator[psycopg.Connection]:
    """Superuser SQL access to the service's database, to check what the workers wrote."""
    with psycopg.connect(stack.admin_conninfo, autocommit=True) as conn:
        yield conn


@contextlib.contextmanager
def service_process(command: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """A service process (output in `.communicate()`) in a process group of its own: whatever
    is left of that group at the end is killed, children too. Killing only a supervisor left
    its workers holding the output pipe, and the test hung on it until pytest's timeout."""
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()


def wait_until(condition: Callable[[], Any], timeout: float, message: str, interval: float = 0.3) -> Any:
    """Poll `condition` until it returns something truthy; fail with `message` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"{message} (not within {timeout:g} s)")
        time.sleep(interval)


def wait_for_document(api: httpx.Client, document_id: str, timeout: float = 120) -> dict[str, Any]:
    """The document once it is done or failed."""

    def finished() -> dict[str, Any] | None:
        body = api.get(f"/v1/documents/{document_id}").json()
        return body if body["status"] in ("done", "failed") else None

    return wait_until(finished, timeout, f"document {document_id} did not finish")
