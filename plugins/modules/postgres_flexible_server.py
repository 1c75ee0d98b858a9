#!/usr/bin/python
# Copyright: PAPR Memory engineers
# Apache-2.0
"""Azure Database for PostgreSQL flexible server with its databases, firewall rules and parameters."""

from __future__ import annotations

DOCUMENTATION = r"""
module: postgres_flexible_server
short_description: Azure Database for PostgreSQL flexible server, databases, firewall rules and parameters
description:
  - Ensures a PostgreSQL flexible server (C(Microsoft.DBforPostgreSQL/flexibleServers)) exists with the given
    version, SKU, storage, backup retention, high availability and network access, with the listed databases,
    firewall rules and server parameters; or that it is absent.
  - Azure never returns the administrator password; the module keeps a salted, slow hash of it in the tag
    C(papr-secrets-hash) and changes the password only when the hash differs.
  - Server parameters are compared the way PostgreSQL reads them - C(azure.extensions) and other set
    parameters as sets without case, so V(btree_gin,pg_trgm) equals V(PG_TRGM,BTREE_GIN). Temporal's
    visibility schema
    needs V(BTREE_GIN) allowed there.
  - Databases are created but never dropped by this module (data); firewall rules are authoritative when
    given.
  - Idempotent; check mode sends no write request; diff mode masks the password. Waits for Azure's
    long-running operations (a server takes minutes) with the O(timeout) deadline.
version_added: 0.1.0
author:
  - PAPR Memory engineers (@papr-memory)
options:
  name:
    description: Server name (3-63 lower-case letters, digits and hyphens; global, it is the host name).
    type: str
    required: true
  resource_group:
    description: Resource group of the server.
    type: str
    required: true
  location:
    description: Azure region. Default - the resource group's location.
    type: str
  version:
    description: PostgreSQL major version. Can be raised (in-place major version upgrade), never lowered.
    type: str
    choices: ['11', '12', '13', '14', '15', '16', '17']
    default: '16'
  sku:
    description:
      - Compute size, for example V(Standard_B1ms) (Burstable), V(Standard_D2ds_v5) (General Purpose),
        V(Standard_E2ds_v5) (Memory Optimized). The tier follows from the name.
    type: str
    default: Standard_B1ms
  storage_gb:
    description: Storage size in GB. Can grow, never shrink.
    type: int
    choices: [32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767]
    default: 32
  storage_auto_grow:
    description: Let Azure grow the storage when it fills up.
    type: bool
    default: false
  backup_retention_days:
    description: Days of point-in-time backups (7-35).
    type: int
    default: 7
  high_availability:
    description: Standby replica mode (not available on Burstable SKUs).
    type: str
    choices: [Disabled, ZoneRedundant, SameZone]
    default: Disabled
  public_network_access:
    description: Whether the server has a public endpoint (reachable through the firewall rules).
    type: bool
    default: true
  admin_login:
    description: Administrator login. Required to create the server; cannot change.
    type: str
  admin_password:
    description:
      - Administrator password. Required to create the server; changed when it differs from the last one set.
    type: str
  databases:
    description: Databases that must exist (existing ones not listed are left alone, never dropped).
    type: list
    elements: dict
    default: []
    suboptions:
      name: {description: Database name., type: str, required: true}
      charset: {description: Character set (cannot change later)., type: str, default: UTF8}
      collation: {description: Collation (cannot change later)., type: str, default: en_US.utf8}
  firewall_rules:
    description:
      - Firewall rules of the public endpoint, authoritative - rules not listed are deleted.
      - Not given - left alone.
      - V(0.0.0.0) to V(0.0.0.0) allows connections from Azure services.
    type: list
    elements: dict
    suboptions:
      name: {description: Rule name., type: str, required: true}
      start_ip: {description: First IPv4 address., type: str, required: true}
      end_ip:
        description: Last IPv4 address. Default - the start address.
        type: str
  parameters:
    description:
      - Server parameters to set, for example C(azure.extensions) (a list or a comma-separated string).
        Parameters not listed are left alone. The result lists those that need a restart to take effect.
    type: dict
    default: {}
  state:
    description: Whether the server should exist. Deleting it deletes its databases and backups.
extends_documentation_fragment:
  - papr.memory.azure
  - papr.memory.azure.tags
  - papr.memory.azure.state
requirements:
  - azure-mgmt-postgresqlflexibleservers >= 1
"""

EXAMPLES = r"""
- name: PostgreSQL for PAPR Memory and Temporal
  papr.memory.postgres_flexible_server:
    name: papr-memory-pg
    resource_group: papr-memory-prod
    sku: Standard_B2s
    storage_gb: 64
    admin_login: paprAdmin
    admin_password: "{{ vault_postgres_password }}"
    databases:
      - name: memory
      - name: temporal
      - name: temporal_visibility
    firewall_rules:
      - {name: azure-services, start_ip: 0.0.0.0}
    parameters:
      azure.extensions: [BTREE_GIN, PG_TRGM]
"""

RETURN = r"""
server:
  description: The server after the task (empty when absent); the password is never included.
  returned: always
  type: dict
  contains:
    id: {description: Resource id., type: str}
    name: {description: Name., type: str}
    fqdn:
      description: Host name clients connect to.
      type: str
      sample: papr-memory-pg.postgres.database.azure.com
    version: {description: PostgreSQL major version., type: str, sample: '16'}
    state: {description: Server state., type: str, sample: Ready}
    sku: {description: SKU name., type: str, sample: Standard_B1ms}
    tier: {description: SKU tier., type: str, sample: Burstable}
    storage_gb: {description: Storage size., type: int, sample: 32}
    admin_login: {description: Administrator login., type: str}
databases:
  description: Names of the databases the module ensured.
  returned: always
  type: list
  elements: str
firewall_rules:
  description: Firewall rules after the task (when managed).
  returned: always
  type: list
  elements: dict
pending_restart:
  description: Parameters whose new value takes effect only after a server restart.
  returned: always
  type: list
  elements: str
"""

import ipaddress
import re

from ansible_collections.papr.memory.plugins.module_utils.azure_client import rest_dict
from ansible_collections.papr.memory.plugins.module_utils.azure_diff import (
    SECRETS_TAG,
    TAGS_ARGUMENT_SPEC,
    changed_keys,
    desired_tags,
    same_location,
    same_text,
    secrets_fingerprint,
    setting_string,
    with_secrets_hash_masked,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_errors import AzureModuleError
from ansible_collections.papr.memory.plugins.module_utils.azure_module import (
    STATE_ARGUMENT_SPEC,
    AzureModule,
    describe,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_names import name_pattern, require_valid_name

NAME_PATTERN = name_pattern("postgres_server")
SKU_PATTERN = re.compile(
    r"^Standard_(B(1ms|2s|2ms|4ms|8ms|12ms|16ms|20ms)|[DE](2|4|8|16|32|48|64|96)a?ds?_v[345])$"
)
TIERS = {"B": "Burstable", "D": "GeneralPurpose", "E": "MemoryOptimized"}
RESERVED_LOGINS = ("azure_superuser", "azure_pg_admin", "admin", "administrator", "root", "guest", "public")
# Parameters whose values are sets (comma lists), compared without order or case.
SET_PARAMETERS = ("azure.extensions", "shared_preload_libraries")


# --- validation ---------------------------------------------------------------------------------------
def _ipv4(value, what):
    try:
        return ipaddress.IPv4Address(value)
    except ValueError as exc:
        raise AzureModuleError(f"{what} {value!r} is not an IPv4 address.") from exc


def validate(params):
    require_valid_name("postgres_server", params["name"])
    if params["state"] == "absent":
        return
    if not SKU_PATTERN.match(params["sku"]):
        raise AzureModuleError(
            f"Unknown PostgreSQL flexible server SKU {params['sku']!r}: use Standard_B1ms, Standard_B2s, ... "
            "(Burstable), Standard_D2ds_v5, ... (General Purpose) or Standard_E2ds_v5, ... "
            "(Memory Optimized)."
        )
    if tier_of(params["sku"]) == "Burstable" and params["high_availability"] != "Disabled":
        raise AzureModuleError(
            "high_availability needs a General Purpose or Memory Optimized SKU, not Burstable."
        )
    if not 7 <= params["backup_retention_days"] <= 35:
        raise AzureModuleError(f"backup_retention_days must be 7-35, not {params['backup_retention_days']}.")
    login = params["admin_login"]
    if login and (login.lower() in RESERVED_LOGINS or login.lower().startswith("pg_")):
        raise AzureModuleError(f"admin_login {login!r} is reserved by Azure: choose another login.")
    for database in params["databases"]:
        require_valid_name("postgres_database", database["name"])
    for rule in params["firewall_rules"] or []:
        require_valid_name("firewall_rule", rule["name"])
        start = _ipv4(rule["start_ip"], f"Firewall rule {rule['name']!r} start_ip")
        end = _ipv4(rule["end_ip"] or rule["start_ip"], f"Firewall rule {rule['name']!r} end_ip")
        if start > end:
            raise AzureModuleError(f"Firewall rule {rule['name']!r}: start_ip {start} is after end_ip {end}.")


def tier_of(sku):
    return TIERS[sku[len("Standard_")]]


# --- comparison -------------------------------------------------------------------------------------------
def parameter_value(name, value):
    """A parameter value as the server stores it: lists joined with commas, booleans on/off."""
    if isinstance(value, (list, tuple)):
        return ",".join(setting_string(v) for v in value)
    if isinstance(value, bool):
        return "on" if value else "off"
    return setting_string(value)


def _as_set(text):
    return {item.strip().lower() for item in (text or "").split(",") if item.strip()}


def same_parameter(name, current, desired):
    if name in SET_PARAMETERS:
        return _as_set(current) == _as_set(desired)
    return same_text(current, desired)


def server_view(server):
    """Managed server fields of a GET answer, as compared and shown (the password hash only as MASK)."""
    if not server:
        return {}
    properties = server.get("properties") or {}
    storage = properties.get("storage") or {}
    tags = dict(server.get("tags") or {})
    return {
        "location": server.get("location"),
        "version": str(properties.get("version")),
        "sku": (server.get("sku") or {}).get("name"),
        "storage_gb": storage.get("storageSizeGB"),
        "storage_auto_grow": storage.get("autoGrow") == "Enabled",
        "backup_retention_days": (properties.get("backup") or {}).get("backupRetentionDays"),
        "high_availability": (properties.get("highAvailability") or {}).get("mode"),
        "public_network_access": (properties.get("network") or {}).get("publicNetworkAccess") == "Enabled",
        "admin_login": properties.get("administratorLogin"),
        "secrets_hash": tags.pop(SECRETS_TAG, None),
        "tags": tags,
    }


def desired_view(params, current, location):
    password_tag = None
    if params["admin_password"]:
        password_tag = secrets_fingerprint(
            [("admin_password", params["admin_password"])], current.get("secrets_hash")
        )
    return {
        "location": current.get("location")
        if current and same_location(current["location"], location)
        else location,
        "version": params["version"],
        "sku": params["sku"],
        "storage_gb": params["storage_gb"],
        "storage_auto_grow": params["storage_auto_grow"],
        "backup_retention_days": params["backup_retention_days"],
        "high_availability": params["high_availability"],
        "public_network_access": params["public_network_access"],
        "admin_login": current.get("admin_login") if current else params["admin_login"],
        "secrets_hash": password_tag or current.get("secrets_hash"),
        "tags": desired_tags(params["tags"], params["purge_tags"], current.get("tags")),
    }


def refuse_impossible_changes(resource, current, desired, params):
    if not current:
        if not params["admin_login"] or not params["admin_password"]:
            raise AzureModuleError(
                f"{resource} does not exist: give admin_login and admin_password to create it."
            )
        return
    if not same_location(current["location"], desired["location"]):
        raise AzureModuleError(
            f"{resource} is in {current['location']}: a server cannot move to another region."
        )
    if params["admin_login"] and params["admin_login"] != current["admin_login"]:
        raise AzureModuleError(
            f"{resource} has the administrator login {current['admin_login']!r}; it cannot change to "
            f"{params['admin_login']!r}."
        )
    if int(desired["version"]) < int(current["version"]):
        raise AzureModuleError(
            f"{resource} runs PostgreSQL {current['version']}; a server cannot be downgraded."
        )
    if desired["storage_gb"] < current["storage_gb"]:
        raise AzureModuleError(
            f"{resource} has {current['storage_gb']} GB of storage; storage cannot shrink."
        )


def server_properties(view, password):
    properties = {
        "version": view["version"],
        "storage": {
            "storageSizeGB": view["storage_gb"],
            "autoGrow": "Enabled" if view["storage_auto_grow"] else "Disabled",
        },
        "backup": {"backupRetentionDays": view["backup_retention_days"]},
        "highAvailability": {"mode": view["high_availability"]},
        "network": {"publicNetworkAccess": "Enabled" if view["public_network_access"] else "Disabled"},
    }
    if password:
        properties["administratorLoginPassword"] = password
    return properties


def tags_with_hash(view):
    tags = dict(view["tags"])
    if view["secrets_hash"]:
        tags[SECRETS_TAG] = view["secrets_hash"]
    return tags


def summarise(server):
    if not server:
        return {}
    properties = server.get("properties") or {}
    return {
        "id": server.get("id"),
        "name": server.get("name"),
        "fqdn": properties.get("fullyQualifiedDomainName"),
        "version": properties.get("version"),
        "state": properties.get("state"),
        "sku": (server.get("sku") or {}).get("name"),
        "tier": (server.get("sku") or {}).get("tier"),
        "storage_gb": (properties.get("storage") or {}).get("storageSizeGB"),
        "admin_login": properties.get("administratorLogin"),
    }


# --- the module ----------------------------------------------------------------------------------------
class PostgresServer:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.client = module.client("postgres")
        self.group = self.params["resource_group"]
        self.name = self.params["name"]
        self.resource = describe("PostgreSQL flexible server", self.name, self.group)
        self.result = {
            "changed": False,
            "server": {},
            "databases": [],
            "firewall_rules": [],
            "pending_restart": [],
        }
        self.diff = {"before": {}, "after": {}}

    def wait(self, action, operation, *args):
        poller = self.module.call(action, self.resource, operation, *args)
        return rest_dict(self.module.wait(poller, action, self.resource))

    def changed(self, part, before, after):
        self.result["changed"] = True
        self.diff["before"][part] = before
        self.diff["after"][part] = after

    def location(self):
        if self.params["location"]:
            return self.params["location"]
        group = self.module.get_or_none(
            self.resource, self.module.client("resource").resource_groups.get, self.group
        )
        if group is None and not self.module.check_mode:
            raise AzureModuleError(
                f"Resource group '{self.group}' of {self.resource} does not exist: create it first."
            )
        return rest_dict(group)["location"] if group is not None else None

    def ensure_server(self, server):
        current = server_view(server)
        desired = desired_view(self.params, current, current.get("location") or self.location())
        refuse_impossible_changes(self.resource, current, desired, self.params)
        differences = changed_keys(current, desired)
        if not differences:
            return server
        self.changed("server", with_secrets_hash_masked(current), with_secrets_hash_masked(desired))
        if self.module.check_mode:
            return server
        password_changed = "secrets_hash" in differences and self.params["admin_password"]
        password = self.params["admin_password"] if password_changed else None
        if not server:
            body = {
                "location": desired["location"],
                "sku": {"name": desired["sku"], "tier": tier_of(desired["sku"])},
                "tags": tags_with_hash(desired),
                "properties": {
                    **server_properties(desired, password),
                    "administratorLogin": desired["admin_login"],
                },
            }
            return self.wait(
                "create", self.client.servers.begin_create_or_update, self.group, self.name, body
            )
        body = {
            "sku": {"name": desired["sku"], "tier": tier_of(desired["sku"])},
            "tags": tags_with_hash(desired),
            "properties": server_properties(desired, password),
        }
        return self.wait("update", self.client.servers.begin_update, self.group, self.name, body)

    def ensure_databases(self, exists):
        current = {}
        if exists:
            listed = self.module.call(
                "list the databases of",
                self.resource,
                self.client.databases.list_by_server,
                self.group,
                self.name,
            )
            current = {d["name"]: d for d in (rest_dict(item) for item in listed)}
        missing = []
        for database in self.params["databases"]:
            found = current.get(database["name"])
            if found is None:
                missing.append(database)
                continue
            properties = found.get("properties") or {}
            wanted = (database["charset"].upper(), database["collation"])
            if (str(properties.get("charset")).upper(), properties.get("collation")) != wanted:
                raise AzureModuleError(
                    f"Database {database['name']!r} of {self.resource} has charset "
                    f"{properties.get('charset')} "
                    f"and collation {properties.get('collation')}; they cannot change (drop and recreate it "
                    "yourself)."
                )
        if missing:
            self.changed("databases", sorted(current), sorted({*current, *(d["name"] for d in missing)}))
        for database in missing if not self.module.check_mode else []:
            body = {"properties": {"charset": database["charset"], "collation": database["collation"]}}
            self.wait(
                f"create database {database['name']!r} on",
                self.client.databases.begin_create,
                self.group,
                self.name,
                database["name"],
                body,
            )
        self.result["databases"] = sorted(d["name"] for d in self.params["databases"])

    def ensure_firewall_rules(self, exists):
        if self.params["firewall_rules"] is None:
            return
        current = {}
        if exists:
            listed = self.module.call(
                "list the firewall rules of",
                self.resource,
                self.client.firewall_rules.list_by_server,
                self.group,
                self.name,
            )
            for item in listed:
                rule = rest_dict(item)
                properties = rule.get("properties") or {}
                current[rule["name"]] = {
                    "start_ip": properties.get("startIpAddress"),
                    "end_ip": properties.get("endIpAddress"),
                }
        desired = {
            r["name"]: {"start_ip": r["start_ip"], "end_ip": r["end_ip"] or r["start_ip"]}
            for r in self.params["firewall_rules"]
        }
        self.result["firewall_rules"] = [{"name": name, **rule} for name, rule in sorted(desired.items())]
        if current == desired:
            return
        self.changed("firewall_rules", current, desired)
        if self.module.check_mode:
            return
        for name, rule in desired.items():
            if current.get(name) != rule:
                body = {"properties": {"startIpAddress": rule["start_ip"], "endIpAddress": rule["end_ip"]}}
                self.wait(
                    f"set firewall rule {name!r} of",
                    self.client.firewall_rules.begin_create_or_update,
                    self.group,
                    self.name,
                    name,
                    body,
                )
        for name in set(current) - set(desired):
            self.wait(
                f"delete firewall rule {name!r} of",
                self.client.firewall_rules.begin_delete,
                self.group,
                self.name,
                name,
            )

    def ensure_parameters(self, exists):
        before, after = {}, {}
        for name, raw in self.params["parameters"].items():
            value = parameter_value(name, raw)
            current = None
            if exists:
                found = self.module.get_or_none(
                    self.resource, self.client.configurations.get, self.group, self.name, name
                )
                if found is None:
                    raise AzureModuleError(
                        f"{self.resource} has no server parameter {name!r}: check its name."
                    )
                current = (rest_dict(found).get("properties") or {}).get("value")
            if current is not None and same_parameter(name, current, value):
                continue
            before[name], after[name] = current, value
            if self.module.check_mode:
                continue
            body = {"properties": {"value": value, "source": "user-override"}}
            answer = self.wait(
                f"set server parameter {name!r} of",
                self.client.configurations.begin_put,
                self.group,
                self.name,
                name,
                body,
            )
            if ((answer or {}).get("properties") or {}).get("isConfigPendingRestart"):
                self.result["pending_restart"].append(name)
        if after:
            self.changed("parameters", before, after)

    def present(self):
        server = rest_dict(
            self.module.get_or_none(self.resource, self.client.servers.get, self.group, self.name)
        )
        exists = server is not None
        server = self.ensure_server(server)
        self.ensure_databases(exists)
        self.ensure_firewall_rules(exists)
        self.ensure_parameters(exists)
        self.result["server"] = summarise(server)
        if self.result["pending_restart"]:
            self.module.warn(
                f"Restart {self.resource} for {', '.join(self.result['pending_restart'])} to take effect."
            )
        return self.finish()

    def absent(self):
        server = rest_dict(
            self.module.get_or_none(self.resource, self.client.servers.get, self.group, self.name)
        )
        if server is not None:
            self.changed("server", with_secrets_hash_masked(server_view(server)), {})
            if not self.module.check_mode:
                self.wait("delete", self.client.servers.begin_delete, self.group, self.name)
        return self.finish()

    def finish(self):
        if self.module.diff_mode:
            self.result["diff"] = self.diff
        return self.result


def run(module):
    validate(module.params)
    server = PostgresServer(module)
    return server.absent() if module.params["state"] == "absent" else server.present()


def main():
    module = AzureModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            resource_group=dict(type="str", required=True),
            location=dict(type="str"),
            version=dict(type="str", choices=["11", "12", "13", "14", "15", "16", "17"], default="16"),
            sku=dict(type="str", default="Standard_B1ms"),
            storage_gb=dict(
                type="int", choices=[32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767], default=32
            ),
            storage_auto_grow=dict(type="bool", default=False),
            backup_retention_days=dict(type="int", default=7),
            high_availability=dict(
                type="str", choices=["Disabled", "ZoneRedundant", "SameZone"], default="Disabled"
            ),
            public_network_access=dict(type="bool", default=True),
            admin_login=dict(type="str"),
            admin_password=dict(type="str", no_log=True),
            databases=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    name=dict(type="str", required=True),
                    charset=dict(type="str", default="UTF8"),
                    collation=dict(type="str", default="en_US.utf8"),
                ),
            ),
            firewall_rules=dict(
                type="list",
                elements="dict",
                options=dict(
                    name=dict(type="str", required=True),
                    start_ip=dict(type="str", required=True),
                    end_ip=dict(type="str"),
                ),
            ),
            parameters=dict(type="dict", default={}),
            **STATE_ARGUMENT_SPEC,
            **TAGS_ARGUMENT_SPEC,
        ),
    )
    module.run(run)


if __name__ == "__main__":
    main()
