"""papr.memory.log_analytics_workspace, diagnostic_setting, action_group and metric_alert vs the double."""

from __future__ import annotations

from azure.mgmt.resource.resources import ResourceManagementClient

from tests.azure_modules.conftest import failures_of, make_resource_group, resource_id, sent

GROUP = "papr-memory-monitoring-test"


def tasks(double, emails=("oncall@example.com",), threshold=80, retention=30):
    workspace_id = resource_id(double, GROUP, "Microsoft.OperationalInsights/workspaces/papr-logs")
    group_id = resource_id(double, GROUP, "Microsoft.Insights/actionGroups/papr-alerts")
    return [
        {
            "papr.memory.log_analytics_workspace": {
                "name": "papr-logs",
                "resource_group": GROUP,
                "location": "westeurope",
                "retention_days": retention,
            }
        },
        # The workspace watches itself here: any existing resource will do for the double.
        {
            "papr.memory.diagnostic_setting": {
                "name": "papr-logs",
                "target": workspace_id,
                "workspace": workspace_id,
                "log_category_groups": ["allLogs"],
            }
        },
        {
            "papr.memory.action_group": {
                "name": "papr-alerts",
                "resource_group": GROUP,
                "emails": list(emails),
            }
        },
        {
            "papr.memory.metric_alert": {
                "name": "papr-ingestion",
                "resource_group": GROUP,
                "scope": workspace_id,
                "metric": "Heartbeat",
                "threshold": threshold,
                "action_groups": [group_id],
            }
        },
    ]


def test_create_check_rerun_and_change(azure_double, run_tasks):
    double = azure_double
    make_resource_group(double, GROUP)

    check = run_tasks(tasks(double), check=True)
    assert check.writes == 0
    assert [r["changed"] for r in check.results()] == [True] * 4
    # The one runner: each result lists the write it would send (names, never values).
    assert [[op["action"] for op in r["operations"]] for r in check.results()] == [["create"]] * 4
    assert (
        check.result(2)["operations"][0]["target"]
        == f"action group 'papr-alerts' in resource group '{GROUP}'"
    )

    first = run_tasks(tasks(double), diff=True)
    assert [r["changed"] for r in first.results()] == [True] * 4
    assert first.writes == 4
    alert = double.resource(resource_id(double, GROUP, "Microsoft.Insights/metricAlerts/papr-ingestion"))
    criterion = alert["properties"]["criteria"]["allOf"][0]
    assert criterion["metricNamespace"] == "Microsoft.OperationalInsights/workspaces"
    assert criterion["threshold"] == 80

    second = run_tasks(tasks(double))
    assert second.writes == 0
    assert [r["changed"] for r in second.results()] == [False] * 4
    assert [r["operations"] for r in second.results()] == [[]] * 4

    changed = run_tasks(tasks(double, emails=("ops@example.com",), threshold=90, retention=60), diff=True)
    assert [r["changed"] for r in changed.results()] == [True, False, True, True]
    assert changed.writes == 3
    assert changed.result(2)["diff"]["after"]["emails"] == ["ops@example.com"]
    assert changed.result(2)["operations"] == [
        {
            "action": "update",
            "target": f"action group 'papr-alerts' in resource group '{GROUP}'",
            "changes": ["emails"],
        }
    ]
    assert changed.result(3)["operations"][0]["changes"] == ["threshold"]
    assert changed.result(0)["resource"]["retention_days"] == 60

    removed = run_tasks(
        [{"papr.memory.action_group": {"name": "papr-alerts", "resource_group": GROUP, "state": "absent"}}]
    )
    assert removed.writes == 1
    assert [op["action"] for op in removed.result()["operations"]] == ["delete"]
    assert removed.result()["resource"] == {}


def test_bad_inputs_fail_naming_the_option(azure_double, run_tasks):
    make_resource_group(azure_double, GROUP)
    run, failures = failures_of(
        run_tasks,
        [
            {"papr.memory.action_group": {"name": "a", "resource_group": GROUP, "emails": ["nobody"]}},
            {
                "papr.memory.metric_alert": {
                    "name": "m",
                    "resource_group": GROUP,
                    "scope": "/not/an/id",
                    "metric": "x",
                    "threshold": 1,
                }
            },
            {
                "papr.memory.log_analytics_workspace": {
                    "name": "papr-logs",
                    "resource_group": GROUP,
                    "location": "westeurope",
                    "retention_days": 5,
                }
            },
            {
                "papr.memory.log_analytics_workspace": {
                    "name": "-logs",
                    "resource_group": GROUP,
                    "location": "westeurope",
                }
            },
        ],
    )
    assert "emails: nobody are not e-mail addresses" in failures[0]
    assert "is not the resource id of a resource" in failures[1]
    assert "retention_days 5 must be 30 to 730" in failures[2]
    assert "Invalid Log Analytics workspace name '-logs'" in failures[3]
    assert run.writes == 0


def availability_tasks(double, url="https://papr-web.azurewebsites.net/health", frequency=300):
    workspace_id = resource_id(double, GROUP, "Microsoft.OperationalInsights/workspaces/papr-logs")
    component_id = resource_id(double, GROUP, "Microsoft.Insights/components/papr-insights")
    return [
        {
            "papr.memory.log_analytics_workspace": {
                "name": "papr-logs",
                "resource_group": GROUP,
                "location": "westeurope",
            }
        },
        {
            "papr.memory.application_insights": {
                "name": "papr-insights",
                "resource_group": GROUP,
                "location": "westeurope",
                "workspace": workspace_id,
            }
        },
        {
            "papr.memory.web_test": {
                "name": "papr-health",
                "resource_group": GROUP,
                "location": "westeurope",
                "component": component_id,
                "url": url,
                "frequency": frequency,
                "tags": {"environment": "test"},
            }
        },
    ]


def test_availability_test_create_check_rerun_and_change(azure_double, run_tasks):
    double = azure_double
    make_resource_group(double, GROUP)

    check = run_tasks(availability_tasks(double), check=True)
    assert check.writes == 0
    assert [r["changed"] for r in check.results()] == [True] * 3

    first = run_tasks(availability_tasks(double), diff=True)
    assert [r["changed"] for r in first.results()] == [True] * 3
    assert first.writes == 3
    component_id = resource_id(double, GROUP, "Microsoft.Insights/components/papr-insights")
    component = double.resource(component_id)
    assert component["kind"] == "web"
    assert component["properties"]["WorkspaceResourceId"].lower().endswith("/workspaces/papr-logs")
    test = double.resource(resource_id(double, GROUP, "Microsoft.Insights/webtests/papr-health"))
    properties = test["properties"]
    assert properties["Kind"] == "standard"
    assert properties["Request"]["RequestUrl"] == "https://papr-web.azurewebsites.net/health"
    assert properties["ValidationRules"] == {
        "ExpectedHttpStatusCode": 200,
        "SSLCheck": True,
        "SSLCertRemainingLifetimeCheck": 7,
    }
    assert len(properties["Locations"]) == 5 and properties["Frequency"] == 300
    assert test["tags"] == {f"hidden-link:{component_id}": "Resource", "environment": "test"}

    second = run_tasks(availability_tasks(double))
    assert second.writes == 0
    assert [r["changed"] for r in second.results()] == [False] * 3

    changed = run_tasks(
        availability_tasks(double, url="https://other.example.com/health", frequency=600), diff=True
    )
    assert [r["changed"] for r in changed.results()] == [False, False, True]
    assert changed.writes == 1
    diff = changed.result(2)["diff"]
    assert (diff["before"]["url"], diff["after"]["url"]) == (
        "https://papr-web.azurewebsites.net/health",
        "https://other.example.com/health",
    )
    assert diff["after"]["frequency"] == 600


def test_web_test_bad_inputs_fail_naming_the_option(azure_double, run_tasks):
    make_resource_group(azure_double, GROUP)
    component_id = resource_id(azure_double, GROUP, "Microsoft.Insights/components/papr-insights")
    base = {"name": "t", "resource_group": GROUP, "location": "westeurope", "component": component_id}
    run, failures = failures_of(
        run_tasks,
        [
            {"papr.memory.web_test": {**base, "url": "ftp://example.com/health"}},
            {"papr.memory.web_test": {**base, "url": "https://example.com/", "timeout": 500}},
            {"papr.memory.web_test": {**base, "url": "https://example.com/", "component": "/not/an/id"}},
            {"papr.memory.web_test": {**base, "url": "https://example.com/", "locations": []}},
        ],
    )
    assert "url 'ftp://example.com/health' must be an http(s) URL" in failures[0]
    assert "timeout 500 must be 30 to 120" in failures[1]
    assert "component '/not/an/id' is not the resource id" in failures[2]
    assert "locations: 0 given" in failures[3]
    assert run.writes == 0


def test_a_refused_write_fails_unchanged_and_leaves_the_resource(azure_double, run_tasks):
    """Each monitoring update or delete is one synchronous PUT or DELETE: when Azure refuses it, nothing
    landed. (A workspace create lands, then can fail: the tests below.)"""
    double = azure_double
    make_resource_group(double, GROUP)
    run_tasks(tasks(double))
    double.inject_status(rf"/resourceGroups/{GROUP}/providers/Microsoft\.", 500, method="PUT", times=None)
    changed = tasks(double, emails=("ops@example.com",), threshold=90, retention=60)
    removal = {
        "papr.memory.action_group": {"name": "papr-alerts", "resource_group": GROUP, "state": "absent"}
    }
    double.inject_status(r"/actionGroups/papr-alerts$", 500, method="DELETE", times=None)
    attempts = [{**task, "ignore_errors": True} for task in (changed[0], changed[2], changed[3], removal)]
    run = run_tasks(attempts, env={"PAPR_AZURE_MAX_RETRIES": "0"})
    for result, action in zip(run.results(), ["update", "update", "update", "delete"], strict=True):
        assert result["failed"] is True and result["changed"] is False and "HTTP 500" in result["msg"]
        assert [(op["action"], op.get("failed")) for op in result["operations"]] == [(action, True)]
    workspace = double.resource(
        resource_id(double, GROUP, "Microsoft.OperationalInsights/workspaces/papr-logs")
    )
    alert = double.resource(resource_id(double, GROUP, "Microsoft.Insights/metricAlerts/papr-ingestion"))
    assert workspace["properties"]["retentionInDays"] == 30
    assert alert["properties"]["criteria"]["allOf"][0]["threshold"] == 80
    assert double.resource(resource_id(double, GROUP, "Microsoft.Insights/actionGroups/papr-alerts"))


WORKSPACE = "Microsoft.OperationalInsights/workspaces/papr-logs"


def workspace_task(**options):
    return {
        "papr.memory.log_analytics_workspace": {
            "name": "papr-logs",
            "resource_group": GROUP,
            "location": "westeurope",
            **options,
        }
    }


def provisioning_state(double):
    return double.resource(resource_id(double, GROUP, WORKSPACE))["properties"]["provisioningState"]


def test_workspace_create_accepted_then_failed_reports_changed_and_is_repaired(azure_double, run_tasks):
    """Azure answers a workspace create 201 "Creating" and works on; the create can end "Failed"."""
    double = azure_double
    make_resource_group(double, GROUP)
    double.fail_operations(
        r"/workspaces/papr-logs$", "InternalServerError", "Cluster unavailable.", method="PUT"
    )
    failed = run_tasks([workspace_task()], expect_rc=2)
    result = failed.result()
    assert result["failed"] is True and result["changed"] is True  # the workspace exists now
    assert sent(result) == [("create", True)] and failed.writes == 1
    assert "accepted the create and then reported state Failed" in result["msg"]
    assert provisioning_state(double) == "Failed"

    repaired = run_tasks([workspace_task()])  # same options: the failed workspace is sent again
    assert repaired.result()["operations"] == [
        {
            "action": "update",
            "target": f"Log Analytics workspace 'papr-logs' in resource group '{GROUP}'",
            "changes": ["provisioning_state"],
        }
    ]
    assert repaired.writes == 1 and provisioning_state(double) == "Succeeded"
    assert run_tasks([workspace_task()]).writes == 0


def test_workspace_still_creating_when_the_sdk_returns_is_waited_for(azure_double, run_tasks):
    """The SDK stops polling at the first 200 of the workspace's own URL, "Creating" or not."""
    double = azure_double
    make_resource_group(double, GROUP)
    double.slow_operations(r"/workspaces/papr-logs$", polls=4, method="PUT", times=1)
    run = run_tasks([workspace_task()])
    assert run.result()["changed"] is True and run.writes == 1
    assert provisioning_state(double) == "Succeeded"
    workspace_reads = [p for method, p, *_ in run.requests if method == "GET" and p.endswith("/papr-logs")]
    assert len(workspace_reads) >= 4  # read until Azure had finished


def test_workspace_create_that_outlasts_the_timeout_reports_changed(azure_double, run_tasks):
    double = azure_double
    make_resource_group(double, GROUP)
    double.slow_operations(r"/workspaces/papr-logs$", polls=10**9, method="PUT", times=1)
    run = run_tasks([workspace_task(timeout=2)], expect_rc=2)
    result = run.result()
    assert result["changed"] is True and sent(result) == [("create", False)] and run.writes == 1
    assert "is still Creating after 2s (the create was sent" in result["msg"]


def test_a_creating_workspace_is_waited_for_and_not_written(azure_double, run_tasks):
    """A create an earlier, interrupted run sent: the module waits for it, then has nothing to write."""
    double = azure_double
    make_resource_group(double, GROUP)
    double.slow_operations(r"/workspaces/papr-logs$", polls=4, method="PUT", times=1)
    body = {"location": "westeurope", "properties": {"sku": {"name": "PerGB2018"}, "retentionInDays": 30}}
    resources = double.client(ResourceManagementClient).resources
    resources.begin_create_or_update_by_id(
        resource_id(double, GROUP, WORKSPACE), body, api_version="2022-10-01", polling=False
    )
    assert provisioning_state(double) == "Creating"

    run = run_tasks([workspace_task()])
    assert run.result()["changed"] is False and run.writes == 0
    assert run.result()["resource"]["retention_days"] == 30 and provisioning_state(double) == "Succeeded"


def test_a_failed_component_is_sent_again(azure_double, run_tasks):
    """Any monitoring resource Azure reports "Failed" (here an Application Insights component) is sent
    again with the same options: the runner's failed-resource repair, shared by every ArmResourceType."""
    double = azure_double
    make_resource_group(double, GROUP)
    run_tasks(availability_tasks(double))
    component_id = resource_id(double, GROUP, "Microsoft.Insights/components/papr-insights")
    double.drift(component_id, {"properties": {"provisioningState": "Failed"}})

    run = run_tasks(availability_tasks(double))
    assert [r["changed"] for r in run.results()] == [False, True, False] and run.writes == 1
    assert run.result(1)["operations"][0]["changes"] == ["provisioning_state"]
    assert double.resource(component_id)["properties"]["provisioningState"] == "Succeeded"
