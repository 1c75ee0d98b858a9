#!/usr/bin/python
# Copyright: PAPR Memory engineers
# Apache-2.0
"""Azure network security group with exactly the given security rules."""

from __future__ import annotations

DOCUMENTATION = r"""
module: network_security_group
short_description: Create or update an Azure network security group and its rules
description:
  - Ensures an Azure network security group (C(Microsoft.Network/networkSecurityGroups)) has exactly the given
    security rules, or is absent. A rule added or changed out of band is removed or restored.
  - Azure's default rules (allow within the virtual network, allow the Azure load balancer, deny the rest)
    always follow the given ones; a rule with O(rules[].access=Deny) and a low priority closes a flow the
    defaults would allow.
  - Idempotent - a second run with the same options reports no change and sends no write request. Check mode
    sends no write request; the result lists the writes (C(operations)) it sent or would send.
version_added: 0.2.0
author:
  - PAPR Memory engineers (@papr-memory)
options:
  name:
    description: Name of the network security group.
    type: str
    required: true
  resource_group:
    description: Resource group of the network security group.
    type: str
    required: true
  location:
    description: Azure region. Default - the resource group's location.
    type: str
  rules:
    description: Every security rule of the group.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name of the rule.
        type: str
        required: true
      priority:
        description: Priority, 100 (first) to 4096; unique per direction.
        type: int
        required: true
      direction:
        description: Whether the rule applies to traffic into or out of the subnets.
        type: str
        choices: [Inbound, Outbound]
        default: Inbound
      access:
        description: Whether matching traffic is allowed or denied.
        type: str
        choices: [Allow, Deny]
        default: Allow
      protocol:
        description: Protocol the rule matches.
        type: str
        choices: [Tcp, Udp, Icmp, '*']
        default: Tcp
      source_address_prefixes:
        description: Source CIDRs or service tags (V(VirtualNetwork), V(Internet), V(*)).
        type: list
        elements: str
        default: ['*']
      destination_address_prefixes:
        description: Destination CIDRs or service tags.
        type: list
        elements: str
        default: ['*']
      destination_ports:
        description: Destination ports or ranges (V(5432), V(7233-7235), V(*)).
        type: list
        elements: str
        default: ['*']
      description:
        description: Why the rule exists.
        type: str
  state:
    description: Whether the network security group should exist.
extends_documentation_fragment:
  - papr.memory.azure
  - papr.memory.azure.tags
  - papr.memory.azure.state
requirements:
  - azure-mgmt-resource >= 23
"""

EXAMPLES = r"""
- name: PostgreSQL's subnet accepts 5432 from the apps and Temporal only
  papr.memory.network_security_group:
    name: papr-memory-prod-postgres
    resource_group: papr-memory-prod
    rules:
      - name: apps-and-temporal-to-postgres
        priority: 100
        source_address_prefixes: [10.20.1.0/24, 10.20.2.0/24]
        destination_address_prefixes: [10.20.3.0/24]
        destination_ports: ['5432']
      - name: deny-other-inbound
        priority: 4096
        access: Deny
        protocol: '*'
"""

RETURN = r"""
extends_documentation_fragment:
  - papr.memory.azure.result
network_security_group:
  description: The group after the task (empty when absent).
  returned: always
  type: dict
  contains:
    id: {description: Resource id., type: str}
    name: {description: Name., type: str}
    location: {description: Canonical location., type: str}
    rules: {description: "The security rules by name, as compared.", type: dict}
"""

from ansible_collections.papr.memory.plugins.module_utils.azure_diff import (
    TAGS_ARGUMENT_SPEC,
    desired_tags,
    normalise_location,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_errors import AzureModuleError
from ansible_collections.papr.memory.plugins.module_utils.azure_module import STATE_ARGUMENT_SPEC
from ansible_collections.papr.memory.plugins.module_utils.azure_network import NetworkSecurityGroups
from ansible_collections.papr.memory.plugins.module_utils.azure_runner import (
    Plan,
    Resource,
    Write,
    run_module,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_service import location_for

# A rule's single-value field and its list field: Azure answers one or the other.
PAIRS = (
    ("source_address_prefixes", "sourceAddressPrefix", "sourceAddressPrefixes"),
    ("destination_address_prefixes", "destinationAddressPrefix", "destinationAddressPrefixes"),
    ("source_ports", "sourcePortRange", "sourcePortRanges"),
    ("destination_ports", "destinationPortRange", "destinationPortRanges"),
)


def rule_view(rule):
    """A rule as Azure answers it, reduced to what the module compares (single and list fields joined)."""
    props = rule.get("properties") or {}
    view = {
        "priority": props.get("priority"),
        "direction": props.get("direction"),
        "access": props.get("access"),
        "protocol": props.get("protocol"),
        "description": props.get("description") or None,
    }
    for option, single, plural in PAIRS:
        values = list(props.get(plural) or [])
        if props.get(single):
            values.append(props[single])
        view[option] = sorted(values)
    return view


def comparable(group):
    if not group:
        return {}
    props = group.get("properties") or {}
    return {
        "location": normalise_location(group.get("location")),
        "rules": {r["name"]: rule_view(r) for r in props.get("securityRules") or []},
        "tags": group.get("tags") or {},
    }


def rule_body(view):
    props = {k: view[k] for k in ("priority", "direction", "access", "protocol")}
    if view["description"]:
        props["description"] = view["description"]
    for option, single, plural in PAIRS:
        values = view[option]
        if len(values) == 1:
            props[single] = values[0]
        else:
            props[plural] = values
    return props


def summarise(group):
    if not group:
        return {}
    view = comparable(group)
    return {
        "id": group.get("id"),
        "name": group.get("name"),
        "location": view["location"],
        "rules": view["rules"],
    }


class NetworkSecurityGroup(Resource):
    kind = "network security group"
    result_key = "network_security_group"

    def __init__(self, module):
        super().__init__(module)
        self.groups = NetworkSecurityGroups(module, self.params["resource_group"], self.params["name"])

    def validate(self):
        seen, priorities = set(), {}
        for rule in self.params["rules"]:
            name = rule["name"]
            if name in seen:
                raise AzureModuleError(f"rules lists '{name}' twice for {self.description}.")
            seen.add(name)
            if not 100 <= rule["priority"] <= 4096:
                raise AzureModuleError(f"rules[{name}].priority must be 100-4096, got {rule['priority']}.")
            key = (rule["direction"], rule["priority"])
            if key in priorities:
                raise AzureModuleError(
                    f"rules[{name}] and rules[{priorities[key]}] share priority {rule['priority']} "
                    f"({rule['direction']}): priorities must be unique per direction."
                )
            priorities[key] = name
            for option in ("source_address_prefixes", "destination_address_prefixes", "destination_ports"):
                if not rule[option]:
                    raise AzureModuleError(f"rules[{name}].{option} must not be empty (use ['*'] for any).")

    def read(self):
        return self.groups.get_resource()

    def read_related(self, current):
        if self.params["state"] == "absent" or current is not None:
            return None
        return location_for(
            self.module, self.params["location"], self.params["resource_group"], self.description
        )

    def desired(self, current, location):
        before = comparable(current)
        rules = {
            rule["name"]: {
                "priority": rule["priority"],
                "direction": rule["direction"],
                "access": rule["access"],
                "protocol": rule["protocol"],
                "description": rule.get("description") or None,
                "source_address_prefixes": sorted(rule["source_address_prefixes"]),
                "destination_address_prefixes": sorted(rule["destination_address_prefixes"]),
                "source_ports": ["*"],
                "destination_ports": sorted(rule["destination_ports"]),
            }
            for rule in self.params["rules"]
        }
        return {
            "location": before.get("location") or normalise_location(location),
            "rules": rules,
            "tags": desired_tags(self.params["tags"], self.params["purge_tags"], before.get("tags") or {}),
        }

    def plan(self, current, related):
        if self.params["state"] == "absent":
            if current is None:
                return Plan()
            return Plan([Write("delete", self.description, self.groups.delete)], comparable(current), {})
        before = comparable(current)
        after = self.desired(current, related)
        if before == after:
            return Plan([], before, after)
        old_rules = before.get("rules") or {}
        changes = [key for key in ("tags",) if current and before.get(key) != after[key]]
        changes += [
            f"rules.{name}"
            for name in sorted(set(old_rules) | set(after["rules"]))
            if current and old_rules.get(name) != after["rules"].get(name)
        ]
        body = {
            "location": after["location"],
            "tags": after["tags"],
            "properties": {
                "securityRules": [
                    {"name": name, "properties": rule_body(view)} for name, view in after["rules"].items()
                ]
            },
        }
        write = Write(
            "update" if current else "create",
            self.description,
            lambda: self.groups.create_or_update(body),
            changes,
            "group",
        )
        return Plan([write], before, after)

    def summarise(self, current, related, plan, answers):
        if self.params["state"] == "absent":
            return {}
        if "group" in answers:
            return summarise(answers["group"])
        if plan.writes:
            return {
                "name": self.params["name"],
                "location": plan.after["location"],
                "rules": plan.after["rules"],
            }
        return summarise(current)


def main():
    run_module(
        NetworkSecurityGroup,
        dict(
            name=dict(type="str", required=True),
            resource_group=dict(type="str", required=True),
            location=dict(type="str"),
            rules=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    name=dict(type="str", required=True),
                    priority=dict(type="int", required=True),
                    direction=dict(type="str", choices=["Inbound", "Outbound"], default="Inbound"),
                    access=dict(type="str", choices=["Allow", "Deny"], default="Allow"),
                    protocol=dict(type="str", choices=["Tcp", "Udp", "Icmp", "*"], default="Tcp"),
                    source_address_prefixes=dict(type="list", elements="str", default=["*"]),
                    destination_address_prefixes=dict(type="list", elements="str", default=["*"]),
                    destination_ports=dict(type="list", elements="str", default=["*"]),
                    description=dict(type="str"),
                ),
            ),
            **TAGS_ARGUMENT_SPEC,
            **STATE_ARGUMENT_SPEC,
        ),
    )


if __name__ == "__main__":
    main()
