"""playbooks/release.yml on option 2 against the Azure double, checked through the stand-in service:
the request sequence of a release (slot, warm-up settings, swap, verify, stop), a no-op rerun, and
the automatic swap back when the slot or production fails its checks."""

from __future__ import annotations

import pytest

from tests.azure_site.site_runner import SiteRun
from tests.azure_site.unhealthy_server import UnhealthyServer

# Several playbook runs each: minutes on a busy shared machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

GROUP = "papr-memory-prod"
PREFIX = "papr-memory-prod"
FIRST_IMAGE = "paprmemory.azurecr.io/memory:0.1.0"  # inventories/prod's default
WARMUP = {"WEBSITE_SWAP_WARMUP_PING_PATH": "/health", "WEBSITE_SWAP_WARMUP_PING_STATUSES": "200"}
# A release whose checks must fail: the unhealthy server's check gives up after this many seconds
# (not the 60 of a good release: waiting longer shows nothing more). The stand-in's own checks in
# the same run pass at their first request.
FAILING_CHECKS = {"verify_timeout": 15}


def site_id(double, app: str) -> str:
    return (
        f"/subscriptions/{double.subscription_id}/resourceGroups/{GROUP}/providers/Microsoft.Web/sites/"
        f"{PREFIX}-{app}"
    )


def image_of(double, app: str, slot: str | None = None) -> str:
    rid = site_id(double, app) + (f"/slots/{slot}" if slot else "")
    return double.resource(rid + "/config/web")["properties"]["linuxFxVersion"].split("|", 1)[1]


def web_writes(run: SiteRun) -> list[tuple[str, str]]:
    """The writes of a run as (method, path below Microsoft.Web/sites/), in order."""
    marker = "/providers/microsoft.web/sites/"
    return [
        (entry.method, entry.path[entry.path.lower().index(marker) + len(marker) :])
        for entry in run.writes
        if marker in entry.path.lower()
    ]


def release(site, image: str, *args: str, **overrides) -> SiteRun:
    extra_vars = {"papr_image": image, "verify_timeout": 60, **overrides}
    extra_vars.setdefault("papr_azure_web_slot_url", site.service.stack.url)
    extra_vars.setdefault("papr_azure_workers_slot_url", site.service.stack.url)
    return site.run("prod", "--diff", *args, playbook="playbooks/release.yml", extra_vars=extra_vars)


@pytest.fixture(scope="module")
def deployed(prod_deployment, azure_double_server):
    """Option 2 deployed from an empty subscription with the first image (the session's run)."""
    azure_double_server.reset()
    azure_double_server.operations.default_polls = 1
    yield prod_deployment.restore(azure_double_server)
    azure_double_server.reset()


def test_release_stages_verifies_swaps_and_a_second_run_changes_nothing(site, deployed):
    double = deployed
    check = release(site, "paprmemory.azurecr.io/memory:0.2.0", "--check")
    assert check.rc == 0, check.output[-6000:]
    assert check.writes == []
    run = release(site, "paprmemory.azurecr.io/memory:0.2.0")
    assert run.rc == 0, run.output[-6000:]
    # Check mode predicts the staging and the swaps (stopping slots it did not create it cannot).
    assert [task for task in run.changed_tasks() if "Stop the slots" not in task] == check.changed_tasks()
    workers, web = f"{PREFIX}-workers", f"{PREFIX}-web"
    assert web_writes(run) == [
        # the warm-up settings become slot settings, then the slot is created with the new image
        ("PUT", f"{workers}/config/slotConfigNames"),
        ("PUT", f"{workers}/slots/staging"),
        ("PUT", f"{web}/config/slotConfigNames"),
        ("PUT", f"{web}/slots/staging"),
        # both slots were verified (no write), then swapped into production
        ("POST", f"{workers}/slotsswap"),
        ("POST", f"{web}/slotsswap"),
        # production verified; the slots now hold the previous image and stop
        ("POST", f"{workers}/slots/staging/stop"),
        ("POST", f"{web}/slots/staging/stop"),
    ]
    assert "papr.memory.verify : The API stores a memory and finds it by search" in run.output
    for app in ("web", "workers"):
        assert image_of(double, app) == "paprmemory.azurecr.io/memory:0.2.0"
        assert image_of(double, app, "staging") == FIRST_IMAGE
        sticky = double.resource(site_id(double, app) + "/config/slotConfigNames")["properties"]
        assert sorted(sticky["appSettingNames"]) == sorted(WARMUP)
        # Sticky: the warm-up settings stay with the slot through the swap (production's set is site.yml's).
        settings = double.resource(site_id(double, app) + "/slots/staging/config/appsettings")["properties"]
        assert {k: settings.get(k) for k in WARMUP} == WARMUP
        slot = double.resource(site_id(double, app) + "/slots/staging")
        assert slot["properties"]["state"] == "Stopped"
    # The slot got production's secrets; none of them reached the output.
    for secret in site.secret_values:
        assert secret not in run.output

    again = release(site, "paprmemory.azurecr.io/memory:0.2.0")
    assert again.rc == 0, again.output[-6000:]
    assert again.recap()["changed"] == 0, again.changed_tasks()
    assert again.writes == []


def test_a_slot_that_fails_its_checks_is_never_swapped_in(site, deployed):
    double = deployed
    before = image_of(double, "web")
    with UnhealthyServer() as unhealthy:
        unhealthy_slot = {"papr_azure_web_slot_url": unhealthy.url, **FAILING_CHECKS}
        run = release(site, "paprmemory.azurecr.io/memory:0.3.0", **unhealthy_slot)
    assert run.rc != 0
    assert "The release of paprmemory.azurecr.io/memory:0.3.0 failed" in run.output
    writes = web_writes(run)
    assert not [w for w in writes if w[1].endswith("/slotsswap")], writes
    assert image_of(double, "web") == before
    assert image_of(double, "workers") == before
    for app in ("web", "workers"):
        assert double.resource(site_id(double, app) + "/slots/staging")["properties"]["state"] == "Stopped"


def test_production_failing_after_the_swap_is_swapped_back(site, deployed):
    double = deployed
    before = image_of(double, "web")
    workers, web = f"{PREFIX}-workers", f"{PREFIX}-web"
    with UnhealthyServer() as unhealthy:
        unhealthy_production = {"papr_azure_web_url": unhealthy.url, **FAILING_CHECKS}
        run = release(site, "paprmemory.azurecr.io/memory:0.4.0", **unhealthy_production)
    assert run.rc != 0
    swaps = [w for w in web_writes(run) if w[1].endswith("/slotsswap")]
    assert swaps == [
        ("POST", f"{workers}/slotsswap"),
        ("POST", f"{web}/slotsswap"),
        # the automatic rollback: the previous image is in the slots, swapped back
        ("POST", f"{workers}/slotsswap"),
        ("POST", f"{web}/slotsswap"),
    ]
    assert image_of(double, "web") == before
    assert image_of(double, "workers") == before
    assert image_of(double, "web", "staging") == "paprmemory.azurecr.io/memory:0.4.0"
    # The previous image serves again: the stand-in answers the checks of a second run at once.
    recheck = release(site, before)
    assert recheck.rc == 0, recheck.output[-6000:]
    assert recheck.writes == []
