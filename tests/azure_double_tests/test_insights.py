"""Microsoft.Insights action groups and metric alerts through the real azure-mgmt-monitor client."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.monitor import MonitorManagementClient
from azure.mgmt.monitor import models as m


@pytest.fixture
def monitor(azure_double):
    return azure_double.client(MonitorManagementClient)


def action_group(short="papr-ops", email="ops@example.org"):
    return m.ActionGroupResource(
        location="Global",
        group_short_name=short,
        enabled=True,
        email_receivers=[m.EmailReceiver(name="ops", email_address=email)],
    )


def alert(scope, group_id, severity=2, window="PT5M"):
    criteria = m.MetricAlertSingleResourceMultipleMetricCriteria(
        all_of=[
            m.MetricCriteria(
                name="cpu",
                metric_name="CpuPercentage",
                operator="GreaterThan",
                threshold=80,
                time_aggregation="Average",
            )
        ]
    )
    return m.MetricAlertResource(
        location="global",
        severity=severity,
        enabled=True,
        scopes=[scope],
        evaluation_frequency="PT1M",
        window_size=window,
        criteria=criteria,
        actions=[m.MetricAlertAction(action_group_id=group_id)],
    )


def test_action_group_and_metric_alert_lifecycle(azure_double, resource_group, monitor):
    group = monitor.action_groups.create_or_update("rg", "papr-ops", action_group())
    assert azure_double.requests("PUT")[-1].status == 201
    assert group.email_receivers[0].status == "Enabled" and group.location == "Global"
    monitor.action_groups.create_or_update("rg", "papr-ops", action_group(email="oncall@example.org"))
    assert azure_double.requests("PUT")[-1].status == 200
    assert (
        monitor.action_groups.get("rg", "papr-ops").email_receivers[0].email_address == "oncall@example.org"
    )

    scope = f"/subscriptions/{azure_double.subscription_id}/resourceGroups/rg"
    created = monitor.metric_alerts.create_or_update("rg", "cpu-high", alert(scope, group.id))
    assert created.severity == 2 and created.actions[0].action_group_id == group.id
    assert azure_double.requests("PUT")[-1].status == 200  # metric alerts answer 200 even on create
    assert [a.name for a in monitor.metric_alerts.list_by_resource_group("rg")] == ["cpu-high"]
    monitor.metric_alerts.delete("rg", "cpu-high")
    monitor.action_groups.delete("rg", "papr-ops")
    with pytest.raises(ResourceNotFoundError):
        monitor.action_groups.get("rg", "papr-ops")


def test_bad_monitoring_input_is_refused(azure_double, resource_group, monitor):
    with pytest.raises(HttpResponseError):
        monitor.action_groups.create_or_update("rg", "ops", action_group(short="much-too-long-name"))
    with pytest.raises(HttpResponseError):
        monitor.action_groups.create_or_update("rg", "ops", action_group(email="not-an-address"))
    group = monitor.action_groups.create_or_update("rg", "ops", action_group())
    scope = f"/subscriptions/{azure_double.subscription_id}/resourceGroups/rg"
    window_shorter_than_frequency = alert(scope, group.id, window="PT1M")
    window_shorter_than_frequency.evaluation_frequency = "PT5M"
    bad_alerts = [
        alert(scope, group.id, severity=7),
        alert(scope + "-missing", group.id),
        alert(scope, group.id + "-missing"),
        window_shorter_than_frequency,
    ]
    for bad in bad_alerts:
        with pytest.raises(HttpResponseError) as refused:
            monitor.metric_alerts.create_or_update("rg", "cpu-high", bad)
        assert refused.value.status_code == 400
    assert list(monitor.metric_alerts.list_by_resource_group("rg")) == []
