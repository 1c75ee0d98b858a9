"""Auth and cloud selection, as the AWX Azure credential injects them, run through a real module."""

from __future__ import annotations

import os

GROUP_TASK = {"papr.memory.resource_group": {"name": "auth-test", "location": "westeurope"}}


def test_awx_variables_alone_authenticate(run_tasks, azure_double):
    """The four variables the AWX credential injects, none of azure-identity's own names."""
    env = {"AZURE_CLIENT_SECRET": None, "AZURE_TENANT_ID": None, "AZURE_AUTHORITY_HOST": None}
    assert run_tasks([GROUP_TASK], env=env).result()["changed"] is True


def test_azure_identity_variable_names_authenticate(run_tasks, azure_double):
    env = {"AZURE_SECRET": None, "AZURE_TENANT": None, "AZURE_AUTHORITY_HOST": None}
    assert run_tasks([GROUP_TASK], env=env).result()["changed"] is True


def test_module_options_override_the_environment(run_tasks, azure_double):
    task = {
        "papr.memory.resource_group": {**GROUP_TASK["papr.memory.resource_group"], "secret": "not-the-secret"}
    }
    run = run_tasks([task], expect_rc=2)
    message = run.result()["msg"]
    assert "Could not read resource group 'auth-test'" in message
    assert "Check the credentials" in message
    assert run.writes == 0


def test_wrong_secret_is_reported_without_leaking(run_tasks, azure_double):
    run = run_tasks([GROUP_TASK], env={"AZURE_SECRET": "wrong-secret-value"}, expect_rc=2, verbosity=3)
    assert "Check the credentials" in run.output
    assert "wrong-secret-value" not in run.output


def test_the_secret_never_shows_in_verbose_output(run_tasks, azure_double):
    run = run_tasks([GROUP_TASK], verbosity=3, diff=True)
    assert "auth-test" in run.output
    assert azure_double.client_secret not in run.output
    assert azure_double.client_secret not in run.output


def test_ca_path_option_replaces_requests_ca_bundle(run_tasks, azure_double):
    untrusted = {"REQUESTS_CA_BUNDLE": None, "SSL_CERT_FILE": None}
    refused = run_tasks([GROUP_TASK], env=untrusted, expect_rc=2)
    assert "Could not read the Azure cloud metadata" in refused.result()["msg"]

    task = {
        "papr.memory.resource_group": {
            **GROUP_TASK["papr.memory.resource_group"],
            "ca_path": azure_double.ca_path,
        }
    }
    assert run_tasks([task], env=untrusted).result()["changed"] is True


def test_unknown_cloud_name_fails_before_any_request(run_tasks, azure_double):
    run = run_tasks([GROUP_TASK], env={"AZURE_CLOUD_ENVIRONMENT": "AzureMoonCloud"}, expect_rc=2)
    assert "Unknown Azure cloud 'AzureMoonCloud'" in run.result()["msg"]
    assert run.requests == []


def test_subscription_must_be_a_guid(run_tasks, azure_double):
    run = run_tasks([GROUP_TASK], env={"AZURE_SUBSCRIPTION_ID": "My Subscription"}, expect_rc=2)
    assert "is not a subscription id" in run.result()["msg"]
    assert not [entry for entry in run.requests if entry[1].startswith("/subscriptions")]


def test_credentials_profile_file(run_tasks, azure_double, tmp_path):
    azure_dir = tmp_path / "home" / ".azure"
    azure_dir.mkdir(parents=True)
    (azure_dir / "credentials").write_text(
        "[papr]\n"
        f"subscription_id={azure_double.subscription_id}\nclient_id={azure_double.client_id}\n"
        f"secret={azure_double.client_secret}\ntenant={azure_double.tenant_id}\n"
    )
    os.chmod(azure_dir / "credentials", 0o600)
    env = {
        name: None
        for name in azure_double.env
        if name.startswith("AZURE_") and name != "AZURE_CLOUD_ENVIRONMENT"
    }
    env.update(HOME=str(tmp_path / "home"), AZURE_PROFILE="papr", AZURE_AUTH_SOURCE="credentials")
    run = run_tasks([GROUP_TASK], env=env, verbosity=3)
    assert run.result()["changed"] is True
    # The secret came from a file, not a no_log option: it is masked all the same.
    assert azure_double.client_secret not in run.output


def test_missing_service_principal_is_named(run_tasks, azure_double):
    env = {"AZURE_CLIENT_ID": None, "AZURE_AUTH_SOURCE": "env"}
    run = run_tasks([GROUP_TASK], env=env, expect_rc=2)
    assert "client_id is not set" in run.result()["msg"]


def test_module_defaults_action_group_sets_auth_once(run_tasks, azure_double):
    """group/papr.memory.azure in module_defaults reaches every Azure module of the play."""
    block = {
        "module_defaults": {
            "group/papr.memory.azure": {
                "subscription_id": azure_double.subscription_id,
                "client_id": azure_double.client_id,
                "secret": azure_double.client_secret,
                "tenant": azure_double.tenant_id,
                "cloud_environment": azure_double.metadata_url,
                "ca_path": azure_double.ca_path,
            }
        },
        "block": [
            GROUP_TASK,
            {"papr.memory.app_service_plan": {"name": "plan", "resource_group": "auth-test", "sku": "B1"}},
        ],
    }
    bare = {name: None for name in azure_double.env}
    run = run_tasks([block], env=bare)
    assert [result["changed"] for result in run.results()] == [True, True]
    assert azure_double.client_secret not in run.output


def managed_identity_env(double, **changes):
    """App Service's managed-identity variables and no service principal secret: only MSI can sign in."""
    return {"AZURE_SECRET": None, "AZURE_CLIENT_SECRET": None, **double.managed_identity_env, **changes}


def token_requests(run):
    """(managed identity endpoint requests, Entra ID token endpoint requests) of a run."""
    paths = [entry[1] for entry in run.requests]
    return [p for p in paths if p == "/msi/token"], [p for p in paths if p.endswith("/oauth2/v2.0/token")]


def test_managed_identity_authenticates(run_tasks, azure_double):
    """auth_source=msi with a user-assigned identity (client_id): the token comes from IDENTITY_ENDPOINT."""
    env = managed_identity_env(azure_double, AZURE_AUTH_SOURCE="msi")
    run = run_tasks([GROUP_TASK], env=env, verbosity=3)
    assert run.result()["changed"] is True
    identity_calls, entra_calls = token_requests(run)
    assert len(identity_calls) >= 1 and entra_calls == []
    assert azure_double.managed_identity_env["IDENTITY_HEADER"] not in run.output


def test_auto_picks_the_system_assigned_identity(run_tasks, azure_double, tmp_path):
    """No service principal and no credentials profile: auth_source=auto uses the managed identity."""
    env = managed_identity_env(azure_double, AZURE_CLIENT_ID=None, HOME=str(tmp_path))
    run = run_tasks([GROUP_TASK], env=env)
    assert run.result()["changed"] is True
    assert token_requests(run)[0] and not token_requests(run)[1]


def test_wrong_identity_header_is_refused_before_any_write(run_tasks, azure_double):
    env = managed_identity_env(azure_double, AZURE_AUTH_SOURCE="msi", IDENTITY_HEADER="not-the-header-7c1f")
    run = run_tasks([GROUP_TASK], env=env, expect_rc=2, verbosity=3)
    message = run.result()["msg"]
    assert "Could not read resource group 'auth-test'" in message and "X-IDENTITY-HEADER" in message
    assert run.writes == 0
    assert "not-the-header-7c1f" not in run.output
