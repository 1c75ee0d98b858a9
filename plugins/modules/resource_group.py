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
"""

from ansible_collections.papr.memory.plugins.module_utils.azure_client import rest_dict
from ansible_collections.papr.memory.plugins.module_utils.azure_diff import (
    TAGS_ARGUMENT_SPEC,
    desired_tags,
    same_location,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_errors import AzureModuleError
from ansible_collections.papr.memory.plugins.module_utils.azure_module import (
    STATE_ARGUMENT_SPEC,
    AzureModule,
    describe,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_names import name_pattern, require_valid_name

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


def ensure_present(module, groups, current, resource):
    params = module.params
    if current is None and not params["location"]:
        raise AzureModuleError(f"{resource} does not exist: give `location` to create it.")
    if (
        current is not None
        and params["location"]
        and not same_location(current["location"], params["location"])
    ):
        raise AzureModuleError(
            f"{resource} is in {current['location']}, not {params['location']}: a resource group cannot "
            "move. Use the group's location, or another group name."
        )
    current_tags = (current or {}).get("tags") or {}
    before = {"location": current["location"], "tags": current_tags} if current else {}
    after = {
        "location": current["location"] if current else params["location"],
        "tags": desired_tags(params["tags"], params["purge_tags"], current_tags),
    }
    changed = before != after
    result = {"changed": changed, "resource_group": summarise(current)}
    if module.diff_mode:
        result["diff"] = {"before": before, "after": after}
    if changed and not module.check_mode:
        body = {"location": after["location"], "tags": after["tags"]}
        group = module.call("create or update", resource, groups.create_or_update, params["name"], body)
        result["resource_group"] = summarise(rest_dict(group))
    elif changed:
        result["resource_group"] = {"name": params["name"], **after}
    return result


def refuse_nonempty(module, resource):
    resources = module.call(
        "list the resources of",
        resource,
        lambda: list(module.client("resource").resources.list_by_resource_group(module.params["name"])),
    )
    if resources:
        names = ", ".join(f"{r.type}/{r.name}" for r in resources[:LISTED_RESOURCES])
        more = f" and {len(resources) - LISTED_RESOURCES} more" if len(resources) > LISTED_RESOURCES else ""
        raise AzureModuleError(
            f"{resource} still contains {len(resources)} resource(s) ({names}{more}): delete them first, "
            "or set force_delete_nonempty: true to delete the group with everything in it."
        )


def ensure_absent(module, groups, current, resource):
    result = {"changed": current is not None, "resource_group": {}}
    if module.diff_mode:
        before = {"location": current["location"], "tags": current.get("tags") or {}} if current else {}
        result["diff"] = {"before": before, "after": {}}
    if current is None:
        return result
    if not module.params["force_delete_nonempty"]:
        refuse_nonempty(module, resource)
    if not module.check_mode:
        poller = module.call("delete", resource, groups.begin_delete, module.params["name"])
        module.wait(poller, "delete", resource)
    return result


def run(module):
    params = module.params
    require_valid_name("resource_group", params["name"])
    resource = describe("resource group", params["name"])
    groups = module.client("resource").resource_groups
    found = module.get_or_none(resource, groups.get, params["name"])
    current = rest_dict(found)
    if params["state"] == "absent":
        return ensure_absent(module, groups, current, resource)
    return ensure_present(module, groups, current, resource)


def main():
    module = AzureModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            location=dict(type="str"),
            **TAGS_ARGUMENT_SPEC,
            **STATE_ARGUMENT_SPEC,
            force_delete_nonempty=dict(type="bool", default=False),
        ),
    )
    module.run(run)


if __name__ == "__main__":
    main()
