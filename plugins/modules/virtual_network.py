#!/usr/bin/python
# Copyright: PAPR Memory engineers
# Apache-2.0
"""Azure virtual network with its subnets, their delegations and network security groups."""

from __future__ import annotations

DOCUMENTATION = r"""
module: virtual_network
short_description: Create or update an Azure virtual network with its subnets
description:
  - Ensures an Azure virtual network (C(Microsoft.Network/virtualNetworks)) has the given address space and
    exactly the given subnets, each with its address prefix, an optional delegation to one Azure service
    (for example C(Microsoft.Web/serverFarms)) and an optional network security group; or is absent.
  - The subnet list is authoritative, as Azure's own PUT is - a subnet not listed is deleted (Azure refuses
    while something uses it), a delegation or network security group changed out of band is restored.
  - Idempotent - a second run with the same options reports no change and sends no write request. Check mode
    sends no write request; the result lists the writes (C(operations)) it sent or would send.
version_added: 0.2.0
author:
  - PAPR Memory engineers (@papr-memory)
options:
  name:
    description: Name of the virtual network.
    type: str
    required: true
  resource_group:
    description: Resource group of the virtual network.
    type: str
    required: true
  location:
    description: Azure region. Default - the resource group's location.
    type: str
  address_prefixes:
    description: Address space of the network in CIDR notation, for example V(10.20.0.0/16).
    type: list
    elements: str
  subnets:
    description: Every subnet of the network.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name of the subnet.
        type: str
        required: true
      address_prefix:
        description: Address range of the subnet, inside O(address_prefixes).
        type: str
        required: true
      delegation:
        description:
          - The Azure service the subnet is delegated to, for example V(Microsoft.Web/serverFarms),
            V(Microsoft.ContainerInstance/containerGroups) or V(Microsoft.DBforPostgreSQL/flexibleServers).
            Omit for no delegation.
        type: str
      network_security_group:
        description: Name (in O(resource_group)) or id of the network security group on the subnet.
        type: str
  state:
    description: Whether the virtual network should exist.
extends_documentation_fragment:
  - papr.memory.azure
  - papr.memory.azure.tags
  - papr.memory.azure.state
requirements:
  - azure-mgmt-resource >= 23
"""

EXAMPLES = r"""
- name: One network for the deployment, a subnet per component
  papr.memory.virtual_network:
    name: papr-memory-prod-vnet
    resource_group: papr-memory-prod
    address_prefixes: [10.20.0.0/16]
    subnets:
      - name: apps
        address_prefix: 10.20.1.0/24
        delegation: Microsoft.Web/serverFarms
        network_security_group: papr-memory-prod-apps
      - name: temporal
        address_prefix: 10.20.2.0/24
        delegation: Microsoft.ContainerInstance/containerGroups
        network_security_group: papr-memory-prod-temporal
"""

RETURN = r"""
extends_documentation_fragment:
  - papr.memory.azure.result
virtual_network:
  description: The network after the task (empty when absent).
  returned: always
  type: dict
  contains:
    id: {description: Resource id., type: str}
    name: {description: Name., type: str}
    location: {description: Canonical location., type: str}
    address_prefixes: {description: Address space., type: list, elements: str}
    subnets:
      description:
        - Subnets by name, each with C(id), C(address_prefix), C(delegation), C(network_security_group).
      type: dict
      sample: {apps: {id: /subscriptions/0/.../subnets/apps, address_prefix: 10.20.1.0/24}}
"""

import ipaddress

from ansible_collections.papr.memory.plugins.module_utils.azure_diff import (
    TAGS_ARGUMENT_SPEC,
    desired_tags,
    normalise_location,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_errors import AzureModuleError
from ansible_collections.papr.memory.plugins.module_utils.azure_module import STATE_ARGUMENT_SPEC
from ansible_collections.papr.memory.plugins.module_utils.azure_network import (
    VirtualNetworks,
    address_range,
    resource_id,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_runner import (
    Plan,
    Resource,
    Write,
    run_module,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_service import location_for

NSG_TYPE = "Microsoft.Network/networkSecurityGroups"
VNET_TYPE = "Microsoft.Network/virtualNetworks"


def subnet_view(subnet):
    """What the module manages of a subnet, comparable between Azure's answer and the options."""
    props = subnet.get("properties") or {}
    delegations = sorted(
        (d.get("properties") or {}).get("serviceName", "") for d in props.get("delegations") or []
    )
    nsg = (props.get("networkSecurityGroup") or {}).get("id")
    return {
        "address_prefix": props.get("addressPrefix"),
        "delegation": delegations[0] if delegations else None,
        "network_security_group": nsg.lower() if nsg else None,
    }


def comparable(network):
    if not network:
        return {}
    props = network.get("properties") or {}
    return {
        "location": normalise_location(network.get("location")),
        "address_prefixes": sorted((props.get("addressSpace") or {}).get("addressPrefixes") or []),
        "subnets": {s["name"]: subnet_view(s) for s in props.get("subnets") or []},
        "tags": network.get("tags") or {},
    }


def summarise(network):
    if not network:
        return {}
    view = comparable(network)
    ids = {s["name"]: s.get("id") for s in (network.get("properties") or {}).get("subnets") or []}
    return {
        "id": network.get("id"),
        "name": network.get("name"),
        "location": view["location"],
        "address_prefixes": view["address_prefixes"],
        "subnets": {name: {"id": ids.get(name), **subnet} for name, subnet in view["subnets"].items()},
    }


def request_body(after):
    """The PUT body of a network from its desired view."""
    subnets = []
    for name, subnet in after["subnets"].items():
        props = {"addressPrefix": subnet["address_prefix"], "delegations": []}
        if subnet["delegation"]:
            props["delegations"] = [
                {"name": "delegation", "properties": {"serviceName": subnet["delegation"]}}
            ]
        if subnet["network_security_group"]:
            props["networkSecurityGroup"] = {"id": subnet["network_security_group"]}
        subnets.append({"name": name, "properties": props})
    return {
        "location": after["location"],
        "tags": after["tags"],
        "properties": {"addressSpace": {"addressPrefixes": after["address_prefixes"]}, "subnets": subnets},
    }


class VirtualNetwork(Resource):
    kind = "virtual network"
    result_key = "virtual_network"

    def __init__(self, module):
        super().__init__(module)
        self.networks = VirtualNetworks(module, self.params["resource_group"], self.params["name"])

    def validate(self):
        """Prefixes parse, subnets lie inside the address space and do not overlap: before any call."""
        if self.params["state"] == "absent":
            return
        if not self.params["address_prefixes"]:
            raise AzureModuleError(f"address_prefixes is required to create or update {self.description}.")
        spaces = [address_range(p, "address_prefixes") for p in self.params["address_prefixes"]]
        seen = {}
        for subnet in self.params["subnets"]:
            prefix = address_range(subnet["address_prefix"], f"subnets[{subnet['name']}].address_prefix")
            if not any(prefix.subnet_of(space) for space in spaces):
                raise AzureModuleError(
                    f"subnets[{subnet['name']}].address_prefix {prefix} is outside address_prefixes "
                    f"{', '.join(map(str, spaces))} of {self.description}."
                )
            for other, other_prefix in seen.items():
                if prefix.overlaps(other_prefix):
                    raise AzureModuleError(
                        f"subnets[{subnet['name']}].address_prefix {prefix} overlaps subnet '{other}' "
                        f"({other_prefix}) of {self.description}."
                    )
            if subnet["name"] in seen:
                raise AzureModuleError(f"subnets lists '{subnet['name']}' twice for {self.description}.")
            seen[subnet["name"]] = prefix

    def read(self):
        return self.networks.get_resource()

    def read_related(self, current):
        if self.params["state"] == "absent" or current is not None:
            return None
        return location_for(
            self.module, self.params["location"], self.params["resource_group"], self.description
        )

    def desired(self, current, location):
        params = self.params
        subnets = {}
        for subnet in params["subnets"]:
            nsg = subnet.get("network_security_group")
            subnets[subnet["name"]] = {
                "address_prefix": str(ipaddress.ip_network(subnet["address_prefix"])),
                "delegation": subnet.get("delegation") or None,
                "network_security_group": resource_id(
                    self.module.subscription_id, params["resource_group"], NSG_TYPE, nsg
                ).lower()
                if nsg
                else None,
            }
        before = comparable(current)
        return {
            "location": before.get("location") or normalise_location(location),
            "address_prefixes": sorted(str(ipaddress.ip_network(p)) for p in params["address_prefixes"]),
            "subnets": subnets,
            "tags": desired_tags(params["tags"], params["purge_tags"], before.get("tags") or {}),
        }

    def plan(self, current, related):
        if self.params["state"] == "absent":
            if current is None:
                return Plan()
            return Plan([Write("delete", self.description, self.networks.delete)], comparable(current), {})
        if (
            current is not None
            and self.params["location"]
            and normalise_location(self.params["location"]) != comparable(current)["location"]
        ):
            raise AzureModuleError(
                f"{self.description} is in {current['location']}, not {self.params['location']}: a virtual "
                "network cannot move."
            )
        before = comparable(current)
        after = self.desired(current, related)
        if before == after:
            return Plan([], before, after, desired=after)
        changes = [key for key in ("address_prefixes", "tags", "location") if before.get(key) != after[key]]
        old_subnets = before.get("subnets") or {}
        changes += [
            f"subnets.{name}"
            for name in sorted(set(old_subnets) | set(after["subnets"]))
            if old_subnets.get(name) != after["subnets"].get(name)
        ]
        body = request_body(after)
        write = Write(
            "update" if current else "create",
            self.description,
            lambda: self.networks.create_or_update(body),
            [] if current is None else changes,
            "network",
        )
        return Plan([write], before, after, desired=after)

    def summarise(self, current, related, plan, answers):
        if self.params["state"] == "absent":
            return {}
        if "network" in answers:
            return summarise(answers["network"])
        if plan.writes:  # check mode: what the network would be, ids included (other tasks predict with them)
            network_id = resource_id(
                self.module.subscription_id, self.params["resource_group"], VNET_TYPE, self.params["name"]
            )
            return {
                "id": network_id,
                "name": self.params["name"],
                "location": plan.after["location"],
                "address_prefixes": plan.after["address_prefixes"],
                "subnets": {
                    name: {"id": f"{network_id}/subnets/{name}", **subnet}
                    for name, subnet in plan.after["subnets"].items()
                },
            }
        return summarise(current)


def main():
    run_module(
        VirtualNetwork,
        dict(
            name=dict(type="str", required=True),
            resource_group=dict(type="str", required=True),
            location=dict(type="str"),
            address_prefixes=dict(type="list", elements="str"),
            subnets=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    name=dict(type="str", required=True),
                    address_prefix=dict(type="str", required=True),
                    delegation=dict(type="str"),
                    network_security_group=dict(type="str"),
                ),
            ),
            **TAGS_ARGUMENT_SPEC,
            **STATE_ARGUMENT_SPEC,
        ),
    )


if __name__ == "__main__":
    main()
