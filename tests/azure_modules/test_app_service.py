"""papr.memory.app_service_plan and app_service_container against the Azure double's Microsoft.Web."""

from __future__ import annotations

from azure.mgmt.web import WebSiteManagementClient

from tests.azure_modules.conftest import failures_of, make_resource_group, resource_id

GROUP = "papr-memory-web-test"
PLAN = "papr-memory-plan"
SITE = "papr-memory-web"
REGISTRY_PASSWORD = "registry-pass-5f1c9d"
DATABASE_PASSWORD = "db-pass-77ab3e"
CONNECTION_SECRET = "host=db password=conn-pass-c0ffee"
SECRETS = (REGISTRY_PASSWORD, DATABASE_PASSWORD, CONNECTION_SECRET, "conn-pass-c0ffee")


def arm_id(double, *path):
    return resource_id(double, GROUP, "Microsoft.Web/" + "/".join(path))


def make_group(double, location="westeurope"):
    make_resource_group(double, GROUP, location)


def make_plan(double, sku="P1v3", tier="PremiumV3"):
    make_group(double)
    web = double.client(WebSiteManagementClient)
    body = {
        "location": "westeurope",
        "kind": "linux",
        "sku": {"name": sku, "tier": tier},
        "properties": {"reserved": True},
    }
    web.app_service_plans.begin_create_or_update(GROUP, PLAN, body).result()


def plan_task(**options):
    return {"papr.memory.app_service_plan": {"name": PLAN, "resource_group": GROUP, **options}}


def app_task(**options):
    """The web server of the split option, as the web role would deploy it."""
    spec = {
        "name": SITE,
        "resource_group": GROUP,
        "plan": PLAN,
        "image": "paprmemory.azurecr.io/memory",
        "tag": "1.4.2",
        "registry": {"username": "paprmemory", "password": REGISTRY_PASSWORD},
        "startup_command": "uvicorn app.main:app --host 0.0.0.0 --port 5001",
        "port": 5001,
        "health_check_path": "/health",
        "app_settings": {
            "TEMPORAL_ADDRESS": "temporal:7233",
            "WORKERS": 2,
            "DEBUG": False,
            "DB_PASS": DATABASE_PASSWORD,
        },
        "secret_app_settings": ["DB_PASS"],
        "connection_strings": [{"name": "memory", "value": CONNECTION_SECRET, "type": "PostgreSQL"}],
        "system_assigned_identity": True,
        "tags": {"app": "papr-memory"},
    }
    spec.update(options)
    return {"papr.memory.app_service_container": spec}


def stored(double, *path):
    return double.resource(arm_id(double, *path))


# --- app_service_plan --------------------------------------------------------------------------------------
def test_plan_create_rerun_resize_and_sku_case(run_tasks, azure_double):
    make_group(azure_double)
    created = run_tasks([plan_task(sku="p1V3", tags={"app": "papr-memory"})])
    assert created.result()["changed"] is True and created.writes == 1
    plan = created.result()["plan"]
    assert (plan["sku"], plan["tier"], plan["capacity"], plan["linux"]) == ("P1v3", "PremiumV3", 1, True)

    rerun = run_tasks([plan_task(sku="P1V3", tags={"app": "papr-memory"})])
    assert rerun.result()["changed"] is False and rerun.writes == 0

    checked = run_tasks([plan_task(sku="P2v3", capacity=2)], check=True, diff=True)
    assert checked.writes == 0 and checked.result()["changed"] is True
    assert checked.result()["diff"]["before"]["sku"] == "P1v3"
    assert checked.result()["diff"]["after"]["sku"] == "P2v3"

    resized = run_tasks([plan_task(sku="P2v3", capacity=2)])
    assert resized.result()["changed"] is True and resized.writes == 1
    assert stored(azure_double, "serverfarms", PLAN)["sku"]["name"] == "P2v3"
    assert run_tasks([plan_task(sku="P2v3", capacity=2)]).writes == 0


def test_plan_drift_restored_through_throttling(run_tasks, azure_double):
    make_group(azure_double)
    run_tasks.setup([plan_task(sku="P1v3", capacity=2)])
    azure_double.drift(arm_id(azure_double, "serverfarms", PLAN), {"sku": {"capacity": 5}})
    azure_double.inject_status(r"/serverfarms/papr-memory-plan$", 429, method="GET", times=1)
    azure_double.inject_status(r"/serverfarms/papr-memory-plan$", 503, method="PUT", times=1)

    restored = run_tasks([plan_task(sku="P1v3", capacity=2)], diff=True)
    assert restored.result()["changed"] is True
    assert restored.result()["diff"]["before"]["capacity"] == 5
    assert stored(azure_double, "serverfarms", PLAN)["sku"]["capacity"] == 2
    assert run_tasks([plan_task(sku="P1v3", capacity=2)]).writes == 0


def test_plan_check_mode_on_empty_subscription(run_tasks, azure_double):
    run = run_tasks([plan_task(sku="B1")], check=True)
    assert run.result()["changed"] is True and run.writes == 0


PLAN_BAD_INPUT = [
    ({"sku": "P9v9"}, "Unknown App Service SKU 'P9v9'"),
    ({"sku": "B1", "name": "plan_with_underscore"}, "Invalid App Service plan name"),
    ({"sku": "B1", "capacity": 0}, "capacity must be at least 1"),
]


def test_plan_bad_input_fails_before_any_request(run_tasks, azure_double):
    run, messages = failures_of(run_tasks, [plan_task(**options) for options, _ in PLAN_BAD_INPUT])
    for (_, expected), message in zip(PLAN_BAD_INPUT, messages, strict=True):
        assert expected in message
    assert run.requests == []


def test_plan_refuses_os_change_and_deleting_a_used_plan(run_tasks, azure_double):
    make_plan(azure_double)
    refused = run_tasks([plan_task(linux=False)], expect_rc=2)
    assert "cannot change its operating system" in refused.result()["msg"] and refused.writes == 0

    run_tasks.setup([app_task()])
    in_use = run_tasks([plan_task(state="absent")], expect_rc=2)
    assert "still hosts 1 app(s)" in in_use.result()["msg"] and in_use.writes == 0

    run_tasks.setup([app_task(state="absent")])
    deleted = run_tasks([plan_task(state="absent")])
    assert deleted.result()["changed"] is True and stored(azure_double, "serverfarms", PLAN) is None


# --- app_service_container ---------------------------------------------------------------------------------
def test_app_create_then_rerun_sends_no_write(run_tasks, azure_double):
    make_plan(azure_double)
    created = run_tasks([app_task()])
    site = created.result()["site"]
    assert created.result()["changed"] is True
    assert created.writes == 1  # one PUT site carrying config, app settings and connection strings
    arm_requests = [entry[:2] for entry in created.requests if entry[1].startswith("/subscriptions")]
    # GET site (404), POST checknameavailability, GET plan, PUT site
    assert [method for method, _ in arm_requests] == ["GET", "POST", "GET", "PUT"]
    assert site["default_host_name"] == f"{SITE}.azurewebsites.net"
    assert site["url"] == f"https://{SITE}.azurewebsites.net"
    assert site["outbound_ip_addresses"] and all("." in ip for ip in site["outbound_ip_addresses"])
    assert site["app_setting_names"] == sorted(
        ["TEMPORAL_ADDRESS", "WORKERS", "DEBUG", "DB_PASS", "WEBSITES_PORT"]
        + ["DOCKER_REGISTRY_SERVER_URL", "DOCKER_REGISTRY_SERVER_USERNAME", "DOCKER_REGISTRY_SERVER_PASSWORD"]
    )

    config = stored(azure_double, "sites", SITE, "config", "web")["properties"]
    assert config["linuxFxVersion"] == "DOCKER|paprmemory.azurecr.io/memory:1.4.2"
    assert config["appCommandLine"] == "uvicorn app.main:app --host 0.0.0.0 --port 5001"
    assert (config["healthCheckPath"], config["alwaysOn"], config["minTlsVersion"], config["ftpsState"]) == (
        "/health",
        True,
        "1.2",
        "Disabled",
    )
    settings = stored(azure_double, "sites", SITE, "config", "appsettings")["properties"]
    assert settings["WEBSITES_PORT"] == "5001" and settings["WORKERS"] == "2" and settings["DEBUG"] == "false"
    assert settings["DOCKER_REGISTRY_SERVER_URL"] == "https://paprmemory.azurecr.io"
    assert settings["DOCKER_REGISTRY_SERVER_PASSWORD"] == REGISTRY_PASSWORD
    strings = stored(azure_double, "sites", SITE, "config", "connectionstrings")["properties"]
    assert strings == {"memory": {"value": CONNECTION_SECRET, "type": "PostgreSQL"}}
    app = stored(azure_double, "sites", SITE)
    assert app["properties"]["httpsOnly"] is True and app["identity"]["type"] == "SystemAssigned"

    rerun = run_tasks([app_task()])
    assert rerun.result()["changed"] is False
    assert rerun.writes == 0
    arm_reads = [entry for entry in rerun.requests if entry[1].startswith("/subscriptions")]
    assert len(arm_reads) == 4  # GET site, GET config/web, POST appsettings/list, POST connectionstrings/list


def test_app_check_mode_on_empty_subscription_writes_nothing(run_tasks, azure_double):
    run = run_tasks([app_task()], check=True, diff=True)
    assert run.writes == 0
    assert run.result()["changed"] is True
    assert "does not exist yet" in " ".join(run.result().get("warnings", []))

    make_plan(azure_double)
    checked = run_tasks([app_task()], check=True)
    assert checked.result()["changed"] is True and checked.writes == 0
    assert run_tasks([app_task()]).result()["changed"] is True
    assert run_tasks([app_task()], check=True).result()["changed"] is False


def test_app_diff_masks_secrets_even_with_vvv(run_tasks, azure_double):
    make_plan(azure_double)
    created = run_tasks([app_task()], diff=True, verbosity=3)
    for secret in SECRETS:
        assert secret not in created.output
    after = created.result()["diff"]["after"]
    assert after["app_settings"]["DB_PASS"] == "******** (changed)"
    assert after["app_settings"]["DOCKER_REGISTRY_SERVER_PASSWORD"] == "******** (changed)"
    assert after["app_settings"]["WORKERS"] == "2"
    assert after["connection_strings"]["memory"] == {"value": "******** (changed)", "type": "PostgreSQL"}

    rotated = run_tasks(
        [app_task(registry={"username": "paprmemory", "password": "new-registry-pass-9e9e"})], diff=True
    )
    diff = rotated.result()["diff"]
    assert rotated.result()["changed"] is True and rotated.writes == 1  # PUT appsettings only
    assert diff["before"]["app_settings"]["DOCKER_REGISTRY_SERVER_PASSWORD"] == "********"
    assert diff["after"]["app_settings"]["DOCKER_REGISTRY_SERVER_PASSWORD"] == "******** (changed)"
    assert "new-registry-pass-9e9e" not in rotated.output and REGISTRY_PASSWORD not in rotated.output


def test_app_drift_is_detected_and_restored(run_tasks, azure_double):
    make_plan(azure_double)
    run_tasks.setup([app_task()])
    site_id = arm_id(azure_double, "sites", SITE)
    azure_double.drift(
        site_id + "/config/web", {"properties": {"appCommandLine": "bash", "ftpsState": "AllAllowed"}}
    )
    azure_double.drift(site_id + "/config/appsettings", {"properties": {"WORKERS": "8", "PORTAL_ADDED": "x"}})
    azure_double.drift(site_id, {"properties": {"httpsOnly": False}})

    checked = run_tasks([app_task()], check=True, diff=True)
    assert checked.result()["changed"] is True and checked.writes == 0
    before = checked.result()["diff"]["before"]
    assert before["config"]["appCommandLine"] == "bash" and before["app_settings"]["PORTAL_ADDED"] == "x"
    assert before["site"]["https_only"] is False

    restored = run_tasks([app_task()])
    assert restored.result()["changed"] is True
    assert restored.writes == 3  # PUT site, PATCH config/web, PUT appsettings
    config = stored(azure_double, "sites", SITE, "config", "web")["properties"]
    assert (config["appCommandLine"], config["ftpsState"]) == (
        "uvicorn app.main:app --host 0.0.0.0 --port 5001",
        "Disabled",
    )
    settings = stored(azure_double, "sites", SITE, "config", "appsettings")["properties"]
    assert settings["WORKERS"] == "2" and "PORTAL_ADDED" not in settings
    assert stored(azure_double, "sites", SITE)["properties"]["httpsOnly"] is True
    assert run_tasks([app_task()]).writes == 0


def test_app_settings_merge_mode_keeps_other_settings(run_tasks, azure_double):
    make_plan(azure_double)
    run_tasks.setup([app_task()])
    site_id = arm_id(azure_double, "sites", SITE)
    azure_double.drift(site_id + "/config/appsettings", {"properties": {"PORTAL_ADDED": "x"}})

    merged = run_tasks([app_task(app_settings={"NEW": 5001}, app_settings_mode="merge")])
    settings = stored(azure_double, "sites", SITE, "config", "appsettings")["properties"]
    assert merged.result()["changed"] is True
    assert settings["PORTAL_ADDED"] == "x" and settings["NEW"] == "5001" and settings["WORKERS"] == "2"
    assert run_tasks([app_task(app_settings={"NEW": "5001"}, app_settings_mode="merge")]).writes == 0


def test_app_pulls_with_managed_identity_by_digest(run_tasks, azure_double):
    make_plan(azure_double)
    digest = "sha256:" + "ab" * 32
    task = app_task(
        image=f"paprmemory.azurecr.io/memory@{digest}", tag=None, registry={"managed_identity": True}
    )
    task["papr.memory.app_service_container"].pop("system_assigned_identity")
    run_tasks.setup([task])
    config = stored(azure_double, "sites", SITE, "config", "web")["properties"]
    assert config["acrUseManagedIdentityCreds"] is True
    assert config["linuxFxVersion"] == f"DOCKER|paprmemory.azurecr.io/memory@{digest}"
    settings = stored(azure_double, "sites", SITE, "config", "appsettings")["properties"]
    assert "DOCKER_REGISTRY_SERVER_PASSWORD" not in settings
    assert settings["DOCKER_REGISTRY_SERVER_URL"] == "https://paprmemory.azurecr.io"
    assert stored(azure_double, "sites", SITE)["identity"]["type"] == "SystemAssigned"
    assert run_tasks([task]).writes == 0


def test_app_deployment_slot(run_tasks, azure_double):
    make_plan(azure_double)
    run_tasks.setup([app_task()])
    slot_task = app_task(slot="staging", tag="1.5.0", plan=None)
    created = run_tasks([slot_task])
    assert created.result()["changed"] is True and created.result()["site"]["slot"] == "staging"
    slot_config = stored(azure_double, "sites", SITE, "slots", "staging", "config", "web")["properties"]
    assert slot_config["linuxFxVersion"] == "DOCKER|paprmemory.azurecr.io/memory:1.5.0"
    production = stored(azure_double, "sites", SITE, "config", "web")["properties"]
    assert production["linuxFxVersion"] == "DOCKER|paprmemory.azurecr.io/memory:1.4.2"
    assert run_tasks([slot_task]).writes == 0


def test_app_throttling_and_server_errors_converge(run_tasks, azure_double):
    make_plan(azure_double)
    azure_double.inject_status(r"/sites/papr-memory-web$", 503, method="PUT", times=1)
    created = run_tasks([app_task()])
    assert created.result()["changed"] is True

    azure_double.drift(
        arm_id(azure_double, "sites", SITE) + "/config/appsettings", {"properties": {"WORKERS": "8"}}
    )
    azure_double.inject_status(r"/config/appsettings/list$", 429, method="POST", times=2)
    azure_double.inject_status(r"/config/appsettings$", 503, method="PUT", times=1)
    restored = run_tasks([app_task()])
    assert restored.result()["changed"] is True
    statuses = [status for _, path, _, status in restored.requests if "/config/appsettings" in path]
    assert statuses.count(429) == 2 and statuses.count(503) == 1
    assert stored(azure_double, "sites", SITE, "config", "appsettings")["properties"]["WORKERS"] == "2"


def test_slow_site_write_completes_or_times_out_naming_the_app(run_tasks, azure_double):
    """A site PUT answered 202 + Location: waited for within `timeout`, else a failure naming the app."""
    make_plan(azure_double)
    azure_double.slow_operations(rf"/sites/{SITE}$", polls=3, method="PUT", times=1)
    created = run_tasks([app_task()])
    assert created.result()["changed"] is True
    assert len(azure_double.requests("GET", "/operationResults/")) == 3
    assert run_tasks([app_task()]).writes == 0

    azure_double.slow_operations(rf"/sites/{SITE}$", polls=10**9, method="PUT")
    slow = run_tasks([app_task(https_only=False, timeout=2)], expect_rc=2)
    message = slow.result()["msg"]
    assert f"Timed out after 2s waiting to update App Service web app '{SITE}' in resource group" in message
    assert REGISTRY_PASSWORD not in slow.output


def test_web_rp_error_shape_is_parsed_and_names_the_app(run_tasks, azure_double):
    make_plan(azure_double)  # in West Europe
    run = run_tasks([app_task(location="eastus")], expect_rc=2)
    message = run.result()["msg"]
    assert f"Could not create App Service web app '{SITE}' in resource group '{GROUP}'" in message
    assert "must be the plan's location" in message  # only in the Web RP's {"Code","Message"} body


def test_app_name_taken_elsewhere_fails_before_writing(run_tasks, azure_double):
    make_plan(azure_double)
    run_tasks.setup([app_task()])
    other_group = {"papr.memory.resource_group": {"name": "someone-else", "location": "westeurope"}}
    taken = app_task(resource_group="someone-else", plan=arm_id(azure_double, "serverfarms", PLAN))
    run = run_tasks([other_group, taken], expect_rc=2)
    assert "is not available" in run.result()["msg"] and "choose another name" in run.result()["msg"]
    assert run.writes == 1  # the resource group only


APP_BAD_INPUT = [
    ({"image": "PaprMemory.azurecr.io/Memory:1.0", "tag": None}, "Invalid container image reference"),
    ({"tag": "bad tag!"}, "tag 'bad tag!' is not valid"),
    ({"image": "memory@sha256:1234", "tag": None}, "is not sha256:<64 lower-case hex digits>"),
    ({"name": "-bad-name"}, "Invalid web app name '-bad-name'"),
    ({"slot": "bad_slot"}, "Invalid slot name 'bad_slot'"),
    ({"app_settings": {"WEBSITES_PORT": "80"}}, "app_settings must not set WEBSITES_PORT"),
    ({"app_settings": {"HOSTS": ["a", "b"]}}, "HOSTS got a list or dict"),
    ({"registry": {"server": "other.azurecr.io"}}, "is not the registry server other.azurecr.io"),
    ({"health_check_path": "health"}, "must start with '/'"),
]


def test_app_bad_input_fails_before_any_request(run_tasks, azure_double):
    run, messages = failures_of(run_tasks, [app_task(**options) for options, _ in APP_BAD_INPUT])
    for (_, expected), message in zip(APP_BAD_INPUT, messages, strict=True):
        assert expected in message
    assert run.requests == []
    for secret in SECRETS:
        assert secret not in run.output


def test_app_delete(run_tasks, azure_double):
    make_plan(azure_double)
    run_tasks.setup([app_task()])
    checked = run_tasks([app_task(state="absent")], check=True)
    assert checked.result()["changed"] is True and checked.writes == 0
    deleted = run_tasks([app_task(state="absent")])
    assert deleted.result()["changed"] is True and stored(azure_double, "sites", SITE) is None
    assert run_tasks([app_task(state="absent")]).result()["changed"] is False
