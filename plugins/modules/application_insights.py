#!/usr/bin/python
# Copyright: PAPR Memory engineers
# Apache-2.0
"""Application Insights component: where availability tests (papr.memory.web_test) report."""

from __future__ import annotations

DOCUMENTATION = r"""
module: application_insights
short_description: A workspace-based Application Insights component
description:
  - Ensures the Application Insights component (C(Microsoft.Insights/components), kind C(web)) exists,
    storing its telemetry in a Log Analytics workspace, or is absent.
  - Idempotent - a second run sends no write. Check mode sends no write; diff mode shows the managed view.
version_added: 0.2.0
author:
  - PAPR Memory engineers (@papr-memory)
options:
  name:
    description: Name of the component.
    type: str
    required: true
  resource_group:
    description: Resource group of the component.
    type: str
    required: true
  location:
    description: Azure region. Required to create the component; a component cannot move.
    type: str
  workspace:
    description: Resource id of the Log Analytics workspace that stores the telemetry.
    type: str
  retention_days:
    description: Days telemetry is kept.
    type: int
    choices: [30, 60, 90, 120, 180, 270, 365, 550, 730]
    default: 90
  state:
    description: Whether the component should exist.
extends_documentation_fragment:
  - papr.memory.azure
  - papr.memory.azure.tags
  - papr.memory.azure.state
requirements:
  - azure-mgmt-resource >= 23
"""

EXAMPLES = r"""
- name: Application Insights of the production deployment
  papr.memory.application_insights:
    name: papr-memory-prod-insights
    resource_group: papr-memory-prod
    location: westeurope
    workspace: "{{ logs.id }}"
  register: insights
"""

RETURN = r"""
extends_documentation_fragment:
  - papr.memory.azure.result
id:
  description: Resource id of the component (what web tests link to).
  returned: always
  type: str
resource:
  description: The component after the task (empty when absent).
  returned: always
  type: dict
  contains:
    name: {description: Name., type: str}
    location: {description: Region., type: str}
    workspace: {description: Resource id of the workspace., type: str}
    retention_days: {description: Retention in days., type: int}
    app_id: {description: The application id queries use., type: str}
"""

from ansible_collections.papr.memory.plugins.module_utils.azure_arm_resource import (
    ArmResourceType,
    fixed_location,
    properties_of,
    tracked_body,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_diff import (
    TAGS_ARGUMENT_SPEC,
    normalise_location,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_module import STATE_ARGUMENT_SPEC
from ansible_collections.papr.memory.plugins.module_utils.azure_runner import run_module

API_VERSION = "2020-02-02"


class Component(ArmResourceType):
    kind = "Application Insights component"
    resource_type = "Microsoft.Insights/components"
    api_version = API_VERSION

    def desired_body(self, current):
        properties = {
            "Application_Type": "web",
            "Flow_Type": "Bluefield",
            "Request_Source": "rest",
            "RetentionInDays": self.params["retention_days"],
        }
        if self.params["workspace"]:
            properties["WorkspaceResourceId"] = self.params["workspace"]
        body = tracked_body(self.module, current, fixed_location(self.module, self, current), properties)
        body["kind"] = "web"
        return body

    def view(self, body):
        properties = properties_of(body)
        return {
            "location": normalise_location(body.get("location")),
            "kind": body.get("kind"),
            "application_type": properties.get("Application_Type"),
            "workspace": (properties.get("WorkspaceResourceId") or "").rstrip("/").lower(),
            "retention_days": properties.get("RetentionInDays"),
            "tags": body.get("tags") or {},
        }

    def describe_body(self, body):
        properties = properties_of(body)
        return {
            "name": body.get("name"),
            "location": body.get("location"),
            "workspace": properties.get("WorkspaceResourceId"),
            "retention_days": properties.get("RetentionInDays"),
            "app_id": properties.get("AppId"),
        }


def main():
    run_module(
        Component,
        dict(
            name=dict(type="str", required=True),
            resource_group=dict(type="str", required=True),
            location=dict(type="str"),
            workspace=dict(type="str"),
            retention_days=dict(type="int", choices=[30, 60, 90, 120, 180, 270, 365, 550, 730], default=90),
            **TAGS_ARGUMENT_SPEC,
            **STATE_ARGUMENT_SPEC,
        ),
    )


if __name__ == "__main__":
    main()
