"""papr.memory.app_service_staging_slot and app_service_slot_swap against the Azure double's Microsoft.Web."""

from __future__ import annotations

import pytest
from azure.mgmt.web import WebSiteManagementClient

from tests.azure_modules.conftest import failures_of, make_resource_group, resource_id

GROUP = "papr-memory-release-test"
PLAN = "papr-memory-release-plan"
SITE = "papr-memory-release-web"
OLD = "paprmemory.azurecr.io/memory:1.0.0"
NEW = "paprmemory.azurecr.io/memory:1.1.0"
DATABASE_URL = "postgresql://papr:db-pass-4e1d2c@db:5432/papr"
WARMUP = {"WEBSITE_SWAP_WARMUP_PING_PATH": "/health", "WEBSITE_SWAP_WARMUP_PING_STATUSES": "200"}


def site_id(double, slot=None):
    return resource_id(double, GROUP, f"Microsoft.Web/sites/{SITE}" + (f"/slots/{slot}" if slot else ""))


def deploy_production(double, run_tasks):
    make_resource_group(double, GROUP)
    web = double.client(WebSiteManagementClient)
    plan = {
        "location": "westeurope",
        "kind": "linux",
        "sku": {"name": "P1v3"},
        "properties": {"reserved": True},
    }
    web.app_service_plans.begin_create_or_update(GROUP, PLAN, plan).result()
    app = {
        "name": SITE,
        "resource_group": GROUP,
        "plan": PLAN,
        "image": OLD,
        "startup_command": "uvicorn app.main:app --host 0.0.0.0 --port 5001",
        "port": 5001,
        "health_check_path": "/health",
        "app_settings": {"DATABASE_URL": DATABASE_URL, "PAPR_LOG_LEVEL": "INFO"},
        "secret_app_settings": ["DATABASE_URL"],
    }
    run_tasks([{"papr.memory.app_service_container": app}])


def stage_task(image=NEW, **options):
    spec = {
        "name": SITE,
        "resource_group": GROUP,
        "image": image,
        "app_settings": WARMUP,
        "sticky_app_settings": list(WARMUP),
        "secret_app_settings": ["DATABASE_URL"],
        **options,
    }
    return {"papr.memory.app_service_staging_slot": spec, "register": "staged"}


def swap_task(image):
    return {"papr.memory.app_service_slot_swap": {"name": SITE, "resource_group": GROUP, "image": image}}


def image_of(double, slot=None):
    return double.resource(site_id(double, slot) + "/config/web")["properties"]["linuxFxVersion"]


@pytest.mark.timeout(1200)  # about 15 playbook runs
def test_stage_copies_production_and_swap_is_said_by_image(azure_double, run_tasks):
    double = azure_double
    deploy_production(double, run_tasks)

    check = run_tasks([stage_task()], check=True, diff=True)
    assert check.writes == 0 and check.result()["changed"] is True
    slot = f"App Service slot '{SITE}' (slot 'staging') in resource group '{GROUP}'"
    predicted = [(op["action"], op["target"]) for op in check.result()["operations"]]
    assert predicted == [
        ("update", f"slot settings of App Service web app '{SITE}' in resource group '{GROUP}'"),
        ("create", slot),
    ]

    staged = run_tasks([stage_task()], diff=True)
    result = staged.result()
    assert result["changed"] is True and result["released"] is False
    assert [(op["action"], op["target"]) for op in result["operations"]] == predicted
    assert result["production"]["image"] == OLD
    assert result["slot"]["url"] == f"https://{SITE}-staging.azurewebsites.net"
    slot_config = double.resource(site_id(double, "staging") + "/config/web")["properties"]
    assert slot_config["linuxFxVersion"] == f"DOCKER|{NEW}"
    assert slot_config["appCommandLine"] == "uvicorn app.main:app --host 0.0.0.0 --port 5001"
    assert slot_config["healthCheckPath"] == "/health"
    settings = double.resource(site_id(double, "staging") + "/config/appsettings")["properties"]
    assert settings == {
        "DATABASE_URL": DATABASE_URL,
        "PAPR_LOG_LEVEL": "INFO",
        "WEBSITES_PORT": "5001",
        **WARMUP,
    }
    sticky = double.resource(site_id(double) + "/config/slotConfigNames")["properties"]
    assert sorted(sticky["appSettingNames"]) == sorted(WARMUP)
    assert "db-pass-4e1d2c" not in staged.output  # copied, never shown

    unchanged = run_tasks([stage_task()])  # staged already
    assert unchanged.writes == 0 and unchanged.result()["operations"] == []

    # Neither production nor the slot runs the image: refused before any write.
    run, failures = failures_of(run_tasks, [swap_task("paprmemory.azurecr.io/memory:9.9.9")])
    assert "Stage the image in the slot first" in failures[0] and run.writes == 0
    # In check mode the staging task wrote nothing either: the swap is predicted, with a warning.
    predicted = run_tasks([swap_task("paprmemory.azurecr.io/memory:9.9.9")], check=True)
    assert predicted.writes == 0 and predicted.result()["changed"] is True
    assert "assuming a task stages it" in predicted.output

    assert run_tasks([swap_task(NEW)], check=True).writes == 0
    swapped = run_tasks([swap_task(NEW)])
    assert [
        (m, p.rsplit("/", 1)[-1])
        for m, p, _, _ in swapped.requests
        if m == "POST" and p.startswith("/subscriptions")
    ] == [("POST", "slotsswap")]
    assert swapped.result()["production_image"] == NEW and swapped.result()["slot_image"] == OLD
    assert [(op["action"], op["target"]) for op in swapped.result()["operations"]] == [("swap", slot)]
    assert image_of(double) == f"DOCKER|{NEW}" and image_of(double, "staging") == f"DOCKER|{OLD}"
    # Sticky: production keeps its own settings (no warm-up settings), the slot keeps them.
    assert (
        "WEBSITE_SWAP_WARMUP_PING_PATH"
        not in double.resource(site_id(double) + "/config/appsettings")["properties"]
    )
    assert run_tasks([swap_task(NEW)]).writes == 0  # production runs it: nothing to send

    # Production runs the image: staging it again changes nothing (the slot keeps the previous one).
    again = run_tasks([stage_task()])
    assert again.writes == 0 and again.result()["released"] is True

    stopped = run_tasks([stage_task(state="stopped")])
    assert stopped.result()["changed"] is True
    assert [op["action"] for op in stopped.result()["operations"]] == ["stop"]
    assert double.resource(site_id(double, "staging"))["properties"]["state"] == "Stopped"
    assert run_tasks([stage_task(state="stopped")]).writes == 0

    # Swap back: the previous image is in the slot.
    back = run_tasks([swap_task(OLD)])
    assert back.writes == 1 and image_of(double) == f"DOCKER|{OLD}"

    # Staging a new image again starts the stopped slot.
    restaged = run_tasks([stage_task(image="paprmemory.azurecr.io/memory:1.2.0")])
    assert restaged.result()["slot"]["state"] == "Running"
    assert double.resource(site_id(double, "staging"))["properties"]["state"] == "Running"


def test_a_slot_create_failing_after_the_slot_settings_were_written_reports_changed(azure_double, run_tasks):
    double = azure_double
    deploy_production(double, run_tasks)
    double.inject_status(r"/sites/" + SITE + "/slots/staging$", 500, method="PUT", times=None)
    failed = run_tasks([stage_task()], env={"PAPR_AZURE_MAX_RETRIES": "0"}, expect_rc=2)
    result = failed.result()
    assert result["changed"] is True  # the slot settings were written before the create failed
    assert [(op["action"], op.get("failed", False)) for op in result["operations"]] == [
        ("update", False),
        ("create", True),
    ]
    assert "db-pass-4e1d2c" not in failed.output


def test_bad_inputs_fail_before_any_request(azure_double, run_tasks):
    run, failures = failures_of(
        run_tasks,
        [
            stage_task(image="Not A Valid:Image"),
            stage_task(slot="production"),
            {"papr.memory.app_service_staging_slot": {"name": SITE, "resource_group": GROUP}},
        ],
    )
    assert "Invalid container image reference" in failures[0]
    assert "not production" in failures[1]
    assert "`image` is required with state=staged" in failures[2]
    assert run.writes == 0


def test_a_missing_production_app_is_named(azure_double, run_tasks):
    make_resource_group(azure_double, GROUP)
    run, failures = failures_of(run_tasks, [stage_task()])
    assert f"App Service web app '{SITE}' in resource group '{GROUP}' does not exist" in failures[0]
    assert run.writes == 0
