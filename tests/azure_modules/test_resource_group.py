"""papr.memory.resource_group against the Azure double: idempotence, check/diff, drift, faults, LRO errors."""

from __future__ import annotations

from tests.azure_modules.conftest import resource_id

GROUP = "papr-memory-test"


def group_task(**options):
    return {"papr.memory.resource_group": {"name": GROUP, **options}}


def group_id(double, name=GROUP):
    return resource_id(double, name)


def test_create_then_rerun_changes_nothing(run_tasks, azure_double):
    task = group_task(location="West Europe", tags={"app": "papr-memory", "tier": 2})

    created = run_tasks([task])
    result = created.result()
    assert result["changed"] is True
    assert created.writes == 1
    assert result["resource_group"]["location"] == "westeurope"
    assert azure_double.resource(group_id(azure_double))["tags"] == {"app": "papr-memory", "tier": "2"}

    rerun = run_tasks([task])
    assert rerun.result()["changed"] is False
    assert rerun.writes == 0


def test_check_mode_predicts_and_writes_nothing(run_tasks, azure_double):
    task = group_task(location="westeurope", tags={"app": "papr-memory"})

    checked = run_tasks([task], check=True, diff=True)
    assert checked.writes == 0
    assert checked.result()["changed"] is True
    assert checked.result()["diff"] == {
        "before": {},
        "after": {"location": "westeurope", "tags": {"app": "papr-memory"}},
    }
    assert azure_double.resource(group_id(azure_double)) is None

    assert run_tasks([task]).result()["changed"] is True
    checked_again = run_tasks([task], check=True)
    assert checked_again.result()["changed"] is False
    assert checked_again.writes == 0


def test_drifted_tags_are_detected_and_restored(run_tasks, azure_double):
    task = group_task(location="westeurope", tags={"app": "papr-memory"})
    run_tasks.setup([task])
    azure_double.drift(group_id(azure_double), {"tags": {"app": "someone-else", "extra": "x"}})

    checked = run_tasks([task], check=True, diff=True)
    assert checked.result()["changed"] is True
    assert checked.result()["diff"]["before"]["tags"] == {"app": "someone-else", "extra": "x"}
    assert checked.writes == 0

    restored = run_tasks([task])
    assert restored.result()["changed"] is True
    assert azure_double.resource(group_id(azure_double))["tags"] == {"app": "papr-memory"}

    merged = run_tasks([group_task(tags={"owner": "ops"}, purge_tags=False)])
    assert merged.result()["resource_group"]["tags"] == {"app": "papr-memory", "owner": "ops"}


def test_throttling_and_transient_errors_converge(run_tasks, azure_double):
    azure_double.inject_status(
        r"/resourcegroups/papr-memory-test$", 429, method="GET", times=2, retry_after=0
    )
    azure_double.inject_status(
        r"/resourcegroups/papr-memory-test$", 503, method="PUT", times=1, retry_after=0
    )

    run = run_tasks([group_task(location="westeurope")])
    assert run.result()["changed"] is True
    statuses = [status for method, path, _, status in run.requests if path.lower().endswith(GROUP)]
    assert statuses.count(429) == 2 and statuses.count(503) == 1
    assert azure_double.resource(group_id(azure_double)) is not None


def test_retries_are_bounded(run_tasks, azure_double):
    azure_double.inject_status(
        r"/resourcegroups/papr-memory-test$", 503, method="GET", times=None, retry_after=0
    )

    run = run_tasks([group_task(location="westeurope", max_retries=2)], expect_rc=2)
    message = run.result()["msg"]
    assert "resource group 'papr-memory-test'" in message
    assert "503" in message and "run the task again" in message
    gets = [entry for entry in run.requests if entry[0] == "GET" and entry[1].lower().endswith(GROUP)]
    assert len(gets) == 3  # the first try and max_retries=2 retries


def test_long_retry_after_is_cut_to_the_deadline(run_tasks, azure_double):
    """A throttled ARM asking for an hour is not obeyed past the task's timeout."""
    path = r"/resourcegroups/papr-memory-test$"
    azure_double.inject_status(path, 429, method="GET", times=None, retry_after=3600)

    # Obeying the hour would overrun run_tasks' 300 s subprocess limit and fail the test.
    run = run_tasks([group_task(location="westeurope", timeout=3)], expect_rc=2)
    message = run.result()["msg"]
    assert "Could not read resource group 'papr-memory-test': HTTP 429" in message
    assert "SubscriptionRequestsThrottled" in message
    assert "raise max_retries" in message


def test_failed_delete_names_the_group(run_tasks, azure_double):
    run_tasks.setup([group_task(location="westeurope")])
    azure_double.fail_operations(
        r"/resourcegroups/papr-memory-test$", "Conflict", "A lock prevents deletion."
    )

    run = run_tasks([group_task(state="absent")], expect_rc=2)
    message = run.result()["msg"]
    assert "Could not delete resource group 'papr-memory-test'" in message
    assert "A lock prevents deletion." in message


def test_delete_timeout_names_the_group(run_tasks, azure_double):
    run_tasks.setup([group_task(location="westeurope")])
    azure_double.slow_operations(r"/resourcegroups/papr-memory-test$", polls=10**9)

    run = run_tasks([group_task(state="absent", timeout=2)], expect_rc=2)
    message = run.result()["msg"]
    assert "Timed out after 2s waiting to delete resource group 'papr-memory-test'" in message


def test_delete_refuses_a_nonempty_group_then_forces(run_tasks, azure_double):
    run_tasks.setup([group_task(location="westeurope")])
    azure_double.store.put(
        group_id(azure_double) + "/providers/Microsoft.Web/serverfarms/plan1",
        {"name": "plan1", "type": "Microsoft.Web/serverfarms", "location": "westeurope", "properties": {}},
    )

    refused = run_tasks([group_task(state="absent")], expect_rc=2)
    assert "still contains 1 resource(s) (Microsoft.Web/serverfarms/plan1)" in refused.result()["msg"]
    assert refused.writes == 0

    deleted = run_tasks([group_task(state="absent", force_delete_nonempty=True)])
    assert deleted.result()["changed"] is True
    assert azure_double.resource(group_id(azure_double)) is None
    assert run_tasks([group_task(state="absent")]).result()["changed"] is False


def test_bad_input_fails_before_any_request(run_tasks, azure_double):
    run = run_tasks([group_task(name="bad name!", location="westeurope")], expect_rc=2)
    assert "Invalid resource group name 'bad name!'" in run.result()["msg"]
    assert run.requests == []
    negative = run_tasks([group_task(location="westeurope", timeout=-1)], expect_rc=2)
    assert "timeout must be >= 0 seconds, got -1." in negative.result()["msg"]
    assert negative.requests == []

    moved = run_tasks([group_task(location="westeurope")])
    assert moved.result()["changed"] is True
    refused = run_tasks([group_task(location="eastus")], expect_rc=2)
    assert "cannot move" in refused.result()["msg"]
    assert refused.writes == 0
