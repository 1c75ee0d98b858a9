"""Microsoft.Web through the real azure-mgmt-web client."""

from __future__ import annotations

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.web import WebSiteManagementClient
from azure.mgmt.web.models import (
    AppServicePlan,
    ConnectionStringDictionary,
    ConnStringValueTypePair,
    CsmSlotEntity,
    NameValuePair,
    ResourceNameAvailabilityRequest,
    Site,
    SiteConfig,
    SiteConfigResource,
    SkuDescription,
    SlotConfigNamesResource,
    StringDictionary,
)


@pytest.fixture
def web(azure_double):
    return azure_double.client(WebSiteManagementClient)


def make_plan(web, sku="P1V3", name="plan"):
    return web.app_service_plans.begin_create_or_update(
        "rg",
        name,
        AppServicePlan(
            location="westus2", sku=SkuDescription(name=sku, tier="PREMIUMV3", capacity=1), reserved=True
        ),
    ).result()


def make_site(web, plan, name="papr-app", **config):
    config = {"linux_fx_version": "DOCKER|nginx:1.27", **config}
    return web.web_apps.begin_create_or_update(
        "rg",
        name,
        Site(location="westus2", server_farm_id=plan.id, https_only=True, site_config=SiteConfig(**config)),
    ).result()


def test_linux_plan_is_normalised_and_counts_sites(azure_double, resource_group, web):
    plan = make_plan(web)
    assert plan.kind == "linux" and plan.reserved is True
    assert (plan.sku.name, plan.sku.tier, plan.sku.family, plan.sku.capacity) == (
        "P1v3",
        "PremiumV3",
        "Pv3",
        1,
    )
    got = web.app_service_plans.get("rg", "plan")
    assert got.maximum_number_of_workers == 30 and got.status == "Ready" and got.number_of_sites == 0
    assert got.location == "West US 2"  # GET answers the display name
    make_site(web, plan)
    assert web.app_service_plans.get("rg", "plan").number_of_sites == 1
    scaled = web.app_service_plans.begin_create_or_update(
        "rg",
        "plan",
        AppServicePlan(location="westus2", sku=SkuDescription(name="P2v3", capacity=3), reserved=True),
    ).result()
    assert (scaled.sku.name, scaled.sku.capacity) == ("P2v3", 3)
    assert [p.name for p in web.app_service_plans.list_by_resource_group("rg")] == ["plan"]
    assert azure_double.write_count() == 3
    with pytest.raises(HttpResponseError) as in_use:
        web.app_service_plans.delete("rg", "plan")
    assert in_use.value.status_code == 409 and in_use.value.response.json()["Code"] == "Conflict"
    web.web_apps.delete("rg", "papr-app")
    web.app_service_plans.delete("rg", "plan")
    with pytest.raises(ResourceNotFoundError):
        web.app_service_plans.get("rg", "plan")


def test_bad_plan_sku_is_refused_in_the_web_error_shape(resource_group, web, azure_double):
    with pytest.raises(HttpResponseError) as bad:
        make_plan(web, sku="Z9")
    body = bad.value.response.json()
    assert bad.value.status_code == 400 and body["Code"] == "BadRequest"
    assert body["Details"][2]["ErrorEntity"]["Code"] == "BadRequest"
    assert bad.value.error is None  # azure-core cannot parse the Web RP's shape
    assert azure_double.snapshot().keys() == {
        f"/subscriptions/{azure_double.subscription_id}/resourcegroups/rg"
    }


def test_site_lifecycle_and_what_get_shows(azure_double, resource_group, web):
    plan = make_plan(web)
    created = make_site(web, plan, app_settings=[NameValuePair(name="WEBSITES_PORT", value="8080")])
    assert created.kind == "app,linux,container"
    assert created.default_host_name == "papr-app.azurewebsites.net"
    assert created.site_config.linux_fx_version == ""  # the PUT answer does not show it yet
    assert (
        created.client_affinity_enabled is True and created.https_only is True and created.state == "Running"
    )
    assert "," in created.outbound_ip_addresses

    site = web.web_apps.get("rg", "papr-app")
    assert site.site_config.linux_fx_version == "DOCKER|nginx:1.27"
    assert site.site_config.app_settings is None and site.site_config.min_tls_version is None
    assert site.site_config.health_check_path is None and site.site_config.app_command_line is None
    config = web.web_apps.get_configuration("rg", "papr-app")
    assert (config.name, config.min_tls_version, config.ftps_state, config.app_command_line) == (
        "papr-app",
        "1.2",
        "FtpsOnly",
        "",
    )
    assert config.health_check_path is None

    web.web_apps.update_configuration(
        "rg", "papr-app", SiteConfigResource(health_check_path="/health", app_command_line="serve")
    )
    config = web.web_apps.get_configuration("rg", "papr-app")
    assert (config.health_check_path, config.app_command_line) == ("/health", "serve")
    assert config.linux_fx_version == "DOCKER|nginx:1.27"  # untouched by the partial update
    assert [s.name for s in web.web_apps.list_by_resource_group("rg")] == ["papr-app"]
    web.web_apps.delete("rg", "papr-app")
    with pytest.raises(ResourceNotFoundError) as missing:
        web.web_apps.get("rg", "papr-app")
    assert missing.value.error.code == "ResourceNotFound"


def test_a_slow_or_failing_site_write_answers_202_with_location(azure_double, resource_group, web):
    """Under an operation fault a site PUT is accepted (202 + Location) and written only when it succeeds."""
    plan = make_plan(web)
    azure_double.slow_operations("/sites/papr-app$", polls=2, method="PUT", times=1)
    site = make_site(web, plan)
    assert site.name == "papr-app" and site.server_farm_id == plan.id
    puts = azure_double.requests("PUT", "/sites/papr-app$")
    assert [entry.status for entry in puts] == [202]
    assert [entry.status for entry in azure_double.requests("GET", "/operationResults/")] == [202, 200]

    azure_double.fail_operations(
        "/sites/papr-other$", "Conflict", "The site could not be created.", method="PUT"
    )
    with pytest.raises(HttpResponseError, match="The site could not be created"):
        make_site(web, plan, name="papr-other")
    with pytest.raises(ResourceNotFoundError):
        web.web_apps.get("rg", "papr-other")


def test_app_settings_replace_and_are_read_only_through_list(azure_double, resource_group, web):
    make_site(web, make_plan(web), app_settings=[NameValuePair(name="A", value="1"), NameValuePair(name="B")])
    assert web.web_apps.list_application_settings("rg", "papr-app").properties == {"A": "1", "B": ""}
    answer = web.web_apps.update_application_settings(
        "rg", "papr-app", StringDictionary(properties={"C": "3"})
    )
    assert answer.properties == {"C": "3"} and answer.name == "appsettings"
    assert web.web_apps.list_application_settings("rg", "papr-app").properties == {"C": "3"}
    raw = requests.get(
        f"{azure_double.base_url}/subscriptions/{azure_double.subscription_id}/resourceGroups/rg/providers/"
        "Microsoft.Web/sites/papr-app/config/appsettings?api-version=2023-01-01",
        headers={"Authorization": f"Bearer {azure_double.token()}"},
        verify=azure_double.ca_path,
        timeout=10,
    )
    assert raw.status_code == 405  # no GET: only POST .../list reads them
    azure_double.clear_log()
    web.web_apps.list_application_settings("rg", "papr-app")
    assert azure_double.write_count() == 0  # POST .../list is a read


def test_connection_strings_and_sticky_names(resource_group, web):
    make_site(web, make_plan(web))
    strings = ConnectionStringDictionary(
        properties={"db": ConnStringValueTypePair(value="host=x", type="PostgreSQL")}
    )
    web.web_apps.update_connection_strings("rg", "papr-app", strings)
    listed = web.web_apps.list_connection_strings("rg", "papr-app").properties
    assert listed["db"].value == "host=x" and listed["db"].type == "PostgreSQL"
    names = web.web_apps.list_slot_configuration_names("rg", "papr-app")
    assert names.app_setting_names is None
    web.web_apps.update_slot_configuration_names(
        "rg", "papr-app", SlotConfigNamesResource(app_setting_names=["SLOT"])
    )
    assert web.web_apps.list_slot_configuration_names("rg", "papr-app").app_setting_names == ["SLOT"]


def test_site_names_are_globally_unique(azure_double, resource_group, web):
    plan = make_plan(web)
    make_site(web, plan)
    azure_double.client(ResourceManagementClient).resource_groups.create_or_update(
        "other", {"location": "westus2"}
    )
    check = web.check_name_availability(ResourceNameAvailabilityRequest(name="papr-app", type="Site"))
    assert (check.name_available, check.reason) == (False, "AlreadyExists")
    assert web.check_name_availability(
        ResourceNameAvailabilityRequest(name="free-name", type="Site")
    ).name_available
    with pytest.raises(ResourceExistsError) as taken:
        web.web_apps.begin_create_or_update(
            "other", "papr-app", Site(location="westus2", server_farm_id=plan.id)
        ).result()
    body = taken.value.response.json()
    assert (
        body["Code"] == "Conflict" and body["Message"] == "Website with given name papr-app already exists."
    )
    assert body["Details"][2]["ErrorEntity"]["ExtendedCode"] == "54001"


def test_slots_config_and_swap_keep_sticky_settings(azure_double, resource_group, web):
    plan = make_plan(web)
    make_site(
        web, plan, app_settings=[NameValuePair(name="ROLE", value="prod"), NameValuePair(name="V", value="1")]
    )
    web.web_apps.update_slot_configuration_names(
        "rg", "papr-app", SlotConfigNamesResource(app_setting_names=["ROLE"])
    )
    slot = web.web_apps.begin_create_or_update_slot(
        "rg",
        "papr-app",
        "staging",
        Site(
            location="westus2",
            server_farm_id=plan.id,
            site_config=SiteConfig(linux_fx_version="DOCKER|nginx:2"),
        ),
    ).result()
    assert slot.name == "papr-app/staging" and slot.default_host_name == "papr-app-staging.azurewebsites.net"
    web.web_apps.update_application_settings_slot(
        "rg", "papr-app", "staging", StringDictionary(properties={"ROLE": "staging", "V": "2"})
    )
    assert [s.name for s in web.web_apps.list_slots("rg", "papr-app")] == ["papr-app/staging"]

    web.web_apps.begin_swap_slot_with_production(
        "rg", "papr-app", CsmSlotEntity(target_slot="staging", preserve_vnet=True)
    ).result()
    assert web.web_apps.get_configuration("rg", "papr-app").linux_fx_version == "DOCKER|nginx:2"
    assert (
        web.web_apps.get_configuration_slot("rg", "papr-app", "staging").linux_fx_version
        == "DOCKER|nginx:1.27"
    )
    assert web.web_apps.list_application_settings("rg", "papr-app").properties == {"ROLE": "prod", "V": "2"}
    assert web.web_apps.list_application_settings_slot("rg", "papr-app", "staging").properties == {
        "ROLE": "staging",
        "V": "1",
    }
    assert azure_double.requests("POST", "/slotsswap$")[-1].status == 202  # long-running


def test_slots_need_a_standard_or_better_plan(resource_group, web):
    plan = make_plan(web, sku="B1")
    make_site(web, plan)
    with pytest.raises(HttpResponseError) as refused:
        web.web_apps.begin_create_or_update_slot(
            "rg", "papr-app", "staging", Site(location="westus2", server_farm_id=plan.id)
        ).result()
    assert refused.value.status_code == 409


def test_stop_start_restart(azure_double, resource_group, web):
    make_site(web, make_plan(web))
    web.web_apps.stop("rg", "papr-app")
    assert web.web_apps.get("rg", "papr-app").state == "Stopped"
    web.web_apps.start("rg", "papr-app")
    web.web_apps.restart("rg", "papr-app")
    assert web.web_apps.get("rg", "papr-app").state == "Running"
    assert azure_double.write_count("/(stop|start|restart)$") == 3


def test_bad_site_input_is_refused_before_anything_changes(azure_double, resource_group, web):
    plan = make_plan(web)
    before = azure_double.snapshot()
    for name in ("-bad", "x", "a" * 61, "bad_name"):
        with pytest.raises(HttpResponseError) as bad:
            web.web_apps.begin_create_or_update(
                "rg", name, Site(location="westus2", server_farm_id=plan.id)
            ).result()
        assert bad.value.status_code == 400
    with pytest.raises(HttpResponseError) as no_plan:
        web.web_apps.begin_create_or_update(
            "rg", "papr-app", Site(location="westus2", server_farm_id=plan.id + "-missing")
        ).result()
    assert (
        no_plan.value.status_code == 404
        and "Cannot find ServerFarm" in no_plan.value.response.json()["Message"]
    )
    assert azure_double.snapshot() == before


def test_read_only_properties_in_a_request_are_ignored(azure_double, resource_group, web):
    plan = make_plan(web)
    url = (
        f"{azure_double.base_url}/subscriptions/{azure_double.subscription_id}/resourceGroups/rg/providers/"
        "Microsoft.Web/sites/papr-app?api-version=2023-01-01"
    )
    body = {
        "location": "westus2",
        "properties": {
            "serverFarmId": plan.id,
            "reserved": False,  # taken from the plan whatever the request says
            "defaultHostName": "evil.example.org",
            "state": "Stopped",
            "outboundIpAddresses": "1.2.3.4",
            "provisioningState": "Failed",
        },
    }
    answer = requests.put(
        url,
        json=body,
        headers={"Authorization": f"Bearer {azure_double.token()}"},
        verify=azure_double.ca_path,
        timeout=10,
    ).json()
    props = answer["properties"]
    assert props["defaultHostName"] == "papr-app.azurewebsites.net" and props["state"] == "Running"
    assert props["outboundIpAddresses"] != "1.2.3.4" and props["reserved"] is True
    assert "provisioningState" not in props or props["provisioningState"] != "Failed"
