#!/usr/bin/python
# Copyright: PAPR Memory engineers
# Apache-2.0
"""Diagnostic setting: send a resource's logs and metrics to a Log Analytics workspace."""

from __future__ import annotations

DOCUMENTATION = r"""
module: diagnostic_setting
short_description: Send an Azure resource's logs and metrics to a Log Analytics workspace
description:
  - Ensures the diagnostic setting O(name) of the resource O(target) sends exactly the given log categories
    (or category groups) and, with O(metrics), all metrics to the workspace O(workspace), or is absent.
  - Idempotent - a second run sends no write. Check mode sends no write; diff mode shows the managed view.
version_added: 0.2.0
author:
  - PAPR Memory engineers (@papr-memory)
options:
  name:
    description: Name of the diagnostic setting.
    type: str
    required: true
  target:
    description: Resource id of the resource whose logs are sent (a web app, a container group, a server).
    type: str
    required: true
  workspace:
    description: Resource id of the Log Analytics workspace. Required with O(state=present).
    type: str
  logs:
    description:
      - Log categories to send, for example V(AppServiceConsoleLogs), V(AppServiceHTTPLogs),
        V(PostgreSQLLogs), V(ContainerInstanceLog).
    type: list
    elements: str
    default: []
  log_category_groups:
    description: Category groups to send instead of single categories, for example V(allLogs).
    type: list
    elements: str
    default: []
  metrics:
    description: Send all metrics (C(AllMetrics)) too.
    type: bool
    default: true
  state:
    description: Whether the setting should exist.
extends_documentation_fragment:
  - papr.memory.azure
  - papr.memory.azure.state
requirements:
  - azure-mgmt-resource >= 23
"""

EXAMPLES = r"""
- name: The web app's console and HTTP logs to the workspace
  papr.memory.diagnostic_setting:
    name: papr-memory-logs
    target: "{{ web_app_id }}"
    workspace: "{{ logs.id }}"
    logs: [AppServiceConsoleLogs, AppServiceHTTPLogs]
"""

RETURN = r"""
extends_documentation_fragment:
  - papr.memory.azure.result
id:
  description: Resource id of the diagnostic setting.
  returned: always
  type: str
resource:
  description: The setting after the task (empty when absent).
  returned: always
  type: dict
  contains:
    name: {description: Name., type: str}
    workspace: {description: The workspace it sends to., type: str}
    logs: {description: Log categories and category groups sent., type: list, elements: str}
    metrics: {description: Whether all metrics are sent., type: bool}
"""

from ansible_collections.papr.memory.plugins.module_utils.azure_arm_resource import (
    ArmResourceType,
    properties_of,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_errors import AzureModuleError
from ansible_collections.papr.memory.plugins.module_utils.azure_module import STATE_ARGUMENT_SPEC
from ansible_collections.papr.memory.plugins.module_utils.azure_runner import run_module

API_VERSION = "2021-05-01-preview"


def sent_logs(properties):
    return sorted(
        (entry.get("category") or f"group:{entry.get('categoryGroup')}")
        for entry in properties.get("logs") or []
        if entry.get("enabled")
    )


def sends_metrics(properties):
    return any(entry.get("enabled") for entry in properties.get("metrics") or [])


class DiagnosticSetting(ArmResourceType):
    """An extension resource: its id is below the resource whose logs it sends (`target`)."""

    kind = "diagnostic setting"
    api_version = API_VERSION

    @property
    def target(self):
        return self.params["target"].rstrip("/")

    @property
    def description(self):
        return f"diagnostic setting '{self.params['name']}' of {self.target.rsplit('/', 1)[-1]}"

    def resource_id(self):
        return f"{self.target}/providers/Microsoft.Insights/diagnosticSettings/{self.params['name']}"

    def validate(self):
        params = self.params
        if not self.target.lower().startswith("/subscriptions/") or "/providers/" not in self.target.lower():
            raise AzureModuleError(f"target {params['target']!r} is not the resource id of a resource.")
        if params["state"] == "present":
            if not params["workspace"]:
                raise AzureModuleError("`workspace` is required with state=present.")
            if not (params["logs"] or params["log_category_groups"] or params["metrics"]):
                raise AzureModuleError("Give at least one of logs, log_category_groups or metrics: true.")

    def desired_body(self, current):
        params = self.params
        current_workspace = properties_of(current).get("workspaceId")
        workspace = (
            current_workspace
            if (current_workspace or "").lower() == params["workspace"].lower()
            else params["workspace"]
        )
        logs = [{"category": name, "enabled": True} for name in params["logs"]]
        logs += [{"categoryGroup": name, "enabled": True} for name in params["log_category_groups"]]
        return {
            "properties": {
                "workspaceId": workspace,
                "logs": logs,
                "metrics": [{"category": "AllMetrics", "enabled": True}] if params["metrics"] else [],
            }
        }

    def view(self, body):
        properties = properties_of(body)
        return {
            "workspace": (properties.get("workspaceId") or "").lower(),
            "logs": sent_logs(properties),
            "metrics": sends_metrics(properties),
        }

    def describe_body(self, body):
        properties = properties_of(body)
        return {
            "name": body.get("name"),
            "workspace": properties.get("workspaceId"),
            "logs": sent_logs(properties),
            "metrics": sends_metrics(properties),
        }


def main():
    run_module(
        DiagnosticSetting,
        dict(
            name=dict(type="str", required=True),
            target=dict(type="str", required=True),
            workspace=dict(type="str"),
            logs=dict(type="list", elements="str", default=[]),
            log_category_groups=dict(type="list", elements="str", default=[]),
            metrics=dict(type="bool", default=True),
            **STATE_ARGUMENT_SPEC,
        ),
    )


if __name__ == "__main__":
    main()
