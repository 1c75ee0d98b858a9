"""The Azure module_utils on their own: error parsing (real SDK errors), clouds, images, diffs."""

from __future__ import annotations

import pytest
from ansible_collections.papr.memory.plugins.module_utils.azure_auth import (
    _pick_metadata_entry,
    cloud_from_metadata,
    resolve_cloud,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_diff import (
    MASK,
    MASK_CHANGED,
    masked_pair,
    normalise_location,
    secrets_fingerprint,
    setting_string,
    string_map,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_errors import (
    AzureModuleError,
    describe_failure,
    parse_error,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_image import parse_image
from azure.core.exceptions import HttpResponseError
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.web import WebSiteManagementClient

from tests.azure_modules.conftest import make_resource_group


def test_web_rp_error_body_is_parsed(azure_double):
    """azure-core leaves e.error empty for the Web RP's {"Code","Message"} shape; parse_error does not."""
    make_resource_group(azure_double, "rg")
    web = azure_double.client(WebSiteManagementClient)
    plan = {
        "location": "westeurope",
        "kind": "linux",
        "sku": {"name": "B1"},
        "properties": {"reserved": True},
    }
    plan_id = web.app_service_plans.begin_create_or_update("rg", "plan", plan).result().id
    site = {"location": "eastus", "properties": {"serverFarmId": plan_id}}
    with pytest.raises(HttpResponseError) as raised:
        web.web_apps.begin_create_or_update("rg", "site-x", site).result()

    detail = parse_error(raised.value)
    assert detail.status == 400 and detail.code == "BadRequest"
    assert "must be the plan's location" in detail.message
    message = describe_failure(raised.value, "create", "App Service web app 'site-x'")
    assert message.startswith("Could not create App Service web app 'site-x': HTTP 400 BadRequest")
    assert "check the option values" in message


def test_arm_error_body_is_parsed(azure_double):
    with pytest.raises(HttpResponseError) as raised:
        azure_double.client(ResourceManagementClient).resource_groups.get("missing")
    detail = parse_error(raised.value)
    assert (detail.status, detail.code) == (404, "ResourceGroupNotFound")
    assert "Create the resource group first" in describe_failure(raised.value, "read", "x")


def test_cloud_from_the_metadata_url_in_both_formats(azure_double):
    cloud = resolve_cloud(azure_double.metadata_url, azure_double.ca_path)
    assert cloud.resource_manager == f"{azure_double.base_url}/"
    assert cloud.login_endpoint == f"{azure_double.base_url}/"
    assert cloud.credential_scope == "https://management.core.windows.net/.default"
    assert cloud.from_metadata is True
    legacy = cloud_from_metadata(
        f"{azure_double.base_url}/metadata/endpoints?api-version=2015-01-01", azure_double.ca_path
    )
    assert legacy.resource_manager == cloud.resource_manager


def test_metadata_entry_choice():
    stack = {
        "authentication": {"loginEndpoint": "https://adfs.local/adfs", "audiences": ["https://m.local/x"]}
    }
    assert _pick_metadata_entry(stack, "https://management.local/metadata") is stack
    clouds = [
        {"name": "A", "resourceManager": "https://a.example/"},
        {"name": "B", "resourceManager": "https://b.example/"},
    ]
    assert _pick_metadata_entry(clouds, "https://b.example/metadata/endpoints")["name"] == "B"


def test_known_and_unknown_cloud_names():
    assert (
        resolve_cloud("AzureUSGovernment", True).resource_manager == "https://management.usgovcloudapi.net/"
    )
    assert resolve_cloud("azurechinacloud", True).login_endpoint == "https://login.chinacloudapi.cn/"
    with pytest.raises(AzureModuleError, match="Unknown Azure cloud"):
        resolve_cloud("Mars", True)


@pytest.mark.parametrize(
    ("image", "tag", "digest", "server", "expected"),
    [
        ("memory", None, None, None, "memory:latest"),
        ("paprmemory.azurecr.io/memory:1.4.2", None, None, None, "paprmemory.azurecr.io/memory:1.4.2"),
        ("memory", "1.0", None, "https://paprmemory.azurecr.io/", "paprmemory.azurecr.io/memory:1.0"),
        ("localhost:5000/team/memory", "dev", None, None, "localhost:5000/team/memory:dev"),
        ("temporalio/server@sha256:" + "a" * 64, None, None, None, "temporalio/server@sha256:" + "a" * 64),
    ],
)
def test_image_references(image, tag, digest, server, expected):
    assert str(parse_image(image, tag, digest, server)) == expected


@pytest.mark.parametrize(
    "image", ["", "Memory:1", "memory:1:2", "memory::", "reg.io/memory:1@sha256:abc", "reg..io/memory"]
)
def test_bad_image_references(image):
    with pytest.raises(AzureModuleError, match="Invalid container image reference"):
        parse_image(image)


def test_normalisation():
    assert normalise_location("East US 2") == normalise_location("eastus2")
    assert string_map({"PORT": 5001, "DEBUG": False, "RATIO": 2.0, "EMPTY": None}) == {
        "PORT": "5001",
        "DEBUG": "false",
        "RATIO": "2",
        "EMPTY": "",
    }
    assert setting_string(1.5) == "1.5"


def test_masked_pair_says_which_secret_changed():
    before, after = masked_pair(
        {"A": "1", "PW": "old", "KEY": "k"}, {"A": "2", "PW": "new", "KEY": "k"}, {"PW", "KEY"}
    )
    assert before == {"A": "1", "PW": MASK, "KEY": MASK}
    assert after == {"A": "2", "PW": MASK_CHANGED, "KEY": MASK}


def test_secrets_fingerprint_is_stable_salted_and_secret():
    first = secrets_fingerprint([("pw", "hunter2")], None)
    assert "hunter2" not in first
    assert secrets_fingerprint([("pw", "hunter2")], first) == first
    assert secrets_fingerprint([("pw", "hunter3")], first) != first
    assert secrets_fingerprint([("pw", "hunter2")], None) != first  # a new salt each time without a tag
    assert secrets_fingerprint([], first) is None
