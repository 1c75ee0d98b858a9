"""playbooks/teardown.yml on option 1 against the Azure double: refuses without the group's name,
check mode lists what would go and writes nothing, the real run deletes the resource group, a rerun
changes nothing, and site.yml from empty builds the same deployment again."""

from __future__ import annotations

import pytest

# Several playbook runs each: minutes on a busy shared machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

GROUP = "papr-memory-dev"


def teardown(site, *args: str, confirm: str | None = GROUP):
    extra_vars = {"papr_teardown_confirm": confirm} if confirm is not None else None
    return site.run("dev", *args, playbook="playbooks/teardown.yml", extra_vars=extra_vars)


def group_ids_of(state: dict, double) -> list[str]:
    prefix = f"/subscriptions/{double.subscription_id}/resourcegroups/{GROUP}".lower()
    return [rid for rid in state if rid.startswith(prefix)]


def group_ids(double) -> list[str]:
    return group_ids_of(double.snapshot(), double)


def test_teardown_refuses_lists_deletes_and_site_converges_again(site, dev_deployment, dev_deployed):
    double = dev_deployed
    assert len(group_ids(double)) > 5

    for confirm in (None, "papr-memory-prod"):
        refused = teardown(site, confirm=confirm)
        assert refused.rc != 0
        assert f"pass -e papr_teardown_confirm={GROUP}" in refused.output
        assert refused.writes == []

    check = teardown(site, "--check")
    assert check.rc == 0, check.output[-6000:]
    assert check.writes == []
    assert "Microsoft.Web/sites/papr-memory-dev-web" in check.output
    assert "Microsoft.DBforPostgreSQL/flexibleServers/papr-memory-dev-pg" in check.output
    assert check.recap()["changed"] == 1

    gone = teardown(site)
    assert gone.rc == 0, gone.output[-6000:]
    assert [(w.method, w.path.rsplit("/", 1)[-1]) for w in gone.writes] == [("DELETE", GROUP)]
    assert group_ids(double) == []

    again = teardown(site)
    assert again.rc == 0, again.output[-6000:]
    assert again.recap()["changed"] == 0
    assert again.writes == []
    assert "nothing: the group does not exist" in again.output

    rebuilt = site.run("dev")
    assert rebuilt.rc == 0, rebuilt.output[-6000:]
    assert "papr.memory.verify : The API stores a memory and finds it by search" in rebuilt.output
    # Exactly what the session's first dev deployment built, from the same empty subscription: its
    # no-op rerun (test_site_dev) is this state's too, so no second rerun here.
    assert sorted(group_ids(double)) == sorted(group_ids_of(dev_deployment.state, double))
