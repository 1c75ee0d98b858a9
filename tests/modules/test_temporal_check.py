"""papr.memory.temporal_check run by ansible-playbook against a real Temporal dev server and workers."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from tests.modules.conftest import SYSTEM_PYTHON, stop_worker
from tests.ports import free_ports

MODULE = "papr.memory.temporal_check"


def test_live_worker_passes_with_pollers_and_backlog(run_module, temporal_server, start_worker):
    _, identity = start_worker("papr-memory")
    run = run_module(
        MODULE,
        {"address": temporal_server.address, "task_queues": ["papr-memory"], "timeout": 60},
        check=True,  # read-only: behaves the same in check mode
        expect_failed=False,
    )
    assert run.result["changed"] is False
    assert run.result["serving"] is True
    assert run.result["namespace"]["name"] == "default"
    assert run.result["namespace"]["state"] == "REGISTERED"
    queue = run.result["task_queues"]["papr-memory"]
    assert queue["live"] is True and queue["backlog"] == 0
    assert {p["type"] for p in queue["pollers"] if p["identity"] == identity} == {"workflow", "activity"}
    assert all(p["age_s"] < 90 for p in queue["pollers"] if p["identity"] == identity)


def test_queue_without_worker_fails_naming_it(run_module, temporal_server, start_worker):
    start_worker("papr-memory")
    run = run_module(
        MODULE,
        {
            "address": temporal_server.address,
            "task_queues": ["papr-memory", "papr-documents-nobody"],
            "timeout": 2,
            "delay": 0.5,
        },
        expect_failed=True,
    )
    assert "task queue 'papr-documents-nobody' has no workflow/activity poller" in run.result["msg"]
    assert "'papr-memory'" not in run.result["msg"]
    assert run.result["task_queues"]["papr-memory"]["live"] is True
    assert run.result["task_queues"]["papr-documents-nobody"] == {"live": False, "pollers": [], "backlog": 0}
    assert run.result["attempts"] >= 2


def test_dead_worker_still_listed_is_not_live(run_module, temporal_server, start_worker):
    process, identity = start_worker("papr-stale")
    stop_worker(process)
    time.sleep(3)  # older than poller_max_age below: the server still lists it for minutes
    run = run_module(  # timeout 0: one look
        MODULE,
        {
            "address": temporal_server.address,
            "task_queues": ["papr-stale"],
            "poller_max_age": 2,
            "timeout": 0,
        },
        expect_failed=True,
    )
    assert "task queue 'papr-stale' has no live workflow/activity poller" in run.result["msg"]
    assert f"the most recent, '{identity}', polled" in run.result["msg"]
    pollers = run.result["task_queues"]["papr-stale"]["pollers"]
    assert pollers and all(p["identity"] == identity and p["age_s"] > 2 for p in pollers)


def test_unregistered_namespace_fails_naming_it(run_module, temporal_server):
    run = run_module(
        MODULE,
        {"address": temporal_server.address, "namespace": "papr-missing", "timeout": 1},
        expect_failed=True,
    )
    assert f"namespace 'papr-missing' is not registered on {temporal_server.address}" in run.result["msg"]
    assert run.result["serving"] is True and run.result["namespace"] == {}


def test_unreachable_frontend_fails_after_the_deadline(run_module):
    (port,) = free_ports(1, range(57490, 57500))  # the verify playbook tests' stacks end at 57485
    run = run_module(MODULE, {"address": f"127.0.0.1:{port}", "timeout": 2, "delay": 0.5}, expect_failed=True)
    assert f"cannot reach Temporal at 127.0.0.1:{port}" in run.result["msg"]
    assert "within 2.0s" in run.result["msg"] and run.result["attempts"] >= 2


def _system_python_lacks_temporalio() -> bool:
    if not os.path.exists(SYSTEM_PYTHON):
        return False
    return subprocess.run([SYSTEM_PYTHON, "-c", "import temporalio"], capture_output=True).returncode != 0


@pytest.mark.skipif(not _system_python_lacks_temporalio(), reason="needs a Python without temporalio")
def test_python_without_temporalio_gets_a_clear_error(run_module):
    run = run_module(MODULE, {"timeout": 0}, python=SYSTEM_PYTHON, expect_failed=True)
    assert "Failed to import the required Python library (temporalio)" in run.result["msg"]
    assert "ansible_python_interpreter" in run.result["msg"]


def test_bad_input_fails_before_connecting(run_module):
    run = run_module(
        MODULE,
        {"address": "no-port", "task_queues": ["a", "a"], "poller_max_age": -1},
        expect_failed=True,
    )
    msg = run.result["msg"]
    assert msg.startswith("invalid input: ")
    assert "address 'no-port' is not host:port" in msg
    assert "task_queues has an empty or repeated name" in msg
    assert "poller_max_age must be >= 0" in msg
