"""An Azure inventory that names its own app, plans, server and container group (not the names
derived from papr_azure_name_prefix): the deployment model carries those names, and every role,
the monitoring and release plays and the AWX verify job use the model's. One ansible-playbook run
on the controller (the pre-flight, the model, each role's variables); no Azure request."""

from __future__ import annotations

import json

import pytest

from tests.awx import awx_config
from tests.roles.model_consumers import play, seen

PREFIX = "papr-memory-elsewhere"
OWN_NAMES = {
    "web_azure_site_name": "acme-memory-frontend",
    "web_azure_plan_name": "acme-frontend-plan",
    "workers_azure_site_name": "acme-memory-backend",
    "workers_azure_plan_name": "acme-backend-plan",
    "postgres_azure_server_name": "acme-memory-db",
    "temporal_azure_group_name": "acme-memory-temporal",
}
INVENTORY_VARS = {
    "papr_platform": "azure",
    "papr_option": 2,
    "papr_azure_resource_group": "acme-rg",
    "papr_azure_location": "westeurope",
    "papr_azure_name_prefix": PREFIX,
    "papr_azure_image": "paprmemory.azurecr.io/memory:0.1.0",
    "papr_database_password": "Db-Pa55word-for-names",
    "papr_database_admin_password": "Admin-Pa55word-for-names",
    "papr_temporal_database_password": "Tm-Pa55word-for-names",
    "papr_api_keys": ["key-for-the-names-test"],
    **OWN_NAMES,
}
ROLES = ("web", "workers", "postgres", "temporal")
# What each consumer names, as the play sees it after the model and the roles' variables.
USED = {
    "roles": {
        "web_site": "{{ web_azure_site_name }}",
        "web_plan": "{{ web_azure_plan_name }}",
        "workers_site": "{{ workers_azure_site_name }}",
        "workers_plan": "{{ workers_azure_plan_name }}",
        "postgres_server": "{{ postgres_azure_server_name }}",
        "temporal_group": "{{ temporal_azure_group_name }}",
        "resource_groups": "{{ [web_azure_resource_group, workers_azure_resource_group,"
        " postgres_azure_resource_group, temporal_azure_resource_group] }}",
    },
    "model": "{{ papr_deployment.azure.names }}",
    "monitoring": "{{ monitoring_names }}",
    "monitoring_health_url": "{{ monitoring_health_url }}",
    "release": "{{ release_apps }}",
    "awx_verify_web_url": "{{ awx_verify_web_url }}",
}


@pytest.fixture(scope="module")
def used(tmp_path_factory):
    verify = awx_config.templates()["PAPR Memory dev - verify"]["extra_vars"]  # what AWX stores
    consumers = {
        **play("monitoring.yml")["vars"],
        **play("release.yml")["vars"],
        "awx_verify_web_url": verify["verify_web_url"],
        "awx_verify_api_key": verify["verify_api_key"],
    }
    results = seen(
        tmp_path_factory.mktemp("model-names"),
        {"vars": INVENTORY_VARS},
        consumers,
        ROLES,
        [
            {"name": "Names used", "ansible.builtin.debug": {"msg": USED}},
            {"name": "API key used", "ansible.builtin.debug": {"var": "awx_verify_api_key"}},
        ],
    )
    api_key = results["API key used"]["awx_verify_api_key"]
    return {"Names used": results["Names used"]["msg"], "API key used": api_key}


def test_the_model_carries_the_inventory_names(used):
    names = used["Names used"]["model"]
    assert {key: names[key] for key in ("web_site", "web_plan", "workers_site", "workers_plan")} == {
        "web_site": OWN_NAMES["web_azure_site_name"],
        "web_plan": OWN_NAMES["web_azure_plan_name"],
        "workers_site": OWN_NAMES["workers_azure_site_name"],
        "workers_plan": OWN_NAMES["workers_azure_plan_name"],
    }
    assert names["postgres_server"] == OWN_NAMES["postgres_azure_server_name"]
    assert names["temporal_group"] == OWN_NAMES["temporal_azure_group_name"]
    assert names["resource_group"] == "acme-rg"
    assert PREFIX not in json.dumps(names)  # no name fell back to the prefix


def test_every_role_and_play_uses_the_model_names(used):
    consumers = used["Names used"]
    names = consumers["model"]
    roles = consumers["roles"]
    assert roles.pop("resource_groups") == [names["resource_group"]] * 4
    assert roles == {key: names[key] for key in roles}
    assert consumers["monitoring"] == names
    assert consumers["monitoring_health_url"] == f"https://{names['web_site']}.azurewebsites.net/health"
    assert consumers["release"] == [
        {"role": "workers", "name": names["workers_site"]},
        {"role": "web", "name": names["web_site"]},
    ]
    assert consumers["awx_verify_web_url"] == f"https://{names['web_site']}.azurewebsites.net"
    assert used["API key used"] == "key-for-the-names-test"
