"""playbooks/monitoring.yml on option 1 against the Azure double: workspace, diagnostic settings,
action group, metric alerts and the availability test on what site.yml created; check mode first,
then no-op rerun. And what site.yml gives operators to watch Temporal: the Web UI beside the server,
on the private address only, reachable from papr_temporal_ui_sources."""

from __future__ import annotations

import pytest

# Several playbook runs each: minutes on a busy shared machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

GROUP = "papr-memory-dev"
PREFIX = "papr-memory-dev"
EMAILS = ["oncall@example.com", "ops@example.com"]
OPERATORS = ["10.30.0.0/24"]  # papr_temporal_ui_sources: say, a VPN's client range


def monitoring(site, *args: str, emails=EMAILS, **more):
    return site.run(
        "dev",
        *args,
        playbook="playbooks/monitoring.yml",
        extra_vars={"papr_monitoring_emails": emails, **more},
    )


def temporal_ui_rules(double, group):
    """(sources, access) of the temporal subnet's rules for the Web UI's port 8080."""
    nsg = double.resource(f"{group}/Microsoft.Network/networkSecurityGroups/{PREFIX}-temporal")
    rules = set()
    for rule in nsg["properties"]["securityRules"]:
        props = rule["properties"]
        ports = props.get("destinationPortRange") or ",".join(props.get("destinationPortRanges") or [])
        if ports == "8080":
            sources = props.get("sourceAddressPrefixes") or [props.get("sourceAddressPrefix")]
            rules.add((tuple(sources), props["access"]))
    return rules


def test_monitoring_watches_option_1_and_a_second_run_changes_nothing(site, azure_double):
    double = azure_double
    group = f"/subscriptions/{double.subscription_id}/resourceGroups/{GROUP}/providers"
    bad_sources = site.run("dev", extra_vars={"papr_temporal_ui_sources": ["everyone"]})
    assert bad_sources.rc != 0 and "papr_temporal_ui_sources must be a list" in bad_sources.output
    assert bad_sources.writes == []

    deployed = site.run("dev", extra_vars={"papr_temporal_ui_sources": OPERATORS})
    assert deployed.rc == 0, deployed.output[-6000:]

    # Temporal's Web UI beside the server: same private address (no public IP, no DNS label), the
    # frontend on localhost, and only the operators' range may reach its port.
    temporal = double.resource(f"{group}/Microsoft.ContainerInstance/containerGroups/{PREFIX}-temporal")
    address = temporal["properties"]["ipAddress"]
    assert address["type"] == "Private" and not address.get("dnsNameLabel")
    assert 8080 in [port["port"] for port in address["ports"]]
    ui = next(c for c in temporal["properties"]["containers"] if c["name"] == "temporal-ui")["properties"]
    assert ui["image"].startswith("temporalio/ui:")
    assert [port["port"] for port in ui["ports"]] == [8080]
    assert {"name": "TEMPORAL_ADDRESS", "value": "127.0.0.1:7233"} in ui["environmentVariables"]
    assert temporal_ui_rules(double, group) == {(tuple(OPERATORS), "Allow")}

    refused = monitoring(site, emails=["not-an-address"])
    assert refused.rc != 0 and "papr_monitoring_emails" in refused.output
    assert refused.writes == []
    refused_url = monitoring(site, papr_monitoring_health_url="papr-memory-dev-web/health")
    assert refused_url.rc != 0 and "papr_monitoring_health_url" in refused_url.output
    assert refused_url.writes == []

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

    # The availability test: the web app's /health from five places, into a workspace-based component.
    insights = double.resource(f"{group}/Microsoft.Insights/components/{PREFIX}-insights")
    assert insights["properties"]["WorkspaceResourceId"].lower() == workspace["id"].lower()
    web_test = double.resource(f"{group}/Microsoft.Insights/webtests/{PREFIX}-health")
    assert web_test["properties"]["Kind"] == "standard" and web_test["properties"]["Enabled"] is True
    assert web_test["properties"]["Request"]["RequestUrl"] == f"https://{PREFIX}-web.azurewebsites.net/health"
    assert web_test["properties"]["ValidationRules"]["ExpectedHttpStatusCode"] == 200
    assert len(web_test["properties"]["Locations"]) == 5
    assert [key.lower() for key in web_test["tags"] if key.startswith("hidden-link:")] == [
        f"hidden-link:{insights['id']}".lower()
    ]

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
            "web-availability",
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

    availability = alerts[f"{PREFIX}-web-availability".lower()]
    assert availability["scopes"][0].lower() == insights["id"].lower()
    assert availability["criteria"]["allOf"][0]["metricName"] == "availabilityResults/availabilityPercentage"

    second = monitoring(site, "--diff")
    assert second.rc == 0, second.output[-6000:]
    assert second.recap()["changed"] == 0, second.changed_tasks()
    assert second.writes == []

    # Without papr_temporal_ui_sources the UI's port is closed again (the subnet's deny-all rule).
    closed = site.run("dev")
    assert closed.rc == 0, closed.output[-6000:]
    assert temporal_ui_rules(double, group) == set()
