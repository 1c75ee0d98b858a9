"""papr.memory.temporal_namespace run by ansible-playbook with the real Temporal CLI and dev server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import jinja2
import yaml

from tests.modules.conftest import REPO, TEMPORAL_PORTS, VENV_BIN
from tests.ports import free_ports

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

    # Seconds after the namespace was registered: Temporal refuses the update as "not found" until its
    # namespace cache has caught up, and the module tries again.
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


def namespace_retention(address: str, namespace: str) -> str | None:
    """The namespace's retention as the server reports it (None while it does not exist)."""
    described = subprocess.run(
        [str(VENV_BIN / "temporal"), "operator", "namespace", "describe", "--address", address,
         "--namespace", namespace, "-o", "json"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    if described.returncode != 0:
        return None
    return json.loads(described.stdout)["config"]["workflowExecutionRetentionTtl"]


def test_the_namespace_setup_container_and_the_controller_agree_on_retention(run_module, temporal_server):
    """Private Azure registers the namespace from the namespace-setup container, public Azure (and a
    tunnel) from the controller: both from temporal_namespace_retention_days. The container's script,
    run with the environment the role gives it, changes a namespace to the role's retention, after
    which the controller's module finds nothing to change."""
    namespace, days = "papr-agree", 3
    address = temporal_server.address
    old = {"address": address, "namespace": namespace, "retention_days": 9}
    assert run_module(MODULE, old, expect_failed=False).result["changed"] is True

    role = yaml.safe_load((REPO / "roles/temporal/tasks/azure.yml").read_text())
    group = next(task for task in role if "papr.memory.container_group" in task)
    container = group["vars"]["temporal_azure_namespace_container"]
    render = jinja2.Environment(autoescape=False).from_string  # noqa: S701 - shell text, not HTML
    facts = {"temporal_namespace": namespace, "temporal_namespace_retention_days": days}
    environment = {name: render(value).render(facts) for name, value in container["environment"].items()}
    script = render((REPO / "roles/temporal/templates/namespace-setup.sh.j2").read_text()).render(
        temporal_port=address.rsplit(":", 1)[1]
    )
    process = subprocess.Popen(
        ["sh", "-c", script],
        env={**os.environ, **environment, "PATH": f"{VENV_BIN}:{os.environ['PATH']}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its idle loop never ends: stopped with its process group
    )
    try:
        deadline = time.monotonic() + 120
        while namespace_retention(address, namespace) != f"{days * 24 * 3600}s":
            assert process.poll() is None and time.monotonic() < deadline, namespace_retention(
                address, namespace
            )
            time.sleep(0.5)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    agreed = run_module(MODULE, {**old, "retention_days": days}, expect_failed=False)
    assert agreed.result["changed"] is False and agreed.result["operations"] == []
