"""playbooks/migrate.yml from option 1 to option 2 against the Azure double: the workers app comes
up (and is healthy) before the web app stops running workers; a second run changes nothing."""

from __future__ import annotations

import pytest

# Several playbook runs each: minutes on a busy shared machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

GROUP = "papr-memory-dev"
PREFIX = "papr-memory-dev"


def migrate(site):
    extra_vars = {"papr_option": 2, "papr_azure_workers_url": site.service.stack.url, "verify_timeout": 120}
    return site.run("dev", playbook="playbooks/migrate.yml", extra_vars=extra_vars)


def test_migrate_brings_workers_up_first_and_a_second_run_changes_nothing(site, azure_double):
    double = azure_double
    deployed = site.run("dev")
    assert deployed.rc == 0, deployed.output[-6000:]
    web_id = f"/subscriptions/{double.subscription_id}/resourceGroups/{GROUP}/providers/Microsoft.Web/sites"

    run = migrate(site)
    assert run.rc == 0, run.output[-6000:]
    paths = [(entry.method, entry.path.lower()) for entry in run.writes]
    workers_created = paths.index(("PUT", f"{web_id}/{PREFIX}-workers".lower()))
    web_switched = paths.index(("PATCH", f"{web_id}/{PREFIX}-web/config/web".lower()))
    assert workers_created < web_switched, paths
    # The workers app was waited for between the two.
    assert "The workers app answers /health with both workers polling" in run.output
    web = double.resource(f"{web_id}/{PREFIX}-web/config/web")["properties"]
    assert web["appCommandLine"].startswith("uvicorn app.main:app")
    workers = double.resource(f"{web_id}/{PREFIX}-workers/config/web")["properties"]
    assert workers["appCommandLine"] == "python start_all_workers.py"
    assert "papr.memory.verify : The API stores a memory and finds it by search" in run.output
    for secret in site.secret_values:
        assert secret not in run.output

    again = migrate(site)
    assert again.rc == 0, again.output[-6000:]
    assert again.recap()["changed"] == 0, again.changed_tasks()
    assert again.writes == []
