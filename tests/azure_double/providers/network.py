"""Microsoft.Network virtualNetworks (with subnets and delegations) and networkSecurityGroups (with rules).

Recorded (2019-08-01, tests/azure_double_tests/recordings/network_vnet_subnet_delegation.yaml): a VNet PUT
answers 201 on create, 200 on update, both with Azure-AsyncOperation
(.../providers/Microsoft.Network/locations/<loc>/operations/<id>) and provisioningState "Updating" in the
body (subnets "Updating", delegations "Succeeded"); the status reads {"status": "Succeeded"}; GET shows
etag W/"<uuid>" (new on each write), resourceGuid, dhcpOptions.dnsServers [], subnets, peerings, and
a delegation gains the service's actions. A VNet PUT is authoritative for its subnets: a subnet left out
is deleted (refused while something uses it). NSGs and their rules answer in the same operation style and
show Azure's six default rules (recorded, 2022-01-01, network_nsg_and_rules.yaml); VNet, NSG and security
rule deletes answer 202 with Azure-AsyncOperation and Location (a subnet delete stays synchronous here:
no recording shows one). Error codes marked *unverified* were not seen in a recording.

Other providers call `require_subnet` so that a site's VNet integration, a container group's subnetIds and
a PostgreSQL server's delegated subnet need a subnet delegated to their service, as Azure does.
"""

from __future__ import annotations

import copy
import ipaddress
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..arm import (
    check_tags,
    collection_pattern,
    list_body,
    not_found,
    provider_pattern,
    require_enum,
    require_location,
    resource_id,
    route_resource_type,
)
from ..http import DoubleError, Request, Response, arm_error
from ..lro import Operation, operation_headers
from .resources import in_scope, require_group

if TYPE_CHECKING:
    from ..server import AzureDouble

NS = "Microsoft.Network"
VNET_TYPE = f"{NS}/virtualNetworks"
SUBNET_TYPE = f"{VNET_TYPE}/subnets"
NSG_TYPE = f"{NS}/networkSecurityGroups"
RULE_TYPE = f"{NSG_TYPE}/securityRules"
SUBNET = provider_pattern(NS, "virtualNetworks", "subnets")
RULE = provider_pattern(NS, "networkSecurityGroups", "securityRules")

# serviceName -> the actions Azure fills in (recorded list-available-delegations, 2019; flexibleServers
# from the same catalogue's newer entries *unverified*).
DELEGATION_ACTIONS = {
    "Microsoft.Web/serverFarms": ["Microsoft.Network/virtualNetworks/subnets/action"],
    "Microsoft.ContainerInstance/containerGroups": ["Microsoft.Network/virtualNetworks/subnets/action"],
    "Microsoft.DBforPostgreSQL/flexibleServers": ["Microsoft.Network/virtualNetworks/subnets/join/action"],
    "Microsoft.DBforPostgreSQL/serversv2": ["Microsoft.Network/virtualNetworks/subnets/join/action"],
    "Microsoft.Sql/managedInstances": [
        "Microsoft.Network/virtualNetworks/subnets/join/action",
        "Microsoft.Network/virtualNetworks/subnets/prepareNetworkPolicies/action",
        "Microsoft.Network/virtualNetworks/subnets/unprepareNetworkPolicies/action",
    ],
}
PROTOCOLS = ("Tcp", "Udp", "Icmp", "Esp", "Ah", "*")
# Azure's default rules of every NSG (documented; the same six in every region).
DEFAULT_RULES = (
    ("AllowVnetInBound", "Allow inbound traffic from all VMs in VNET", "VirtualNetwork", "VirtualNetwork",
     "Allow", 65000, "Inbound"),
    ("AllowAzureLoadBalancerInBound", "Allow inbound traffic from azure load balancer", "AzureLoadBalancer",
     "*", "Allow", 65001, "Inbound"),
    ("DenyAllInBound", "Deny all inbound traffic", "*", "*", "Deny", 65500, "Inbound"),
    ("AllowVnetOutBound", "Allow outbound traffic from all VMs to all VMs in VNET", "VirtualNetwork",
     "VirtualNetwork", "Allow", 65000, "Outbound"),
    ("AllowInternetOutBound", "Allow outbound traffic from all VMs to Internet", "*", "Internet", "Allow",
     65001, "Outbound"),
    ("DenyAllOutBound", "Deny all outbound traffic", "*", "*", "Deny", 65500, "Outbound"),
)  # fmt: skip


def _etag() -> str:
    return f'W/"{uuid.uuid4()}"'


def status_body(op: Operation) -> dict[str, Any]:
    """Microsoft.Network's status document is only {"status"} (recorded), plus error when it failed."""
    body: dict[str, Any] = {"status": op.status}
    if op.status == "Failed":
        body["error"] = op.error_body()
    return body


def _network(prefix: Any, what: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.ip_network(str(prefix), strict=True)
    except ValueError as exc:
        raise arm_error(  # *unverified* code
            400, "InvalidAddressPrefixFormat", f"The address prefix '{prefix}' of {what} is not valid: {exc}."
        ) from exc


def subnet_users(double: AzureDouble, subnet_id: str) -> list[str]:
    """Ids of the resources that use a subnet: integrated sites, container groups, PostgreSQL servers."""
    key = subnet_id.lower()

    def uses(k: str, v: dict[str, Any]) -> bool:
        props = v.get("properties") or {}
        if v.get("type") == "Microsoft.Web/sites":
            return (props.get("virtualNetworkSubnetId") or "").lower() == key
        if v.get("type") == "Microsoft.ContainerInstance/containerGroups":
            return any((s.get("id") or "").lower() == key for s in props.get("subnetIds") or [])
        if v.get("type") == "Microsoft.DBforPostgreSQL/flexibleServers":
            return ((props.get("network") or {}).get("delegatedSubnetResourceId") or "").lower() == key
        return False

    return [v["id"] for v in double.store.matching(uses)]


def find_subnet(double: AzureDouble, subnet_id: str) -> dict[str, Any] | None:
    """The stored subnet (with `vnet_id`, `location`) a subnet id names, or None."""
    vnet_id, _, name = subnet_id.rstrip("/").rpartition("/subnets/")
    vnet = double.store.get(vnet_id) if vnet_id else None
    if vnet is None or vnet.get("type") != VNET_TYPE:
        return None
    for subnet in vnet["properties"]["subnets"]:
        if subnet["name"].lower() == name.lower():
            return {**subnet, "vnet_id": vnet["id"], "location": vnet["location"]}
    return None


def require_subnet(double: AzureDouble, subnet_id: Any, service: str, what: str) -> dict[str, Any]:
    """The subnet a resource joins; it must exist and be delegated to `service` (codes *unverified*)."""
    subnet = find_subnet(double, str(subnet_id or ""))
    if subnet is None:
        raise arm_error(
            400,
            "InvalidSubnetId",
            f"The subnet '{subnet_id}' of {what} does not exist or is not a subnet id.",
        )
    services = [d["serviceName"].lower() for d in subnet["properties"].get("delegations") or []]
    if service.lower() not in services:
        raise arm_error(
            400,
            "SubnetMissingRequiredDelegation",
            f"Subnet '{subnet['name']}' of {what} must be delegated to '{service}' "
            f"(delegations: {', '.join(services) or 'none'}).",
        )
    return subnet


def subnet_private_ip(subnet: dict[str, Any], taken: set[str]) -> str:
    """The next free address of a subnet: Azure keeps the first four (network, gateway, 2 DNS)."""
    network = ipaddress.ip_network(subnet["properties"]["addressPrefix"])
    for offset, host in enumerate(network.hosts()):
        if offset >= 3 and str(host) not in taken:
            return str(host)
    raise arm_error(400, "SubnetIsFull", f"Subnet '{subnet['name']}' has no free address.")  # *unverified*


class NetworkProvider:
    def __init__(self, double: AzureDouble) -> None:
        self.double = double
        self.store = double.store

    # --- shared operation handling ------------------------------------------------------------------
    def _accepted(
        self, request: Request, params: dict[str, str], rid: str, location: str, status: int, body: Any
    ) -> Response:
        """Write now, answer provisioningState "Updating" + Azure-AsyncOperation; GET shows Succeeded."""

        def settle(state: str) -> None:
            self.store.update(rid, lambda s: s.update(provisioningState=state))

        op = self.double.operations.start(
            target_id=rid,
            on_success=lambda: settle("Succeeded"),
            on_failure=lambda code, message: settle("Failed"),
            status_body=status_body,
            **self.double.operation_overrides(request),
        )
        return Response(status, body, self._operation_headers(request, params, location, op))

    def _operation_headers(
        self, request: Request, params: dict[str, str], location: str, op: Operation, **options: Any
    ) -> dict[str, str]:
        return operation_headers(
            self.double.base_url, params["subscription"], NS, location, op, request.api_version, **options
        )

    def _delete(
        self,
        request: Request,
        params: dict[str, str],
        rid: str,
        location: str,
        on_success: Callable[[], None] | None = None,
    ) -> Response:
        """202 with Azure-AsyncOperation and Location, for resources and child resources alike (recorded:
        NSG and security rule deletes, 2022-01-01); the finished Location URL answers 204 with both headers
        again."""
        headers: dict[str, str] = {}
        op = self.double.operations.start(
            target_id=rid,
            on_success=on_success or (lambda: self.store.delete(rid)),
            on_failure=lambda code, message: None,
            status_body=status_body,
            final_result=lambda: Response(204, None, headers),
            **self.double.operation_overrides(request),
        )
        if op.done:
            return Response(200)
        headers.update(self._operation_headers(request, params, location, op, location_header=True))
        return Response(202, None, headers)

    # --- virtual networks ---------------------------------------------------------------------------
    def put_vnet(self, request: Request, params: dict[str, str]) -> Response:
        require_group(self.double, params)
        rid = resource_id(params, NS, "virtualNetworks")
        existing = self.store.get(rid)
        body = request.json_object()
        location = require_location(body, VNET_TYPE)
        if existing and existing["location"] != location:
            raise arm_error(  # *unverified* code
                400, "InvalidResourceLocation", f"The virtual network '{existing['name']}' cannot move."
            )
        props = body.get("properties") or {}
        prefixes = (props.get("addressSpace") or {}).get("addressPrefixes") or []
        if not prefixes:
            raise arm_error(  # *unverified* code
                400, "InvalidAddressSpace", "The virtual network needs at least one address prefix."
            )
        spaces = [_network(p, "the virtual network") for p in prefixes]
        subnets = self._subnets(rid, props.get("subnets") or [], spaces, existing)
        state = {
            "id": existing["id"] if existing else rid,
            "name": existing["name"] if existing else params["virtualnetworks"],
            "type": VNET_TYPE,
            "location": location,
            "tags": check_tags(body["tags"]) if "tags" in body else None,
            "etag": _etag(),
            "provisioningState": "Updating",
            "properties": {
                "resourceGuid": (existing or {}).get("properties", {}).get("resourceGuid")
                or str(uuid.uuid4()),
                "addressSpace": {"addressPrefixes": [str(s) for s in spaces]},
                "dhcpOptions": {"dnsServers": list(props["dhcpOptions"].get("dnsServers") or [])}
                if isinstance(props.get("dhcpOptions"), dict)
                else None,
                "subnets": subnets,
                "enableDdosProtection": bool(props.get("enableDdosProtection", False)),
            },
        }
        self.store.put(rid, state)
        return self._accepted(
            request,
            params,
            rid,
            location,
            200 if existing else 201,
            self._render_vnet(state, request.api_version, "Updating"),
        )

    def _subnets(
        self,
        vnet_id: str,
        requested: list[dict[str, Any]],
        spaces: list[ipaddress.IPv4Network],
        existing: dict[str, Any] | None,
    ) -> list[dict[str, Any]]:
        """Validated subnets of a VNet PUT; a subnet in use may not go away or lose its delegation."""
        subnets, seen = [], {}
        for item in requested:
            name = item.get("name") or ""
            if not name or name.lower() in seen:
                raise arm_error(  # *unverified* code
                    400, "InvalidRequestFormat", f"Subnet names must be given and unique, got '{name}'."
                )
            subnet = self._subnet(vnet_id, name, item.get("properties") or {}, spaces)
            for other_name, other in seen.items():
                if subnet["_network"].overlaps(other["_network"]):
                    raise arm_error(
                        400,
                        "NetcfgSubnetRangesOverlap",  # *unverified* code
                        f"Subnet '{name}' overlaps subnet '{other_name}' in the virtual network.",
                    )
            seen[name.lower()] = subnet
            subnets.append(subnet)
        for old in (existing or {}).get("properties", {}).get("subnets", []):
            new = seen.get(old["name"].lower())
            users = subnet_users(self.double, old["id"])
            if not users:
                continue
            if new is None:
                raise arm_error(
                    400,
                    "InUseSubnetCannotBeDeleted",
                    f"Subnet {old['name']} is in use by {users[0]} and cannot be deleted. "
                    "In order to delete the subnet, delete all the resources within the subnet.",
                )
            old_services = {d["serviceName"] for d in old["properties"]["delegations"]}
            new_services = {d["serviceName"] for d in new["properties"]["delegations"]}
            if old_services - new_services:
                raise arm_error(
                    400,
                    "SubnetDelegationsCannotChangeWhenSubnetUsedByResource",  # *unverified* code
                    f"Delegations of subnet {old['name']} cannot be changed from {sorted(old_services)} "
                    f"to {sorted(new_services)} because it is being used by the resource {users[0]}.",
                )
        for subnet in subnets:
            del subnet["_network"]
        return subnets

    def _subnet(
        self, vnet_id: str, name: str, props: dict[str, Any], spaces: list[ipaddress.IPv4Network]
    ) -> dict[str, Any]:
        sid = f"{vnet_id}/subnets/{name}"
        network = _network(props.get("addressPrefix"), f"subnet '{name}'")
        if not any(network.subnet_of(space) for space in spaces):
            raise arm_error(
                400,
                "NetcfgSubnetRangeOutsideVnet",  # *unverified* code
                f"Subnet '{name}' is not valid because its IP address range is outside the IP address range "
                "of virtual network.",
            )
        delegations = []
        for index, delegation in enumerate(props.get("delegations") or []):
            service = (delegation.get("properties") or {}).get("serviceName") or delegation.get("serviceName")
            known = {k.lower(): k for k in DELEGATION_ACTIONS}
            if not isinstance(service, str) or service.lower() not in known:
                raise arm_error(
                    400,
                    "InvalidServiceNameOnDelegation",  # *unverified* code
                    f"Delegation of subnet '{name}' names service '{service}', which cannot be delegated to.",
                )
            service = known[service.lower()]
            dname = delegation.get("name") or str(index)
            delegations.append(
                {
                    "name": dname,
                    "id": f"{sid}/delegations/{dname}",
                    "serviceName": service,
                    "actions": list(DELEGATION_ACTIONS[service]),
                }
            )
        nsg_id = (props.get("networkSecurityGroup") or {}).get("id")
        if nsg_id:
            nsg = self.store.get(nsg_id)
            if nsg is None or nsg.get("type") != NSG_TYPE:
                raise arm_error(
                    400,
                    "InvalidResourceReference",
                    f"Resource {nsg_id} referenced by resource {sid} was not found. Please make sure that "
                    "the referenced resource exists, and that both resources are in the same region.",
                )
            nsg_id = nsg["id"]
        return {
            "name": name,
            "id": sid,
            "_network": network,
            "properties": {
                "addressPrefix": str(network),
                "delegations": delegations,
                "networkSecurityGroup": {"id": nsg_id} if nsg_id else None,
                "privateEndpointNetworkPolicies": props.get("privateEndpointNetworkPolicies") or "Disabled",
                "privateLinkServiceNetworkPolicies": props.get("privateLinkServiceNetworkPolicies")
                or "Enabled",
            },
        }

    def _render_subnet(self, subnet: dict[str, Any], etag: str, state: str) -> dict[str, Any]:
        props = subnet["properties"]
        out_props: dict[str, Any] = {"provisioningState": state, "addressPrefix": props["addressPrefix"]}
        if props.get("networkSecurityGroup"):
            out_props["networkSecurityGroup"] = copy.deepcopy(props["networkSecurityGroup"])
        out_props["delegations"] = [
            {
                "name": d["name"],
                "id": d["id"],
                "etag": etag,
                "properties": {
                    "provisioningState": "Succeeded",
                    "serviceName": d["serviceName"],
                    "actions": list(d["actions"]),
                },
                "type": f"{SUBNET_TYPE}/delegations",
            }
            for d in props["delegations"]
        ]
        out_props["privateEndpointNetworkPolicies"] = props["privateEndpointNetworkPolicies"]
        out_props["privateLinkServiceNetworkPolicies"] = props["privateLinkServiceNetworkPolicies"]
        return {"name": subnet["name"], "id": subnet["id"], "etag": etag, "properties": out_props,
                "type": SUBNET_TYPE}  # fmt: skip

    def _render_vnet(
        self, state: dict[str, Any], api_version: str | None, provisioning: str | None = None
    ) -> dict[str, Any]:
        """Keys as the request's api-version answers them (recorded: 2019-08-01 and 2024-03-01);
        tags and dhcpOptions only when the client set them."""
        provisioning = provisioning or state["provisioningState"]
        props = state["properties"]
        newer = (api_version or "") >= "2024-01-01"
        out_props: dict[str, Any] = {
            "provisioningState": provisioning,
            "resourceGuid": props["resourceGuid"],
            "addressSpace": copy.deepcopy(props["addressSpace"]),
        }
        if newer:
            out_props["addressSpace"]["ipamPoolPrefixAllocations"] = []
        if props.get("dhcpOptions") is not None:
            out_props["dhcpOptions"] = copy.deepcopy(props["dhcpOptions"])
        if newer:
            out_props["privateEndpointVNetPolicies"] = "Disabled"
        out_props["subnets"] = [self._render_subnet(s, state["etag"], provisioning) for s in props["subnets"]]
        out_props["virtualNetworkPeerings"] = []
        out_props["enableDdosProtection"] = props["enableDdosProtection"]
        if (api_version or "") < "2021-01-01":  # *unverified* boundary: in 2019-08-01, gone by 2024-03-01
            out_props["enableVmProtection"] = False
        answer = {
            "name": state["name"],
            "id": state["id"],
            "etag": state["etag"],
            "type": VNET_TYPE,
            "location": state["location"],
        }
        if state.get("tags") is not None:
            answer["tags"] = state["tags"]
        answer["properties"] = out_props
        return answer

    def _vnet(self, params: dict[str, str]) -> dict[str, Any]:
        require_group(self.double, params)
        state = self.store.get(resource_id(params, NS, "virtualNetworks"))
        if state is None:
            raise not_found(VNET_TYPE, params["virtualnetworks"], params["resource_group"])
        return state

    def get_vnet(self, request: Request, params: dict[str, str]) -> Response:
        self.double.operations.advance_target(self._vnet(params)["id"])
        state = self._vnet(params)  # again: advancing may have finished a delete (then 404, as Azure)
        return Response(200, self._render_vnet(state, request.api_version), {"etag": state["etag"]})

    def list_vnets(self, request: Request, params: dict[str, str]) -> Response:
        states = in_scope(self.double, params, VNET_TYPE)
        return Response(200, list_body([self._render_vnet(s, request.api_version) for s in states]))

    def delete_vnet(self, request: Request, params: dict[str, str]) -> Response:
        require_group(self.double, params)
        state = self.store.get(resource_id(params, NS, "virtualNetworks"))
        if state is None:
            return Response(204)
        for subnet in state["properties"]["subnets"]:
            users = subnet_users(self.double, subnet["id"])
            if users:
                raise arm_error(
                    400,
                    "InUseSubnetCannotBeDeleted",
                    f"Subnet {subnet['name']} is in use by {users[0]} and cannot be deleted. "
                    "In order to delete the subnet, delete all the resources within the subnet.",
                )
        return self._delete(request, params, state["id"], state["location"])

    # --- subnets as child resources (PUT/GET/DELETE/list) ------------------------------------------
    def put_subnet(self, request: Request, params: dict[str, str]) -> Response:
        vnet = self._vnet(params)
        body = request.json_object()
        name = params["subnets"]
        requested = [
            {"name": s["name"], "properties": self._as_request(s)}
            for s in vnet["properties"]["subnets"]
            if s["name"].lower() != name.lower()
        ]
        existed = len(requested) != len(vnet["properties"]["subnets"])
        requested.append({"name": name, "properties": body.get("properties") or {}})
        spaces = [ipaddress.ip_network(p) for p in vnet["properties"]["addressSpace"]["addressPrefixes"]]
        subnets = self._subnets(vnet["id"], requested, spaces, vnet)
        vnet["properties"]["subnets"] = subnets
        vnet["etag"] = _etag()
        vnet["provisioningState"] = "Updating"
        self.store.put(vnet["id"], vnet)
        subnet = next(s for s in subnets if s["name"] == name)
        return self._accepted(
            request,
            params,
            vnet["id"],
            vnet["location"],
            200 if existed else 201,
            self._render_subnet(subnet, vnet["etag"], "Updating"),
        )

    @staticmethod
    def _as_request(subnet: dict[str, Any]) -> dict[str, Any]:
        props = copy.deepcopy(subnet["properties"])
        props["delegations"] = [
            {"name": d["name"], "properties": {"serviceName": d["serviceName"]}} for d in props["delegations"]
        ]
        return props

    def get_subnet(self, request: Request, params: dict[str, str]) -> Response:
        self.double.operations.advance_target(self._vnet(params)["id"])
        vnet = self._vnet(params)  # again: advancing may have finished a delete (then 404, as Azure)
        for subnet in vnet["properties"]["subnets"]:
            if subnet["name"].lower() == params["subnets"].lower():
                return Response(200, self._render_subnet(subnet, vnet["etag"], vnet["provisioningState"]))
        # the VNet exists: Microsoft.Network's own NotFound, not ARM's ResourceNotFound (recorded, 2023-06-01)
        raise DoubleError(
            404,
            {
                "error": {
                    "code": "NotFound",
                    "message": f"Resource {vnet['id']}/subnets/{params['subnets']} not found.",
                    "details": [],
                }
            },
        )

    def list_subnets(self, request: Request, params: dict[str, str]) -> Response:
        vnet = self._vnet(params)
        return Response(
            200,
            list_body(
                [
                    self._render_subnet(s, vnet["etag"], vnet["provisioningState"])
                    for s in vnet["properties"]["subnets"]
                ]
            ),
        )

    def delete_subnet(self, request: Request, params: dict[str, str]) -> Response:
        vnet = self._vnet(params)
        keep = [s for s in vnet["properties"]["subnets"] if s["name"].lower() != params["subnets"].lower()]
        if len(keep) == len(vnet["properties"]["subnets"]):
            return Response(204)
        requested = [{"name": s["name"], "properties": self._as_request(s)} for s in keep]
        spaces = [ipaddress.ip_network(p) for p in vnet["properties"]["addressSpace"]["addressPrefixes"]]
        vnet["properties"]["subnets"] = self._subnets(vnet["id"], requested, spaces, vnet)
        vnet["etag"] = _etag()
        self.store.put(vnet["id"], vnet)
        return Response(200)

    # --- network security groups --------------------------------------------------------------------
    def put_nsg(self, request: Request, params: dict[str, str]) -> Response:
        require_group(self.double, params)
        rid = resource_id(params, NS, "networkSecurityGroups")
        existing = self.store.get(rid)
        body = request.json_object()
        location = require_location(body, NSG_TYPE)
        props = body.get("properties") or {}
        rules = self._rules(rid, props.get("securityRules") or [])
        state = {
            "id": existing["id"] if existing else rid,
            "name": existing["name"] if existing else params["networksecuritygroups"],
            "type": NSG_TYPE,
            "location": location,
            "tags": check_tags(body.get("tags")),
            "etag": _etag(),
            "provisioningState": "Updating",
            "properties": {
                "resourceGuid": (existing or {}).get("properties", {}).get("resourceGuid")
                or str(uuid.uuid4()),
                "securityRules": rules,
            },
        }
        self.store.put(rid, state)
        return self._accepted(
            request, params, rid, location, 200 if existing else 201, self._render_nsg(state, "Updating")
        )

    def _rules(self, nsg_id: str, requested: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rules, names, priorities = [], set(), {}
        for item in requested:
            name = item.get("name") or ""
            props = item.get("properties") or {}
            if not name or name.lower() in names:
                raise arm_error(  # *unverified* code
                    400,
                    "InvalidRequestFormat",
                    f"Security rule names must be given and unique, got '{name}'.",
                )
            names.add(name.lower())
            direction = require_enum(
                props.get("direction"),
                ("Inbound", "Outbound"),
                "InvalidRequestFormat",
                f"rule {name} direction",
            )
            access = require_enum(
                props.get("access"), ("Allow", "Deny"), "InvalidRequestFormat", f"rule {name} access"
            )
            protocol = require_enum(
                props.get("protocol"), PROTOCOLS, "InvalidRequestFormat", f"rule {name} protocol"
            )
            priority = props.get("priority")
            if not isinstance(priority, int) or isinstance(priority, bool) or not 100 <= priority <= 4096:
                raise arm_error(
                    400,
                    "SecurityRuleInvalidPriority",  # *unverified* code
                    f"Security rule {name} has invalid Priority. Value provided: {priority}. "
                    "Allowed range 100-4096.",
                )
            if (direction, priority) in priorities:
                raise arm_error(
                    400,
                    "SecurityRuleConflict",  # *unverified* code
                    f"Security rule {name} conflicts with rule {priorities[(direction, priority)]}. "
                    "Rules cannot have the same Priority and Direction.",
                )
            priorities[(direction, priority)] = name
            rule = {
                "protocol": protocol,
                "sourcePortRange": props.get("sourcePortRange"),
                "destinationPortRange": props.get("destinationPortRange"),
                "sourceAddressPrefix": props.get("sourceAddressPrefix"),
                "destinationAddressPrefix": props.get("destinationAddressPrefix"),
                "access": access,
                "priority": priority,
                "direction": direction,
                "sourcePortRanges": list(props.get("sourcePortRanges") or []),
                "destinationPortRanges": list(props.get("destinationPortRanges") or []),
                "sourceAddressPrefixes": list(props.get("sourceAddressPrefixes") or []),
                "destinationAddressPrefixes": list(props.get("destinationAddressPrefixes") or []),
            }
            if props.get("description"):
                rule["description"] = props["description"]
            for single, plural in (
                ("sourcePortRange", "sourcePortRanges"),
                ("destinationPortRange", "destinationPortRanges"),
                ("sourceAddressPrefix", "sourceAddressPrefixes"),
                ("destinationAddressPrefix", "destinationAddressPrefixes"),
            ):
                if bool(rule[single]) == bool(rule[plural]):
                    raise arm_error(
                        400,
                        "SecurityRuleParameterContainsUnsupportedValue",  # *unverified* code
                        f"Security rule {name} must give exactly one of {single} and {plural}.",
                    )
                if not rule[single]:
                    del rule[single]
            rules.append({"name": name, "id": f"{nsg_id}/securityRules/{name}", "properties": rule})
        return rules

    def _render_rule(self, rule: dict[str, Any], etag: str, state: str, rule_type: str) -> dict[str, Any]:
        return {
            "name": rule["name"],
            "id": rule["id"],
            "etag": etag,
            "type": rule_type,
            "properties": {"provisioningState": state, **copy.deepcopy(rule["properties"])},
        }

    def _render_nsg(self, state: dict[str, Any], provisioning: str | None = None) -> dict[str, Any]:
        provisioning = provisioning or state["provisioningState"]
        etag = state["etag"]
        defaults = [
            {
                "name": name,
                "id": f"{state['id']}/defaultSecurityRules/{name}",
                "properties": {
                    "description": description,
                    "protocol": "*",
                    "sourcePortRange": "*",
                    "destinationPortRange": "*",
                    "sourceAddressPrefix": source,
                    "destinationAddressPrefix": destination,
                    "access": access,
                    "priority": priority,
                    "direction": direction,
                    "sourcePortRanges": [],
                    "destinationPortRanges": [],
                    "sourceAddressPrefixes": [],
                    "destinationAddressPrefixes": [],
                },
            }
            for name, description, source, destination, access, priority, direction in DEFAULT_RULES
        ]
        subnets = [
            {"id": s["id"]}
            for vnet in self.store.matching(lambda k, v: v.get("type") == VNET_TYPE)
            for s in vnet["properties"]["subnets"]
            if ((s["properties"].get("networkSecurityGroup") or {}).get("id") or "").lower()
            == state["id"].lower()
        ]
        props: dict[str, Any] = {
            "provisioningState": provisioning,
            "resourceGuid": state["properties"]["resourceGuid"],
            "securityRules": [
                self._render_rule(r, etag, provisioning, RULE_TYPE)
                for r in state["properties"]["securityRules"]
            ],
            "defaultSecurityRules": [
                self._render_rule(r, etag, "Succeeded", f"{NSG_TYPE}/defaultSecurityRules") for r in defaults
            ],
        }
        if subnets:
            props["subnets"] = subnets
        return {
            "name": state["name"],
            "id": state["id"],
            "etag": etag,
            "type": NSG_TYPE,
            "location": state["location"],
            "tags": state["tags"],
            "properties": props,
        }

    def _nsg(self, params: dict[str, str]) -> dict[str, Any]:
        require_group(self.double, params)
        state = self.store.get(resource_id(params, NS, "networkSecurityGroups"))
        if state is None:
            raise not_found(NSG_TYPE, params["networksecuritygroups"], params["resource_group"])
        return state

    def get_nsg(self, request: Request, params: dict[str, str]) -> Response:
        self.double.operations.advance_target(self._nsg(params)["id"])
        state = self._nsg(params)  # again: advancing may have finished a delete (then 404, as Azure)
        return Response(200, self._render_nsg(state), {"etag": state["etag"]})

    def list_nsgs(self, request: Request, params: dict[str, str]) -> Response:
        return Response(
            200, list_body([self._render_nsg(s) for s in in_scope(self.double, params, NSG_TYPE)])
        )

    def delete_nsg(self, request: Request, params: dict[str, str]) -> Response:
        require_group(self.double, params)
        state = self.store.get(resource_id(params, NS, "networkSecurityGroups"))
        if state is None:
            return Response(204)
        if self._render_nsg(state)["properties"].get("subnets"):
            raise arm_error(
                400,
                "InUseNetworkSecurityGroupCannotBeDeleted",
                f"Network security group {state['id']} cannot be deleted because it is in use by a subnet.",
            )
        return self._delete(request, params, state["id"], state["location"])

    def get_rule(self, request: Request, params: dict[str, str]) -> Response:
        state = self._nsg(params)
        for rule in state["properties"]["securityRules"]:
            if rule["name"].lower() == params["securityrules"].lower():
                return Response(
                    200, self._render_rule(rule, state["etag"], state["provisioningState"], RULE_TYPE)
                )
        raise not_found(RULE_TYPE, f"{state['name']}/{params['securityrules']}", params["resource_group"])

    def list_rules(self, request: Request, params: dict[str, str]) -> Response:
        state = self._nsg(params)
        return Response(
            200,
            list_body(
                [
                    self._render_rule(r, state["etag"], state["provisioningState"], RULE_TYPE)
                    for r in state["properties"]["securityRules"]
                ]
            ),
        )

    def put_rule(self, request: Request, params: dict[str, str]) -> Response:
        state = self._nsg(params)
        name = params["securityrules"]
        body = request.json_object()
        requested = [
            {"name": r["name"], "properties": r["properties"]}
            for r in state["properties"]["securityRules"]
            if r["name"].lower() != name.lower()
        ]
        existed = len(requested) != len(state["properties"]["securityRules"])
        requested.append({"name": name, "properties": body.get("properties") or {}})
        state["properties"]["securityRules"] = self._rules(state["id"], requested)
        state["etag"] = _etag()
        state["provisioningState"] = "Updating"
        self.store.put(state["id"], state)
        rule = state["properties"]["securityRules"][-1]
        return self._accepted(
            request,
            params,
            state["id"],
            state["location"],
            200 if existed else 201,
            self._render_rule(rule, state["etag"], "Updating", RULE_TYPE),
        )

    def delete_rule(self, request: Request, params: dict[str, str]) -> Response:
        state = self._nsg(params)
        name = params["securityrules"].lower()
        if not any(r["name"].lower() == name for r in state["properties"]["securityRules"]):
            return Response(204)

        def remove() -> None:
            def drop(nsg: dict[str, Any]) -> None:
                nsg["properties"]["securityRules"] = [
                    r for r in nsg["properties"]["securityRules"] if r["name"].lower() != name
                ]
                nsg["etag"] = _etag()

            self.store.update(state["id"], drop)

        return self._delete(request, params, state["id"], state["location"], on_success=remove)


def register(double: AzureDouble) -> None:
    net = NetworkProvider(double)
    route = double.arm.add
    route_resource_type(
        route, NS, "virtualNetworks", put=net.put_vnet, get=net.get_vnet, delete=net.delete_vnet,
        list_all=net.list_vnets,
    )  # fmt: skip
    route_resource_type(
        route, NS, "networkSecurityGroups", put=net.put_nsg, get=net.get_nsg, delete=net.delete_nsg,
        list_all=net.list_nsgs,
    )  # fmt: skip
    route("PUT", SUBNET, net.put_subnet)
    route("GET", SUBNET, net.get_subnet)
    route("DELETE", SUBNET, net.delete_subnet)
    route("GET", collection_pattern(NS, "virtualNetworks", "subnets"), net.list_subnets)
    route("PUT", RULE, net.put_rule)
    route("GET", RULE, net.get_rule)
    route("DELETE", RULE, net.delete_rule)
    route("GET", collection_pattern(NS, "networkSecurityGroups", "securityRules"), net.list_rules)
