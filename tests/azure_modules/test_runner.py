"""The module runner's contract on every Azure module, against the Azure double:

`operations` in every result, check mode predicting exactly the writes of the real run, zero writes on
a rerun, stopped resources started (or left alone when told), a PostgreSQL server still Provisioning
waited for within `timeout`, a failed server refused, and a write sent then a failure reported as
changed, with the operations sent so far.
"""

from __future__ import annotations

import time

import pytest
from azure.mgmt.containerinstance import ContainerInstanceManagementClient
from azure.mgmt.postgresqlflexibleservers import PostgreSQLManagementClient
from azure.mgmt.web import WebSiteManagementClient

from tests.azure_modules import test_container_group as aci
from tests.azure_modules import test_postgres_flexible_server as pg
from tests.azure_modules.conftest import make_resource_group
from tests.azure_modules.test_app_service import GROUP as WEB_GROUP
from tests.azure_modules.test_app_service import PLAN, SITE, app_task, make_plan, plan_task

# env of a run whose failures must not be retried away
NO_RETRIES = {"PAPR_AZURE_MAX_RETRIES": "0"}


def web_setup(double):
    make_plan(double)


def plan_setup(double):
    make_resource_group(double, WEB_GROUP)


def aci_setup(double):
    make_resource_group(double, aci.GROUP)


def pg_setup(double):
    make_resource_group(double, pg.GROUP)


MODULES = {
    "resource_group": (
        lambda double: None,
        {"papr.memory.resource_group": {"name": "rg-runner", "location": "westeurope", "tags": {"a": "1"}}},
    ),
    "app_service_plan": (plan_setup, plan_task(sku="P1v3", capacity=2)),
    "app_service_container": (web_setup, app_task()),
    "container_group": (aci_setup, aci.task()),
    "postgres_flexible_server": (pg_setup, pg.server_task()),
    # The monitoring modules run through the same runner (module_utils/azure_arm_resource.py).
    "log_analytics_workspace": (
        plan_setup,
        {
            "papr.memory.log_analytics_workspace": {
                "name": "papr-runner-logs",
                "resource_group": WEB_GROUP,
                "location": "westeurope",
            }
        },
    ),
}


def actions(result):
    return [(op["action"], op["target"]) for op in result["operations"]]


@pytest.mark.parametrize("module", list(MODULES))
def test_check_mode_predicts_the_operations_and_a_rerun_sends_none(run_tasks, azure_double, module):
    setup, task = MODULES[module]
    setup(azure_double)

    checked = run_tasks([task], check=True)
    assert checked.writes == 0
    predicted = checked.result()["operations"]
    assert predicted and checked.result()["changed"] is True

    applied = run_tasks([task])
    assert applied.result()["operations"] == predicted
    assert applied.writes == len(predicted)  # one write request per operation

    rerun = run_tasks([task])
    assert rerun.result()["changed"] is False
    assert rerun.result()["operations"] == [] and rerun.writes == 0
    rechecked = run_tasks([task], check=True)
    assert rechecked.result()["operations"] == [] and rechecked.writes == 0


def stop_web_app(double):
    double.client(WebSiteManagementClient).web_apps.stop(WEB_GROUP, SITE)


def stop_container_group(double):
    double.client(ContainerInstanceManagementClient).container_groups.stop(aci.GROUP, aci.NAME)


def stop_postgres(double):
    double.client(PostgreSQLManagementClient).servers.begin_stop(pg.GROUP, pg.SERVER).result()


STOPPABLE = {
    "app_service_container": (stop_web_app, "Stopped", "Running", lambda r: r["site"]["state"]),
    "container_group": (stop_container_group, "Stopped", "Running", lambda r: r["container_group"]["state"]),
    "postgres_flexible_server": (stop_postgres, "Stopped", "Ready", lambda r: r["server"]["state"]),
}


@pytest.mark.parametrize("module", list(STOPPABLE))
def test_a_stopped_resource_is_started_or_left_stopped_when_told(run_tasks, azure_double, module):
    setup, task = MODULES[module]
    stop, stopped, running, state_of = STOPPABLE[module]
    (options,) = task.values()
    setup(azure_double)
    run_tasks([task])
    stop(azure_double)

    left = run_tasks([{next(iter(task)): {**options, "start_stopped": False}}])
    result = left.result()
    assert left.writes == 0 and result["changed"] is False
    assert result["resource_state"] == stopped and result["started"] is False
    assert "start_stopped is false" in left.output

    checked = run_tasks([task], check=True)
    assert checked.writes == 0
    assert [op["action"] for op in checked.result()["operations"]] == ["start"]

    started = run_tasks([task])
    result = started.result()
    assert result["changed"] is True and result["started"] is True
    assert result["resource_state"] == stopped
    assert [op["action"] for op in result["operations"]] == ["start"]
    assert [path for method, path, *_ in started.requests if method == "POST" and path.endswith("/start")]
    assert state_of(result) == running

    again = run_tasks([task])
    assert again.writes == 0 and again.result()["started"] is False
    assert again.result()["resource_state"] == running


def start_interrupted_create(double, polls):
    """A server create that Azure accepted and is still working on (the task that sent it was interrupted)."""
    double.slow_operations(r"/flexibleServers/papr-memory-pg$", polls=polls, method="PUT", times=1)
    body = {
        "location": "westeurope",
        "sku": {"name": "Standard_B1ms", "tier": "Burstable"},
        "properties": {
            "version": "16",
            "administratorLogin": "paprAdmin",
            "administratorLoginPassword": pg.PASSWORD,
            "storage": {"storageSizeGB": 32},
        },
    }
    client = double.client(PostgreSQLManagementClient)
    client.servers.begin_create_or_update(pg.GROUP, pg.SERVER, body, polling=False)
    server = client.servers.get(pg.GROUP, pg.SERVER)
    assert server.state == "Provisioning"


def test_a_provisioning_server_is_waited_for_before_databases_are_written(run_tasks, azure_double):
    pg_setup(azure_double)
    start_interrupted_create(azure_double, polls=4)

    run = run_tasks([pg.server_task()])
    result = run.result()
    assert result["resource_state"] == "Provisioning"
    assert result["server"]["state"] == "Ready"
    server_path = f"/flexibleServers/{pg.SERVER}".lower()
    first_write = next(i for i, (method, *_) in enumerate(run.requests) if method in ("PUT", "PATCH"))
    reads_before = [
        p
        for method, p, *_ in run.requests[:first_write]
        if method == "GET" and p.lower().endswith(server_path)
    ]
    assert len(reads_before) >= 2  # it read the server again until Azure had finished
    assert "create database" in [op["action"] for op in result["operations"]]
    assert run_tasks([pg.server_task()]).writes == 0


def test_a_provisioning_wait_respects_the_timeout(run_tasks, azure_double):
    pg_setup(azure_double)
    start_interrupted_create(azure_double, polls=10**9)

    started = time.monotonic()
    run = run_tasks([pg.server_task(timeout=2)], expect_rc=2)
    result = run.result()
    assert time.monotonic() - started < 30
    assert "is still Provisioning after 2s" in result["msg"]
    assert result["changed"] is False and result["operations"] == [] and run.writes == 0


def test_a_failed_server_is_refused_before_any_write(run_tasks, azure_double):
    pg_setup(azure_double)
    run_tasks([pg.server_task()])
    azure_double.drift(pg.server_id(azure_double), {"properties": {"state": "Disabled"}})

    run = run_tasks([pg.server_task(sku="Standard_B2s")], expect_rc=2)
    assert "is in state Disabled" in run.result()["msg"] and run.writes == 0
    assert run.result()["changed"] is False


def test_a_failed_container_group_is_sent_again(run_tasks, azure_double):
    aci_setup(azure_double)
    azure_double.fail_operations(
        r"/containerGroups/papr-memory-temporal$", "ImagePullFailed", "Pull access denied."
    )
    run_tasks([aci.task()], expect_rc=2)  # leaves the group in provisioning state Failed
    repaired = run_tasks([aci.task()])
    assert repaired.result()["resource_state"] == "Failed"
    assert repaired.result()["changed"] is True and repaired.writes == 1


# --- a write sent, then a failure -------------------------------------------------------------------------
def test_resource_group_delete_accepted_then_failed_reports_changed(run_tasks, azure_double):
    task = MODULES["resource_group"][1]
    run_tasks([task])
    azure_double.fail_operations(
        r"/resourcegroups/rg-runner$", "Conflict", "A lock prevents deletion.", method="DELETE"
    )
    (options,) = task.values()
    failed = run_tasks([{"papr.memory.resource_group": {**options, "state": "absent"}}], expect_rc=2)
    result = failed.result()
    assert result["changed"] is True
    assert result["operations"] == [
        {"action": "delete", "target": "resource group 'rg-runner'", "failed": True}
    ]


def test_plan_write_refused_reports_unchanged(run_tasks, azure_double):
    plan_setup(azure_double)
    azure_double.inject_status(r"/serverfarms/" + PLAN + "$", 500, method="PUT", times=None)
    failed = run_tasks([plan_task(sku="P1v3")], env=NO_RETRIES, expect_rc=2)
    result = failed.result()
    assert result["changed"] is False  # Azure refused the only write: nothing changed
    assert [op["action"] for op in result["operations"]] == ["create"] and result["operations"][0]["failed"]


def test_web_app_write_then_failure_reports_changed_with_the_operations_sent(run_tasks, azure_double):
    web_setup(azure_double)
    run_tasks([app_task()])
    azure_double.inject_status(r"/sites/" + SITE + "/config/appsettings$", 500, method="PUT", times=None)
    changed = app_task(startup_command="python start.py", app_settings={"TEMPORAL_ADDRESS": "other:7233"})
    failed = run_tasks([changed], env=NO_RETRIES, expect_rc=2)
    result = failed.result()
    assert result["changed"] is True
    assert [(op["action"], op.get("failed", False)) for op in result["operations"]] == [
        ("update configuration", False),
        ("replace app settings", True),
    ]
    assert "replace the app settings of App Service web app" in result["msg"]


def test_container_group_accepted_then_failed_reports_changed(run_tasks, azure_double):
    aci_setup(azure_double)
    azure_double.fail_operations(
        r"/containerGroups/papr-memory-temporal$", "ImagePullFailed", "Pull access denied."
    )
    failed = run_tasks([aci.task()], expect_rc=2)
    result = failed.result()
    assert result["changed"] is True
    assert result["operations"][0]["action"] == "create" and result["operations"][0]["failed"] is True


def test_postgres_database_failure_after_server_write_reports_changed(run_tasks, azure_double):
    pg_setup(azure_double)
    azure_double.fail_operations(r"/databases/temporal$", "InternalServerError", "Database create failed.")
    failed = run_tasks([pg.server_task()], expect_rc=2)
    result = failed.result()
    assert result["changed"] is True, result
    sent = [(op["action"], op.get("failed", False)) for op in result["operations"]]
    assert sent[0] == ("create", False) and sent[-1] == ("create database", True)
    assert pg.PASSWORD not in failed.output
