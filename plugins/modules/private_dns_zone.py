#!/usr/bin/python
# Copyright: PAPR Memory engineers
# Apache-2.0
"""Azure private DNS zone with its virtual network links and A records."""

from __future__ import annotations

DOCUMENTATION = r"""
module: private_dns_zone
short_description: Create or update an Azure private DNS zone, its VNet links and A records
description:
  - Ensures an Azure private DNS zone (C(Microsoft.Network/privateDnsZones), location C(global)) exists with
    exactly the given virtual network links and A record sets, or is absent (its links first).
  - Links and A records, when given, are authoritative - one not listed is deleted, one changed out of band
    is restored.
    Records Azure manages itself (SOA, auto-registered records) are left alone.
  - Idempotent - a second run with the same options reports no change and sends no write request. Check mode
    sends no write request; the result lists the writes (C(operations)) it sent or would send.
version_added: 0.2.0
author:
  - PAPR Memory engineers (@papr-memory)
options:
  name:
    description: The zone's domain name, for example V(privatelink.postgres.database.azure.com).
    type: str
    required: true
  resource_group:
    description: Resource group of the zone.
    type: str
    required: true
  links:
    description:
      - Every virtual network link of the zone; machines in a linked network resolve its names.
      - Not given - the links are left alone.
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the link.
        type: str
        required: true
      virtual_network:
        description: Name (in O(resource_group)) or id of the virtual network.
        type: str
        required: true
      registration_enabled:
        description: Whether machines of the network register their own names in the zone.
        type: bool
        default: false
  a_records:
    description:
      - Every A record set of the zone.
      - Not given - the A records are left alone (another task may own them).
    type: list
    elements: dict
    suboptions:
      name:
        description: Name relative to the zone (V(temporal) for C(temporal.<zone>)), or V(@) for the apex.
        type: str
        required: true
      addresses:
        description: IPv4 addresses the name resolves to.
        type: list
        elements: str
        required: true
      ttl:
        description: Time to live in seconds.
        type: int
        default: 300
  state:
    description: Whether the zone should exist.
extends_documentation_fragment:
  - papr.memory.azure
  - papr.memory.azure.tags
  - papr.memory.azure.state
requirements:
  - azure-mgmt-privatedns >= 1
"""

EXAMPLES = r"""
- name: Temporal's private address, resolvable inside the deployment's network
  papr.memory.private_dns_zone:
    name: papr-memory-prod.internal
    resource_group: papr-memory-prod
    links:
      - name: papr-memory-prod-vnet
        virtual_network: papr-memory-prod-vnet
    a_records:
      - name: temporal
        addresses: [10.20.2.4]
"""

RETURN = r"""
extends_documentation_fragment:
  - papr.memory.azure.result
private_dns_zone:
  description: The zone after the task (empty when absent).
  returned: always
  type: dict
  contains:
    id: {description: Resource id., type: str}
    name: {description: The zone's domain name., type: str}
    links: {description: "Links by name: C(virtual_network) and C(registration_enabled).", type: dict}
    a_records: {description: "A record sets by name, each with C(addresses), C(ttl) and C(fqdn).", type: dict}
"""

import ipaddress

from ansible_collections.papr.memory.plugins.module_utils.azure_diff import TAGS_ARGUMENT_SPEC, desired_tags
from ansible_collections.papr.memory.plugins.module_utils.azure_errors import AzureModuleError
from ansible_collections.papr.memory.plugins.module_utils.azure_module import STATE_ARGUMENT_SPEC
from ansible_collections.papr.memory.plugins.module_utils.azure_network import (
    PrivateDnsZones,
    last_segment,
    resource_id,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_runner import (
    Plan,
    Resource,
    Write,
    run_module,
)

VNET_TYPE = "Microsoft.Network/virtualNetworks"
ZONE_TYPE = "Microsoft.Network/privateDnsZones"


def link_view(link):
    props = link.get("properties") or {}
    return {
        "virtual_network": ((props.get("virtualNetwork") or {}).get("id") or "").lower(),
        "registration_enabled": bool(props.get("registrationEnabled")),
    }


def record_view(record):
    props = record.get("properties") or {}
    return {
        "addresses": sorted(a.get("ipv4Address") for a in props.get("aRecords") or []),
        "ttl": props.get("ttl"),
    }


def is_managed_a_record(record):
    """A records the module owns: not the ones Azure registered for machines on its own."""
    return last_segment(record.get("type")) == "A" and not (record.get("properties") or {}).get(
        "isAutoRegistered"
    )


class PrivateDnsZone(Resource):
    kind = "private DNS zone"
    result_key = "private_dns_zone"

    def __init__(self, module):
        super().__init__(module)
        self.zones = PrivateDnsZones(module, self.params["resource_group"], self.params["name"])

    def validate(self):
        for option, key in (("links", "name"), ("a_records", "name")):
            names = [item[key] for item in self.params[option] or []]
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise AzureModuleError(
                    f"{option} lists {', '.join(twice)} more than once for {self.description}."
                )
        for record in self.params["a_records"] or []:
            if not record["addresses"]:
                raise AzureModuleError(f"a_records[{record['name']}].addresses must not be empty.")
            for address in record["addresses"]:
                try:
                    ipaddress.IPv4Address(address)
                except ValueError as exc:
                    raise AzureModuleError(
                        f"a_records[{record['name']}].addresses: {address!r} is not an IPv4 address."
                    ) from exc

    def read(self):
        zone = self.zones.get_zone()
        if zone is None:
            return None
        return {
            "zone": zone,
            "links": {link["name"]: link for link in self.zones.list_links()},
            "a_records": {r["name"]: r for r in self.zones.list_records() if is_managed_a_record(r)},
        }

    def target(self, what, name):
        return f"{what} '{name}' of {self.description}"

    def plan(self, current, related):
        params = self.params
        if params["state"] == "absent":
            if current is None:
                return Plan()
            writes = [
                Write("delete", self.target("link", name), lambda n=name: self.zones.delete_link(n))
                for name in current["links"]
            ]
            writes.append(Write("delete", self.description, self.zones.delete))
            return Plan(writes, self.view(current), {})
        before = self.view(current)
        after = self.desired(before)
        writes = []
        if current is None or before["tags"] != after["tags"]:
            body = {"location": "global", "tags": after["tags"]}
            writes.append(
                Write(
                    "update" if current else "create",
                    self.description,
                    lambda: self.zones.create_or_update(body),
                    ["tags"] if current else [],
                    "zone",
                )
            )
        writes += self.child_writes(
            "link", before.get("links", {}), after["links"], self.link_body, self.zones.write_link,
            self.zones.delete_link,
        )  # fmt: skip
        writes += self.child_writes(
            "A record",
            before.get("a_records", {}),
            after["a_records"],
            self.record_body,
            lambda name, body: self.zones.write_record("A", name, body),
            lambda name: self.zones.delete_record("A", name),
        )
        return Plan(writes, before, after)

    def child_writes(self, what, before, after, body_of, write, delete):
        """Create or update every child that differs, then delete the ones not wanted."""
        writes = []
        for name, view in after.items():
            if before.get(name) != view:
                changes = (
                    sorted(k for k in view if (before.get(name) or {}).get(k) != view[k])
                    if name in before
                    else []
                )
                body = body_of(view)
                writes.append(
                    Write(
                        "update" if name in before else "create",
                        self.target(what, name),
                        lambda n=name, b=body: write(n, b),
                        changes,
                        f"{what}:{name}",
                    )
                )
        for name in before:
            if name not in after:
                writes.append(
                    Write("delete", self.target(what, name), lambda n=name: delete(n), key=f"-{what}:{name}")
                )
        return writes

    @staticmethod
    def link_body(view):
        return {
            "location": "global",
            "properties": {
                "virtualNetwork": {"id": view["virtual_network"]},
                "registrationEnabled": view["registration_enabled"],
            },
        }

    @staticmethod
    def record_body(view):
        return {
            "properties": {"ttl": view["ttl"], "aRecords": [{"ipv4Address": a} for a in view["addresses"]]}
        }

    def view(self, current):
        if current is None:
            return {}
        return {
            "tags": current["zone"].get("tags") or {},
            "links": {name: link_view(link) for name, link in current["links"].items()},
            "a_records": {name: record_view(record) for name, record in current["a_records"].items()},
        }

    def desired(self, before):
        """The wanted view; a child list not given keeps what Azure has."""
        params = self.params
        links, records = before.get("links", {}), before.get("a_records", {})
        if params["links"] is not None:
            links = {
                link["name"]: {
                    "virtual_network": resource_id(
                        self.module.subscription_id,
                        params["resource_group"],
                        VNET_TYPE,
                        link["virtual_network"],
                    ).lower(),
                    "registration_enabled": link["registration_enabled"],
                }
                for link in params["links"]
            }
        if params["a_records"] is not None:
            records = {
                record["name"]: {"addresses": sorted(record["addresses"]), "ttl": record["ttl"]}
                for record in params["a_records"]
            }
        return {
            "tags": desired_tags(params["tags"], params["purge_tags"], before.get("tags") or {}),
            "links": links,
            "a_records": records,
        }

    def summarise(self, current, related, plan, answers):
        if self.params["state"] == "absent":
            return {}
        zone = answers.get("zone") or (current or {}).get("zone") or {}
        records = plan.after["a_records"]
        zone_name = self.params["name"]
        return {
            # before a zone exists (check mode) its id is still known: other tasks' predictions need it
            "id": zone.get("id")
            or resource_id(self.module.subscription_id, self.params["resource_group"], ZONE_TYPE, zone_name),
            "name": zone_name,
            "links": plan.after["links"],
            "a_records": {
                name: {**view, "fqdn": f"{zone_name}." if name == "@" else f"{name}.{zone_name}."}
                for name, view in records.items()
            },
        }


def main():
    run_module(
        PrivateDnsZone,
        dict(
            name=dict(type="str", required=True),
            resource_group=dict(type="str", required=True),
            links=dict(
                type="list",
                elements="dict",
                options=dict(
                    name=dict(type="str", required=True),
                    virtual_network=dict(type="str", required=True),
                    registration_enabled=dict(type="bool", default=False),
                ),
            ),
            a_records=dict(
                type="list",
                elements="dict",
                options=dict(
                    name=dict(type="str", required=True),
                    addresses=dict(type="list", elements="str", required=True),
                    ttl=dict(type="int", default=300),
                ),
            ),
            **TAGS_ARGUMENT_SPEC,
            **STATE_ARGUMENT_SPEC,
        ),
    )


if __name__ == "__main__":
    main()
