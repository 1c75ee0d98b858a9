"""site.yml against a double that runs what was deployed: the web app and the workers app start
from the deployed image with their own app settings and startup commands, on the local stack's
PostgreSQL and Temporal, and the verify play checks them at the web app's host name. A bad
setting that reaches Azure (a worker concurrency of 0, a wrong startup command) fails verify."""

from __future__ import annotations

import time

import psycopg
import pytest
import requests
from azure.mgmt.web import WebSiteManagementClient
from azure.mgmt.web.models import Site, SiteConfig, StringDictionary

pytestmark = pytest.mark.slow

GROUP = PREFIX = "papr-memory-prod"
WEB_HOST = f"{PREFIX}-web.azurewebsites.net"
WORKERS_HOST = f"{PREFIX}-workers.azurewebsites.net"
# A failing check gives up after this many seconds (the deployed apps start within a few).
QUICK_VERIFY = {"verify_timeout": 45, "verify_max_delay": 3}


def site_id(double, name: str) -> str:
    group = f"/subscriptions/{double.subscription_id}/resourceGroups/{GROUP}"
    return f"{group}/providers/Microsoft.Web/sites/{PREFIX}-{name}"


def verify(site, **extra_vars):
    """playbooks/verify.yml alone, as an operator runs it after a change made outside the play."""
    variables = {
        "verify_web_url": f"https://{WEB_HOST}",
        "verify_temporal_address": site.service.stack.temporal_address,
        "verify_temporal_namespace": "papr-memory",
        "verify_api_key": site.service.stack.api_key,
        **QUICK_VERIFY,
        **extra_vars,
    }
    return site.run("prod", playbook="playbooks/verify.yml", extra_vars=variables)


def running(site) -> dict[str, object]:
    """Host name -> the deployed app the double runs for it."""
    return {app.spec.host: app for app in site.double.deployed.apps.values()}


@pytest.fixture(scope="module")
def first_run(deployed_site):
    return deployed_site.run("prod")


def test_verify_checks_the_deployed_web_app_and_workers_app(deployed_site, first_run):
    assert first_run.rc == 0, first_run.output[-6000:]
    assert "papr.memory.verify : The API stores a memory and finds it by search" in first_run.output
    apps = running(deployed_site)
    assert sorted(apps) == [WEB_HOST, WORKERS_HOST]
    double = deployed_site.double
    for name, host in (("web", WEB_HOST), ("workers", WORKERS_HOST)):
        config = double.resource(site_id(double, name) + "/config/web")["properties"]
        settings = double.resource(site_id(double, name) + "/config/appsettings")["properties"]
        # Exactly what Azure holds runs: the startup command and every app setting, unchanged.
        assert apps[host].spec.command == config["appCommandLine"]
        assert apps[host].spec.environment == settings
        assert apps[host].exit_codes == [], apps[host].log_tail()
    assert apps[WORKERS_HOST].spec.command == "python start_all_workers.py"
    assert (
        "@papr-memory-prod-pg.postgres.database.azure.com:5432/"
        in apps[WEB_HOST].spec.environment["DATABASE_URL"]
    )


def test_the_service_and_temporal_log_in_as_their_own_roles(deployed_site, first_run):
    """The Temporal group's database-roles init container (run by the double, with its stored
    command, environment and secret volume) made the roles the deployed apps log in as."""
    assert first_run.rc == 0, first_run.output[-6000:]
    roles = deployed_site.double.deployed.init_runs[f"{PREFIX}-temporal/database-roles"]
    assert roles.exit_code == 0, roles.log
    assert "database roles papr_memory and temporal are ready" in roles.log
    url = running(deployed_site)[WEB_HOST].spec.environment["DATABASE_URL"]
    assert url.startswith("postgresql://papr_memory:")

    stack = deployed_site.service.stack
    with psycopg.connect(stack.admin_conninfo, dbname="postgres", autocommit=True) as conn:
        attributes = conn.execute(
            "SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolcanlogin FROM pg_roles"
            " WHERE rolname IN ('papr_memory', 'temporal') ORDER BY rolname"
        ).fetchall()
        owners = dict(
            conn.execute(
                "SELECT datname, pg_get_userbyid(datdba) FROM pg_database"
                " WHERE datname IN ('papr_memory', 'temporal', 'temporal_visibility')"
            ).fetchall()
        )
    assert attributes == [("papr_memory", False, False, False, True), ("temporal", False, False, False, True)]
    assert owners == {"papr_memory": "papr_memory", "temporal": "temporal", "temporal_visibility": "temporal"}
    # The memory verify stored lives in the service's own tables.
    with psycopg.connect(stack.admin_conninfo, dbname="papr_memory") as conn:
        assert conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'memories'").fetchone() == (
            "papr_memory",
        )

    # Each role gets into its own databases, and only those.
    def connects(user: str, password: str, database: str) -> bool:
        try:
            with psycopg.connect(
                host="127.0.0.1", port=stack.ports.postgres, user=user, password=password, dbname=database
            ):
                return True
        except psycopg.OperationalError as error:
            assert "CONNECT privilege" in str(error), error
            return False

    service, temporal = deployed_site.database_password, deployed_site.temporal_database_password
    assert connects("papr_memory", service, "papr_memory")
    assert not connects("papr_memory", service, "temporal")
    assert not connects("papr_memory", service, "temporal_visibility")
    assert connects("temporal", temporal, "temporal") and connects(
        "temporal", temporal, "temporal_visibility"
    )
    assert not connects("temporal", temporal, "papr_memory")


def test_a_worker_concurrency_of_0_set_in_azure_fails_verify(deployed_site, first_run):
    assert first_run.rc == 0, first_run.output[-6000:]
    double = deployed_site.double
    workers = site_id(double, "workers") + "/config/appsettings"
    before = double.resource(workers)["properties"]["PAPR_MEMORY_WORKER_CONCURRENCY"]
    double.drift(workers, {"properties": {"PAPR_MEMORY_WORKER_CONCURRENCY": "0"}})
    try:
        run = verify(deployed_site)
        assert run.rc != 0, run.output[-6000:]
        # Temporal lists a dead worker's poller for a while, so the health checks may still pass;
        # the API round trip does not: the memory is queued and no worker stores it.
        assert "papr.memory.verify : Write a memory and wait until the memory worker stored it" in run.output
        assert "expected status 201, got 202" in run.output, run.output[-6000:]
        assert '"status":"queued"' in run.output
        # The workers app crashes on the setting, and App Service's restarts do not help.
        workers_app = running(deployed_site)[WORKERS_HOST]
        assert workers_app.exit_codes, workers_app.log_tail()
        assert "PAPR_MEMORY_WORKER_CONCURRENCY" in workers_app.log_tail(200)
    finally:
        double.drift(workers, {"properties": {"PAPR_MEMORY_WORKER_CONCURRENCY": before}})
    assert verify(deployed_site, verify_timeout=120).rc == 0


def test_a_wrong_startup_command_in_the_inventory_fails_the_run_at_verify(deployed_site, first_run):
    assert first_run.rc == 0, first_run.output[-6000:]
    wrong = {
        "web_azure_startup_command": "uvicorn app.main:application --host 0.0.0.0 --port 5001",
        **QUICK_VERIFY,
        # The web app never listens: the failing check shows all there is to see at once.
        "verify_timeout": 15,
    }
    run = deployed_site.run("prod", extra_vars=wrong)
    assert run.rc != 0
    assert "papr.memory.verify : Web server is healthy" in run.output, run.output[-6000:]
    # App Service answers 503 for a container that does not listen; so does the double's front door.
    assert "web /health" in run.output and "503" in run.output, run.output[-6000:]
    assert running(deployed_site)[WEB_HOST].spec.command == wrong["web_azure_startup_command"]
    log = running(deployed_site)[WEB_HOST].log_tail(200)
    assert "Error loading ASGI app" in log and "application" in log, log

    repaired = deployed_site.run("prod")
    assert repaired.rc == 0, repaired.output[-6000:]


def get_through_the_double(site, host: str, path: str = "/health") -> requests.Response | None:
    """GET https://<host><path> through the double's front door; None when it knows no running app
    at that host name (as if the name did not resolve)."""
    try:
        return requests.get(
            f"https://{host}{path}", proxies={"https": site.proxy_url}, verify=site.double.ca_path, timeout=10
        )
    except requests.exceptions.ProxyError:
        return None


def eventually(condition, timeout: float = 90):
    """Poll `condition` until it holds (the value) or `timeout` seconds pass (its last value)."""
    deadline = time.monotonic() + timeout
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(0.5)
    return value


def test_a_slot_runs_at_its_own_host_name_until_it_is_stopped(deployed_site, first_run):
    assert first_run.rc == 0, first_run.output[-6000:]
    double = deployed_site.double
    web = double.client(WebSiteManagementClient)
    name = f"{PREFIX}-web"
    production = web.web_apps.get(GROUP, name)
    config = web.web_apps.get_configuration(GROUP, name)
    slot = Site(
        location=production.location,
        server_farm_id=production.server_farm_id,
        site_config=SiteConfig(
            linux_fx_version=config.linux_fx_version, app_command_line=config.app_command_line
        ),
    )
    web.web_apps.begin_create_or_update_slot(GROUP, name, "staging", slot).result()
    settings = web.web_apps.list_application_settings(GROUP, name).properties
    web.web_apps.update_application_settings_slot(
        GROUP, name, "staging", StringDictionary(properties=settings)
    )
    slot_host = f"{name}-staging.azurewebsites.net"
    try:

        def healthy_slot() -> requests.Response | None:
            answer = get_through_the_double(deployed_site, slot_host)
            return answer if answer is not None and answer.status_code == 200 else None

        response = eventually(healthy_slot)
        assert response and response.json()["status"] == "ok", running(deployed_site).get(slot_host)
        assert running(deployed_site)[slot_host].spec.command == config.app_command_line

        web.web_apps.stop_slot(GROUP, name, "staging")

        # A stopped slot runs nothing: the double no longer answers for its host name.
        def slot_gone() -> bool:
            try:
                return get_through_the_double(deployed_site, slot_host) is None
            except requests.exceptions.RequestException:
                return False  # an answer cut short while the slot stops: ask again

        assert eventually(slot_gone, timeout=30)
        assert slot_host not in running(deployed_site)
        # Production kept running all along.
        assert get_through_the_double(deployed_site, WEB_HOST).status_code == 200
    finally:
        web.web_apps.delete_slot(GROUP, name, "staging")
