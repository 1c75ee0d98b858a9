"""papr.memory.postgres_flexible_server against the Azure double's Microsoft.DBforPostgreSQL."""

from __future__ import annotations

import pytest

from tests.azure_modules.conftest import failures_of, make_resource_group, resource_id

GROUP = "papr-memory-pg-test"
SERVER = "papr-memory-pg"
PASSWORD = "Pg-Admin-Secret-9931!"


def server_task(**options):
    spec = {
        "name": SERVER,
        "resource_group": GROUP,
        "sku": "Standard_B1ms",
        "admin_login": "paprAdmin",
        "admin_password": PASSWORD,
        "databases": [{"name": "memory"}, {"name": "temporal"}, {"name": "temporal_visibility"}],
        "firewall_rules": [{"name": "azure-services", "start_ip": "0.0.0.0"}],
        "parameters": {"azure.extensions": ["BTREE_GIN", "PG_TRGM"]},
        "tags": {"app": "papr-memory"},
    }
    spec.update(options)
    return {"papr.memory.postgres_flexible_server": spec}


def server_id(double):
    return resource_id(double, GROUP, f"Microsoft.DBforPostgreSQL/flexibleServers/{SERVER}")


@pytest.fixture
def resource_group(azure_double):
    make_resource_group(azure_double, GROUP)


def test_create_rerun_and_check_mode(run_tasks, azure_double, resource_group):
    checked = run_tasks([server_task()], check=True, diff=True)
    assert checked.result()["changed"] is True and checked.writes == 0
    assert PASSWORD not in checked.output

    created = run_tasks([server_task()], diff=True, verbosity=3)
    result = created.result()
    assert result["changed"] is True
    assert PASSWORD not in created.output
    assert result["server"]["fqdn"] == f"{SERVER}.postgres.database.azure.com"
    assert result["server"]["state"] == "Ready"
    assert result["databases"] == ["memory", "temporal", "temporal_visibility"]
    assert created.writes == 1 + 3 + 1 + 1  # server, three databases, firewall rule, azure.extensions
    stored = azure_double.resource(server_id(azure_double) + "/configurations/azure.extensions")
    assert stored["properties"]["value"] == "BTREE_GIN,PG_TRGM"

    rerun = run_tasks([server_task(parameters={"azure.extensions": "pg_trgm,btree_gin"})])
    assert rerun.result()["changed"] is False and rerun.writes == 0


def test_password_change_detected_through_hash_and_masked(run_tasks, azure_double, resource_group):
    run_tasks.setup([server_task()])
    rotated = server_task(admin_password="Rotated-Secret-4471!")

    checked = run_tasks([rotated], check=True, diff=True)
    assert checked.result()["changed"] is True and checked.writes == 0
    assert checked.result()["diff"]["after"]["server"]["secrets_hash"] == "********"
    assert "Rotated-Secret-4471!" not in checked.output

    applied = run_tasks([rotated])
    assert applied.result()["changed"] is True and applied.writes == 1  # one PATCH of the server
    assert azure_double.resource(server_id(azure_double))["_password"] == "Rotated-Secret-4471!"
    assert run_tasks([rotated]).writes == 0


def test_drift_restored(run_tasks, azure_double, resource_group):
    run_tasks.setup([server_task()])
    azure_double.drift(server_id(azure_double), {"properties": {"backup": {"backupRetentionDays": 30}}})
    azure_double.drift(
        server_id(azure_double) + "/firewallRules/azure-services",
        {"properties": {"startIpAddress": "0.0.0.0", "endIpAddress": "255.255.255.255"}},
    )
    restored = run_tasks([server_task()], diff=True)
    diff = restored.result()["diff"]
    assert diff["before"]["server"]["backup_retention_days"] == 30
    assert diff["before"]["firewall_rules"]["azure-services"]["end_ip"] == "255.255.255.255"
    assert restored.writes == 2
    assert run_tasks([server_task()]).writes == 0


def test_impossible_changes_fail_before_writing(run_tasks, azure_double, resource_group):
    run_tasks.setup([server_task(storage_gb=64)])
    for options, message in [
        ({"storage_gb": 32}, "storage cannot shrink"),
        ({"version": "15"}, "cannot be downgraded"),
        ({"admin_login": "otherAdmin"}, "cannot change to 'otherAdmin'"),
    ]:
        run = run_tasks([server_task(**options)], expect_rc=2)
        assert message in run.result()["msg"] and run.writes == 0


def test_operation_failure_and_timeout_name_the_server(run_tasks, azure_double, resource_group):
    azure_double.fail_operations(
        r"/flexibleServers/papr-memory-pg$", "InternalServerError", "Provisioning failed."
    )
    failed = run_tasks([server_task()], expect_rc=2)
    assert (
        f"Could not create PostgreSQL flexible server '{SERVER}' in resource group '{GROUP}'"
        in failed.result()["msg"]
    )
    assert "Provisioning failed" in failed.result()["msg"]

    azure_double.slow_operations(r"/flexibleServers/papr-memory-pg$", polls=10**9)
    slow = run_tasks([server_task(timeout=2)], expect_rc=2)
    assert (
        f"Timed out after 2s waiting to create PostgreSQL flexible server '{SERVER}'" in slow.result()["msg"]
    )


def test_throttling_converges(run_tasks, azure_double, resource_group):
    azure_double.inject_status(r"/flexibleServers/papr-memory-pg$", 429, method="GET", times=2)
    azure_double.inject_status(r"/databases/memory$", 503, method="PUT", times=1)
    run = run_tasks([server_task()])
    assert run.result()["changed"] is True
    assert azure_double.resource(server_id(azure_double) + "/databases/memory") is not None


BAD_INPUT = [
    ({"sku": "Standard_X9"}, "Unknown PostgreSQL flexible server SKU 'Standard_X9'"),
    ({"name": "PG_Server"}, "Invalid PostgreSQL server name"),
    ({"admin_login": "azure_superuser"}, "is reserved by Azure"),
    ({"high_availability": "ZoneRedundant"}, "needs a General Purpose or Memory Optimized SKU"),
    (
        {"firewall_rules": [{"name": "x", "start_ip": "10.0.0.9", "end_ip": "10.0.0.1"}]},
        "is after end_ip",
    ),
]


def test_bad_input_fails_before_any_request(run_tasks, azure_double):
    run, messages = failures_of(run_tasks, [server_task(**options) for options, _ in BAD_INPUT])
    for (_, expected), message in zip(BAD_INPUT, messages, strict=True):
        assert expected in message
    assert run.requests == []
    assert PASSWORD not in run.output


def test_delete(run_tasks, azure_double, resource_group):
    run_tasks.setup([server_task()])
    deleted = run_tasks([server_task(state="absent")])
    assert deleted.result()["changed"] is True and azure_double.resource(server_id(azure_double)) is None
    assert run_tasks([server_task(state="absent")]).result()["changed"] is False
