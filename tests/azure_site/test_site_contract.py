"""The deployment model on Azure, end to end: option 1 with the inventory's own database name,
user and namespace, the workers' concurrency, and a database password holding every character a
URL gives a meaning to. The double runs the deployed web app (web server and both workers in one
app) with exactly the app settings and startup command the play wrote, on the flexible server's
login and databases: verification passing means the deployed DATABASE_URL connects."""

from __future__ import annotations

import pytest
from psycopg.conninfo import conninfo_to_dict

pytestmark = pytest.mark.slow

GROUP = PREFIX = "papr-memory-dev"
OVERRIDES = {
    "papr_database_name": "papr_contract_db",
    "papr_database_user": "papr_contract_user",
    "papr_temporal_namespace": "papr-contract",
    "workers_memory_concurrency": 7,
    "workers_document_concurrency": 3,
}


def web_id(double, path: str = "") -> str:
    group = f"/subscriptions/{double.subscription_id}/resourceGroups/{GROUP}"
    return f"{group}/providers/Microsoft.Web/sites/{PREFIX}-web{path}"


@pytest.fixture(scope="module")
def deployed(deployed_site):
    run = deployed_site.run("dev", extra_vars=OVERRIDES)
    apps = {app.spec.host: app for app in deployed_site.double.deployed.apps.values()}
    return deployed_site, apps[f"{PREFIX}-web.azurewebsites.net"], run


def test_the_deployed_database_url_connects_with_any_password(deployed):
    site, app, run = deployed
    assert run.rc == 0, run.output[-6000:]
    # The verify play wrote, found and deleted a memory through the app the settings configured.
    assert "papr.memory.verify : The API stores a memory and finds it by search" in run.output
    assert app.exit_codes == [], app.log_tail()
    parsed = conninfo_to_dict(app.spec.environment["DATABASE_URL"])
    assert parsed["password"] == site.database_password
    assert any(char in site.database_password for char in "/:@%?#&+ ")
    for secret in site.secret_values:
        assert secret not in run.output


def test_inventory_overrides_and_option_1_concurrency_reach_azure(deployed):
    site, app, run = deployed
    double = site.double
    assert run.rc == 0, run.output[-6000:]
    settings = app.spec.environment
    assert settings == double.resource(web_id(double, "/config/appsettings"))["properties"]
    parsed = conninfo_to_dict(settings["DATABASE_URL"])
    assert (parsed["user"], parsed["dbname"]) == ("papr_contract_user", "papr_contract_db")
    assert parsed["host"] == f"{PREFIX}-pg.postgres.database.azure.com" and parsed["sslmode"] == "require"
    assert settings["TEMPORAL_NAMESPACE"] == "papr-contract"
    # Option 1: the one web app runs both workers, with their concurrency.
    assert settings["PAPR_MEMORY_WORKER_CONCURRENCY"] == "7"
    assert settings["PAPR_DOCUMENT_WORKER_CONCURRENCY"] == "3"
    config = double.resource(web_id(double, "/config/web"))["properties"]
    assert config["appCommandLine"] == app.spec.command == "python -m app.all_in_one --port 5001"
    server = double.resource(
        f"/subscriptions/{double.subscription_id}/resourceGroups/{GROUP}/providers/"
        f"Microsoft.DBforPostgreSQL/flexibleServers/{PREFIX}-pg"
    )
    # The service logs in as its own role, not as the server's administrator.
    assert server["properties"]["administratorLogin"] == "papr_admin"
    databases = {
        rid.rsplit("/", 1)[-1]
        for rid in double.snapshot()
        if "/flexibleservers/" in rid and "/databases/" in rid
    }
    assert "papr_contract_db" in databases
