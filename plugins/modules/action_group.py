#!/usr/bin/python
# Copyright: PAPR Memory engineers
# Apache-2.0
"""Azure Monitor action group that emails a list of addresses."""

from __future__ import annotations

DOCUMENTATION = r"""
module: action_group
short_description: An Azure Monitor action group that emails a list of addresses
description:
  - Ensures the action group (C(Microsoft.Insights/actionGroups)) exists, enabled, with exactly the given
    e-mail receivers (the common alert schema on), or is absent.
  - Idempotent - a second run sends no write. Check mode sends no write; diff mode shows the managed view.
version_added: 0.2.0
author:
  - PAPR Memory engineers (@papr-memory)
options:
  name:
    description: Name of the action group.
    type: str
    required: true
  resource_group:
    description: Resource group of the action group.
    type: str
    required: true
  short_name:
    description: Short name shown in e-mails and SMS (1-12 characters). Default - the first 12 of O(name).
    type: str
  emails:
    description: E-mail addresses to notify (the whole set).
    type: list
    elements: str
    default: []
  enabled:
    description: Whether the group sends notifications.
    type: bool
    default: true
  state:
    description: Whether the action group should exist.
extends_documentation_fragment:
  - papr.memory.azure
  - papr.memory.azure.tags
  - papr.memory.azure.state
requirements:
  - azure-mgmt-resource >= 23
"""

EXAMPLES = r"""
- name: Who hears about alerts
  papr.memory.action_group:
    name: papr-memory-prod-alerts
    resource_group: papr-memory-prod
    emails: [oncall@example.com]
  register: alerts
"""

RETURN = r"""
extends_documentation_fragment:
  - papr.memory.azure.result
id:
  description: Resource id of the action group (what metric alerts name in their actions).
  returned: always
  type: str
resource:
  description: The action group after the task (empty when absent).
  returned: always
  type: dict
  contains:
    name: {description: Name., type: str}
    short_name: {description: Short name., type: str}
    emails: {description: E-mail addresses., type: list, elements: str}
    enabled: {description: Whether it sends notifications., type: bool}
"""

import re

from ansible_collections.papr.memory.plugins.module_utils.azure_arm_resource import (
    ArmResourceType,
    properties_of,
    tracked_body,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_diff import TAGS_ARGUMENT_SPEC
from ansible_collections.papr.memory.plugins.module_utils.azure_errors import AzureModuleError
from ansible_collections.papr.memory.plugins.module_utils.azure_module import STATE_ARGUMENT_SPEC
from ansible_collections.papr.memory.plugins.module_utils.azure_runner import run_module

API_VERSION = "2023-01-01"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ActionGroup(ArmResourceType):
    kind = "action group"
    resource_type = "Microsoft.Insights/actionGroups"
    api_version = API_VERSION

    @property
    def short_name(self):
        return self.params["short_name"] or self.params["name"][:12]

    def validate(self):
        bad = [address for address in self.params["emails"] if not EMAIL.match(address)]
        if bad:
            raise AzureModuleError(f"emails: {', '.join(bad)} are not e-mail addresses.")
        if not 1 <= len(self.short_name) <= 12:
            raise AzureModuleError(f"short_name {self.short_name!r} must be 1-12 characters.")

    def desired_body(self, current):
        properties = {
            "groupShortName": self.short_name,
            "enabled": self.params["enabled"],
            "emailReceivers": [
                {"name": f"email-{index}", "emailAddress": address, "useCommonAlertSchema": True}
                for index, address in enumerate(sorted(set(self.params["emails"])), start=1)
            ],
        }
        return tracked_body(self.module, current, "Global", properties)

    def view(self, body):
        properties = properties_of(body)
        return {
            "short_name": properties.get("groupShortName"),
            "enabled": bool(properties.get("enabled", True)),
            "emails": sorted(
                r.get("emailAddress", "").lower() for r in properties.get("emailReceivers") or []
            ),
            "tags": body.get("tags") or {},
        }

    def describe_body(self, body):
        shown = self.view(body)
        return {
            "name": body.get("name"),
            "short_name": shown["short_name"],
            "emails": shown["emails"],
            "enabled": shown["enabled"],
        }


def main():
    run_module(
        ActionGroup,
        dict(
            name=dict(type="str", required=True),
            resource_group=dict(type="str", required=True),
            short_name=dict(type="str"),
            emails=dict(type="list", elements="str", default=[]),
            enabled=dict(type="bool", default=True),
            **TAGS_ARGUMENT_SPEC,
            **STATE_ARGUMENT_SPEC,
        ),
    )


if __name__ == "__main__":
    main()
