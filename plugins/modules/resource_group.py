#!/usr/bin/python
# Copyright: PAPR Memory engineers
# Apache-2.0
"""Azure resource group: create, tag, or delete (refusing to delete a non-empty group unless told)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: resource_group
short_description: Create, tag or delete an Azure resource group
description:
  - Ensures an Azure resource group exists in a location with the given tags, or is absent.
  - Idempotent - a second run with the same options reports no change and sends no write request.
  - Check mode sends no write request at all; diff mode shows the location and tags before and after.
version_added: 0.1.0
author:
  - PAPR Memory engineers (@papr-memory)
options:
  name:
    description:
      - Name of the resource group (1-90 letters, digits, underscores, hyphens, periods, parentheses).
    type: str
    required: true
  location:
    description:
      - Azure region, for example V(westeurope) or V(West Europe) (compared without case and spaces).
      - Required to create the group. A group cannot move; a different location on an existing group fails.
    type: str
  state:
    description: Whether the group should exist.
  force_delete_nonempty:
    description:
      - With O(state=absent), delete the group even when it still contains resources (they are deleted too).
        Without it, deleting a non-empty group fails and lists what it contains.
    type: bool
    default: false
extends_documentation_fragment:
  - papr.memory.azure
  - papr.memory.azure.tags
  - papr.memory.azure.state
requirements:
  - azure-mgmt-resource >= 23
"""

EXAMPLES = r"""
- name: Resource group of the production deployment
  papr.memory.resource_group:
    name: papr-memory-prod
    location: westeurope
    tags:
      app: papr-memory
      env: prod

- name: Remove the dev environment, with everything in it
  papr.memory.resource_group:
    name: papr-memory-dev
    state: absent
    force_delete_nonempty: true
"""

RETURN = r"""
extends_documentation_fragment:
  - papr.memory.azure.result
resource_group:
  description: The group after the task (empty when absent).
  returned: always
  type: dict
  contains:
    id: {description: Resource id., type: str, sample: /subscriptions/0000/resourceGroups/papr-memory-prod}
    name: {description: Name., type: str, sample: papr-memory-prod}
    location: {description: Canonical location., type: str, sample: westeurope}
    tags: {description: Tags., type: dict, sample: {app: papr-memory}}
    provisioning_state: {description: ARM provisioning state., type: str, sample: Succeeded}
deleted_resources:
  description:
    - With O(state=absent), the resources the group held, as C(type/name) - deleted with it (in check mode,
      the ones that would be).
  returned: when O(state=absent)
  type: list
  elements: str
  sample: [Microsoft.Web/sites/papr-memory-dev-web]
"""

from ansible_collections.papr.memory.plugins.module_utils.azure_diff import (
    TAGS_ARGUMENT_SPEC,
    desired_tags,
    same_location,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_errors import AzureModuleError
from ansible_collections.papr.memory.plugins.module_utils.azure_module import STATE_ARGUMENT_SPEC
from ansible_collections.papr.memory.plugins.module_utils.azure_names import name_pattern, require_valid_name
from ansible_collections.papr.memory.plugins.module_utils.azure_runner import (
    Plan,
    Resource,
    Write,
    run_module,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_service import ResourceGroups

NAME_PATTERN = name_pattern("resource_group")
# How many resources a refusal to delete lists by name.
LISTED_RESOURCES = 10


def summarise(group):
    if not group:
        return {}
    return {
        "id": group.get("id"),
        "name": group.get("name"),
        "location": group.get("location"),
        "tags": group.get("tags") or {},
        "provisioning_state": (group.get("properties") or {}).get("provisioningState"),
    }


def comparable(group):
    return {"location": group["location"], "tags": group.get("tags") or {}} if group else {}


class ResourceGroup(Resource):
    kind = "resource group"
    result_key = "resource_group"

    def __init__(self, module):
        super().__init__(module)
        self.groups = ResourceGroups(module, self.params["name"])

    def validate(self):
        require_valid_name("resource_group", self.params["name"])

    def read(self):
        return self.groups.get_group()

    def read_related(self, current):
        """The resources still in the group: what a refused delete names, or what goes with it."""
        if current is None or self.params["state"] != "absent":
            return None
        return self.groups.list_resources()

    def plan(self, current, related):
        if self.params["state"] == "absent":
            return self.plan_absent(current, related)
        params = self.params
        if current is None and not params["location"]:
            raise AzureModuleError(f"{self.description} does not exist: give `location` to create it.")
        if (
            current is not None
            and params["location"]
            and not same_location(current["location"], params["location"])
        ):
            raise AzureModuleError(
                f"{self.description} is in {current['location']}, not {params['location']}: a resource group "
                "cannot move. Use the group's location, or another group name."
            )
        before = comparable(current)
        after = {
            "location": current["location"] if current else params["location"],
            "tags": desired_tags(params["tags"], params["purge_tags"], before.get("tags")),
        }
        writes = []
        if before != after:
            action = "update" if current else "create"
            changes = [key for key in after if before.get(key) != after[key]]
            writes.append(
                Write(action, self.description, lambda: self.groups.create_or_update(after), changes, "group")
            )
        return Plan(writes, before, after)

    def plan_absent(self, current, resources):
        if current is None:
            return Plan(result={"deleted_resources": []})
        if resources and not self.params["force_delete_nonempty"]:
            names = ", ".join(f"{r['type']}/{r['name']}" for r in resources[:LISTED_RESOURCES])
            more = (
                f" and {len(resources) - LISTED_RESOURCES} more" if len(resources) > LISTED_RESOURCES else ""
            )
            raise AzureModuleError(
                f"{self.description} still contains {len(resources)} resource(s) ({names}{more}): "
                "delete them first, or set force_delete_nonempty: true to delete the group with everything "
                "in it."
            )
        # What goes with the group (in check mode: what would go), so a teardown can say so.
        deleted = sorted(f"{r['type']}/{r['name']}" for r in resources or [])
        return Plan(
            [Write("delete", self.description, self.groups.delete)],
            comparable(current),
            {},
            result={"deleted_resources": deleted},
        )

    def summarise(self, current, related, plan, answers):
        if self.params["state"] == "absent":
            return {}
        if "group" in answers:
            return summarise(answers["group"])
        if plan.writes:  # check mode: what the group would be
            return {"name": self.params["name"], **plan.after}
        return summarise(current)


def main():
    run_module(
        ResourceGroup,
        dict(
            name=dict(type="str", required=True),
            location=dict(type="str"),
            **TAGS_ARGUMENT_SPEC,
            **STATE_ARGUMENT_SPEC,
            force_delete_nonempty=dict(type="bool", default=False),
        ),
    )


if __name__ == "__main__":
    main()
