"""playbooks/verify.yml against the real service (PostgreSQL, Temporal dev server, web, workers)."""

from __future__ import annotations

import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from scripts.stack import LocalStack, StackPorts
from tests.modules.conftest import REPO, run_playbook
from tests.ports import free_port_block

# The verify role's modules through ansible-playbook (~80 s of a worker): make test-modules, not test-fast.
pytestmark = pytest.mark.playbook

PLAYBOOK = REPO / "playbooks" / "verify.yml"
STACK_PORT_BASES = range(57410, 57490, 10)  # six consecutive free ports from one of these
PROBES = "SELECT count(*) FROM memories WHERE metadata->>'source' = 'papr.memory.verify'"


@pytest.fixture(scope="module")
def service():
    # Not pytest's tmp_path: the postgres account must be able to reach its data folder.
    state_dir = Path(tempfile.mkdtemp(prefix="papr-verify-stack-", dir="/tmp"))
    stack = LocalStack(state_dir=state_dir, ports=StackPorts.from_base(free_port_block(6, STACK_PORT_BASES)))
    try:
        stack.up(timeout=240)
        yield stack
    finally:
        stack.down(graceful=False)
        shutil.rmtree(state_dir, ignore_errors=True)


def verify_vars(service: LocalStack, **overrides) -> dict:
    return {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "verify_web_url": service.url,
        "verify_api_key": service.api_key,
        "verify_temporal_address": service.temporal_address,
        "verify_timeout": 120,
        **overrides,
    }


def count(service: LocalStack, query: str) -> int:
    with psycopg.connect(service.admin_conninfo, autocommit=True) as conn:
        return conn.execute(query).fetchone()[0]


def test_verify_passes_and_leaves_nothing_behind(service):
    run = run_playbook(PLAYBOOK, extra_vars=verify_vars(service), verbosity=3)
    assert run.rc == 0, run.output[-6000:]
    results = run.task_results()
    assert not any(r.get("changed") for r in results.values())
    web = results["Web server is healthy and every task queue has a live worker"]
    assert [c["name"] for c in web["checks"] if c["ok"]] == ["web /health", "web /health/workers"]
    temporal = results["Temporal serves the namespace and every task queue has a live poller"]
    live = {queue: state["live"] for queue, state in temporal["task_queues"].items()}
    assert live == {"papr-memory": True, "papr-documents": True}
    written = results["Write a memory and wait until the memory worker stored it"]["checks"][0]
    assert written["status"] == 201
    found = results["Find the memory by search"]["checks"][0]
    assert found["json"]["results"][0]["id"] == written["json"]["id"]
    assert results["Delete the probe memory"]["checks"][0]["ok"] is True
    assert count(service, PROBES) == 0  # the probe memory was deleted
    assert service.api_key not in run.output  # not even with -vvv


def test_check_mode_writes_nothing(service):
    before = count(service, "SELECT count(*) FROM memories")
    run = run_playbook(PLAYBOOK, extra_vars=verify_vars(service), check=True)
    assert run.rc == 0, run.output[-6000:]
    results = run.task_results()
    assert "Write a memory and wait until the memory worker stored it" not in results
    assert results["Web server is healthy and every task queue has a live worker"]["checks"][0]["ok"] is True
    assert count(service, "SELECT count(*) FROM memories") == before


def test_wrong_api_key_fails_naming_the_request(service):
    run = run_playbook(
        PLAYBOOK,
        extra_vars=verify_vars(service, verify_api_key="not-a-key", verify_temporal_enabled=False),
    )
    assert run.rc != 0
    failed = run.task_results()["Write a memory and wait until the memory worker stored it"]
    assert failed["failed"] is True
    assert "POST /v1/memories?wait=true" in failed["msg"] and "expected status 201, got 401" in failed["msg"]
    assert "not-a-key" not in run.output
    assert count(service, PROBES) == 0


def test_crashed_workers_fail_verify_naming_the_queues(service):
    """Kills the workers like a crash: Temporal still lists them as pollers, verify must not count
    them. Starts them again afterwards for any later test."""
    service.stop("workers", signal.SIGKILL)
    try:
        time.sleep(4)  # older than verify_poller_max_age below
        run = run_playbook(
            PLAYBOOK,
            extra_vars=verify_vars(service, verify_poller_max_age=3, verify_timeout=2, verify_api_key=""),
        )
        assert run.rc != 0
        failed = run.task_results()["Temporal serves the namespace and every task queue has a live poller"]
        for queue in ("papr-memory", "papr-documents"):
            assert f"task queue '{queue}' has no live workflow/activity poller" in failed["msg"]
            assert failed["task_queues"][queue]["pollers"], "the dead workers are still listed"
    finally:
        service.start_workers()
        service.wait_for("/health/workers", 120)
