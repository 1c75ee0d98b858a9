"""Behaviour modelled on real Azure data (issue 13): regions, catalogues, routes real clients call,
bodies by api-version, nothing answered that the request did not set, enum values as ARM normalises them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.mgmt.containerinstance import ContainerInstanceManagementClient
from azure.mgmt.containerinstance.models import (
    Container,
    ContainerGroup,
    ContainerPort,
    IpAddress,
    Port,
    ResourceRequests,
    ResourceRequirements,
)
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.containerservice.models import (
    ContainerServiceNetworkProfile,
    ManagedCluster,
    ManagedClusterAgentPoolProfile,
)
from azure.mgmt.postgresqlflexibleservers import PostgreSQLManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.web import WebSiteManagementClient
from azure.mgmt.web.models import AppServicePlan, Site, SiteAuthSettings, SkuDescription, ValidateRequest

from tests.azure_double import catalogues

# Regions the first version of the double refused (issue 13), and a few more of the real list.
REGIONS_ONCE_REFUSED = ["japanwest", "ukwest", "eastasia", "southcentralus", "centralindia", "polandcentral"]


def arm_get(double, path: str, api_version: str) -> requests.Response:
    return requests.get(
        f"{double.base_url}{path}",
        params={"api-version": api_version},
        headers={"Authorization": f"Bearer {double.token()}"},
        verify=double.ca_path,
        timeout=10,
    )


@pytest.mark.parametrize("region", REGIONS_ONCE_REFUSED)
def test_every_public_region_takes_a_resource_group(azure_double, region):
    groups = azure_double.client(ResourceManagementClient).resource_groups
    assert groups.create_or_update(f"rg-{region}", {"location": region}).location == region


def test_a_region_that_does_not_exist_is_refused_with_the_real_list(azure_double):
    groups = azure_double.client(ResourceManagementClient).resource_groups
    with pytest.raises(HttpResponseError) as refused:
        groups.create_or_update("rg", {"location": "westeurop"})
    assert refused.value.error.code == "LocationNotAvailableForResourceGroup"
    assert "japanwest" in refused.value.error.message
    assert azure_double.write_count() == 1  # the refused PUT, nothing stored
    assert not azure_double.snapshot()


def test_list_locations_is_the_real_list_in_the_request_s_version(azure_double):
    path = f"/subscriptions/{azure_double.subscription_id}/locations"
    new = arm_get(azure_double, path, "2022-12-01").json()["value"]
    assert len(new) == len(catalogues.load("regions")) == 82
    japan_west = next(r for r in new if r["name"] == "japanwest")
    assert japan_west["regionalDisplayName"] == "(Asia Pacific) Japan West"
    assert japan_west["id"] == f"{path}/japanwest"
    assert "availabilityZoneMappings" in next(r for r in new if r["name"] == "eastus")
    old = arm_get(azure_double, path, "2016-06-01").json()["value"]
    assert {"metadata", "regionalDisplayName", "availabilityZoneMappings"}.isdisjoint(old[0])


@pytest.fixture
def pg_server(azure_double, resource_group):
    pg = azure_double.client(PostgreSQLManagementClient)
    pg.servers.begin_create_or_update(
        "rg",
        "papr-db",
        {
            "location": "westus2",
            "sku": {
                "name": "Standard_D2s_v3",
                "tier": "GeneralPurpose",
            },  # a real SKU the first double refused
            "properties": {
                "administratorLogin": "papr",
                "administratorLoginPassword": "Str0ng!Passw0rd",
                "version": "16",
                "storage": {"storageSizeGB": 32},
            },
        },
    ).result()
    azure_double.clear_log()
    return pg


def test_postgresql_knows_every_real_server_parameter(azure_double, pg_server):
    parameters = list(pg_server.configurations.list_by_server("rg", "papr-db"))
    assert len(parameters) == 403  # the real list of a new server
    by_name = {p.name: p.properties for p in parameters}
    assert by_name["max_connections"].allowed_values == "25-5000"
    assert by_name["lock_timeout"].data_type == "Integer"
    # names match case-insensitively; the answer keeps Azure's spelling
    assert pg_server.configurations.get("rg", "papr-db", "timezone").name == "TimeZone"
    updated = pg_server.configurations.begin_update(
        "rg", "papr-db", "lock_timeout", {"properties": {"value": "2000", "source": "user-override"}}
    ).result()
    assert (updated.properties.value, updated.properties.source) == ("2000", "user-override")
    static = pg_server.configurations.begin_update(
        "rg", "papr-db", "max_connections", {"properties": {"value": "100", "source": "user-override"}}
    ).result()
    assert static.properties.is_config_pending_restart is True  # static: applies at the next restart


@pytest.mark.parametrize(
    ("name", "value"),
    [("lock_timeout", "-5"), ("max_connections", "lots"), ("array_nulls", "maybe"), ("block_size", "8192")],
)
def test_postgresql_refuses_bad_or_read_only_parameter_values(azure_double, pg_server, name, value):
    with pytest.raises(HttpResponseError) as refused:
        pg_server.configurations.begin_update(
            "rg", "papr-db", name, {"properties": {"value": value, "source": "user-override"}}
        ).result()
    assert refused.value.status_code == 400
    assert pg_server.configurations.get("rg", "papr-db", name).properties.source != "user-override"


def test_postgresql_capabilities_are_the_real_catalogue(azure_double):
    pg = azure_double.client(PostgreSQLManagementClient)
    capability = next(iter(pg.capabilities_by_location.list("japanwest")))
    editions = {
        e.name: [s.name for s in e.supported_server_skus] for e in capability.supported_server_editions
    }
    assert "Standard_D2s_v3" in editions["GeneralPurpose"] and "Standard_B1ms" in editions["Burstable"]
    assert "17" in [v.name for v in capability.supported_server_versions]
    assert azure_double.write_count() == 0


def test_web_validate_and_auth_settings(azure_double, resource_group):
    web = azure_double.client(WebSiteManagementClient)
    ok = web.validate(
        "rg", ValidateRequest(name="plan", type="ServerFarm", location="westus2", sku_name="P1v3")
    )
    assert ok.status == "Success"
    bad = web.validate(
        "rg", ValidateRequest(name="plan", type="ServerFarm", location="westus2", sku_name="Z9")
    )
    assert bad.status == "Failure" and bad.error.code == "BadRequest"
    assert azure_double.write_count() == 0  # validate never writes
    plan = web.app_service_plans.begin_create_or_update(
        "rg", "plan", AppServicePlan(location="westus2", reserved=True, sku=SkuDescription(name="B1"))
    ).result()
    web.web_apps.begin_create_or_update(
        "rg", "papr-web-x1", Site(location="westus2", server_farm_id=plan.id)
    ).result()
    assert web.web_apps.get_auth_settings("rg", "papr-web-x1").enabled is False
    web.web_apps.update_auth_settings(
        "rg", "papr-web-x1", SiteAuthSettings(enabled=True, client_id="app-id", issuer="https://issuer")
    )
    auth = web.web_apps.get_auth_settings("rg", "papr-web-x1")
    assert (auth.enabled, auth.client_id, auth.google_client_id) == (True, "app-id", None)


def test_web_plan_fields_come_from_the_plan_not_a_template(azure_double, resource_group):
    web = azure_double.client(WebSiteManagementClient)
    linux = web.app_service_plans.begin_create_or_update(
        "rg", "linux-b1", AppServicePlan(location="westus2", reserved=True, sku=SkuDescription(name="B1"))
    ).result()
    answered = arm_get(azure_double, linux.id, "2023-01-01").json()["properties"]
    created = datetime.fromisoformat(answered["createdTime"])
    free_until = datetime.fromisoformat(answered["freeOfferExpirationTime"])
    assert abs(free_until - created - timedelta(days=30)) < timedelta(minutes=1)  # Linux Basic's free offer
    assert abs(datetime.now(UTC).replace(tzinfo=None) - created) < timedelta(
        minutes=5
    )  # made now, not a recorded timestamp
    standard = web.app_service_plans.begin_create_or_update(
        "rg", "windows-s1", AppServicePlan(location="westus2", sku=SkuDescription(name="S1"))
    ).result()
    assert web.app_service_plans.get("rg", standard.name).free_offer_expiration_time is None
    hyper_v = web.app_service_plans.begin_create_or_update(
        "rg", "hyperv", AppServicePlan(location="westus2", hyper_v=True, sku=SkuDescription(name="P1v3"))
    ).result()
    assert web.app_service_plans.get("rg", hyper_v.name).kind == "windows"
    with pytest.raises(HttpResponseError) as no_zones:  # japanwest has no availability zones
        web.app_service_plans.begin_create_or_update(
            "rg",
            "zr",
            AppServicePlan(
                location="japanwest", zone_redundant=True, sku=SkuDescription(name="P1v3", capacity=3)
            ),
        ).result()
    assert no_zones.value.status_code == 400


def test_container_group_ip_type_is_normalised_like_arm(azure_double, resource_group):
    aci = azure_double.client(ContainerInstanceManagementClient)
    group = ContainerGroup(
        location="westus2",
        os_type="Linux",
        containers=[
            Container(
                name="web",
                image="nginx",
                ports=[ContainerPort(port=80)],
                resources=ResourceRequirements(requests=ResourceRequests(cpu=1, memory_in_gb=1)),
            )
        ],
        ip_address=IpAddress(type="public", ports=[Port(port=80)]),
    )
    aci.container_groups.begin_create_or_update("rg", "web", group).result()
    answer = aci.container_groups.get("rg", "web")
    assert answer.ip_address.type == "Public"
    assert answer.ip_address.ip  # a public address once running, whatever the case sent
    assert answer.containers[0].environment_variables == []


def test_aks_answers_only_what_the_request_set(azure_double, resource_group):
    aks = azure_double.client(ContainerServiceClient)
    cluster = aks.managed_clusters.begin_create_or_update(
        "rg",
        "papr-aks",
        ManagedCluster(
            location="westus2",
            dns_prefix="papr",
            agent_pool_profiles=[ManagedClusterAgentPoolProfile(name="system", count=1, mode="System")],
            network_profile=ContainerServiceNetworkProfile(network_plugin="kubenet"),
        ),
    ).result()
    assert cluster.tags is None  # no {"key1": "value1"} from a template
    assert cluster.network_profile.network_plugin == "kubenet"
    assert cluster.network_profile.network_plugin_mode is None  # overlay is Azure CNI's, not kubenet's
    assert cluster.identity is None and cluster.identity_profile is None


def test_check_resource_name_reserves_trademarks(azure_double):
    def check(name: str) -> str:
        answer = requests.post(
            f"{azure_double.base_url}/providers/Microsoft.Resources/checkResourceName",
            params={"api-version": "2022-12-01"},
            json={"name": name, "type": "Microsoft.Web/sites"},
            headers={"Authorization": f"Bearer {azure_double.token()}"},
            verify=azure_double.ca_path,
            timeout=10,
        )
        return answer.json()["status"]

    assert check("papr-memory") == "Allowed"
    assert check("my-azure-app") == "Reserved"
    assert azure_double.write_count() == 0
