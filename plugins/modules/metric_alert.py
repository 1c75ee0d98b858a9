#!/usr/bin/python
# Copyright: PAPR Memory engineers
# Apache-2.0
"""Azure Monitor metric alert: one static threshold on one metric of one resource, to action groups."""

from __future__ import annotations

DOCUMENTATION = r"""
module: metric_alert
short_description: An Azure Monitor metric alert with a static threshold on one resource
description:
  - Ensures the metric alert (C(Microsoft.Insights/metricAlerts)) watches one metric of one resource with a
    static threshold and notifies the given action groups, or is absent.
  - Idempotent - a second run sends no write. Check mode sends no write; diff mode shows the managed view.
version_added: 0.2.0
author:
  - PAPR Memory engineers (@papr-memory)
options:
  name:
    description: Name of the alert rule.
    type: str
    required: true
  resource_group:
    description: Resource group of the alert rule.
    type: str
    required: true
  scope:
    description: Resource id of the watched resource (a web app, a plan, a PostgreSQL server, a container
      group).
    type: str
    required: true
  metric:
    description: Metric name, for example V(Http5xx), V(CpuPercentage), V(cpu_percent).
    type: str
    required: true
  metric_namespace:
    description: Metric namespace. Default - the resource type of O(scope) (C(Microsoft.Web/sites)).
    type: str
  aggregation:
    description: How the metric is aggregated over the window.
    type: str
    choices: [Average, Count, Minimum, Maximum, Total]
    default: Average
  operator:
    description: How the aggregated value is compared with O(threshold).
    type: str
    choices: [Equals, GreaterThan, GreaterThanOrEqual, LessThan, LessThanOrEqual]
    default: GreaterThan
  threshold:
    description: The threshold.
    type: float
    required: true
  window:
    description: Period the metric is aggregated over (ISO 8601).
    type: str
    choices: [PT1M, PT5M, PT15M, PT30M, PT1H, PT6H, PT12H, P1D]
    default: PT5M
  frequency:
    description: How often the rule is evaluated (not longer than O(window)).
    type: str
    choices: [PT1M, PT5M, PT15M, PT30M, PT1H]
    default: PT1M
  severity:
    description: Severity, V(0) (critical) to V(4) (verbose).
    type: int
    default: 2
  description:
    description: What the alert means, shown in notifications.
    type: str
    default: ""
  action_groups:
    description: Resource ids of the action groups to notify.
    type: list
    elements: str
    default: []
  enabled:
    description: Whether the rule is evaluated.
    type: bool
    default: true
  state:
    description: Whether the alert rule should exist.
extends_documentation_fragment:
  - papr.memory.azure
  - papr.memory.azure.tags
  - papr.memory.azure.state
requirements:
  - azure-mgmt-resource >= 23
"""

EXAMPLES = r"""
- name: Web server answers 5xx
  papr.memory.metric_alert:
    name: papr-memory-prod-web-5xx
    resource_group: papr-memory-prod
    scope: "{{ web_app_id }}"
    metric: Http5xx
    aggregation: Total
    threshold: 10
    action_groups: ["{{ alerts.id }}"]
"""

RETURN = r"""
extends_documentation_fragment:
  - papr.memory.azure.result
id:
  description: Resource id of the alert rule.
  returned: always
  type: str
resource:
  description: The alert rule after the task (empty when absent).
  returned: always
  type: dict
  contains:
    name: {description: Name., type: str}
    scope: {description: The watched resource., type: str}
    metric: {description: Metric name., type: str}
    threshold: {description: Threshold., type: float}
    enabled: {description: Whether it is evaluated., type: bool}
"""

from ansible_collections.papr.memory.plugins.module_utils.azure_arm_resource import (
    ArmResourceType,
    properties_of,
    tracked_body,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_diff import TAGS_ARGUMENT_SPEC
from ansible_collections.papr.memory.plugins.module_utils.azure_errors import AzureModuleError
from ansible_collections.papr.memory.plugins.module_utils.azure_module import STATE_ARGUMENT_SPEC
from ansible_collections.papr.memory.plugins.module_utils.azure_runner import run_module
from ansible_collections.papr.memory.plugins.module_utils.azure_web import same_resource_id

API_VERSION = "2018-03-01"
CRITERIA_TYPE = "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria"
MINUTES = {"PT1M": 1, "PT5M": 5, "PT15M": 15, "PT30M": 30, "PT1H": 60, "PT6H": 360, "PT12H": 720, "P1D": 1440}


def resource_type(resource_id):
    """'/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/x' -> 'Microsoft.Web/sites'."""
    parts = resource_id.strip("/").split("/")
    if len(parts) < 8 or parts[4].lower() != "providers":
        raise AzureModuleError(
            f"scope {resource_id!r} is not the resource id of a resource in a resource group."
        )
    return f"{parts[5]}/{parts[6]}"


class MetricAlert(ArmResourceType):
    kind = "metric alert"
    resource_type = "Microsoft.Insights/metricAlerts"
    api_version = API_VERSION

    def validate(self):
        params = self.params
        if not 0 <= params["severity"] <= 4:
            raise AzureModuleError(f"severity {params['severity']} must be 0 to 4.")
        if MINUTES[params["frequency"]] > MINUTES[params["window"]]:
            raise AzureModuleError(
                f"frequency {params['frequency']} is longer than window {params['window']}: Azure refuses it."
            )
        if not params["metric_namespace"]:
            resource_type(params["scope"])  # a scope that is not a resource id fails here, before any call

    def desired_body(self, current):
        params = self.params
        namespace = params["metric_namespace"] or resource_type(params["scope"])
        current_scopes = properties_of(current).get("scopes") or []
        # Keep Azure's spelling of an unchanged scope, so the comparison is exact.
        scope = next((s for s in current_scopes if same_resource_id(s, params["scope"])), params["scope"])
        return tracked_body(
            self.module,
            current,
            "global",
            {
                "description": params["description"],
                "severity": params["severity"],
                "enabled": params["enabled"],
                "scopes": [scope],
                "evaluationFrequency": params["frequency"],
                "windowSize": params["window"],
                "autoMitigate": True,
                "criteria": {
                    "odata.type": CRITERIA_TYPE,
                    "allOf": [
                        {
                            "criterionType": "StaticThresholdCriterion",
                            "name": "threshold",
                            "metricName": params["metric"],
                            "metricNamespace": namespace,
                            "operator": params["operator"],
                            "threshold": params["threshold"],
                            "timeAggregation": params["aggregation"],
                        }
                    ],
                },
                "actions": [{"actionGroupId": group} for group in params["action_groups"]],
            },
        )

    def view(self, body):
        properties = properties_of(body)
        criteria = ((properties.get("criteria") or {}).get("allOf") or [{}])[0]
        return {
            "scopes": sorted(scope.lower() for scope in properties.get("scopes") or []),
            "metric": criteria.get("metricName"),
            "metric_namespace": (criteria.get("metricNamespace") or "").lower(),
            "aggregation": criteria.get("timeAggregation"),
            "operator": criteria.get("operator"),
            "threshold": float(criteria["threshold"]) if criteria.get("threshold") is not None else None,
            "window": properties.get("windowSize"),
            "frequency": properties.get("evaluationFrequency"),
            "severity": properties.get("severity"),
            "description": properties.get("description") or "",
            "enabled": bool(properties.get("enabled")),
            "action_groups": sorted(
                a.get("actionGroupId", "").lower() for a in properties.get("actions") or []
            ),
            "tags": body.get("tags") or {},
        }

    def describe_body(self, body):
        shown = self.view(body)
        return {
            "name": body.get("name"),
            "scope": (properties_of(body).get("scopes") or [None])[0],
            "metric": shown["metric"],
            "threshold": shown["threshold"],
            "enabled": shown["enabled"],
        }


def main():
    run_module(
        MetricAlert,
        dict(
            name=dict(type="str", required=True),
            resource_group=dict(type="str", required=True),
            scope=dict(type="str", required=True),
            metric=dict(type="str", required=True),
            metric_namespace=dict(type="str"),
            aggregation=dict(
                type="str", choices=["Average", "Count", "Minimum", "Maximum", "Total"], default="Average"
            ),
            operator=dict(
                type="str",
                choices=["Equals", "GreaterThan", "GreaterThanOrEqual", "LessThan", "LessThanOrEqual"],
                default="GreaterThan",
            ),
            threshold=dict(type="float", required=True),
            window=dict(type="str", choices=list(MINUTES), default="PT5M"),
            frequency=dict(type="str", choices=["PT1M", "PT5M", "PT15M", "PT30M", "PT1H"], default="PT1M"),
            severity=dict(type="int", default=2),
            description=dict(type="str", default=""),
            action_groups=dict(type="list", elements="str", default=[]),
            enabled=dict(type="bool", default=True),
            **TAGS_ARGUMENT_SPEC,
            **STATE_ARGUMENT_SPEC,
        ),
    )


if __name__ == "__main__":
    main()
