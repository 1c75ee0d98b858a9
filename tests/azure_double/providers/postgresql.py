"""Microsoft.DBforPostgreSQL flexibleServers with databases, firewall rules and configurations.

Recorded (2026-01-01-preview): server and database PUT/DELETE answer 202 {"operation","startTime"} with
BOTH Azure-AsyncOperation (.../azureAsyncOperation/<id>) and Location (.../operationResults/<id>); the
status reads {"name","status":"InProgress"|"Succeeded","startTime"}; a server DELETE's URLs carry the
location's display name. GET shows state "Ready", the FQDN, storage/HA/network; never the password.
Firewall rules and configurations follow the same operation style (*unverified*).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import catalogues
from ..arm import (
    canonical_location,
    check_tags,
    collection_pattern,
    deep_merge,
    display_location,
    for_api_version,
    list_body,
    not_found,
    provider_pattern,
    require_location,
    resource_id,
    route_resource_type,
)
from ..http import Request, Response, arm_error
from ..lro import operation_headers, utc_now
from ..shapes import shape
from .network import require_subnet
from .resources import in_scope, require_group

if TYPE_CHECKING:
    from ..server import AzureDouble

NS = "Microsoft.DBforPostgreSQL"
TYPE = f"{NS}/flexibleServers"
SERVER = provider_pattern(NS, "flexibleServers")
DATABASE = provider_pattern(NS, "flexibleServers", "databases")
FIREWALL = provider_pattern(NS, "flexibleServers", "firewallRules")
CONFIGURATION = provider_pattern(NS, "flexibleServers", "configurations")
SERVER_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$")
DATABASE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$-]{0,62}$")
FIREWALL_NAME = re.compile(r"^[-\w.]{1,128}$")
SYSTEM_DATABASES = ("azure_maintenance", "postgres", "azure_sys")
# Server keys by api-version, as the recordings show them (2023-06-01-preview vs 2026-01-01-preview); the
# boundary versions are *unverified*: 2024-08-01 is the first GA version with private endpoints.
SERVER_SINCE = {"properties.privateEndpointConnections": "2024-08-01"}
SERVER_UNTIL = {"properties.backup.earliestRestoreDate": "2024-08-01"}
# storage size GB -> (premium disk tier, baseline IOPS)
STORAGE = {
    32: ("P4", 120),
    64: ("P6", 240),
    128: ("P10", 500),
    256: ("P15", 1100),
    512: ("P20", 2300),
    1024: ("P30", 5000),
    2048: ("P40", 7500),
    4096: ("P50", 7500),
    8192: ("P60", 16000),
    16384: ("P70", 18000),
    32767: ("P80", 20000),
}
RESERVED_LOGINS = ("azure_superuser", "azure_pg_admin", "admin", "administrator", "root", "guest", "public")


def _parameters() -> dict[str, dict[str, Any]]:
    """The server parameters by lower-cased name (ARM matches names case-insensitively): a real list."""
    return {
        name.lower(): {"name": name, **props} for name, props in catalogues.load("pg_parameters_13").items()
    }


PARAMETERS = _parameters()


def _capability_skus() -> dict[str, str]:
    """SKU name -> tier, from the real capabilities catalogues."""
    skus = {}
    for version in ("2023-06-01-preview", "2026-01-01-preview"):
        for edition in catalogues.load(f"pg_capabilities_{version}")["value"][0]["supportedServerEditions"]:
            for sku in edition["supportedServerSkus"]:
                skus[sku["name"]] = edition["name"]
    return skus


SKUS = _capability_skus()
VERSIONS = tuple(
    v["name"]
    for v in catalogues.load("pg_capabilities_2026-01-01-preview")["value"][0]["supportedServerVersions"]
)


class PostgreSqlProvider:
    def __init__(self, double: AzureDouble) -> None:
        self.double = double
        self.store = double.store

    # --- shared: the 202 + both-headers operation every write here uses --------------------------
    def _operation(
        self,
        request: Request,
        params: dict[str, str],
        target_id: str,
        operation_name: str,
        location_segment: str,
        on_success: Callable[[], None],
        on_failure: Callable[[str, str], None] = lambda code, message: None,
        final_body: Callable[[], Any] | None = None,
    ) -> Response:
        op = self.double.operations.start(
            target_id=target_id,
            on_success=on_success,
            on_failure=on_failure,
            status_body=_status_body,
            # a finished delete's operationResults answers 200 without a body (recorded)
            final_result=lambda: Response(200, final_body()) if final_body else Response(200),
            **self.double.operation_overrides(request),
        )
        headers = operation_headers(
            self.double.base_url,
            params["subscription"],
            NS,
            location_segment,
            op,
            request.api_version,
            status_segment="azureAsyncOperation",
            location_header=True,
        )
        return Response(202, {"operation": operation_name, "startTime": op.start_time}, headers)

    def _server(self, params: dict[str, str]) -> dict[str, Any]:
        require_group(self.double, params)
        server = self.store.get(resource_id(params, NS, "flexibleServers"))
        if server is None:
            raise not_found(TYPE, params["flexibleservers"], params["resource_group"])
        return server

    # --- servers ------------------------------------------------------------------------------------
    def put_server(self, request: Request, params: dict[str, str]) -> Response:
        return self._upsert_server(request, params, request.json_object())

    def patch_server(self, request: Request, params: dict[str, str]) -> Response:
        server = self._server(params)
        return self._upsert_server(request, params, request.json_object(), existing=server)

    def _upsert_server(
        self,
        request: Request,
        params: dict[str, str],
        body: dict[str, Any],
        existing: dict[str, Any] | None = None,
    ) -> Response:
        group = require_group(self.double, params)
        name = params["flexibleservers"]
        rid = resource_id(params, NS, "flexibleServers")
        existing = existing or self.store.get(rid)
        if not existing and not SERVER_NAME.match(name):
            raise arm_error(
                400,
                "InvalidServerName",  # *unverified* code
                f"Server name '{name}' is invalid: 3-63 lowercase letters, digits and hyphens, "
                "not starting or ending with a hyphen.",
            )
        if not existing:
            self._check_name_free(name)
        if existing and self.double.operations.running_on(rid):
            raise arm_error(
                409, "ServerBusy", f"Server '{name}' is busy with another operation. Try again later."
            )
        if existing:
            current = {
                "location": existing["location"],
                "sku": existing["sku"],
                "tags": existing.get("tags"),
                "properties": existing["properties"],
            }
            # PUT on an existing server keeps what the request leaves out, like PATCH (*unverified* for PUT).
            body = deep_merge(current, body)
        props = body.get("properties") or {}
        location = existing["location"] if existing else require_location(body, TYPE)
        sku = self._sku(body.get("sku") or {})
        version = str(props.get("version", "16"))
        if version not in VERSIONS:
            raise arm_error(
                400,
                "InvalidVersion",
                f"Version '{version}' is not supported. Use one of {', '.join(VERSIONS)}.",
            )
        storage = dict(props.get("storage") or {})
        size = storage.get("storageSizeGB", 128)
        if size not in STORAGE:
            raise arm_error(
                400,
                "InvalidStorageSize",  # *unverified* code
                f"Storage size {size} GB is invalid. Allowed: {', '.join(map(str, STORAGE))}.",
            )
        if existing and size < existing["properties"]["storage"]["storageSizeGB"]:
            raise arm_error(
                400,
                "StorageSizeDecreaseNotSupported",  # *unverified* code
                "Decreasing the storage size of a server is not supported.",
            )
        if existing and version < existing["properties"]["version"]:
            raise arm_error(
                400, "VersionDowngradeNotSupported", "Downgrading the server version is not supported."
            )
        backup = dict(props.get("backup") or {})
        retention = backup.get("backupRetentionDays", 7)
        if not isinstance(retention, int) or not 7 <= retention <= 35:
            raise arm_error(
                400, "InvalidBackupRetentionDays", "backupRetentionDays must be between 7 and 35."
            )
        login = props.get("administratorLogin")
        password = props.get("administratorLoginPassword")
        if existing:
            if login and login != existing["properties"]["administratorLogin"]:
                raise arm_error(
                    400,
                    "AdministratorLoginCannotBeChanged",  # *unverified* code
                    "The administrator login of a server cannot be changed.",
                )
            login = existing["properties"]["administratorLogin"]
        else:
            _check_admin(login, password)
        if password:
            _check_password(password)
        ha_mode = (props.get("highAvailability") or {}).get("mode", "Disabled")
        if ha_mode not in ("Disabled", "ZoneRedundant", "SameZone"):
            raise arm_error(
                400, "InvalidHighAvailabilityMode", f"High availability mode '{ha_mode}' is invalid."
            )
        if ha_mode != "Disabled" and sku["tier"] == "Burstable":
            raise arm_error(
                400,
                "HighAvailabilityNotSupportedForBurstable",  # *unverified* code
                "High availability is not supported for the Burstable tier.",
            )
        network = self._network(name, props.get("network") or {}, existing)

        server = existing or shape(
            "pg_server",
            name=name,
            resourceGroup=group["name"],
            subscription=params["subscription"],
            locationDisplay=display_location(location),
        )
        server.update(id=existing["id"] if existing else rid, name=server["name"], location=location, sku=sku)
        if body.get("tags") is not None:  # real GETs show no tags key on a server created without tags
            server["tags"] = check_tags(body["tags"])
        if body.get("identity"):
            server["identity"] = body["identity"]
        tier, iops = STORAGE[size]
        server_props = server["properties"]
        server_props.update(
            version=version,
            administratorLogin=login,
            storage={
                "type": "",
                "iops": iops,
                "tier": storage.get("tier") or tier,
                "storageSizeGB": size,
                "autoGrow": storage.get("autoGrow", "Disabled"),
            },
            backup={
                "backupRetentionDays": retention,
                "geoRedundantBackup": backup.get("geoRedundantBackup", "Disabled"),
                "earliestRestoreDate": server_props.get("backup", {}).get("earliestRestoreDate") or utc_now(),
            },
            network=network,
            highAvailability={"mode": ha_mode, "state": "NotEnabled" if ha_mode == "Disabled" else "Healthy"},
            authConfig=_auth_config(props.get("authConfig") or server_props.get("authConfig")),
            availabilityZone=str(
                props.get("availabilityZone") or server_props.get("availabilityZone") or "1"
            ),
            state="Updating" if existing else "Provisioning",
        )
        server["_password"] = password or (existing or {}).get("_password")
        self.store.put(rid, server)
        if not existing:
            for db in SYSTEM_DATABASES:
                self.store.put(f"{rid}/databases/{db}", _database(rid, db, "UTF8", "en_US.utf8"))

        def ready() -> None:
            self.store.update(rid, lambda s: s["properties"].update(state="Ready"))

        def failed(code: str, message: str) -> None:
            if existing:
                self.store.update(rid, lambda s: s["properties"].update(state="Ready"))
            else:
                self.store.delete(rid)

        return self._operation(
            request,
            params,
            rid,
            "UpsertServerManagementOperationV2",
            location,
            ready,
            failed,
            final_body=lambda: self._render(self.store.get(rid), request.api_version),
        )

    def _network(
        self, name: str, requested: dict[str, Any], existing: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Private access (a delegated subnet + a private DNS zone) or public access; fixed at creation.

        Codes and wording *unverified*; the rules are Azure's documented ones: the subnet must be
        delegated to flexibleServers, the zone must exist, and a VNet-injected server has no public access.
        """
        network = dict(requested)
        subnet_id = network.get("delegatedSubnetResourceId")
        if existing:
            before = existing["properties"].get("network") or {}
            if (subnet_id or None) != (
                before.get("delegatedSubnetResourceId") or None
            ) and "delegatedSubnetResourceId" in requested:
                raise arm_error(
                    400,
                    "NetworkingModelCannotBeChanged",
                    f"The network of server '{name}' cannot change after creation: create a new server.",
                )
            network = {**before, **network}
            subnet_id = network.get("delegatedSubnetResourceId")
        if subnet_id:
            require_subnet(self.double, subnet_id, TYPE, f"server '{name}'")
            zone_id = network.get("privateDnsZoneArmResourceId")
            zone = self.store.get(zone_id) if zone_id else None
            if zone is None or zone.get("type") != "Microsoft.Network/privateDnsZones":
                raise arm_error(
                    400,
                    "InvalidPrivateDnsZoneResourceId",
                    f"The private DNS zone '{zone_id}' of server '{name}' does not exist.",
                )
            if network.get("publicNetworkAccess", "Disabled") != "Disabled":
                raise arm_error(
                    400,
                    "PublicNetworkAccessNotSupportedWithVnet",
                    f"Server '{name}' joins a virtual network: publicNetworkAccess must be Disabled.",
                )
            network["publicNetworkAccess"] = "Disabled"
        else:
            network.setdefault("publicNetworkAccess", "Enabled")
        return network

    def _check_name_free(self, name: str) -> None:
        if self.store.matching(lambda k, v: v.get("type") == TYPE and v["name"] == name):
            raise arm_error(
                409,
                "ServerNameAlreadyExists",  # code and wording as seen in public reports; status *unverified*
                "Specified server name is already used by another server.",
            )

    def _sku(self, sku: dict[str, Any]) -> dict[str, str]:
        name = sku.get("name")
        if not isinstance(name, str) or name not in SKUS:
            raise arm_error(
                400,
                "InvalidSkuName",  # *unverified* code
                f"The sku name '{name}' is not valid for a flexible server.",
            )
        tier = SKUS[name]
        if sku.get("tier") and sku["tier"] != tier:
            raise arm_error(
                400, "InvalidSkuTier", f"The sku '{name}' belongs to tier '{tier}', not '{sku['tier']}'."
            )
        return {"name": name, "tier": tier}

    def _render(self, server: dict[str, Any], api_version: str | None = None) -> dict[str, Any]:
        out = {k: v for k, v in server.items() if not k.startswith("_")}
        out["location"] = display_location(server["location"])
        return for_api_version(out, api_version, SERVER_SINCE, SERVER_UNTIL)

    def get_server(self, request: Request, params: dict[str, str]) -> Response:
        self.double.operations.advance_target(self._server(params)["id"])
        # looked up again: advancing may have finished a delete (then 404, as Azure)
        return Response(200, self._render(self._server(params), request.api_version))

    def list_servers(self, request: Request, params: dict[str, str]) -> Response:
        servers = in_scope(self.double, params, TYPE)
        return Response(200, list_body([self._render(s, request.api_version) for s in servers]))

    def delete_server(self, request: Request, params: dict[str, str]) -> Response:
        require_group(self.double, params)
        rid = resource_id(params, NS, "flexibleServers")
        server = self.store.get(rid)
        if server is None:
            return Response(204)
        self.store.update(rid, lambda s: s["properties"].update(state="Dropping"))
        # Recorded: a server delete's operation URLs name the region by its display name.
        return self._operation(
            request,
            params,
            rid,
            "DropServerManagementOperation",
            display_location(server["location"]),
            lambda: self.store.delete(rid),
        )

    def server_action(self, request: Request, params: dict[str, str]) -> Response:
        """POST stop / start / restart: long-running, state Stopped/Ready."""
        server = self._server(params)
        action = request.path.rstrip("/").rsplit("/", 1)[-1].lower()
        final_state = "Stopped" if action == "stop" else "Ready"
        self.store.update(
            server["id"],
            lambda s: s["properties"].update(
                state={"stop": "Stopping", "start": "Starting"}.get(action, "Restarting")
            ),
        )

        def done() -> None:
            def apply(s: dict[str, Any]) -> None:
                s["properties"]["state"] = final_state
                if action in ("restart", "start"):
                    for config in self.store.children(s["id"], "configurations"):
                        self.store.update(
                            config["id"], lambda c: c["properties"].update(isConfigPendingRestart=False)
                        )

            self.store.update(server["id"], apply)

        return self._operation(
            request,
            params,
            server["id"],
            f"{action.capitalize()}ServerManagementOperation",
            server["location"],
            done,
        )

    @staticmethod
    def private_dns_zone_suffix(request: Request, params: dict[str, str]) -> Response:
        """The public cloud's suffix, a bare JSON string (recorded, 2023-06-01-preview)."""
        return Response(
            200, '"postgres.database.azure.com"', {"content-type": "application/json; charset=utf-8"}
        )

    def capabilities(self, request: Request, params: dict[str, str]) -> Response:
        """What a region offers (SKUs, storage, versions): the real catalogue of the request's api-version."""
        if canonical_location(params["location"]) is None:
            raise arm_error(  # *unverified* code and wording
                400, "InvalidLocation", f"The location '{params['location']}' is not a valid Azure region."
            )
        return Response(200, catalogues.by_api_version("pg_capabilities", request.api_version))

    def check_name(self, request: Request, params: dict[str, str]) -> Response:
        body = request.json_object()
        name = str(body.get("name", ""))
        answer: dict[str, Any] = {
            "name": name,
            "type": body.get("type", TYPE),
            "nameAvailable": True,
            "message": "",
        }
        if not SERVER_NAME.match(name):
            answer.update(nameAvailable=False, reason="Invalid", message=f"Server name '{name}' is invalid.")
        elif self.store.matching(lambda k, v: v.get("type") == TYPE and v["name"] == name):
            answer.update(
                nameAvailable=False,
                reason="AlreadyExists",
                message=f"Specified server name '{name}' is already used.",
            )
        return Response(200, answer)

    # --- databases ----------------------------------------------------------------------------------
    def put_database(self, request: Request, params: dict[str, str]) -> Response:
        server = self._server(params)
        name = params["databases"]
        if not DATABASE_NAME.match(name):
            raise arm_error(
                400, "InvalidDatabaseName", f"Database name '{name}' is invalid."
            )  # *unverified* code
        props = request.json_object().get("properties") or {}
        charset = str(props.get("charset") or "UTF8").upper()
        collation = props.get("collation") or "en_US.utf8"
        rid = f"{server['id']}/databases/{name}"
        existing = self.store.get(rid)
        if existing and (existing["properties"]["charset"], existing["properties"]["collation"]) != (
            charset,
            collation,
        ):
            raise arm_error(
                400,
                "DatabaseCharsetCollationCannotBeChanged",  # *unverified* code
                f"The charset and collation of database '{name}' cannot be changed.",
            )
        return self._operation(
            request,
            params,
            rid,
            "UpsertServerDatabaseManagementOperation",
            server["location"],
            lambda: self.store.put(rid, _database(server["id"], name, charset, collation)),
            final_body=lambda: self.store.get(rid),
        )

    def get_database(self, request: Request, params: dict[str, str]) -> Response:
        server = self._server(params)
        self.double.operations.advance_target(f"{server['id']}/databases/{params['databases']}")
        database = self.store.get(f"{server['id']}/databases/{params['databases']}")
        if database is None:
            raise not_found(
                f"{TYPE}/databases", f"{server['name']}/{params['databases']}", params["resource_group"]
            )
        return Response(200, database)

    def list_databases(self, request: Request, params: dict[str, str]) -> Response:
        server = self._server(params)
        return Response(200, list_body(self.store.children(server["id"], "databases")))

    def delete_child(self, kind: str, operation_name: str) -> Callable[[Request, dict[str, str]], Response]:
        param = kind.lower()

        def delete(request: Request, params: dict[str, str]) -> Response:
            server = self._server(params)
            rid = f"{server['id']}/{kind}/{params[param]}"
            if not self.store.exists(rid):
                return Response(204)
            return self._operation(
                request, params, rid, operation_name, server["location"], lambda: self.store.delete(rid)
            )

        return delete

    # --- firewall rules (*shape from docs*) ---------------------------------------------------------
    def put_firewall_rule(self, request: Request, params: dict[str, str]) -> Response:
        server = self._server(params)
        name = params["firewallrules"]
        if (server["properties"].get("network") or {}).get("publicNetworkAccess") == "Disabled":
            raise arm_error(  # *unverified* code
                400,
                "FirewallRuleNotSupportedWithoutPublicAccess",
                f"Server '{server['name']}' has public network access disabled: firewall rules do not apply.",
            )
        if not FIREWALL_NAME.match(name):
            raise arm_error(400, "InvalidFirewallRuleName", f"Firewall rule name '{name}' is invalid.")
        props = request.json_object().get("properties") or {}
        try:
            start = ipaddress.IPv4Address(props.get("startIpAddress"))
            end = ipaddress.IPv4Address(props.get("endIpAddress"))
        except (ipaddress.AddressValueError, ValueError) as exc:
            raise arm_error(
                400,
                "InvalidFirewallRuleIpAddress",
                f"The firewall rule '{name}' needs valid IPv4 start and end addresses.",
            ) from exc
        if start > end:
            raise arm_error(
                400,
                "FirewallRuleStartIpAddressGreaterThanEndIpAddress",
                f"The start IP address {start} is greater than the end IP address {end}.",
            )
        rid = f"{server['id']}/firewallRules/{name}"
        rule = {
            "properties": {"startIpAddress": str(start), "endIpAddress": str(end)},
            "id": rid,
            "name": name,
            "type": f"{TYPE}/firewallRules",
        }
        return self._operation(
            request,
            params,
            rid,
            "UpsertServerFirewallRulesManagementOperation",
            server["location"],
            lambda: self.store.put(rid, rule),
            final_body=lambda: self.store.get(rid),
        )

    def get_child(self, kind: str, type_name: str) -> Callable[[Request, dict[str, str]], Response]:
        param = kind.lower()

        def get(request: Request, params: dict[str, str]) -> Response:
            server = self._server(params)
            rid = f"{server['id']}/{kind}/{params[param]}"
            self.double.operations.advance_target(rid)
            child = self.store.get(rid)
            if child is None:
                raise not_found(
                    f"{TYPE}/{type_name}", f"{server['name']}/{params[param]}", params["resource_group"]
                )
            return Response(200, child)

        return get

    def list_children(self, kind: str) -> Callable[[Request, dict[str, str]], Response]:
        def list_(request: Request, params: dict[str, str]) -> Response:
            server = self._server(params)
            return Response(200, list_body(self.store.children(server["id"], kind)))

        return list_

    # --- configurations (server parameters) ---------------------------------------------------------
    def _configuration(self, server: dict[str, Any], name: str) -> dict[str, Any]:
        """The parameter as a new server shows it (the real catalogue), or as this server stores it."""
        stored = self.store.get(f"{server['id']}/configurations/{name}")
        if stored:
            return stored
        parameter = PARAMETERS.get(name.lower())
        if parameter is None:
            resource_group = server["id"].split("/")[4]
            raise not_found(f"{TYPE}/configurations", f"{server['name']}/{name}", resource_group)
        props = {k: v for k, v in parameter.items() if k != "name"}
        return {
            "properties": props,
            "id": f"{server['id']}/configurations/{parameter['name']}",
            "name": parameter["name"],
            "type": f"{TYPE}/configurations",
        }

    def get_configuration(self, request: Request, params: dict[str, str]) -> Response:
        server = self._server(params)
        self.double.operations.advance_target(f"{server['id']}/configurations/{params['configurations']}")
        return Response(200, self._configuration(server, params["configurations"]))

    def list_configurations(self, request: Request, params: dict[str, str]) -> Response:
        server = self._server(params)
        return Response(200, list_body([self._configuration(server, p["name"]) for p in PARAMETERS.values()]))

    def put_configuration(self, request: Request, params: dict[str, str]) -> Response:
        server = self._server(params)
        current = self._configuration(server, params["configurations"])
        name, props = current["name"], dict(current["properties"])
        wanted = request.json_object().get("properties") or {}
        if props["isReadOnly"]:
            raise arm_error(
                400,
                "ParameterIsReadOnly",  # *unverified* code and wording
                f"The server parameter '{name}' is read-only.",
            )
        if wanted.get("source") == "system-default" and wanted.get("value") is None:
            value = props["defaultValue"]
        else:
            value = _validated_value(name, props, wanted.get("value"))
        changed = value != props["value"]
        props.update(
            value=value,
            source="system-default" if value == props["defaultValue"] else "user-override",
            # a static parameter takes effect at the next restart (start/restart clear this flag)
            isConfigPendingRestart=props["isConfigPendingRestart"]
            or (changed and not props["isDynamicConfig"]),
        )
        updated = {**current, "properties": props}
        rid = updated["id"]
        return self._operation(
            request,
            params,
            rid,
            "UpdateConfigurationManagementOperation",
            server["location"],
            lambda: self.store.put(rid, updated),
            final_body=lambda: self.store.get(rid),
        )


def _auth_config(auth: dict[str, Any] | None) -> dict[str, Any] | None:
    """Azure keeps tenantId only with Entra ID (AAD) auth enabled: an empty one is not answered (recorded)."""
    if not auth:
        return auth
    auth = dict(auth)
    if auth.get("activeDirectoryAuth") != "Enabled" or not auth.get("tenantId"):
        auth.pop("tenantId", None)
    return auth


def _status_body(op) -> dict[str, Any]:
    body: dict[str, Any] = {"name": op.op_id, "status": op.status, "startTime": op.start_time}
    if op.status == "Failed":
        body["error"] = op.error_body()
    return body


def _database(server_id: str, name: str, charset: str, collation: str) -> dict[str, Any]:
    return {
        "properties": {"charset": charset, "collation": collation},
        "id": f"{server_id}/databases/{name}",
        "name": name,
        "type": f"{TYPE}/databases",
    }


def _check_admin(login: Any, password: Any) -> None:
    if not isinstance(login, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,62}", login):
        raise arm_error(
            400,
            "InvalidAdministratorLogin",  # *unverified* code
            "administratorLogin is required: 1-63 letters, digits or underscores, starting with a letter.",
        )
    if login.lower() in RESERVED_LOGINS or login.lower().startswith("pg_"):
        raise arm_error(400, "InvalidAdministratorLogin", f"The administrator login '{login}' is reserved.")
    if not password:
        raise arm_error(400, "AdministratorLoginPasswordRequired", "administratorLoginPassword is required.")


def _check_password(password: Any) -> None:
    classes = sum(bool(re.search(p, str(password))) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]"))
    if not isinstance(password, str) or not 8 <= len(password) <= 128 or classes < 3:
        raise arm_error(
            400,
            "PasswordNotComplex",  # *unverified* code
            "The password must be 8-128 characters from three of: upper case, lower case, digits, "
            "non-alphanumeric.",
        )


def _validated_value(name: str, props: dict[str, Any], value: Any) -> str:
    """Check a value against the parameter's data type and allowed values, as the catalogue states them."""
    data_type, allowed = props["dataType"], props["allowedValues"]
    text = "" if value is None else str(value)
    if data_type == "Set":
        options = {o.strip().lower() for o in allowed.split(",")}
        ok = all(item.strip().lower() in options for item in text.split(",") if item.strip())
    elif data_type in ("Enumeration", "Boolean"):
        ok = text.lower() in {o.strip().lower() for o in allowed.split(",")}
    elif data_type in ("Integer", "Numeric"):
        ok = _in_range(text, allowed, integer=data_type == "Integer")
    else:  # String: allowedValues is a regular expression
        ok = bool(re.fullmatch(allowed, text))
    if not ok:
        raise arm_error(
            400,
            "InvalidParameterValue",  # *unverified* code
            f"The value '{text}' for configuration '{name}' is not valid. Allowed values: {allowed}.",
        )
    return text


def _in_range(text: str, allowed: str, *, integer: bool) -> bool:
    """'25-5000', '-1-2147483647', '0-1.79769e+308' style ranges."""
    number = r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?"
    bounds = re.fullmatch(f"({number})-({number})", allowed, re.IGNORECASE)
    try:
        given = int(text) if integer else float(text)
    except ValueError:
        return False
    return bool(bounds) and float(bounds.group(1)) <= given <= float(bounds.group(2))


def register(double: AzureDouble) -> None:
    pg = PostgreSqlProvider(double)
    route = double.arm.add
    route_resource_type(
        route,
        NS,
        "flexibleServers",
        put=pg.put_server,
        get=pg.get_server,
        patch=pg.patch_server,
        delete=pg.delete_server,
        list_all=pg.list_servers,
    )
    for action in ("stop", "start", "restart"):
        route("POST", f"{SERVER}/{action}", pg.server_action)
    for path in ("checkNameAvailability", "locations/{location}/checkNameAvailability"):
        route("POST", f"/subscriptions/{{subscription}}/providers/{NS}/{path}", pg.check_name)
    route(
        "GET",
        f"/subscriptions/{{subscription}}/providers/{NS}/locations/{{location}}/capabilities",
        pg.capabilities,
    )
    route("POST", f"/providers/{NS}/getPrivateDnsZoneSuffix", pg.private_dns_zone_suffix)
    route("PUT", DATABASE, pg.put_database)
    route("GET", DATABASE, pg.get_database)
    route("DELETE", DATABASE, pg.delete_child("databases", "DropServerDatabaseManagementOperation"))
    route("GET", collection_pattern(NS, "flexibleServers", "databases"), pg.list_databases)
    route("PUT", FIREWALL, pg.put_firewall_rule)
    route("GET", FIREWALL, pg.get_child("firewallRules", "firewallRules"))
    route("DELETE", FIREWALL, pg.delete_child("firewallRules", "DropServerFirewallRulesManagementOperation"))
    route(
        "GET", collection_pattern(NS, "flexibleServers", "firewallRules"), pg.list_children("firewallRules")
    )
    route("GET", CONFIGURATION, pg.get_configuration)
    route("PUT", CONFIGURATION, pg.put_configuration)
    route("PATCH", CONFIGURATION, pg.put_configuration)
    route("GET", collection_pattern(NS, "flexibleServers", "configurations"), pg.list_configurations)
