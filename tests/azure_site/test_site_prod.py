"""site.yml -i inventories/prod (option 2, papr_network: private) against the Azure double, verified
for real through the stand-in service: check mode, first run, the private network (only the web app
faces the internet), no-op rerun, secrets, drift, inventory changes."""

from __future__ import annotations

import base64

import pytest
from azure.mgmt.containerinstance import ContainerInstanceManagementClient

from tests.azure_site.site_runner import SiteRun

# Four site runs for the fixture, more per test: minutes on a busy shared machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

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
def deployed(prod_deployment, site, azure_double_server):
    """From an empty subscription: a check-mode run, the real run (the session's, shared with
    test_release), then the same again on the state they left."""
    azure_double_server.reset()
    azure_double_server.operations.default_polls = 1
    prod_deployment.restore(azure_double_server)
    # The no-op rerun reads the apps' settings (only a rerun does) through ARM throttling.
    azure_double_server.inject_status(r"/config/appsettings/list$", status=429, method="POST", times=2)
    runs = {
        **prod_deployment.runs,  # "check", "first"
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
    # Group, NSGs, VNet, 2 private zones, server, Temporal, its A record, 2 plans, 2 apps (+ the
    # namespace, unless an earlier test registered it in the shared stand-in Temporal).
    resources = [task for task in first.changed_tasks() if "Register the namespace" not in task]
    assert len(resources) == 12, resources


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
    assert settings["TEMPORAL_ADDRESS"] == f"temporal.{PREFIX}.papr.internal:7233"
    assert settings["TEMPORAL_NAMESPACE"] == "papr-memory"
    assert settings["DATABASE_URL"].endswith(
        f"@{PREFIX}-pg.postgres.database.azure.com:5432/papr_memory?sslmode=require"
    )
    assert "PAPR_API_KEYS" in settings
    assert "PAPR_API_KEYS" not in app_settings(double, "workers")

    group = double.resource(arm_id(double, f"Microsoft.ContainerInstance/containerGroups/{PREFIX}-temporal"))
    init = group["properties"]["initContainers"][1]["properties"]
    server = group["properties"]["containers"][0]["properties"]
    assert init["image"].startswith("temporalio/admin-tools:")
    assert "temporal-sql-tool" in init["command"][-1]
    assert server["image"].startswith("temporalio/server:")
    assert [port["port"] for port in server["ports"]] == [7233]
    assert {"name": "POSTGRES_PWD"}.items() <= next(
        env for env in server["environmentVariables"] if env["name"] == "POSTGRES_PWD"
    ).items()

    pg = server_id(double)
    databases = {
        name.rsplit("/", 1)[-1] for name in double.snapshot() if name.startswith(pg.lower() + "/databases/")
    }
    assert {"temporal", "temporal_visibility", "papr_memory"} <= databases
    extensions = double.resource(pg + "/configurations/azure.extensions")["properties"]["value"]
    assert "BTREE_GIN" in extensions.upper().split(",")


def test_no_administrator_credential_in_any_app_setting_or_container_environment(
    deployed, site, azure_double_server
):
    double = azure_double_server
    assert deployed["first"].rc == 0
    assert double.resource(server_id(double))["properties"]["administratorLogin"] == "papr_admin"
    group = double.resource(arm_id(double, f"Microsoft.ContainerInstance/containerGroups/{PREFIX}-temporal"))
    containers = group["properties"]["containers"] + group["properties"]["initContainers"]
    environments = {
        container["name"]: {
            variable["name"]: variable.get("value", variable.get("secureValue"))
            for variable in container["properties"]["environmentVariables"]
        }
        for container in containers
    }
    settings = {name: app_settings(double, name) for name in ("web", "workers")}
    everything = [str(v) for env in [*environments.values(), *settings.values()] for v in env.values()]
    assert not any(site.database_admin_password in value for value in everything)
    # Each logs in as its own role: the service as papr_memory, Temporal as temporal.
    for name in ("web", "workers"):
        assert settings[name]["DATABASE_URL"].startswith("postgresql://papr_memory:")
        assert site.temporal_database_password not in str(settings[name])
    assert (environments["temporal"]["POSTGRES_USER"], environments["schema-setup"]["SQL_USER"]) == (
        "temporal",
    ) * 2
    assert (
        environments["temporal"]["POSTGRES_PWD"]
        == environments["schema-setup"]["SQL_PASSWORD"]
        == (site.temporal_database_password)
    )
    assert not any(site.database_password in str(env) for env in environments.values())
    # The administrator's name only where the roles are made; its password only in that container's
    # secret volume, mounted nowhere else.
    assert [name for name, env in environments.items() if "papr_admin" in env.values()] == ["database-roles"]
    assert [volume["name"] for volume in group["properties"]["volumes"]] == ["database-roles-secrets"]
    files = group["properties"]["volumes"][0]["secret"]
    assert base64.b64decode(files["admin-password"]).decode() == site.database_admin_password
    assert [c["name"] for c in containers if c["properties"].get("volumeMounts")] == ["database-roles"]
    assert [c["name"] for c in group["properties"]["initContainers"]] == ["database-roles", "schema-setup"]


def subnet_id(double, name: str) -> str:
    return arm_id(double, f"Microsoft.Network/virtualNetworks/{PREFIX}-vnet/subnets/{name}")


def test_only_the_web_app_faces_the_internet(deployed, azure_double_server):
    double = azure_double_server
    aci = double.client(ContainerInstanceManagementClient)
    group = aci.container_groups.get(GROUP, f"{PREFIX}-temporal")
    # Temporal: a private address of its delegated subnet, no public IP, no DNS name.
    assert group.ip_address.type == "Private" and group.ip_address.dns_name_label is None
    assert [subnet.id.lower() for subnet in group.subnet_ids] == [subnet_id(double, "temporal").lower()]
    assert group.ip_address.ip.startswith("10.20.16.")
    # ... published in the private zone the apps resolve (TEMPORAL_ADDRESS names it).
    record = double.resource(
        arm_id(double, f"Microsoft.Network/privateDnsZones/{PREFIX}.papr.internal/A/temporal")
    )
    assert [a["ipv4Address"] for a in record["properties"]["aRecords"]] == [group.ip_address.ip]
    namespace_setup = [c for c in group.containers if c.name == "namespace-setup"]
    assert namespace_setup and not namespace_setup[0].ports

    # PostgreSQL: private access only, no firewall rules.
    network = double.resource(server_id(double))["properties"]["network"]
    assert network["publicNetworkAccess"] == "Disabled"
    assert network["delegatedSubnetResourceId"].lower() == subnet_id(double, "postgres").lower()
    assert (
        network["privateDnsZoneArmResourceId"]
        .lower()
        .endswith("/privatednszones/privatelink.postgres.database.azure.com")
    )
    assert firewall_rules(double) == {}

    # The apps: VNet integration through `apps`, all traffic routed; only the web app is public.
    for name in ("web", "workers"):
        properties = double.resource(site_id(double, name))["properties"]
        assert properties["virtualNetworkSubnetId"].lower() == subnet_id(double, "apps").lower()
        assert site_config(double, name)["vnetRouteAllEnabled"] is True
    assert double.resource(site_id(double, "workers"))["properties"]["publicNetworkAccess"] == "Disabled"
    assert double.resource(site_id(double, "web"))["properties"].get("publicNetworkAccess") != "Disabled"
    assert site_config(double, "web")["minTlsVersion"] == "1.2"
    assert double.resource(site_id(double, "web"))["properties"]["httpsOnly"] is True

    # Each subnet's NSG: exactly apps -> Temporal 7233 and apps + Temporal -> PostgreSQL 5432, every other
    # inbound flow denied before Azure's own AllowVnetInBound.
    def inbound(subnet):
        nsg = double.resource(arm_id(double, f"Microsoft.Network/networkSecurityGroups/{PREFIX}-{subnet}"))
        rules = []
        for rule in nsg["properties"]["securityRules"]:
            props = rule["properties"]
            sources = sorted(props.get("sourceAddressPrefixes") or [props.get("sourceAddressPrefix")])
            ports = props.get("destinationPortRange") or ",".join(props.get("destinationPortRanges"))
            rules.append((props["priority"], props["direction"], props["access"], sources, ports))
        return sorted(rules)

    assert inbound("apps") == [(4096, "Inbound", "Deny", ["*"], "*")]
    assert inbound("temporal") == [
        (100, "Inbound", "Allow", ["10.20.0.0/20"], "7233"),
        (4096, "Inbound", "Deny", ["*"], "*"),
    ]
    assert inbound("postgres") == [
        (100, "Inbound", "Allow", ["10.20.0.0/20", "10.20.16.0/20"], "5432"),
        (4096, "Inbound", "Deny", ["*"], "*"),
    ]


def test_second_run_changes_nothing_and_writes_nothing(deployed):
    assert_converged_without_writes(deployed["second"])
    # ... after the throttled first run (test_site_failures), and itself throttled.
    assert ("POST", 429) in {(entry.method, entry.status) for entry in deployed["second"].requests}
    assert_converged_without_writes(deployed["check_deployed"])


def test_no_secret_in_diff_or_verbose_output(deployed, site):
    for name, run in deployed.items():
        for secret in site.secret_values:
            assert secret not in run.output, f"a secret value shows in the {name} run's output"


def test_drift_is_detected_and_put_back(deployed, site, azure_double_server):
    double = azure_double_server
    group_id = arm_id(double, f"Microsoft.ContainerInstance/containerGroups/{PREFIX}-temporal")

    def swap_temporal_image(group):
        group["properties"]["containers"][0]["properties"]["image"] = "temporalio/server:0.0.1"

    double.drift(site_id(double, "web") + "/config/appsettings", {"properties": {"PAPR_LOG_LEVEL": "DEBUG"}})
    double.drift(
        site_id(double, "workers") + "/config/web", {"properties": {"linuxFxVersion": "DOCKER|evil/miner:1"}}
    )
    double.drift(site_id(double, "workers"), {"properties": {"publicNetworkAccess": "Enabled"}})
    double.drift(site_id(double, "web") + "/config/web", {"properties": {"vnetRouteAllEnabled": False}})
    double.drift(group_id, swap_temporal_image)

    repair = site.run("prod", "--diff")
    assert repair.rc == 0, repair.output[-6000:]
    assert set(repair.changed_tasks()) == {
        "papr.memory.web : Web app running the service image",
        "papr.memory.workers : Web app running the workers from the service image",
        "papr.memory.temporal : Temporal container group (schema set-up, then the server)",
    }
    assert app_settings(double, "web")["PAPR_LOG_LEVEL"] == "INFO"
    assert site_config(double, "workers")["linuxFxVersion"] == "DOCKER|paprmemory.azurecr.io/memory:0.1.0"
    assert double.resource(site_id(double, "workers"))["properties"]["publicNetworkAccess"] == "Disabled"
    assert site_config(double, "web")["vnetRouteAllEnabled"] is True
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
