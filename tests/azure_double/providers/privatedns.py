"""Microsoft.Network privateDnsZones with virtualNetworkLinks and record sets (A, CNAME, TXT; SOA by Azure).

Recorded (2018-09-01, excerpts in tests/azure_double_tests/recordings/: privatedns_*.yaml and
postgresql_flexible_server_private_access.yaml): a zone or virtual network link PUT answers 202 with body {}
and BOTH Azure-AsyncOperation
(/subscriptions/<s>/resourceGroups/<g>/providers/Microsoft.Network/privateDnsOperationStatuses/<id>) and
Location (.../privateDnsOperationResults/<id>); the status reads {"status": "InProgress"|"Succeeded"}
(answered 200 in 2024; recordings of 2023 show the InProgress poll as 202 with both headers again). Zones
and links live in location "global" with a plain-uuid etag. Record set PUTs are synchronous (201 create,
200 update, metadata under properties) and a record set DELETE answers 200. A link needs an existing
virtual network, and one link per VNet and zone.
"""

from __future__ import annotations

import copy
import ipaddress
import re
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..arm import check_tags, collection_pattern, list_body, not_found, provider_pattern, resource_id
from ..http import Request, Response, arm_error
from .network import VNET_TYPE, status_body
from .resources import in_scope, require_group

if TYPE_CHECKING:
    from ..server import AzureDouble

NS = "Microsoft.Network"
ZONE_TYPE = f"{NS}/privateDnsZones"
LINK_TYPE = f"{ZONE_TYPE}/virtualNetworkLinks"
ZONE = provider_pattern(NS, "privateDnsZones")
LINK = provider_pattern(NS, "privateDnsZones", "virtualNetworkLinks")
RECORD_TYPES = {"A": "aRecords", "AAAA": "aaaaRecords", "CNAME": "cnameRecord", "TXT": "txtRecords"}
ZONE_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([-a-z0-9_]{0,61}[a-z0-9_])?\.)+[a-z0-9]{2,63}$", re.I)
OPERATIONS = "/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.Network"


class PrivateDnsProvider:
    def __init__(self, double: AzureDouble) -> None:
        self.double = double
        self.store = double.store

    def _accepted(self, request: Request, params: dict[str, str], rid: str) -> Response:
        """202 {} with the status and result URLs under the resource group (recorded)."""

        def settle(state: str) -> None:
            self.store.update(rid, lambda s: s.update(provisioningState=state))

        op = self.double.operations.start(
            target_id=rid,
            on_success=lambda: settle("Succeeded"),
            on_failure=lambda code, message: settle("Failed"),
            status_body=status_body,
            final_result=lambda: Response(200, self._render(self.store.get(rid))),
            **self.double.operation_overrides(request),
        )
        return Response(202, {}, self._headers(request, params, op.op_id))

    def _headers(self, request: Request, params: dict[str, str], op_id: str) -> dict[str, str]:
        scope = self.double.base_url + quote(
            OPERATIONS.format(subscription=params["subscription"], resource_group=params["resource_group"])
        )
        query = f"?api-version={request.api_version}"
        return {
            "azure-asyncoperation": f"{scope}/privateDnsOperationStatuses/{op_id}{query}",
            "location": f"{scope}/privateDnsOperationResults/{op_id}{query}",
        }

    def _render(self, state: dict[str, Any] | None) -> dict[str, Any]:
        if state is None:
            return {}
        out = {
            k: copy.deepcopy(v)
            for k, v in state.items()
            if k not in ("provisioningState", "properties") and not (k == "tags" and v is None)
        }
        props = copy.deepcopy(state["properties"])
        if state["type"] == ZONE_TYPE:
            links = self.store.children(state["id"], "virtualNetworkLinks")
            records = self._records(state["id"])
            props.update(
                numberOfRecordSets=len(records),
                numberOfVirtualNetworkLinks=len(links),
                numberOfVirtualNetworkLinksWithRegistration=sum(
                    1 for link in links if link["properties"]["registrationEnabled"]
                ),
            )
        props["provisioningState"] = state["provisioningState"]
        out["properties"] = props
        return out

    def _records(self, zone_id: str) -> list[dict[str, Any]]:
        prefix = zone_id.lower() + "/"
        return self.store.matching(
            lambda k, v: k.startswith(prefix) and v.get("type", "").startswith(ZONE_TYPE + "/")
            and v["type"] != LINK_TYPE
        )  # fmt: skip

    def _zone(self, params: dict[str, str]) -> dict[str, Any]:
        require_group(self.double, params)
        state = self.store.get(resource_id(params, NS, "privateDnsZones"))
        if state is None:
            raise not_found(ZONE_TYPE, params["privatednszones"], params["resource_group"])
        return state

    # --- zones --------------------------------------------------------------------------------------
    def put_zone(self, request: Request, params: dict[str, str]) -> Response:
        require_group(self.double, params)
        name = params["privatednszones"]
        if not ZONE_NAME.match(name):
            raise arm_error(  # *unverified* code
                400,
                "InvalidPrivateDnsZoneName",
                f"The private DNS zone name '{name}' is not a valid domain name.",
            )
        rid = resource_id(params, NS, "privateDnsZones")
        existing = self.store.get(rid)
        self._check_conditions(request, existing, name)
        body = request.json_object()
        if str(body.get("location", "global")).lower() != "global":
            raise arm_error(  # *unverified* code
                400, "InvalidLocation", "Private DNS zones must be in location 'global'."
            )
        state = {
            "id": existing["id"] if existing else rid,
            "name": existing["name"] if existing else name,
            "type": ZONE_TYPE,
            "etag": str(uuid.uuid4()),
            "location": "global",
            "tags": check_tags(body["tags"]) if "tags" in body else (existing or {}).get("tags"),
            "provisioningState": "Updating",
            "properties": {
                "maxNumberOfRecordSets": 25000,
                "maxNumberOfVirtualNetworkLinks": 1000,
                "maxNumberOfVirtualNetworkLinksWithRegistration": 100,
            },
        }
        self.store.put(rid, state)
        if not existing:
            self.store.put(f"{rid}/SOA/@", self._soa(rid, name))
        return self._accepted(request, params, rid)

    @staticmethod
    def _check_conditions(request: Request, existing: dict[str, Any] | None, name: str) -> None:
        """If-None-Match: * refuses an existing resource; If-Match must name the current etag."""
        if request.headers.get("if-none-match") == "*" and existing:
            raise arm_error(
                412, "PreconditionFailed", f"The resource '{name}' already exists."
            )  # *unverified* wording
        if_match = request.headers.get("if-match")
        if if_match and if_match != "*" and (not existing or existing.get("etag") != if_match.strip('"')):
            raise arm_error(
                412, "PreconditionFailed", f"The etag of '{name}' does not match."
            )  # *unverified*

    @staticmethod
    def _soa(zone_id: str, zone: str) -> dict[str, Any]:
        return {
            "id": f"{zone_id}/SOA/@",
            "name": "@",
            "type": f"{ZONE_TYPE}/SOA",
            "etag": str(uuid.uuid4()),
            "provisioningState": "Succeeded",
            "properties": {
                "ttl": 3600,
                "fqdn": f"{zone}.",
                "isAutoRegistered": False,
                "soaRecord": {
                    "email": "azureprivatedns-host.microsoft.com",
                    "expireTime": 2419200,
                    "host": "azureprivatedns.net",
                    "minimumTtl": 10,
                    "refreshTime": 3600,
                    "retryTime": 300,
                    "serialNumber": 1,
                },
            },
        }

    def get_zone(self, request: Request, params: dict[str, str]) -> Response:
        self.double.operations.advance_target(self._zone(params)["id"])
        # looked up again: advancing may have finished a delete (then 404, as Azure)
        return Response(200, self._render(self._zone(params)))

    def list_zones(self, request: Request, params: dict[str, str]) -> Response:
        return Response(200, list_body([self._render(s) for s in in_scope(self.double, params, ZONE_TYPE)]))

    def delete_zone(self, request: Request, params: dict[str, str]) -> Response:
        require_group(self.double, params)
        rid = resource_id(params, NS, "privateDnsZones")
        state = self.store.get(rid)
        if state is None:
            return Response(204)
        if self.store.children(rid, "virtualNetworkLinks"):
            raise arm_error(
                409,
                "CannotDeleteResource",  # *unverified* code
                f"Cannot delete the private DNS zone '{state['name']}': it still has virtual network links.",
            )
        self.store.delete(rid)
        return Response(200)

    # --- virtual network links ----------------------------------------------------------------------
    def put_link(self, request: Request, params: dict[str, str]) -> Response:
        zone = self._zone(params)
        rid = resource_id(params, NS, "privateDnsZones", "virtualNetworkLinks")
        existing = self.store.get(rid)
        self._check_conditions(request, existing, params["virtualnetworklinks"])
        body = request.json_object()
        props = body.get("properties") or {}
        vnet_id = (props.get("virtualNetwork") or {}).get("id") or ""
        vnet = self.store.get(vnet_id) if vnet_id else None
        if vnet is None or vnet.get("type") != VNET_TYPE:
            raise arm_error(  # *unverified* code
                400, "BadRequest", f"The virtual network '{vnet_id}' of the link does not exist."
            )
        if existing and existing["properties"]["virtualNetwork"]["id"].lower() != vnet["id"].lower():
            raise arm_error(  # *unverified* code
                400,
                "BadRequest",
                "The virtual network of a link cannot change: delete the link and create it again.",
            )
        for other in self.store.children(zone["id"], "virtualNetworkLinks"):
            if (
                other["id"].lower() != rid.lower()
                and other["properties"]["virtualNetwork"]["id"].lower() == vnet["id"].lower()
            ):
                raise arm_error(  # *unverified* code
                    409,
                    "Conflict",
                    f"A virtual network cannot be linked to the zone '{zone['name']}' twice: link "
                    f"'{other['name']}' already links it.",
                )
        state = {
            "id": existing["id"] if existing else rid,
            "name": existing["name"] if existing else params["virtualnetworklinks"],
            "type": LINK_TYPE,
            "etag": str(uuid.uuid4()),
            "location": "global",
            "tags": check_tags(body["tags"]) if "tags" in body else (existing or {}).get("tags"),
            "provisioningState": "Updating",
            "properties": {
                "registrationEnabled": bool(props.get("registrationEnabled", False)),
                "virtualNetwork": {"id": vnet["id"]},
                "virtualNetworkLinkState": "Completed",
            },
        }
        self.store.put(rid, state)
        return self._accepted(request, params, rid)

    def get_link(self, request: Request, params: dict[str, str]) -> Response:
        self._zone(params)
        rid = resource_id(params, NS, "privateDnsZones", "virtualNetworkLinks")
        self.double.operations.advance_target(rid)
        state = self.store.get(rid)
        if state is None:
            raise not_found(
                LINK_TYPE,
                f"{params['privatednszones']}/{params['virtualnetworklinks']}",
                params["resource_group"],
            )
        return Response(200, self._render(state))

    def list_links(self, request: Request, params: dict[str, str]) -> Response:
        zone = self._zone(params)
        return Response(
            200, list_body([self._render(s) for s in self.store.children(zone["id"], "virtualNetworkLinks")])
        )

    def delete_link(self, request: Request, params: dict[str, str]) -> Response:
        self._zone(params)
        rid = resource_id(params, NS, "privateDnsZones", "virtualNetworkLinks")
        if not self.store.exists(rid):
            return Response(204)

        op = self.double.operations.start(
            target_id=rid,
            on_success=lambda: self.store.delete(rid),
            on_failure=lambda code, message: None,
            status_body=status_body,
            **self.double.operation_overrides(request),
        )
        if op.done:
            return Response(200)
        return Response(202, None, self._headers(request, params, op.op_id))

    # --- record sets --------------------------------------------------------------------------------
    def _record_type(self, params: dict[str, str]) -> str:
        wanted = params["record_type"].upper()
        if wanted not in RECORD_TYPES and wanted != "SOA":
            raise arm_error(  # *unverified* code
                400,
                "BadRequest",
                f"The record type '{params['record_type']}' is not supported by the double.",
            )
        return wanted

    def _record_id(self, zone: dict[str, Any], record_type: str, name: str) -> str:
        return f"{zone['id']}/{record_type}/{name}"

    def put_record(self, request: Request, params: dict[str, str]) -> Response:
        zone = self._zone(params)
        record_type = self._record_type(params)
        if record_type == "SOA":
            raise arm_error(400, "BadRequest", "The SOA record set is managed by Azure.")  # *unverified*
        name = params["relative_name"]
        rid = self._record_id(zone, record_type, name)
        existing = self.store.get(rid)
        self._check_conditions(request, existing, name)
        body = request.json_object()
        props = body.get("properties") or {}
        ttl = props.get("ttl", 3600)
        if not isinstance(ttl, int) or isinstance(ttl, bool) or not 0 <= ttl <= 2147483647:
            raise arm_error(
                400, "BadRequest", f"The TTL '{ttl}' of record set '{name}' is invalid."
            )  # *unverified*
        key = RECORD_TYPES[record_type]
        values = copy.deepcopy(props.get(key))
        if record_type == "A":
            for entry in values or []:
                try:
                    ipaddress.IPv4Address(entry.get("ipv4Address"))
                except (ValueError, AttributeError) as exc:
                    raise arm_error(  # *unverified* code
                        400, "BadRequest", f"'{entry}' of record set '{name}' is not an IPv4 address."
                    ) from exc
        fqdn = f"{zone['name']}." if name == "@" else f"{name}.{zone['name']}."
        state = {
            "id": existing["id"] if existing else rid,
            "name": existing["name"] if existing else name,
            "type": f"{ZONE_TYPE}/{record_type}",
            "etag": str(uuid.uuid4()),
            "provisioningState": "Succeeded",
            "properties": {
                **({"metadata": props["metadata"]} if props.get("metadata") else {}),
                "ttl": ttl,
                "fqdn": fqdn,
                "isAutoRegistered": False,
                key: values if values is not None else ([] if key.endswith("s") else None),
            },
        }
        self.store.put(rid, state)
        answer = self._render(state)
        answer["properties"].pop("provisioningState")
        return Response(200 if existing else 201, answer)

    def get_record(self, request: Request, params: dict[str, str]) -> Response:
        zone = self._zone(params)
        record_type = self._record_type(params)
        state = self.store.get(self._record_id(zone, record_type, params["relative_name"]))
        if state is None:
            raise not_found(
                f"{ZONE_TYPE}/{record_type}",
                f"{zone['name']}/{params['relative_name']}",
                params["resource_group"],
            )
        answer = self._render(state)
        answer["properties"].pop("provisioningState")
        return Response(200, answer)

    def list_records(self, request: Request, params: dict[str, str]) -> Response:
        zone = self._zone(params)
        wanted = params["record_type"].upper()
        records = [
            r
            for r in self._records(zone["id"])
            if wanted == "ALL" or r["type"].upper() == f"{ZONE_TYPE}/{wanted}".upper()
        ]
        answers = [self._render(r) for r in records]
        for answer in answers:
            answer["properties"].pop("provisioningState")
        return Response(200, list_body(answers))

    def delete_record(self, request: Request, params: dict[str, str]) -> Response:
        zone = self._zone(params)
        record_type = self._record_type(params)
        rid = self._record_id(zone, record_type, params["relative_name"])
        if record_type == "SOA":
            raise arm_error(400, "BadRequest", "The SOA record set cannot be deleted.")  # *unverified*
        if not self.store.exists(rid):
            return Response(204)
        self.store.delete(rid)
        return Response(200)

    def operation_status(self, request: Request, params: dict[str, str]) -> Response:
        return self.double.operations.status_response(params["op_id"])

    def operation_result(self, request: Request, params: dict[str, str]) -> Response:
        own = f"{self.double.base_url}{quote(request.path)}?api-version={request.api_version}"
        return self.double.operations.location_response(params["op_id"], own)


def register(double: AzureDouble) -> None:
    dns = PrivateDnsProvider(double)
    route = double.arm.add
    route("PUT", ZONE, dns.put_zone)
    route("GET", ZONE, dns.get_zone)
    route("DELETE", ZONE, dns.delete_zone)
    route("GET", collection_pattern(NS, "privateDnsZones"), dns.list_zones)
    route("GET", f"/subscriptions/{{subscription}}/providers/{NS}/privateDnsZones", dns.list_zones)
    route("GET", OPERATIONS + "/privateDnsOperationStatuses/{op_id}", dns.operation_status)
    route("GET", OPERATIONS + "/privateDnsOperationResults/{op_id}", dns.operation_result)
    # Links before record sets: `{zone}/virtualNetworkLinks/{name}` would also match `{zone}/{type}/{name}`.
    route("PUT", LINK, dns.put_link)
    route("GET", LINK, dns.get_link)
    route("DELETE", LINK, dns.delete_link)
    route("GET", collection_pattern(NS, "privateDnsZones", "virtualNetworkLinks"), dns.list_links)
    route("PUT", ZONE + "/{record_type}/{relative_name}", dns.put_record)
    route("GET", ZONE + "/{record_type}/{relative_name}", dns.get_record)
    route("DELETE", ZONE + "/{record_type}/{relative_name}", dns.delete_record)
    route("GET", ZONE + "/{record_type}", dns.list_records)
