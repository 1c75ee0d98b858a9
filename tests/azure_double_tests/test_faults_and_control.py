"""Fault injection, drift, the request log, reset/snapshot, the HTTP control API and the CLI."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.mgmt.containerinstance import ContainerInstanceManagementClient
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.containerservice import models as aks_models
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.web import WebSiteManagementClient
from azure.mgmt.web.models import AppServicePlan, Site, SiteConfig, SkuDescription

from .test_containerinstance import group as container_group
from .test_postgresql import server as pg_server

REPO = Path(__file__).resolve().parents[2]


def test_throttling_429_with_retry_after_is_retried(azure_double):
    client = azure_double.client(ResourceManagementClient)
    azure_double.inject_status("/resourcegroups/rg$", 429, method="PUT", retry_after=1)
    client.resource_groups.create_or_update("rg", {"location": "westus2"})
    assert [e.status for e in azure_double.requests("PUT")] == [429, 201]
    assert azure_double.write_count() == 2  # both attempts reached the double


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retried_then_succeed(azure_double, resource_group, status):
    client = azure_double.client(ResourceManagementClient)
    azure_double.inject_status("/resourcegroups/rg$", status, method="GET", times=2)
    assert client.resource_groups.get("rg").name == "rg"
    assert [e.status for e in azure_double.requests("GET", "/resourcegroups/rg$")] == [status, status, 200]


def test_a_persistent_error_surfaces_with_arm_code(azure_double, resource_group):
    client = azure_double.client(ResourceManagementClient, retry_total=0)
    azure_double.inject_status("/resourcegroups/rg$", 503, method="GET", times=None, retry_after=None)
    with pytest.raises(HttpResponseError) as failed:
        client.resource_groups.get("rg")
    assert failed.value.status_code == 503 and failed.value.error.code == "ServiceUnavailable"
    azure_double.clear_faults()
    assert client.resource_groups.get("rg").name == "rg"


def test_long_running_operation_that_fails_azure_async_operation_style(azure_double, resource_group):
    aci = azure_double.client(ContainerInstanceManagementClient)
    azure_double.fail_operations(
        "/containerGroups/papr-worker$", "ContainerGroupQuotaReached", "Quota reached."
    )
    with pytest.raises(HttpResponseError) as failed:
        aci.container_groups.begin_create_or_update("rg", "papr-worker", container_group()).result()
    assert failed.value.error.code == "ContainerGroupQuotaReached"
    assert aci.container_groups.get("rg", "papr-worker").provisioning_state == "Failed"


def test_long_running_operation_that_fails_with_both_headers(azure_double, resource_group):
    from azure.mgmt.postgresqlflexibleservers import PostgreSQLManagementClient

    pg = azure_double.client(PostgreSQLManagementClient)
    azure_double.fail_operations(
        "/flexibleServers/papr-db$", "InternalServerError", "Provisioning failed.", polls=2
    )
    with pytest.raises(HttpResponseError) as failed:
        pg.servers.begin_create_or_update("rg", "papr-db", pg_server()).result()
    assert failed.value.error.code == "InternalServerError"
    assert len(azure_double.requests("GET", "/azureAsyncOperation/")) == 2


def test_long_running_operation_that_fails_location_style(azure_double, resource_group):
    client = azure_double.client(ResourceManagementClient)
    azure_double.fail_operations("/resourcegroups/rg$", "ResourceGroupDeletionBlocked", "A lock blocks it.")
    with pytest.raises(HttpResponseError) as failed:
        client.resource_groups.begin_delete("rg").result()
    assert "ResourceGroupDeletionBlocked" in str(failed.value)
    assert client.resource_groups.get("rg").properties.provisioning_state == "Succeeded"


def test_slow_operations_take_the_scripted_polls(azure_double, resource_group):
    aks = azure_double.client(ContainerServiceClient)
    azure_double.slow_operations("/managedClusters/", polls=6, method="PUT")
    definition = aks_models.ManagedCluster(
        location="westus2",
        dns_prefix="papr",
        agent_pool_profiles=[
            aks_models.ManagedClusterAgentPoolProfile(name="system", count=1, mode="System")
        ],
    )
    poller = aks.managed_clusters.begin_create_or_update("rg", "papr-aks", definition)
    assert aks.managed_clusters.get("rg", "papr-aks").provisioning_state == "Creating"
    assert poller.result().provisioning_state == "Succeeded"
    # 6 polls in all: the GET above counted as one (time passing), the SDK made the other 5.
    assert len(azure_double.requests("GET", "/operations/")) == 5


def test_drift_changes_a_resource_out_of_band(azure_double, resource_group):
    web = azure_double.client(WebSiteManagementClient)
    plan = web.app_service_plans.begin_create_or_update(
        "rg",
        "plan",
        AppServicePlan(location="westus2", sku=SkuDescription(name="P1v3", capacity=1), reserved=True),
    ).result()
    site = web.web_apps.begin_create_or_update(
        "rg",
        "papr-app",
        Site(
            location="westus2", server_farm_id=plan.id, site_config=SiteConfig(linux_fx_version="DOCKER|a:1")
        ),
    ).result()
    azure_double.clear_log()
    azure_double.drift(site.id + "/config/web", {"properties": {"linuxFxVersion": "DOCKER|hacked:6"}})
    azure_double.drift(site.id, lambda state: state["properties"].update(httpsOnly=False))
    assert web.web_apps.get_configuration("rg", "papr-app").linux_fx_version == "DOCKER|hacked:6"
    assert web.web_apps.get("rg", "papr-app").https_only is False
    assert azure_double.write_count() == 0
    with pytest.raises(KeyError):
        azure_double.drift(site.id + "-missing", {"tags": {}})


def test_request_log_snapshot_and_reset(azure_double, resource_group):
    client = azure_double.client(ResourceManagementClient)
    client.resource_groups.get("rg")
    client.resource_groups.update("rg", {"tags": {"owner": "papr"}})
    assert azure_double.request_log[-2:] == [
        ("GET", f"/subscriptions/{azure_double.subscription_id}/resourcegroups/rg", "2025-04-01", 200),
        ("PATCH", f"/subscriptions/{azure_double.subscription_id}/resourcegroups/rg", "2025-04-01", 200),
    ]
    assert azure_double.write_count() == 1 and azure_double.write_count("/nothing-like-this$") == 0
    snapshot = azure_double.snapshot()
    assert snapshot[f"/subscriptions/{azure_double.subscription_id}/resourcegroups/rg"]["tags"] == {
        "owner": "papr"
    }
    azure_double.reset()
    assert azure_double.snapshot() == {} and azure_double.requests() == []


def test_http_control_api(azure_double, resource_group):
    session = requests.Session()
    session.trust_env = False
    session.verify = azure_double.ca_path
    base = azure_double.base_url
    arm_headers = {"Authorization": f"Bearer {azure_double.token()}"}
    group_url = (
        f"{base}/subscriptions/{azure_double.subscription_id}/resourcegroups/rg?api-version=2021-04-01"
    )
    fault = {"kind": "status", "path": "/resourcegroups/rg$", "status": 503, "method": "GET"}
    assert session.post(f"{base}/_double/faults", json=fault).status_code == 204
    answer = session.get(group_url, headers=arm_headers)
    assert (answer.status_code, answer.headers["retry-after"]) == (503, "1")
    assert session.get(group_url, headers=arm_headers).status_code == 200
    group_id = f"/subscriptions/{azure_double.subscription_id}/resourceGroups/rg"
    drifted = session.post(
        f"{base}/_double/drift", json={"id": group_id, "change": {"tags": {"drift": "yes"}}}
    )
    assert drifted.json()["tags"] == {"drift": "yes"}
    log = session.get(f"{base}/_double/requests").json()
    assert [e["status"] for e in log["requests"]] == [503, 200] and log["write_count"] == 0
    assert group_id.lower() in session.get(f"{base}/_double/snapshot").json()
    assert session.post(f"{base}/_double/reset").status_code == 204
    assert session.get(f"{base}/_double/snapshot").json() == {}


def test_cli_prints_what_to_export_and_serves(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.azure_double", "--port", "0", "--state-dir", str(tmp_path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines = []
        while not lines or not lines[-1].startswith("export SSL_CERT_FILE="):
            line = process.stdout.readline()
            assert line, "the CLI stopped before printing its environment"
            lines.append(line.strip())
        env = dict(shlex.split(line)[1].split("=", 1) for line in lines if line.startswith("export "))
        assert env["REQUESTS_CA_BUNDLE"] == str(tmp_path / "azure-double-ca.pem")
        assert lines[0].startswith("# Azure double listening on https://127.0.0.1:")
        base_url = lines[0].rsplit(" ", 1)[-1]
        metadata = requests.get(env["AZURE_CLOUD_ENVIRONMENT"], verify=env["REQUESTS_CA_BUNDLE"], timeout=10)
        assert metadata.json()["resourceManager"] == base_url + "/"  # one cloud object at 2022-09-01
        from azure.identity import ClientSecretCredential

        credential = ClientSecretCredential(
            env["AZURE_TENANT_ID"],
            env["AZURE_CLIENT_ID"],
            env["AZURE_SECRET"],
            authority=base_url,
            disable_instance_discovery=True,
            connection_verify=env["REQUESTS_CA_BUNDLE"],
        )
        client = ResourceManagementClient(
            credential,
            env["AZURE_SUBSCRIPTION_ID"],
            base_url=base_url,
            credential_scopes=["https://management.azure.com/.default"],
            connection_verify=env["REQUESTS_CA_BUNDLE"],
        )
        assert list(client.resource_groups.list()) == []
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
