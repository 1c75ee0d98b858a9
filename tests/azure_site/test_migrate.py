"""playbooks/migrate.yml from option 1 to option 2 against the Azure double: the workers app comes up
and is healthy (both workers polling) while the web app still runs its workers; only then is the web
app switched to uvicorn alone; a second run changes nothing."""

from __future__ import annotations

import pytest

# Several playbook runs: minutes on a busy shared machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

GROUP = "papr-memory-dev"
PREFIX = "papr-memory-dev"


def migrate(site, *args: str):
    extra_vars = {"papr_option": 2, "papr_azure_workers_url": site.service.stack.url, "verify_timeout": 120}
    return site.run("dev", *args, playbook="playbooks/migrate.yml", extra_vars=extra_vars)


def test_migrate_brings_workers_up_first_and_a_second_run_changes_nothing(site, dev_deployed):
    double = dev_deployed
    sites = f"/subscriptions/{double.subscription_id}/resourceGroups/{GROUP}/providers/Microsoft.Web/sites"
    web_config = f"{sites}/{PREFIX}-web/config/web"
    assert double.resource(web_config)["properties"]["appCommandLine"].startswith("python -m app.all_in_one")

    check = migrate(site, "--check")
    assert check.rc == 0, check.output[-6000:]
    assert check.writes == []

    run = migrate(site)
    assert run.rc == 0, run.output[-6000:]
    paths = [(entry.method, entry.path.lower()) for entry in run.writes]
    workers_created = paths.index(("PUT", f"{sites}/{PREFIX}-workers".lower()))
    web_writes = [i for i, (_, path) in enumerate(paths) if path.startswith(f"{sites}/{PREFIX}-web/".lower())]
    # The web app was left alone (still running its workers) until the workers app existed and
    # answered /health with both of its workers polling.
    assert web_writes and min(web_writes) > workers_created, paths
    waited = run.output.index("TASK [The workers app answers /health with both workers polling]")
    switched = run.output.index("TASK [papr.memory.web : Web app running the service image]", waited)
    assert "ok: [localhost]" in run.output[waited:switched]
    web = double.resource(web_config)["properties"]
    assert web["appCommandLine"].startswith("uvicorn app.main:app")
    workers = double.resource(f"{sites}/{PREFIX}-workers/config/web")["properties"]
    assert workers["appCommandLine"] == "python start_all_workers.py"
    assert "papr.memory.verify : The API stores a memory and finds it by search" in run.output
    for secret in site.secret_values:
        assert secret not in run.output

    again = migrate(site)
    assert again.rc == 0, again.output[-6000:]
    assert again.recap()["changed"] == 0, again.changed_tasks()
    assert again.writes == []
