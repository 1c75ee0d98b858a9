#!/usr/bin/python
# Copyright: PAPR Memory engineers
# Apache-2.0
"""Log Analytics workspace: where the diagnostic settings send the apps', Temporal's and PostgreSQL's logs."""

from __future__ import annotations

DOCUMENTATION = r"""
module: log_analytics_workspace
short_description: A Log Analytics workspace
description:
  - Ensures the Log Analytics workspace (C(Microsoft.OperationalInsights/workspaces)) exists with the given
    SKU and retention, or is absent.
  - Idempotent - a second run sends no write. Check mode sends no write; diff mode shows the managed view.
  - Azure answers a create while the workspace is still C(Creating); the module reads it until it settles
    (within C(timeout)). A create that ends C(Failed) fails the task with C(changed=true); the next run
    sends the workspace again. A workspace found C(Creating) is waited for before anything is compared.
version_added: 0.2.0
author:
  - PAPR Memory engineers (@papr-memory)
options:
  name:
    description: Name of the workspace (4-63 letters, digits and hyphens).
    type: str
    required: true
  resource_group:
    description: Resource group of the workspace.
    type: str
    required: true
  location:
    description: Azure region. Required to create the workspace; a workspace cannot move.
    type: str
  sku:
    description: Pricing tier.
    type: str
    default: PerGB2018
  retention_days:
    description: Days logs are kept (30-730).
    type: int
    default: 30
  state:
    description: Whether the workspace should exist.
extends_documentation_fragment:
  - papr.memory.azure
  - papr.memory.azure.tags
  - papr.memory.azure.state
requirements:
  - azure-mgmt-resource >= 23
"""

EXAMPLES = r"""
- name: Logs of the production deployment
  papr.memory.log_analytics_workspace:
    name: papr-memory-prod-logs
    resource_group: papr-memory-prod
    location: westeurope
    retention_days: 30
  register: logs
"""

RETURN = r"""
extends_documentation_fragment:
  - papr.memory.azure.result
id:
  description: Resource id of the workspace (what diagnostic settings send to).
  returned: always
  type: str
resource:
  description: The workspace after the task (empty when absent).
  returned: always
  type: dict
  contains:
    name: {description: Name., type: str}
    location: {description: Region., type: str}
    sku: {description: Pricing tier., type: str}
    retention_days: {description: Retention in days., type: int}
    customer_id: {description: The workspace id agents and queries use., type: str}
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
from ansible_collections.papr.memory.plugins.module_utils.azure_errors import AzureModuleError
from ansible_collections.papr.memory.plugins.module_utils.azure_module import STATE_ARGUMENT_SPEC
from ansible_collections.papr.memory.plugins.module_utils.azure_names import require_valid_name
from ansible_collections.papr.memory.plugins.module_utils.azure_runner import run_module

API_VERSION = "2022-10-01"


class Workspace(ArmResourceType):
    kind = "Log Analytics workspace"
    resource_type = "Microsoft.OperationalInsights/workspaces"
    api_version = API_VERSION

    def validate(self):
        params = self.params
        require_valid_name("log_analytics_workspace", params["name"])
        if not 30 <= params["retention_days"] <= 730:
            raise AzureModuleError(f"retention_days {params['retention_days']} must be 30 to 730.")

    def desired_body(self, current):
        params = self.params
        properties = {"sku": {"name": params["sku"]}, "retentionInDays": params["retention_days"]}
        return tracked_body(self.module, current, fixed_location(self.module, self, current), properties)

    def view(self, body):
        properties = properties_of(body)
        return {
            "location": normalise_location(body.get("location")),
            "sku": ((properties.get("sku") or {}).get("name") or "").lower(),
            "retention_days": properties.get("retentionInDays"),
            "tags": body.get("tags") or {},
        }

    def describe_body(self, body):
        properties = properties_of(body)
        return {
            "name": body.get("name"),
            "location": body.get("location"),
            "sku": (properties.get("sku") or {}).get("name"),
            "retention_days": properties.get("retentionInDays"),
            "customer_id": properties.get("customerId"),
        }


def main():
    run_module(
        Workspace,
        dict(
            name=dict(type="str", required=True),
            resource_group=dict(type="str", required=True),
            location=dict(type="str"),
            sku=dict(type="str", default="PerGB2018"),
            retention_days=dict(type="int", default=30),
            **TAGS_ARGUMENT_SPEC,
            **STATE_ARGUMENT_SPEC,
        ),
    )


if __name__ == "__main__":
    main()
