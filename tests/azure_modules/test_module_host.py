"""The module host (tests/module_host.py) gives the module tests what ansible-playbook would: the same
task results, rc, requests and writes for the same tasks, in check mode, for real and on failure."""

from __future__ import annotations

import pytest

from tests.azure_modules.conftest import make_resource_group
from tests.azure_modules.conftest import without_volatile as comparable

GROUP = "module-host-test"
PLAN = {"name": "host-plan", "resource_group": GROUP, "sku": "B1", "tags": {"app": "papr-memory"}}


def both_ways(run_tasks, azure_double, cache, tasks, **options):
    """The same run through ansible-playbook and through the module host, each from the same state
    (the double's, and an empty token cache)."""
    start = azure_double.snapshot()
    through_playbook = run_tasks(
        tasks, playbook=True, env={"PAPR_AZURE_CACHE_DIR": str(cache / "1")}, **options
    )
    after_playbook = azure_double.snapshot()
    azure_double.load(start)
    through_host = run_tasks(tasks, env={"PAPR_AZURE_CACHE_DIR": str(cache / "2")}, **options)
    return through_playbook, through_host, after_playbook


@pytest.mark.parametrize("check", [True, False], ids=["check-diff", "real-diff"])
def test_a_module_answers_the_same_through_the_host_and_a_playbook(run_tasks, azure_double, tmp_path, check):
    make_resource_group(azure_double, GROUP)
    tasks = [{"papr.memory.app_service_plan": PLAN}]
    playbook, host, after_playbook = both_ways(
        run_tasks, azure_double, tmp_path, tasks, check=check, diff=True
    )

    assert comparable(host.results()) == comparable(playbook.results())
    assert host.result()["changed"] is True and "diff" in host.result()
    assert (host.rc, host.writes) == (playbook.rc, playbook.writes) == (0, 0 if check else 1)
    assert [request[:2] for request in host.requests] == [request[:2] for request in playbook.requests]
    assert comparable(azure_double.snapshot()) == comparable(after_playbook)


def test_a_failing_task_ends_the_run_the_same_way(run_tasks, azure_double, tmp_path):
    tasks = [
        {
            "papr.memory.resource_group": {"name": "bad name!", "location": "westeurope"},
            "ignore_errors": True,
        },
        {"papr.memory.app_service_plan": {**PLAN, "sku": "NOT-A-SKU"}},
        {"papr.memory.resource_group": {"name": GROUP, "location": "westeurope"}},
    ]
    playbook, host, _ = both_ways(run_tasks, azure_double, tmp_path, tasks, expect_rc=2)

    assert len(host.results()) == len(playbook.results()) == 2  # the third task never ran
    for through_host, through_playbook in zip(host.results(), playbook.results(), strict=True):
        assert through_host["failed"] is through_playbook["failed"] is True
        assert through_host["msg"] == through_playbook["msg"]
    assert host.writes == playbook.writes == 0
