"""Entra ID, the metadata endpoint, ARM's checks and resource groups, through the real SDK clients."""

from __future__ import annotations

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.identity import ClientSecretCredential, EnvironmentCredential, ManagedIdentityCredential
from azure.mgmt.resource.resources import ResourceManagementClient

ARM_SCOPE = "https://management.azure.com/.default"


def test_client_secret_credential_gets_a_token(azure_double):
    token = azure_double.credential().get_token(ARM_SCOPE)
    assert token.token.count(".") == 2
    assert token.expires_on > 0


def test_app_service_managed_identity_token(azure_double, monkeypatch):
    """ManagedIdentityCredential (App Service flavour) gets a token ARM accepts, system- or user-assigned."""
    for name, value in {
        **azure_double.managed_identity_env,
        "REQUESTS_CA_BUNDLE": azure_double.ca_path,
    }.items():
        monkeypatch.setenv(name, value)
    for client_id in (None, azure_double.client_id):
        token = ManagedIdentityCredential(client_id=client_id).get_token(ARM_SCOPE)
        assert token.token.count(".") == 2 and token.expires_on > 0
    raw = requests.get(
        f"{azure_double.base_url}/msi/token",
        params={"api-version": "2019-08-01", "resource": "https://management.azure.com/"},
        headers={"X-IDENTITY-HEADER": azure_double.managed_identity_env["IDENTITY_HEADER"]},
        verify=azure_double.ca_path,
        timeout=60,
    )
    assert raw.status_code == 200
    assert set(raw.json()) >= {"access_token", "expires_on", "resource", "token_type"}
    arm = requests.get(
        f"{azure_double.base_url}/subscriptions/{azure_double.subscription_id}/resourcegroups",
        params={"api-version": "2021-04-01"},
        headers={"Authorization": f"Bearer {raw.json()['access_token']}"},
        verify=azure_double.ca_path,
        timeout=60,
    )
    assert arm.status_code == 200

    monkeypatch.setenv("IDENTITY_HEADER", "wrong")
    with pytest.raises(ClientAuthenticationError, match="X-IDENTITY-HEADER"):
        ManagedIdentityCredential().get_token(ARM_SCOPE)
    assert azure_double.requests("GET", "/msi/token")[-1].status == 401


def test_wrong_secret_is_invalid_client(azure_double):
    credential = ClientSecretCredential(
        azure_double.tenant_id,
        azure_double.client_id,
        "wrong-secret",
        authority=azure_double.base_url,
        disable_instance_discovery=True,
        connection_verify=azure_double.ca_path,
    )
    with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
        credential.get_token(ARM_SCOPE)
    assert azure_double.requests("POST", "/oauth2/v2.0/token")[-1].status == 401
    raw = requests.post(
        f"{azure_double.base_url}/{azure_double.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": azure_double.client_id,
            "client_secret": "x",
            "scope": ARM_SCOPE,
        },
        verify=azure_double.ca_path,
        timeout=10,
    )
    assert (raw.status_code, raw.json()["error"]) == (401, "invalid_client")


def test_environment_credential_from_the_double_env(azure_double, monkeypatch):
    for name, value in azure_double.env.items():
        monkeypatch.setenv(name, value)
    credential = EnvironmentCredential(
        disable_instance_discovery=True, connection_verify=azure_double.ca_path
    )
    client = ResourceManagementClient(
        credential,
        azure_double.subscription_id,
        base_url=azure_double.base_url,
        credential_scopes=[ARM_SCOPE],
        connection_verify=azure_double.ca_path,
    )
    assert list(client.resource_groups.list()) == []


def test_msal_instance_discovery_is_answered(azure_double):
    # Clients must pass disable_instance_discovery=True (MSAL would ask the public login host otherwise);
    # the double still answers the discovery path for clients that ask it directly.
    answer = requests.get(
        f"{azure_double.base_url}/common/discovery/instance",
        params={
            "api-version": "1.1",
            "authorization_endpoint": f"{azure_double.base_url}/x/oauth2/v2.0/authorize",
        },
        verify=azure_double.ca_path,
        timeout=10,
    )
    assert answer.json()["tenant_discovery_endpoint"].endswith("/x/v2.0/.well-known/openid-configuration")


def test_cloud_metadata_points_at_the_double(azure_double):
    cloud = requests.get(azure_double.metadata_url, verify=azure_double.ca_path, timeout=10).json()
    assert cloud["resourceManager"] == azure_double.base_url + "/"
    assert cloud["authentication"]["loginEndpoint"] == azure_double.base_url + "/"
    assert "https://management.core.windows.net/" in cloud["authentication"]["audiences"]


@pytest.mark.parametrize(
    ("api_version", "shape"),
    [("2015-01-01", dict), ("2019-05-01", list), ("2020-06-01", list), ("2022-09-01", dict)],
)
def test_cloud_metadata_shape_follows_the_api_version_as_real_arm(azure_double, api_version, shape):
    """A list for 2019-05-01 and 2020-06-01, one object for 2015-01-01 and 2022-09-01 (as real ARM)."""
    answer = requests.get(
        f"{azure_double.base_url}/metadata/endpoints?api-version={api_version}",
        verify=azure_double.ca_path,
        timeout=10,
    ).json()
    assert isinstance(answer, shape)
    cloud = answer[0] if isinstance(answer, list) else answer
    assert cloud["name"] == "AzureDouble"


@pytest.mark.parametrize(
    ("headers", "path", "status", "code"),
    [
        ({}, "/subscriptions/{sub}/resourcegroups?api-version=2021-04-01", 401, "AuthenticationFailed"),
        (
            {"Authorization": "Bearer a.b.c"},
            "/subscriptions/{sub}/resourcegroups?api-version=2021-04-01",
            401,
            "InvalidAuthenticationToken",
        ),
        (
            "expired",
            "/subscriptions/{sub}/resourcegroups?api-version=2021-04-01",
            401,
            "ExpiredAuthenticationToken",
        ),
        (None, "/subscriptions/{sub}/resourcegroups", 400, "MissingApiVersionParameter"),
        (
            None,
            "/subscriptions/not-a-uuid/resourcegroups?api-version=2021-04-01",
            400,
            "InvalidSubscriptionId",
        ),
        (
            None,
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups?api-version=2021-04-01",
            404,
            "SubscriptionNotFound",
        ),
    ],
)
def test_arm_checks_token_subscription_and_api_version(azure_double, headers, path, status, code):
    if headers is None:
        headers = {"Authorization": f"Bearer {azure_double.token()}"}
    elif headers == "expired":
        headers = {"Authorization": f"Bearer {azure_double.token(lifetime_s=-60)}"}
    url = azure_double.base_url + path.format(sub=azure_double.subscription_id)
    answer = requests.get(url, headers=headers, verify=azure_double.ca_path, timeout=10)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["error"]["code"] == code


def test_resource_group_lifecycle(azure_double):
    client = azure_double.client(ResourceManagementClient)
    created = client.resource_groups.create_or_update(
        "rg-one", {"location": "Australia East", "tags": {"a": "1"}}
    )
    assert created.location == "australiaeast"
    assert created.properties.provisioning_state == "Succeeded"
    assert created.id == f"/subscriptions/{azure_double.subscription_id}/resourceGroups/rg-one"
    assert client.resource_groups.check_existence("RG-ONE") is True
    assert client.resource_groups.check_existence("rg-two") is False

    client.resource_groups.update("rg-one", {"tags": {"a": "2"}})
    assert client.resource_groups.get("rg-one").tags == {"a": "2"}
    assert [g.name for g in client.resource_groups.list()] == ["rg-one"]
    assert azure_double.write_count() == 2

    with pytest.raises(HttpResponseError) as moved:
        client.resource_groups.create_or_update("rg-one", {"location": "westeurope"})
    assert moved.value.error.code == "InvalidResourceGroupLocation"

    client.resource_groups.begin_delete("rg-one").result()
    with pytest.raises(ResourceNotFoundError) as missing:
        client.resource_groups.get("rg-one")
    assert missing.value.error.code == "ResourceGroupNotFound"
    assert azure_double.write_count() == 4  # the refused PUT counts as a write attempt


def test_bad_group_input_is_refused(azure_double):
    client = azure_double.client(ResourceManagementClient)
    with pytest.raises(HttpResponseError) as bad_name:
        client.resource_groups.create_or_update("bad/name.", {"location": "westeurope"})
    assert bad_name.value.status_code in (400, 404)
    with pytest.raises(HttpResponseError) as bad_location:
        client.resource_groups.create_or_update("rg", {"location": "moon-north"})
    assert bad_location.value.error.code == "LocationNotAvailableForResourceGroup"
    assert azure_double.snapshot() == {}
