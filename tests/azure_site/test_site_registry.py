"""Two opt-outs of inventories/dev (option 1) against the Azure double, deployed together from an
empty subscription (each site run costs about a minute of a busy core, and neither touches what the
other sets):
- papr_network: public, the old layout - Temporal on a public IP with a DNS label, PostgreSQL public
  behind firewall rules, no virtual network - still deploys, verifies and converges;
- pulling the private image both ways papr_azure_registry_auth offers: by the web app's managed
  identity (system identity + AcrPull on the registry), then by registry credentials.
Each converges, and a rerun writes nothing."""

from __future__ import annotations

import pytest
from azure.mgmt.authorization import AuthorizationManagementClient

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

GROUP = PREFIX = "papr-memory-dev"
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"  # Azure's built-in AcrPull role definition
REGISTRY_USER = "paprmemory-pull"
REGISTRY_PASSWORD = "registry-Secret-7f2d9c"
PUBLIC = {"papr_network": "public"}


def arm_id(double, path: str) -> str:
    return f"/subscriptions/{double.subscription_id}/resourceGroups/{GROUP}/providers/{path}"


def registry_id(double) -> str:
    return arm_id(double, "Microsoft.ContainerRegistry/registries/paprmemory")


def site_path(double) -> str:
    return arm_id(double, f"Microsoft.Web/sites/{PREFIX}-web")


def assert_no_op(rerun):
    assert rerun.rc == 0, rerun.output[-6000:]
    assert rerun.recap()["changed"] == 0, rerun.changed_tasks()
    assert rerun.writes == [], rerun.writes


@pytest.fixture(scope="module")
def identity_vars(azure_double_server):
    return {
        **PUBLIC,
        "papr_azure_registry_auth": "managed_identity",
        "papr_azure_registry_id": registry_id(azure_double_server),
    }


@pytest.fixture(scope="module")
def deployed(site, azure_double_server, identity_vars):
    """The public network with the managed identity's pull from an empty subscription, then the
    same again (the double reset before and after the module): {"first": run, "rerun": run}."""
    double = azure_double_server
    double.reset()
    double.operations.default_polls = 1
    first = site.run("dev", extra_vars=identity_vars)
    assert first.rc == 0, first.output[-6000:]
    yield {"first": first, "rerun": site.run("dev", extra_vars=identity_vars)}
    double.reset()


def test_public_network_deploys_the_old_way_and_converges(azure_double_server, deployed):
    double, first = azure_double_server, deployed["first"]
    assert "papr.memory.verify : The API stores a memory and finds it by search" in first.output

    ids = double.snapshot()
    assert not any("/providers/microsoft.network/" in rid for rid in ids), "no network in public mode"
    group = double.resource(arm_id(double, f"Microsoft.ContainerInstance/containerGroups/{PREFIX}-temporal"))
    assert group["properties"]["ipAddress"]["type"] == "Public"
    assert group["properties"]["ipAddress"]["dnsNameLabel"] == f"{PREFIX}-temporal"
    assert [c["name"] for c in group["properties"]["containers"]] == ["temporal"]
    server = arm_id(double, f"Microsoft.DBforPostgreSQL/flexibleServers/{PREFIX}-pg")
    assert double.resource(server)["properties"]["network"]["publicNetworkAccess"] == "Enabled"
    rules = [rid for rid in ids if rid.startswith(server.lower() + "/firewallrules/")]
    assert rules, "the apps and Temporal get in through firewall rules"
    settings = double.resource(site_path(double) + "/config/appsettings")["properties"]
    assert settings["TEMPORAL_ADDRESS"] == f"{PREFIX}-temporal.westeurope.azurecontainer.io:7233"
    assert not double.resource(site_path(double))["properties"].get("virtualNetworkSubnetId")

    assert_no_op(deployed["rerun"])


def test_managed_identity_then_credentials_converge(site, azure_double_server, deployed):
    double, first = azure_double_server, deployed["first"]
    assert (
        "papr.memory.web : The web app's identity may pull from the registry (AcrPull)"
        in first.changed_tasks()
    )
    web = double.resource(site_path(double))
    principal = web["identity"]["principalId"]
    assert web["identity"]["type"] == "SystemAssigned" and principal
    config = double.resource(site_path(double) + "/config/web")["properties"]
    assert config["acrUseManagedIdentityCreds"] is True
    settings = double.resource(site_path(double) + "/config/appsettings")["properties"]
    assert not {"DOCKER_REGISTRY_SERVER_USERNAME", "DOCKER_REGISTRY_SERVER_PASSWORD"} & set(settings)
    grants = [
        assignment
        for assignment in double.client(AuthorizationManagementClient).role_assignments.list_for_scope(
            registry_id(double)
        )
        if assignment.principal_id == principal
    ]
    assert [grant.role_definition_id.rsplit("/", 1)[-1] for grant in grants] == [ACR_PULL]
    assert grants[0].scope.lower() == registry_id(double).lower()
    assert_no_op(deployed["rerun"])

    credentials = {
        **PUBLIC,
        "papr_azure_registry_auth": "credentials",
        "papr_azure_registry_username": REGISTRY_USER,
        "papr_azure_registry_password": REGISTRY_PASSWORD,
    }
    switched = site.run("dev", "--diff", extra_vars=credentials)
    assert switched.rc == 0, switched.output[-6000:]
    assert REGISTRY_PASSWORD not in switched.output
    settings = double.resource(site_path(double) + "/config/appsettings")["properties"]
    assert settings["DOCKER_REGISTRY_SERVER_USERNAME"] == REGISTRY_USER
    assert settings["DOCKER_REGISTRY_SERVER_PASSWORD"] == REGISTRY_PASSWORD
    assert settings["DOCKER_REGISTRY_SERVER_URL"] == "https://paprmemory.azurecr.io"
    config = double.resource(site_path(double) + "/config/web")["properties"]
    assert not config.get("acrUseManagedIdentityCreds")
    assert_no_op(site.run("dev", extra_vars=credentials))
