"""site.yml -i inventories/dev (option 1): one plan, one web app running uvicorn and both workers."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

GROUP = "papr-memory-dev"
PREFIX = "papr-memory-dev"


def test_dev_builds_option_1_and_a_second_run_changes_nothing(site, dev_deployment, dev_deployed):
    double = dev_deployed  # what the first run (from an empty subscription) left
    first = dev_deployment.run
    assert first.rc == 0, first.output[-6000:]
    assert "papr.memory.verify : The API stores a memory and finds it by search" in first.output

    web_id = f"/subscriptions/{double.subscription_id}/resourceGroups/{GROUP}/providers/Microsoft.Web"
    ids = double.snapshot()
    assert sorted(
        rid.rsplit("/", 1)[-1] for rid in ids if rid.startswith(web_id.lower() + "/serverfarms/")
    ) == [f"{PREFIX}-web-plan"]
    assert not any(rid.startswith(web_id.lower() + f"/sites/{PREFIX}-workers") for rid in ids)
    plan = double.resource(f"{web_id}/serverfarms/{PREFIX}-web-plan")
    assert plan["sku"]["name"] == "P1v3"
    config = double.resource(f"{web_id}/sites/{PREFIX}-web/config/web")["properties"]
    assert config["appCommandLine"] == "python -m app.all_in_one --port 5001"
    assert config["linuxFxVersion"] == "DOCKER|paprmemory.azurecr.io/memory:0.1.0"
    for secret in site.secret_values:
        assert secret not in first.output

    second = site.run("dev")
    assert second.rc == 0, second.output[-6000:]
    assert second.recap()["changed"] == 0, second.changed_tasks()
    assert second.writes == []
