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
    description:
      - Whether the server has a public endpoint (reachable through the firewall rules).
      - Default - V(true), V(false) with O(delegated_subnet) (a server in a network has no public endpoint).
    type: bool
  delegated_subnet:
    description:
      - Private access - the subnet (delegated to C(Microsoft.DBforPostgreSQL/flexibleServers)) the server
        lives in, as an id or V(<virtual network>/<subnet>) in O(resource_group). Needs O(private_dns_zone).
      - Chosen at creation; a server cannot join or leave a network later (the module refuses before any
        write). Not given - left as it is.
    type: str
  private_dns_zone:
    description:
      - The private DNS zone (linked to the network) the server's name resolves in, as an id or a zone name in
        O(resource_group), for example V(privatelink.postgres.database.azure.com).
    type: str
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
  - papr.memory.azure.lifecycle
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
extends_documentation_fragment:
  - papr.memory.azure.result
  - papr.memory.azure.lifecycle_result
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
from ansible_collections.papr.memory.plugins.module_utils.azure_module import STATE_ARGUMENT_SPEC
from ansible_collections.papr.memory.plugins.module_utils.azure_names import name_pattern, require_valid_name
from ansible_collections.papr.memory.plugins.module_utils.azure_network import resource_id, same_id, subnet_id
from ansible_collections.papr.memory.plugins.module_utils.azure_postgres import PostgresServers
from ansible_collections.papr.memory.plugins.module_utils.azure_runner import (
    FAILED,
    RUNNING,
    STOPPED,
    TRANSITIONING,
    Lifecycle,
    Plan,
    Resource,
    Write,
    run_module,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_service import location_for

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
    if params["delegated_subnet"]:
        subnet_id("", params["resource_group"], params["delegated_subnet"])  # its form, before any call
        if not params["private_dns_zone"]:
            raise AzureModuleError(
                "delegated_subnet needs private_dns_zone: the server's name resolves there."
            )
        if params["public_network_access"]:
            raise AzureModuleError(
                "A server in a delegated subnet has no public endpoint: public_network_access must be false."
            )
        if params["firewall_rules"]:
            raise AzureModuleError("A server in a delegated subnet has no firewall rules: leave them out.")
    elif params["private_dns_zone"]:
        raise AzureModuleError("private_dns_zone goes with delegated_subnet.")
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
        "delegated_subnet": (properties.get("network") or {}).get("delegatedSubnetResourceId") or None,
        "private_dns_zone": (properties.get("network") or {}).get("privateDnsZoneArmResourceId") or None,
        "admin_login": properties.get("administratorLogin"),
        "secrets_hash": tags.pop(SECRETS_TAG, None),
        "tags": tags,
    }


def desired_network(params, current, subscription_id):
    """(delegated subnet id, zone id, public access): the options', else the server's (a new one: public)."""
    if params["delegated_subnet"]:
        subnet = subnet_id(subscription_id, params["resource_group"], params["delegated_subnet"])
        zone = resource_id(
            subscription_id,
            params["resource_group"],
            "Microsoft.Network/privateDnsZones",
            params["private_dns_zone"],
        )
        # Keep Azure's spelling of the same ids, so the comparison is exact.
        subnet = (
            current.get("delegated_subnet") if same_id(subnet, current.get("delegated_subnet")) else subnet
        )
        zone = current.get("private_dns_zone") if same_id(zone, current.get("private_dns_zone")) else zone
    else:
        subnet, zone = current.get("delegated_subnet"), current.get("private_dns_zone")
    public = params["public_network_access"]
    if public is None:
        public = (
            current["public_network_access"] if current and not params["delegated_subnet"] else not subnet
        )
    return subnet, zone, public


def desired_view(params, current, location, subscription_id=None):
    subnet, zone, public = desired_network(params, current, subscription_id)
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
        "public_network_access": public,
        "delegated_subnet": subnet,
        "private_dns_zone": zone,
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
    if not same_id(current["delegated_subnet"], desired["delegated_subnet"]):
        now = f"subnet {current['delegated_subnet']}" if current["delegated_subnet"] else "public access"
        raise AzureModuleError(
            f"{resource} has {now}; a server cannot join or leave a network after creation "
            "(create a new server and move the data)."
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
    if view["delegated_subnet"]:
        properties["network"].update(
            delegatedSubnetResourceId=view["delegated_subnet"],
            privateDnsZoneArmResourceId=view["private_dns_zone"],
        )
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
# Server states (properties.state) Azure passes through on its way to Ready or Stopped.
TRANSITIONAL_STATES = ("provisioning", "updating", "starting", "stopping", "restarting", "dropping")


def current_databases(listed):
    return {d["name"]: d for d in listed}


def current_firewall_rules(listed):
    rules = {}
    for rule in listed:
        properties = rule.get("properties") or {}
        rules[rule["name"]] = {
            "start_ip": properties.get("startIpAddress"),
            "end_ip": properties.get("endIpAddress"),
        }
    return rules


class PostgresServer(Resource):
    kind = "PostgreSQL flexible server"
    result_key = "server"

    def __init__(self, module):
        super().__init__(module)
        params = self.params
        self.servers = PostgresServers(module, self.description, params["resource_group"], params["name"])

    def validate(self):
        validate(self.params)

    def read(self):
        return self.servers.get_server()

    def lifecycle(self, current):
        state = (current.get("properties") or {}).get("state") or ""
        if state.lower() == "ready":
            return Lifecycle(RUNNING, state)
        if state.lower() == "stopped":
            return Lifecycle(STOPPED, state)
        if state.lower() in TRANSITIONAL_STATES:
            return Lifecycle(TRANSITIONING, state)
        return Lifecycle(FAILED, state or "unknown")

    def start_write(self, current):
        return Write("start", self.description, self.servers.start)

    def read_related(self, current):
        """Location (new server) or the databases, firewall rules and parameters of the existing one."""
        params = self.params
        related = {"location": None, "databases": {}, "firewall_rules": {}, "parameters": {}}
        if params["state"] == "absent":
            return related
        if current is None:
            related["location"] = location_for(
                self.module, params["location"], params["resource_group"], self.description
            )
            return related
        related["location"] = current["location"]
        related["databases"] = current_databases(self.servers.list_databases())
        if params["firewall_rules"] is not None:
            related["firewall_rules"] = current_firewall_rules(self.servers.list_firewall_rules())
        for name in params["parameters"]:
            found = self.servers.get_parameter(name)
            if found is None:
                raise AzureModuleError(
                    f"{self.description} has no server parameter {name!r}: check its name."
                )
            related["parameters"][name] = (found.get("properties") or {}).get("value")
        return related

    def plan(self, current, related):
        plan = Plan(
            before={}, after={}, result={"databases": [], "firewall_rules": [], "pending_restart": []}
        )
        if self.params["state"] == "absent":
            if current is not None:
                self.add(plan, "server", with_secrets_hash_masked(server_view(current)), {})
                plan.writes.append(Write("delete", self.description, self.servers.delete))
            return plan
        self.plan_server(plan, current, related["location"])
        self.plan_databases(plan, related["databases"])
        self.plan_firewall_rules(plan, related["firewall_rules"])
        self.plan_parameters(plan, current is not None, related["parameters"])
        return plan

    @staticmethod
    def add(plan, part, before, after):
        plan.before[part] = before
        plan.after[part] = after

    def plan_server(self, plan, server, location):
        params = self.params
        current = server_view(server)
        desired = desired_view(
            params, current, current.get("location") or location, self.module.subscription_id
        )
        refuse_impossible_changes(self.description, current, desired, params)
        differences = changed_keys(current, desired)
        if not differences:
            return
        self.add(plan, "server", with_secrets_hash_masked(current), with_secrets_hash_masked(desired))
        password_changed = "secrets_hash" in differences and params["admin_password"]
        properties = server_properties(desired, params["admin_password"] if password_changed else None)
        sku = {"name": desired["sku"], "tier": tier_of(desired["sku"])}
        if not server:
            properties["administratorLogin"] = desired["admin_login"]
            body = {
                "location": desired["location"],
                "sku": sku,
                "tags": tags_with_hash(desired),
                "properties": properties,
            }
            plan.writes.append(
                Write("create", self.description, lambda: self.servers.create(body), differences, "server")
            )
        else:
            body = {"sku": sku, "tags": tags_with_hash(desired), "properties": properties}
            plan.writes.append(
                Write("update", self.description, lambda: self.servers.update(body), differences, "server")
            )

    def plan_databases(self, plan, current):
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
                    f"Database {database['name']!r} of {self.description} has charset "
                    f"{properties.get('charset')} and collation {properties.get('collation')}; they cannot "
                    "change (drop and recreate it yourself)."
                )
        if missing:
            self.add(plan, "databases", sorted(current), sorted({*current, *(d["name"] for d in missing)}))
        for database in missing:
            name = database["name"]
            body = {"properties": {"charset": database["charset"], "collation": database["collation"]}}
            plan.writes.append(
                Write(
                    "create database",
                    f"database {name!r} of {self.description}",
                    lambda name=name, body=body: self.servers.create_database(name, body),
                )
            )
        plan.result["databases"] = sorted(d["name"] for d in self.params["databases"])

    def plan_firewall_rules(self, plan, current):
        if self.params["firewall_rules"] is None:
            return
        desired = {
            r["name"]: {"start_ip": r["start_ip"], "end_ip": r["end_ip"] or r["start_ip"]}
            for r in self.params["firewall_rules"]
        }
        plan.result["firewall_rules"] = [{"name": name, **rule} for name, rule in sorted(desired.items())]
        if current == desired:
            return
        self.add(plan, "firewall_rules", current, desired)
        for name, rule in desired.items():
            if current.get(name) != rule:
                body = {"properties": {"startIpAddress": rule["start_ip"], "endIpAddress": rule["end_ip"]}}
                plan.writes.append(
                    Write(
                        "set firewall rule",
                        f"firewall rule {name!r} of {self.description}",
                        lambda name=name, body=body: self.servers.set_firewall_rule(name, body),
                        [key for key in rule if (current.get(name) or {}).get(key) != rule[key]],
                    )
                )
        for name in sorted(set(current) - set(desired)):
            plan.writes.append(
                Write(
                    "delete firewall rule",
                    f"firewall rule {name!r} of {self.description}",
                    lambda name=name: self.servers.delete_firewall_rule(name),
                )
            )

    def plan_parameters(self, plan, exists, current):
        before, after = {}, {}
        for name, raw in self.params["parameters"].items():
            value = parameter_value(name, raw)
            now = current.get(name) if exists else None
            if now is not None and same_parameter(name, now, value):
                continue
            before[name], after[name] = now, value
            body = {"properties": {"value": value, "source": "user-override"}}
            plan.writes.append(
                Write(
                    "set server parameter",
                    f"server parameter {name!r} of {self.description}",
                    lambda name=name, body=body: self.servers.set_parameter(name, body),
                    key=f"parameter:{name}",
                )
            )
        if after:
            self.add(plan, "parameters", before, after)

    def summarise(self, current, related, plan, answers):
        if self.params["state"] == "absent":
            return {}
        pending = [
            key.split(":", 1)[1]
            for key, answer in answers.items()
            if key.startswith("parameter:")
            and ((answer or {}).get("properties") or {}).get("isConfigPendingRestart")
        ]
        plan.result["pending_restart"] = pending
        if pending:
            self.module.warn(f"Restart {self.description} for {', '.join(pending)} to take effect.")
        return summarise(answers.get("server", current))


def main():
    run_module(
        PostgresServer,
        dict(
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
            public_network_access=dict(type="bool"),
            delegated_subnet=dict(type="str"),
            private_dns_zone=dict(type="str"),
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
        lifecycle=True,
    )


if __name__ == "__main__":
    main()
