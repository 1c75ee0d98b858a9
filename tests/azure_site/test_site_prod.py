"""site.yml -i inventories/prod (option 2) against the Azure double, verified for real through
the stand-in service: check mode, first run, no-op rerun, secrets, drift, inventory changes."""

from __future__ import annotations

import pytest
from azure.mgmt.containerinstance import ContainerInstanceManagementClient

from tests.azure_site.site_runner import SiteRun

pytestmark = pytest.mark.slow

GROUP = "papr-memory-prod"
PREFIX = "papr-memory-prod"


def arm_id(double, provider_path: str) -> str:
    return f"/subscriptions/{double.subscription_id}/resourceGroups/{GROUP}/providers/{provider_path}"


def site_id(double, name: str) -> str:
    return arm_id(double, f"Microsoft.Web/sites/{PREFIX}-{name}")


def app_settings(double, name: str) -> dict:
    return double.resource(site_id(double, name) + "/config/appsettings")["properties"]


def site_config(double, name: str) -> dict:
    return double.resource(site_id(double, name) + "/config/web")["properties"]


def server_id(double) -> str:
    return arm_id(double, f"Microsoft.DBforPostgreSQL/flexibleServers/{PREFIX}-pg")


def firewall_rules(double) -> dict[str, tuple[str, str]]:
    prefix = (server_id(double) + "/firewallRules/").lower()
    return {
        rid[len(prefix) :]: (body["properties"]["startIpAddress"], body["properties"]["endIpAddress"])
        for rid, body in double.snapshot().items()
        if rid.startswith(prefix)
    }


def assert_converged_without_writes(run: SiteRun) -> None:
    assert run.rc == 0, run.output[-6000:]
    assert run.recap()["changed"] == 0, run.changed_tasks()
    assert run.writes == [], run.writes


@pytest.fixture(scope="module")
def deployed(site, azure_double_server):
    """From an empty subscription: a check-mode run, the real run, then the same again."""
    azure_double_server.reset()
    azure_double_server.operations.default_polls = 1
    runs = {
        "check": site.run("prod", "--check", "--diff", "-vvv"),
        "first": site.run("prod", "--diff", "-vvv"),
        "second": site.run("prod", "--diff"),
        "check_deployed": site.run("prod", "--check", "--diff"),
    }
    yield runs
    azure_double_server.reset()


def test_check_mode_from_empty_writes_nothing_and_predicts_the_run(deployed):
    check, first = deployed["check"], deployed["first"]
    assert check.rc == 0, check.output[-6000:]
    assert check.writes == []
    assert first.rc == 0, first.output[-6000:]
    assert check.changed_tasks() == first.changed_tasks()
    # Group, server, Temporal, 2 plans, 2 apps, firewall (+ the namespace, unless an earlier test
    # registered it in the shared stand-in Temporal).
    resources = [task for task in first.changed_tasks() if "namespace" not in task]
    assert len(resources) == 8, resources


def test_first_run_builds_option_2(deployed, azure_double_server):
    double = azure_double_server
    first = deployed["first"]
    assert first.rc == 0
    # Verification ran for real against the stand-in service (not skipped).
    assert "papr.memory.verify : The API stores a memory and finds it by search" in first.output
    assert first.recap()["failed"] == 0

    plans = {
        name: double.resource(arm_id(double, f"Microsoft.Web/serverfarms/{PREFIX}-{name}-plan"))["sku"][
            "name"
        ]
        for name in ("web", "workers")
    }
    assert plans == {"web": "P1v3", "workers": "P2v3"}
    web, workers = site_config(double, "web"), site_config(double, "workers")
    assert web["linuxFxVersion"] == workers["linuxFxVersion"] == "DOCKER|paprmemory.azurecr.io/memory:0.1.0"
    assert web["appCommandLine"] == "uvicorn app.main:app --host 0.0.0.0 --port 5001 --no-access-log"
    assert workers["appCommandLine"] == "python start_all_workers.py"
    # Both answer App Service's pings: the workers serve their own /health on WEBSITES_PORT.
    assert web["healthCheckPath"] == workers["healthCheckPath"] == "/health"
    assert app_settings(double, "workers")["WEBSITES_PORT"] == "8080"

    settings = app_settings(double, "web")
    assert settings["WEBSITES_PORT"] == "5001"
    assert settings["TEMPORAL_ADDRESS"] == f"{PREFIX}-temporal.westeurope.azurecontainer.io:7233"
    assert settings["TEMPORAL_NAMESPACE"] == "papr-memory"
    assert settings["DATABASE_URL"].endswith(
        f"@{PREFIX}-pg.postgres.database.azure.com:5432/papr_memory?sslmode=require"
    )
    assert "PAPR_API_KEYS" in settings
    assert "PAPR_API_KEYS" not in app_settings(double, "workers")

    group = double.resource(arm_id(double, f"Microsoft.ContainerInstance/containerGroups/{PREFIX}-temporal"))
    init = group["properties"]["initContainers"][0]["properties"]
    server = group["properties"]["containers"][0]["properties"]
    assert init["image"].startswith("temporalio/admin-tools:")
    assert "temporal-sql-tool" in init["command"][-1]
    assert server["image"].startswith("temporalio/server:")
    assert [port["port"] for port in server["ports"]] == [7233]
    assert {"name": "POSTGRES_PWD"}.items() <= next(
        env for env in server["environmentVariables"] if env["name"] == "POSTGRES_PWD"
    ).items()
    assert group["properties"]["ipAddress"]["dnsNameLabel"] == f"{PREFIX}-temporal"

    pg = server_id(double)
    databases = {
        name.rsplit("/", 1)[-1] for name in double.snapshot() if name.startswith(pg.lower() + "/databases/")
    }
    assert {"temporal", "temporal_visibility", "papr_memory"} <= databases
    extensions = double.resource(pg + "/configurations/azure.extensions")["properties"]["value"]
    assert "BTREE_GIN" in extensions.upper().split(",")
    rules = firewall_rules(double)
    app_ips = set(first_site(double)["properties"]["outboundIpAddresses"].split(","))
    aci = double.client(ContainerInstanceManagementClient)
    temporal_ip = aci.container_groups.get(GROUP, f"{PREFIX}-temporal").ip_address.ip
    assert rules["temporal"][0] == temporal_ip
    assert {start for start, _ in rules.values()} == app_ips | {temporal_ip}
    assert all(start == end for start, end in rules.values())


def first_site(double) -> dict:
    return double.resource(site_id(double, "web"))


def test_second_run_changes_nothing_and_writes_nothing(deployed):
    assert_converged_without_writes(deployed["second"])
    assert_converged_without_writes(deployed["check_deployed"])


def test_no_secret_in_diff_or_verbose_output(deployed, site):
    for name, run in deployed.items():
        for secret in site.secret_values:
            assert secret not in run.output, f"a secret value shows in the {name} run's output"


def test_drift_is_detected_and_put_back(deployed, site, azure_double_server):
    double = azure_double_server
    rule_name, (rule_ip, _) = next(iter(firewall_rules(double).items()))
    group_id = arm_id(double, f"Microsoft.ContainerInstance/containerGroups/{PREFIX}-temporal")

    def swap_temporal_image(group):
        group["properties"]["containers"][0]["properties"]["image"] = "temporalio/server:0.0.1"

    double.drift(site_id(double, "web") + "/config/appsettings", {"properties": {"PAPR_LOG_LEVEL": "DEBUG"}})
    double.drift(
        site_id(double, "workers") + "/config/web", {"properties": {"linuxFxVersion": "DOCKER|evil/miner:1"}}
    )
    double.drift(
        server_id(double) + f"/firewallRules/{rule_name}", {"properties": {"endIpAddress": "255.255.255.255"}}
    )
    double.drift(group_id, swap_temporal_image)

    repair = site.run("prod", "--diff")
    assert repair.rc == 0, repair.output[-6000:]
    assert set(repair.changed_tasks()) == {
        "papr.memory.web : Web app running the service image",
        "papr.memory.workers : Web app running the workers from the service image",
        "papr.memory.postgres : PostgreSQL flexible server with its databases, parameters and firewall rules",
        "papr.memory.temporal : Temporal container group (schema set-up, then the server)",
    }
    assert app_settings(double, "web")["PAPR_LOG_LEVEL"] == "INFO"
    assert site_config(double, "workers")["linuxFxVersion"] == "DOCKER|paprmemory.azurecr.io/memory:0.1.0"
    assert firewall_rules(double)[rule_name] == (rule_ip, rule_ip)
    image = double.resource(group_id)["properties"]["containers"][0]["properties"]["image"]
    assert image.startswith("temporalio/server:1.")
    assert_converged_without_writes(site.run("prod"))


def test_new_image_and_startup_command_in_the_inventory_are_applied(deployed, site, azure_double_server):
    double = azure_double_server
    change = {
        "papr_azure_image": "paprmemory.azurecr.io/memory:0.2.0",
        "web_azure_startup_command": "uvicorn app.main:app --host 0.0.0.0 --port 5001 --workers 2",
    }
    run = site.run("prod", "--diff", extra_vars=change)
    assert run.rc == 0, run.output[-6000:]
    assert set(run.changed_tasks()) == {
        "papr.memory.web : Web app running the service image",
        "papr.memory.workers : Web app running the workers from the service image",
    }
    web, workers = site_config(double, "web"), site_config(double, "workers")
    assert web["linuxFxVersion"] == workers["linuxFxVersion"] == "DOCKER|paprmemory.azurecr.io/memory:0.2.0"
    assert web["appCommandLine"] == change["web_azure_startup_command"]
    assert workers["appCommandLine"] == "python start_all_workers.py"
    assert_converged_without_writes(site.run("prod", extra_vars=change))
