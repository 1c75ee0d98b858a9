# Copyright: PAPR Memory engineers
# Apache-2.0
"""Azure I/O of the network modules: virtual networks, network security groups, private DNS zones and
role assignments, as services on AzureService (the only code here that calls the SDK), plus the id
helpers their desired-state code shares."""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.papr.memory.plugins.module_utils.azure_arm_resource import ArmResource
from ansible_collections.papr.memory.plugins.module_utils.azure_errors import AzureModuleError
from ansible_collections.papr.memory.plugins.module_utils.azure_service import AzureService

# A GA api-version of Microsoft.Network's virtual networks and security groups (recorded answers
# of the double are of 2019-08-01 and 2024-03-01).
NETWORK_API_VERSION = "2024-03-01"
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)


def address_range(value, option):
    """`value` of option `option` as an ip_network; a host address or no CIDR range fails naming it."""
    try:
        return ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise AzureModuleError(
            f"{option}: {value!r} is not an address range in CIDR notation ({exc})."
        ) from exc


def resource_id(subscription_id, resource_group, provider_type, name):
    """`name` as an ARM id in the resource group, unless it is already an id (starts with /)."""
    if name.startswith("/"):
        return name
    return (
        f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}/providers/{provider_type}/{name}"
    )


def subnet_id(subscription_id, resource_group, subnet):
    """A subnet given as an ARM id or as `<virtual network>/<subnet>` in the resource group, as an id
    ('' stays '': no subnet)."""
    if not subnet or subnet.startswith("/"):
        return subnet
    vnet, _slash, name = subnet.partition("/")
    if not vnet or not name or "/" in name:
        raise AzureModuleError(f"subnet {subnet!r} is neither a subnet id nor <virtual network>/<subnet>.")
    return resource_id(
        subscription_id, resource_group, "Microsoft.Network/virtualNetworks", f"{vnet}/subnets/{name}"
    )


def same_id(a, b):
    """ARM ids compare without case and trailing slash."""
    return (a or "").rstrip("/").lower() == (b or "").rstrip("/").lower()


def last_segment(resource_id_value):
    return (resource_id_value or "").rstrip("/").rsplit("/", 1)[-1]


class NetworkResources(ArmResource):
    """A Microsoft.Network resource in a resource group: get, create or update, delete (long-running).

    Through ARM's generic API by id, not azure-mgmt-network's typed client: the bodies here are
    REST dicts already, and importing that client cost about 0.4 s of every network task."""

    kind = "network resource"  # how messages name it
    resource_type = None  # 'Microsoft.Network/virtualNetworks'

    def __init__(self, module, resource_group, name):
        description = f"{self.kind} '{name}' in resource group '{resource_group}'"
        super().__init__(module, None, NETWORK_API_VERSION, description, resource_group, name)

    @property
    def id(self):
        # Built on first use: the subscription is only resolved with the first Azure call.
        return resource_id(self.module.subscription_id, self.resource_group, self.resource_type, self.name)

    def get_resource(self):
        return self.read()

    def create_or_update(self, body):
        return self.write(body)


class VirtualNetworks(NetworkResources):
    kind = "virtual network"
    resource_type = "Microsoft.Network/virtualNetworks"


class NetworkSecurityGroups(NetworkResources):
    kind = "network security group"
    resource_type = "Microsoft.Network/networkSecurityGroups"


class PrivateDnsZones(AzureService):
    client_kind = "privatedns"

    def __init__(self, module, resource_group, zone):
        super().__init__(
            module, f"private DNS zone '{zone}' in resource group '{resource_group}'", resource_group, zone
        )

    def get_zone(self):
        return self.get(self.client.private_zones.get, self.resource_group, self.name)

    def create_or_update(self, body):
        operation = self.client.private_zones.begin_create_or_update
        return self.write("create or update", operation, self.resource_group, self.name, body)

    def delete(self):
        return self.write("delete", self.client.private_zones.begin_delete, self.resource_group, self.name)

    def list_links(self):
        return self.read_list(
            "list the virtual network links of", self.client.virtual_network_links.list, self.resource_group,
            self.name,
        )  # fmt: skip

    def write_link(self, name, body):
        return self.write(
            f"create or update link '{name}' of",
            self.client.virtual_network_links.begin_create_or_update,
            self.resource_group,
            self.name,
            name,
            body,
        )

    def delete_link(self, name):
        return self.write(
            f"delete link '{name}' of",
            self.client.virtual_network_links.begin_delete,
            self.resource_group,
            self.name,
            name,
        )

    def list_records(self):
        return self.read_list(
            "list the record sets of", self.client.record_sets.list, self.resource_group, self.name
        )

    def write_record(self, record_type, name, body):
        return self.write(
            f"create or update record set {record_type} '{name}' of",  # noqa: S608 - not SQL
            self.client.record_sets.create_or_update,
            self.resource_group,
            self.name,
            record_type,
            name,
            body,
        )

    def delete_record(self, record_type, name):
        return self.write(
            f"delete record set {record_type} '{name}' of",
            self.client.record_sets.delete,
            self.resource_group,
            self.name,
            record_type,
            name,
        )


class RoleAssignments(AzureService):
    client_kind = "authorization"

    def __init__(self, module, scope, description):
        super().__init__(module, description)
        self.scope = scope

    def list_for_principal(self, principal_id):
        return self.read_list(
            "list the role assignments of",
            lambda: self.client.role_assignments.list_for_scope(
                self.scope, filter=f"principalId eq '{principal_id}'"
            ),
        )

    def role_definitions_named(self, role_name):
        return self.read_list(
            f"look up role '{role_name}' for",
            lambda: self.client.role_definitions.list(self.scope, filter=f"roleName eq '{role_name}'"),
        )

    def create(self, name, body):
        return self.write("create", self.client.role_assignments.create, self.scope, name, body)

    def delete(self, name):
        return self.write("delete", self.client.role_assignments.delete, self.scope, name)
