"""Pulling the private image, both ways papr_azure_registry_auth offers, on inventories/dev
(option 1) against the Azure double: by the web app's managed identity (system identity + AcrPull
on the registry) and by registry credentials. Each converges, and a rerun writes nothing."""

from __future__ import annotations

import pytest
from azure.mgmt.authorization import AuthorizationManagementClient

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

GROUP = PREFIX = "papr-memory-dev"
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"  # Azure's built-in AcrPull role definition
REGISTRY_USER = "paprmemory-pull"
REGISTRY_PASSWORD = "registry-Secret-7f2d9c"


def converges_without_writes(site, extra_vars):
    rerun = site.run("dev", extra_vars=extra_vars)
    assert rerun.rc == 0, rerun.output[-6000:]
    assert rerun.recap()["changed"] == 0, rerun.changed_tasks()
    assert rerun.writes == [], rerun.writes


def test_managed_identity_then_credentials_converge(site, azure_double_server):
    double = azure_double_server
    double.reset()
    double.operations.default_polls = 1
    group = f"/subscriptions/{double.subscription_id}/resourceGroups/{GROUP}"
    registry_id = f"{group}/providers/Microsoft.ContainerRegistry/registries/paprmemory"
    site_path = f"{group}/providers/Microsoft.Web/sites/{PREFIX}-web"

    identity = {"papr_azure_registry_auth": "managed_identity", "papr_azure_registry_id": registry_id}
    first = site.run("dev", extra_vars=identity)
    assert first.rc == 0, first.output[-6000:]
    assert (
        "papr.memory.web : The web app's identity may pull from the registry (AcrPull)"
        in first.changed_tasks()
    )
    web = double.resource(site_path)
    principal = web["identity"]["principalId"]
    assert web["identity"]["type"] == "SystemAssigned" and principal
    config = double.resource(site_path + "/config/web")["properties"]
    assert config["acrUseManagedIdentityCreds"] is True
    settings = double.resource(site_path + "/config/appsettings")["properties"]
    assert not {"DOCKER_REGISTRY_SERVER_USERNAME", "DOCKER_REGISTRY_SERVER_PASSWORD"} & set(settings)
    grants = [
        assignment
        for assignment in double.client(AuthorizationManagementClient).role_assignments.list_for_scope(
            registry_id
        )
        if assignment.principal_id == principal
    ]
    assert [grant.role_definition_id.rsplit("/", 1)[-1] for grant in grants] == [ACR_PULL]
    assert grants[0].scope.lower() == registry_id.lower()
    converges_without_writes(site, identity)

    credentials = {
        "papr_azure_registry_auth": "credentials",
        "papr_azure_registry_username": REGISTRY_USER,
        "papr_azure_registry_password": REGISTRY_PASSWORD,
    }
    switched = site.run("dev", "--diff", extra_vars=credentials)
    assert switched.rc == 0, switched.output[-6000:]
    assert REGISTRY_PASSWORD not in switched.output
    settings = double.resource(site_path + "/config/appsettings")["properties"]
    assert settings["DOCKER_REGISTRY_SERVER_USERNAME"] == REGISTRY_USER
    assert settings["DOCKER_REGISTRY_SERVER_PASSWORD"] == REGISTRY_PASSWORD
    assert settings["DOCKER_REGISTRY_SERVER_URL"] == "https://paprmemory.azurecr.io"
    assert not double.resource(site_path + "/config/web")["properties"].get("acrUseManagedIdentityCreds")
    converges_without_writes(site, credentials)
    double.reset()
