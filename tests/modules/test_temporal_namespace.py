"""papr.memory.temporal_namespace run by ansible-playbook with the real Temporal CLI and dev server."""

from __future__ import annotations

import time

from tests.modules.conftest import TEMPORAL_PORTS, free_ports

MODULE = "papr.memory.temporal_namespace"


def test_create_rerun_check_mode_and_retention_update(run_module, temporal_server):
    args = {"address": temporal_server.address, "namespace": "papr-ns-test", "retention_days": 3}

    checked = run_module(MODULE, args, check=True, expect_failed=False)
    assert checked.result["changed"] is True
    assert [op["action"] for op in checked.result["operations"]] == ["create"]

    created = run_module(MODULE, args, expect_failed=False)
    assert created.result["operations"] == checked.result["operations"]
    assert created.result["namespace"] == {"name": "papr-ns-test", "retention_days": 3}

    rerun = run_module(MODULE, args, expect_failed=False)
    assert rerun.result["changed"] is False and rerun.result["operations"] == []

    longer = {**args, "retention_days": 7}
    predicted = run_module(MODULE, longer, check=True, expect_failed=False)
    assert [op["action"] for op in predicted.result["operations"]] == ["update retention"]
    assert run_module(MODULE, longer, expect_failed=False).result["changed"] is True
    assert run_module(MODULE, longer, expect_failed=False).result["changed"] is False


def test_a_missing_cli_fails_at_once(run_module, tmp_path):
    started = time.monotonic()
    run = run_module(
        MODULE,
        {"address": "127.0.0.1:7233", "namespace": "x", "cli": str(tmp_path / "no-temporal"), "timeout": 300},
        expect_failed=True,
    )
    assert "The Temporal CLI was not found" in run.result["msg"]
    assert run.result["attempts"] == 0
    assert time.monotonic() - started < 60  # the 300 s wait never started


def test_a_silent_frontend_fails_within_the_timeout(run_module):
    (port,) = free_ports(1, TEMPORAL_PORTS)  # nothing listens there
    run = run_module(
        MODULE,
        {"address": f"127.0.0.1:{port}", "namespace": "x", "timeout": 3, "rpc_timeout": 10, "delay": 0.5},
        expect_failed=True,
    )
    assert "did not answer within 3s" in run.result["msg"]
    assert run.result["attempts"] >= 2
    assert run.result["elapsed"] <= 3 + 2.5  # each call was cut to what was left of the 3 s


def test_check_mode_does_not_wait_for_a_server_the_run_would_create(run_module):
    (port,) = free_ports(1, TEMPORAL_PORTS)  # nothing listens there yet
    run = run_module(
        MODULE,
        {"address": f"127.0.0.1:{port}", "namespace": "x", "timeout": 300},
        check=True,
        expect_failed=False,
    )
    assert run.result["changed"] is True
    (operation,) = run.result["operations"]
    assert operation["action"] == "create" and "does not answer yet" in operation["unverified"]
    assert run.result["attempts"] == 1 and run.result["elapsed"] < 60  # the 300 s wait never started
