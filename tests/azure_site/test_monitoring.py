"""playbooks/monitoring.yml on option 1 against the Azure double: workspace, diagnostic settings,
action group and metric alerts on what site.yml created; check mode first, then no-op rerun."""

from __future__ import annotations

import pytest

# Several playbook runs each: minutes on a busy shared machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

GROUP = "papr-memory-dev"
PREFIX = "papr-memory-dev"
EMAILS = ["oncall@example.com", "ops@example.com"]


def monitoring(site, *args: str, emails=EMAILS):
    return site.run(
        "dev", *args, playbook="playbooks/monitoring.yml", extra_vars={"papr_monitoring_emails": emails}
    )


def test_monitoring_watches_option_1_and_a_second_run_changes_nothing(site, azure_double):
    double = azure_double
    deployed = site.run("dev")
    assert deployed.rc == 0, deployed.output[-6000:]
    group = f"/subscriptions/{double.subscription_id}/resourceGroups/{GROUP}/providers"

    refused = monitoring(site, emails=["not-an-address"])
    assert refused.rc != 0 and "papr_monitoring_emails" in refused.output
    assert refused.writes == []

    check = monitoring(site, "--check")
    assert check.rc == 0, check.output[-6000:]
    assert check.writes == []

    first = monitoring(site, "--diff")
    assert first.rc == 0, first.output[-6000:]
    assert check.changed_tasks() == first.changed_tasks()

    workspace = double.resource(f"{group}/Microsoft.OperationalInsights/workspaces/{PREFIX}-logs")
    assert workspace["properties"]["retentionInDays"] == 30
    web_logs = double.resource(
        f"{group}/Microsoft.Web/sites/{PREFIX}-web/providers/Microsoft.Insights/diagnosticSettings/{PREFIX}-logs"
    )["properties"]
    assert web_logs["workspaceId"].lower() == workspace["id"].lower()
    assert sorted(e["category"] for e in web_logs["logs"]) == ["AppServiceConsoleLogs", "AppServiceHTTPLogs"]
    pg_logs = double.resource(
        f"{group}/Microsoft.DBforPostgreSQL/flexibleServers/{PREFIX}-pg"
        f"/providers/Microsoft.Insights/diagnosticSettings/{PREFIX}-logs"
    )["properties"]
    assert [e["category"] for e in pg_logs["logs"]] == ["PostgreSQLLogs"]

    actions = double.resource(f"{group}/Microsoft.Insights/actionGroups/{PREFIX}-alerts")["properties"]
    assert sorted(r["emailAddress"] for r in actions["emailReceivers"]) == EMAILS

    alerts = {
        rid.rsplit("/", 1)[-1]: body["properties"]
        for rid, body in double.snapshot().items()
        if "/microsoft.insights/metricalerts/" in rid
    }
    # Option 1: no workers app, so no workers alerts.
    assert sorted(alerts) == sorted(
        f"{PREFIX}-{name}".lower()
        for name in (
            "web-5xx",
            "web-health",
            "web-plan-cpu",
            "web-plan-memory",
            "postgres-cpu",
            "postgres-storage",
            "postgres-connections",
            "temporal-cpu",
            "temporal-memory",
        )  # fmt: skip
    )
    five_xx = alerts[f"{PREFIX}-web-5xx".lower()]
    criterion = five_xx["criteria"]["allOf"][0]
    assert (criterion["metricName"], criterion["timeAggregation"], criterion["threshold"]) == (
        "Http5xx",
        "Total",
        10,
    )
    assert five_xx["scopes"][0].lower().endswith(f"/microsoft.web/sites/{PREFIX}-web")
    assert five_xx["actions"][0]["actionGroupId"].lower().endswith(f"/actiongroups/{PREFIX}-alerts")

    second = monitoring(site, "--diff")
    assert second.rc == 0, second.output[-6000:]
    assert second.recap()["changed"] == 0, second.changed_tasks()
    assert second.writes == []
