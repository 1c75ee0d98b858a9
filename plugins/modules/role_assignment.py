#!/usr/bin/python
# Copyright: PAPR Memory engineers
# Apache-2.0
"""Azure role assignment, identified by principal, role and scope (never by its random name)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: role_assignment
short_description: Grant or revoke an Azure role for a principal at a scope
description:
  - Ensures a principal (a managed identity, service principal, user or group) holds an Azure role (for
    example V(AcrPull)) at a scope (a subscription, resource group or resource id), or does not.
  - The assignment is found by principal, role and scope, as Azure keeps them unique; its name (a GUID) is
    made up on creation. A second run finds the existing assignment and sends nothing.
  - Check mode sends no write request; the result lists the writes (C(operations)) it sent or would send.
version_added: 0.2.0
author:
  - PAPR Memory engineers (@papr-memory)
options:
  scope:
    description: Id of the subscription, resource group or resource the role applies to.
    type: str
    required: true
  role:
    description: Built-in or custom role name (V(AcrPull)), or the role definition's GUID or id.
    type: str
    required: true
  principal_id:
    description: Object id of the principal, for example a web app's system-assigned identity.
    type: str
    required: true
  principal_type:
    description: Kind of principal (Azure assigns without waiting for directory replication when it is given).
    type: str
    choices: [ServicePrincipal, User, Group]
    default: ServicePrincipal
  state:
    description: Whether the principal should hold the role at the scope.
extends_documentation_fragment:
  - papr.memory.azure
  - papr.memory.azure.state
requirements:
  - azure-mgmt-authorization >= 4
"""

EXAMPLES = r"""
- name: The web app pulls its image from the registry with its own identity
  papr.memory.role_assignment:
    scope: /subscriptions/0000/resourceGroups/shared/providers/Microsoft.ContainerRegistry/registries/papr
    role: AcrPull
    principal_id: "{{ web_site.app_service_container.identity.principal_id }}"
"""

RETURN = r"""
extends_documentation_fragment:
  - papr.memory.azure.result
role_assignment:
  description: The assignment after the task (empty when absent).
  returned: always
  type: dict
  contains:
    id: {description: Resource id of the assignment., type: str}
    name: {description: The assignment's GUID., type: str}
    role_definition_id: {description: Id of the role., type: str}
    principal_id: {description: The principal., type: str}
    scope: {description: The scope., type: str}
"""

import uuid

from ansible_collections.papr.memory.plugins.module_utils.azure_errors import AzureModuleError
from ansible_collections.papr.memory.plugins.module_utils.azure_module import STATE_ARGUMENT_SPEC
from ansible_collections.papr.memory.plugins.module_utils.azure_network import (
    GUID,
    RoleAssignments,
    last_segment,
    same_id,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_runner import (
    Plan,
    Resource,
    Write,
    run_module,
)


def summarise(assignment):
    if not assignment:
        return {}
    props = assignment.get("properties") or {}
    return {
        "id": assignment.get("id"),
        "name": assignment.get("name"),
        "role_definition_id": props.get("roleDefinitionId"),
        "principal_id": props.get("principalId"),
        "scope": props.get("scope"),
    }


class RoleAssignment(Resource):
    kind = "role assignment"
    result_key = "role_assignment"

    def __init__(self, module):
        super().__init__(module)
        self.assignments = RoleAssignments(module, self.params["scope"].rstrip("/"), self.description)

    @property
    def description(self):
        params = self.params
        return f"role {params['role']} for principal {params['principal_id']} at {params['scope']}"

    def validate(self):
        if not self.params["scope"].startswith("/subscriptions/"):
            raise AzureModuleError(
                f"scope must be an id starting with /subscriptions/, got {self.params['scope']!r}."
            )
        if not GUID.match(self.params["principal_id"]):
            raise AzureModuleError(
                "principal_id must be the principal's object id (a GUID), got "
                f"{self.params['principal_id']!r}."
            )

    def role_guid(self):
        """The role definition's GUID: given, or looked up by name at the scope (a read)."""
        role = self.params["role"]
        if GUID.match(last_segment(role)):
            return last_segment(role).lower()
        found = self.assignments.role_definitions_named(role)
        if len(found) != 1:
            raise AzureModuleError(
                f"role {role!r} matches {len(found)} role definitions at {self.params['scope']}: give an "
                "existing role name, or the role definition's id."
            )
        return last_segment(found[0]["id"]).lower()

    def read(self):
        guid = self.role_guid()
        self.guid = guid
        for assignment in self.assignments.list_for_principal(self.params["principal_id"]):
            props = assignment.get("properties") or {}
            if (
                same_id(props.get("scope"), self.params["scope"])
                and last_segment(props.get("roleDefinitionId")).lower() == guid
            ):
                return assignment
        return None

    def plan(self, current, related):
        if self.params["state"] == "absent":
            if current is None:
                return Plan()
            return Plan(
                [Write("delete", self.description, lambda: self.assignments.delete(current["name"]))],
                summarise(current),
                {},
            )
        if current is not None:
            return Plan([], summarise(current), summarise(current))
        role_definition_id = (
            f"/subscriptions/{self.module.subscription_id}/providers/Microsoft.Authorization/roleDefinitions/"
            f"{self.guid}"
        )
        body = {
            "properties": {
                "roleDefinitionId": role_definition_id,
                "principalId": self.params["principal_id"],
                "principalType": self.params["principal_type"],
            }
        }
        name = str(uuid.uuid4())
        after = {"role_definition_id": role_definition_id, "principal_id": self.params["principal_id"],
                 "scope": self.params["scope"]}  # fmt: skip
        return Plan(
            [
                Write(
                    "create", self.description, lambda: self.assignments.create(name, body), key="assignment"
                )
            ],
            {},
            after,
        )

    def summarise(self, current, related, plan, answers):
        if self.params["state"] == "absent":
            return {}
        if "assignment" in answers:
            return summarise(answers["assignment"])
        if plan.writes:
            return plan.after
        return summarise(current)


def main():
    run_module(
        RoleAssignment,
        dict(
            scope=dict(type="str", required=True),
            role=dict(type="str", required=True),
            principal_id=dict(type="str", required=True),
            principal_type=dict(
                type="str", choices=["ServicePrincipal", "User", "Group"], default="ServicePrincipal"
            ),
            **STATE_ARGUMENT_SPEC,
        ),
    )


if __name__ == "__main__":
    main()
