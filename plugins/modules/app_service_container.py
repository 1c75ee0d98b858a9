#!/usr/bin/python
# Copyright: PAPR Memory engineers
# Apache-2.0
"""A Linux App Service web app (or deployment slot) running one container image."""

from __future__ import annotations

DOCUMENTATION = r"""
module: app_service_container
short_description: Run a container image on a Linux Azure App Service web app
description:
  - Ensures a Linux web app (C(Microsoft.Web/sites), kind C(app,linux,container)) - or one of its deployment
    slots - runs the given container image with the given startup command, port, app settings, connection
    strings, health check path and hardening (HTTPS only, minimum TLS 1.2, FTPS off, always on).
  - Reads the real state where Azure keeps it (C(config/web), C(config/appsettings/list),
    C(config/connectionstrings/list)) and compares normalised values (app settings are strings in Azure,
    so V(5001) equals V("5001")), so a second run reports no change and sends no write request.
  - Writes only what differs - the site, C(config/web) (PATCH), the app settings, the connection strings.
  - Check mode sends no write request; diff mode shows before and after with secret values masked.
  - The image reference, site name and slot name are checked before anything is sent.
version_added: 0.1.0
author:
  - PAPR Memory engineers (@papr-memory)
options:
  name:
    description: Name of the web app (2-60 letters, digits and hyphens; global across Azure).
    type: str
    required: true
  resource_group:
    description: Resource group of the web app.
    type: str
    required: true
  slot:
    description:
      - A deployment slot of the web app to manage instead of the production app. The web app must exist.
        V(production) means the app itself.
    type: str
  plan:
    description:
      - The Linux App Service plan, by name (in O(plan_resource_group)) or resource id.
      - Required to create the web app; a slot defaults to the app's plan.
    type: str
  plan_resource_group:
    description: Resource group of O(plan) when given by name. Default - O(resource_group).
    type: str
  location:
    description: Azure region. Default - the plan's (for a slot, the app's) location.
    type: str
  image:
    description:
      - The container image, V([registry/]repository[:tag]) or V([registry/]repository@sha256:<digest>).
      - Required with O(state=present).
    type: str
  tag:
    description: Image tag, when not in O(image). Default V(latest).
    type: str
  digest:
    description: Image digest (V(sha256:...)), instead of a tag, to pin the exact image.
    type: str
  registry:
    description:
      - The private registry to pull from. Not given - a public image (or the registry settings are left alone
        when O(app_settings_mode=merge)).
    type: dict
    suboptions:
      server:
        description: Registry host, for example V(myregistry.azurecr.io). Default - the host in O(image).
        type: str
      username:
        description: User name for the registry (sets C(DOCKER_REGISTRY_SERVER_USERNAME)).
        type: str
      password:
        description: Password for the registry (sets C(DOCKER_REGISTRY_SERVER_PASSWORD); never shown).
        type: str
      managed_identity:
        description:
          - Pull with the app's managed identity instead of a password (C(acrUseManagedIdentityCreds)). The
            identity needs the AcrPull role on the registry. Turns on the system-assigned identity unless
            O(registry.managed_identity_client_id) names a user-assigned one.
        type: bool
        default: false
      managed_identity_client_id:
        description: Client id of a user-assigned identity to pull with (C(acrUserManagedIdentityID)).
        type: str
  startup_command:
    description:
      - Command the container starts with (C(appCommandLine)). V("") clears it. Not given - left alone.
    type: str
  port:
    description: The port the container listens on (C(WEBSITES_PORT)).
    type: int
  app_settings:
    description:
      - App settings (environment variables of the container). Values are stored as strings.
      - With O(app_settings_mode=authoritative) (default), settings not listed here are removed, except the
        ones this module sets from O(port) and O(registry). Not given - existing settings are left alone.
    type: dict
  app_settings_mode:
    description: V(authoritative) - O(app_settings) is the whole set; V(merge) - add and update only.
    type: str
    choices: [authoritative, merge]
    default: authoritative
  secret_app_settings:
    description:
      - Names of app settings whose values are secret - masked in diffs and removed from all output.
      - Names containing PASSWORD, SECRET, TOKEN, KEY, CONNECTION_STRING are treated as secret anyway.
    type: list
    elements: str
    default: []
  connection_strings:
    description:
      - Connection strings, authoritative (others are removed). Values are always treated as secret.
        Not given - left alone.
    type: list
    elements: dict
    suboptions:
      name:
        description: Name (the container sees it as C(<TYPE>CONNSTR_<name>)).
        type: str
        required: true
      value:
        description: The connection string.
        type: str
        required: true
      type:
        description: Kind of database or service.
        type: str
        default: Custom
        choices: [Custom, PostgreSQL, SQLAzure, SQLServer, MySql, RedisCache, DocDb, EventHub, ServiceBus,
                  NotificationHub, ApiHub]
  health_check_path:
    description:
      - Path App Service probes to decide if an instance is healthy (V("") turns it off).
      - Not given - left alone.
    type: str
  always_on:
    description: Keep the app loaded (needed for background workers; not available on Free/Shared).
    type: bool
    default: true
  https_only:
    description: Redirect HTTP to HTTPS.
    type: bool
    default: true
  min_tls_version:
    description: Minimum TLS version clients may use.
    type: str
    choices: ['1.0', '1.1', '1.2', '1.3']
    default: '1.2'
  ftps_state:
    description: FTP/FTPS deployment access. V(Disabled) - no FTP at all.
    type: str
    choices: [AllAllowed, FtpsOnly, Disabled]
    default: Disabled
  virtual_network_subnet:
    description:
      - Regional VNet integration - the subnet (delegated to C(Microsoft.Web/serverFarms)) the app's
        outbound traffic leaves through, as an id or V(<virtual network>/<subnet>) in O(resource_group)
        (C(virtualNetworkSubnetId)). V("") removes the integration. Not given - left alone.
    type: str
  route_all_traffic:
    description:
      - Send all outbound traffic through the integrated subnet, not only private addresses
        (C(vnetRouteAllEnabled) of C(config/web)), so the network's DNS zones and security groups apply.
        Not given - left alone.
    type: bool
  public_network_access:
    description:
      - Whether the app and its SCM (deployment) site accept requests from the internet
        (C(publicNetworkAccess)). V(false) closes both - for an app nothing calls, such as background
        workers. Not given - left alone.
    type: bool
  allowed_ip_ranges:
    description:
      - Access restrictions of the app (C(ipSecurityRestrictions)) - only these IPv4 or IPv6 ranges (CIDR or
        single addresses) may call it; Azure denies everyone else. V([]) - everyone. Not given - left alone.
    type: list
    elements: str
  system_assigned_identity:
    description:
      - Whether the app has a system-assigned managed identity. Not given - left alone (turned on when
        O(registry.managed_identity) needs it).
    type: bool
  state:
    description: Whether the web app (or slot) should exist.
extends_documentation_fragment:
  - papr.memory.azure
  - papr.memory.azure.tags
  - papr.memory.azure.state
  - papr.memory.azure.lifecycle
requirements:
  - azure-mgmt-web >= 7
notes:
  - App Service names are global. A name taken by someone else fails before anything is created.
  - Secret values are never returned; the result lists app setting and connection string names only.
"""

EXAMPLES = r"""
- name: PAPR Memory web server (option 2, split)
  papr.memory.app_service_container:
    name: papr-memory-web
    resource_group: papr-memory-prod
    plan: papr-memory-web-plan
    image: paprmemory.azurecr.io/memory
    tag: "1.4.2"
    registry:
      managed_identity: true
    startup_command: uvicorn app.main:app --host 0.0.0.0 --port 5001
    port: 5001
    health_check_path: /health
    app_settings:
      TEMPORAL_ADDRESS: "temporal.westeurope.azurecontainer.io:7233"
      DATABASE_PASSWORD: "{{ vault_database_password }}"
    secret_app_settings: [DATABASE_PASSWORD]

- name: Same image on the staging slot, pulling with a registry password
  papr.memory.app_service_container:
    name: papr-memory-web
    resource_group: papr-memory-prod
    slot: staging
    image: paprmemory.azurecr.io/memory:1.5.0
    registry:
      username: paprmemory
      password: "{{ vault_registry_password }}"
    port: 5001
"""

RETURN = r"""
extends_documentation_fragment:
  - papr.memory.azure.result
  - papr.memory.azure.lifecycle_result
site:
  description: The web app (or slot) after the task; secret values are never included.
  returned: always
  type: dict
  contains:
    id: {description: Resource id., type: str}
    name: {description: Web app name., type: str, sample: papr-memory-web}
    slot: {description: The slot name when a slot is managed., type: str, sample: staging}
    default_host_name: {description: Default host name., type: str, sample: papr-memory-web.azurewebsites.net}
    url: {description: HTTPS URL of the default host name., type: str, sample: https://papr-memory-web.azurewebsites.net}
    outbound_ip_addresses:
      description: Outbound IP addresses (for firewall rules).
      type: list
      elements: str
    possible_outbound_ip_addresses:
      description: Every outbound IP address the app may use after a scale change.
      type: list
      elements: str
    state: {description: Running state., type: str, sample: Running}
    principal_id: {description: Object id of the system-assigned identity., type: str}
    linux_fx_version:
      description: The container the app runs.
      type: str
      sample: DOCKER|reg.azurecr.io/memory:1.4.2
    app_setting_names:
      description: Names of the app settings (values are not returned).
      type: list
      elements: str
    connection_string_names: {description: Names of the connection strings., type: list, elements: str}
"""

import ipaddress

from ansible_collections.papr.memory.plugins.module_utils.azure_diff import (
    TAGS_ARGUMENT_SPEC,
    changed_keys,
    desired_tags,
    is_secret_name,
    masked_pair,
    merge_settings,
    string_map,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_errors import AzureModuleError
from ansible_collections.papr.memory.plugins.module_utils.azure_image import parse_image
from ansible_collections.papr.memory.plugins.module_utils.azure_module import STATE_ARGUMENT_SPEC, describe
from ansible_collections.papr.memory.plugins.module_utils.azure_names import require_valid_name
from ansible_collections.papr.memory.plugins.module_utils.azure_network import same_id, subnet_id
from ansible_collections.papr.memory.plugins.module_utils.azure_runner import (
    RUNNING,
    STOPPED,
    Lifecycle,
    Plan,
    Resource,
    Write,
    run_module,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_web import (
    PRODUCTION_SLOT,
    WebApp,
    plan_id,
    same_resource_id,
)

SITE_KIND = "app,linux,container"
REGISTRY_URL = "DOCKER_REGISTRY_SERVER_URL"
REGISTRY_USERNAME = "DOCKER_REGISTRY_SERVER_USERNAME"
REGISTRY_PASSWORD = "DOCKER_REGISTRY_SERVER_PASSWORD"  # noqa: S105 - the setting's name, not a password
PORT_SETTING = "WEBSITES_PORT"
MODULE_OWNED_SETTINGS = (PORT_SETTING, REGISTRY_URL, REGISTRY_USERNAME, REGISTRY_PASSWORD)


def _text(value):
    return (value or "").lower()


# Azure adds an implicit last rule ("Allow all" or "Deny all") at this priority; it is not the caller's.
IMPLICIT_RULE_PRIORITY = 2147483647


def _ip_range(value):
    return str(ipaddress.ip_network(str(value).strip(), strict=False))


def _comparable_range(value):
    try:
        return _ip_range(value)
    except ValueError:  # a rule made elsewhere ("Any", a service tag): compared as it is
        return _text(value)


def _access_rules(rules):
    """The explicit access restrictions as (range, action, priority), Azure's implicit rule left out."""
    return sorted(
        (_comparable_range(rule.get("ipAddress")), _text(rule.get("action")), rule.get("priority"))
        for rule in rules or []
        if rule.get("priority") != IMPLICIT_RULE_PRIORITY and rule.get("ipAddress")
    )


def access_restrictions(ranges):
    """ipSecurityRestrictions allowing exactly `ranges` (Azure then denies the rest)."""
    return [
        {
            "ipAddress": _ip_range(value),
            "action": "Allow",
            "priority": 100 + index,
            "name": f"allow-{index + 1}",
        }
        for index, value in enumerate(ranges)
    ]


# How each managed config/web property is compared (Azure answers null for "" and re-cases enums).
CONFIG_NORMALISERS = {
    "linuxFxVersion": lambda v: (v or "").split("|", 1)[0].upper() + "|" + (v or "").partition("|")[2],
    "appCommandLine": lambda v: v or "",
    "healthCheckPath": lambda v: v or "",
    "alwaysOn": bool,
    "minTlsVersion": _text,
    "ftpsState": _text,
    "acrUseManagedIdentityCreds": bool,
    "acrUserManagedIdentityID": _text,
    "vnetRouteAllEnabled": bool,
    "ipSecurityRestrictions": _access_rules,
}


# --- validation ---------------------------------------------------------------------------------------
def validate(params):
    """Every check that needs no Azure call; returns the parsed image (None for state=absent)."""
    require_valid_name("web_app", params["name"])
    if params["slot"]:
        require_valid_name("slot", params["slot"])
    if params["state"] == "absent":
        return None
    if not params["image"]:
        raise AzureModuleError("`image` is required with state=present.")
    registry = params["registry"] or {}
    image = parse_image(params["image"], params["tag"], params["digest"], registry.get("server"))
    if registry.get("managed_identity") and registry.get("password"):
        raise AzureModuleError("registry: give `password` or `managed_identity: true`, not both.")
    if bool(registry.get("username")) != bool(registry.get("password")):
        raise AzureModuleError("registry: `username` and `password` go together.")
    needs_system_identity = registry.get("managed_identity") and not registry.get(
        "managed_identity_client_id"
    )
    if needs_system_identity and params["system_assigned_identity"] is False:
        raise AzureModuleError(
            "registry.managed_identity pulls with the system-assigned identity, but "
            "system_assigned_identity is false: turn it on, or give registry.managed_identity_client_id."
        )
    if params["port"] is not None and not 1 <= params["port"] <= 65535:
        raise AzureModuleError(f"port {params['port']} is not a TCP port (1-65535).")
    nested = sorted(k for k, v in (params["app_settings"] or {}).items() if isinstance(v, (dict, list)))
    if nested:
        raise AzureModuleError(
            f"app_settings values are strings in Azure; {', '.join(nested)} got a list or dict "
            "(serialise it, for example with to_json)."
        )
    clashes = sorted(set(params["app_settings"] or {}) & set(MODULE_OWNED_SETTINGS))
    if clashes:
        raise AzureModuleError(
            f"app_settings must not set {', '.join(clashes)}: use the `port` and `registry` options instead."
        )
    for value in params["allowed_ip_ranges"] or []:
        try:
            _ip_range(value)
        except ValueError as exc:
            raise AzureModuleError(
                f"allowed_ip_ranges: {value!r} is not an IP address or range ({exc})."
            ) from exc
    if params["virtual_network_subnet"]:
        subnet_id("", params["resource_group"], params["virtual_network_subnet"])  # its form, before any call
    if params["health_check_path"] and not params["health_check_path"].startswith("/"):
        raise AzureModuleError(f"health_check_path {params['health_check_path']!r} must start with '/'.")
    return image


def secret_names(params, *setting_maps):
    declared = set(params["secret_app_settings"] or ())
    names = {name for settings in setting_maps for name in settings if is_secret_name(name, declared)}
    return names | {REGISTRY_PASSWORD}


# --- desired state ----------------------------------------------------------------------------------------
def owned_settings(params, image):
    """Settings the module derives from its options: (to set, to remove)."""
    registry = params["registry"]
    settings, removed = {}, set()
    if params["port"] is not None:
        settings[PORT_SETTING] = str(params["port"])
    if registry is not None:
        if image.registry:
            settings[REGISTRY_URL] = f"https://{image.registry}"
        if registry.get("username"):
            settings[REGISTRY_USERNAME] = registry["username"]
            settings[REGISTRY_PASSWORD] = registry["password"]
        else:
            removed |= {REGISTRY_USERNAME, REGISTRY_PASSWORD}
    return settings, removed


def desired_app_settings(params, image, current):
    owned, removed = owned_settings(params, image)
    if params["app_settings"] is None:
        base = {name: value for name, value in current.items() if name not in removed}
        return {**base, **owned}
    authoritative = params["app_settings_mode"] == "authoritative"
    merged = merge_settings(current, string_map(params["app_settings"]), authoritative)
    merged = {name: value for name, value in merged.items() if name not in removed}
    if authoritative:
        # Module-owned settings the options no longer ask for are dropped too (e.g. a removed port).
        merged = {name: value for name, value in merged.items() if name not in MODULE_OWNED_SETTINGS}
    return {**merged, **owned}


def desired_connection_strings(params):
    if params["connection_strings"] is None:
        return None
    return {
        item["name"]: {"value": item["value"], "type": item["type"]} for item in params["connection_strings"]
    }


def desired_config(params, image):
    registry = params["registry"] or {}
    config = {
        "linuxFxVersion": f"DOCKER|{image}",
        "alwaysOn": params["always_on"],
        "minTlsVersion": params["min_tls_version"],
        "ftpsState": params["ftps_state"],
    }
    if params["startup_command"] is not None:
        config["appCommandLine"] = params["startup_command"]
    if params["health_check_path"] is not None:
        config["healthCheckPath"] = params["health_check_path"] or None
    if params["allowed_ip_ranges"] is not None:
        config["ipSecurityRestrictions"] = access_restrictions(params["allowed_ip_ranges"])
    if params["route_all_traffic"] is not None:
        config["vnetRouteAllEnabled"] = params["route_all_traffic"]
    if params["registry"] is not None:
        config["acrUseManagedIdentityCreds"] = bool(registry.get("managed_identity"))
        if registry.get("managed_identity_client_id"):
            config["acrUserManagedIdentityID"] = registry["managed_identity_client_id"]
    return config


def config_changes(current, desired):
    """config/web properties whose normalised values differ (the body of the PATCH)."""
    return {
        key: value
        for key, value in desired.items()
        if CONFIG_NORMALISERS[key](current.get(key)) != CONFIG_NORMALISERS[key](value)
    }


def has_system_identity(site):
    return "systemassigned" in _text(((site or {}).get("identity") or {}).get("type")).replace(" ", "")


def identity_body(site, system_assigned):
    """The identity block: system-assigned on or off, user-assigned identities kept."""
    user_assigned = ((site or {}).get("identity") or {}).get("userAssignedIdentities") or {}
    kinds = (["SystemAssigned"] if system_assigned else []) + (["UserAssigned"] if user_assigned else [])
    body = {"type": ", ".join(kinds) or "None"}
    if user_assigned:
        body["userAssignedIdentities"] = {key: {} for key in user_assigned}
    return body


def site_fields(site):
    """The site-level fields the module manages, as compared."""
    if not site:
        return {}
    properties = site.get("properties") or {}
    return {
        "plan": properties.get("serverFarmId"),
        "https_only": bool(properties.get("httpsOnly")),
        "virtual_network_subnet_id": properties.get("virtualNetworkSubnetId") or "",
        # Azure answers null for a site never set either way: open.
        "public_network_access": _text(properties.get("publicNetworkAccess")) != "disabled",
        "system_assigned_identity": has_system_identity(site),
        "tags": site.get("tags") or {},
    }


def desired_network_fields(params, current, subscription_id):
    """VNet integration and public access: the option's value, else the current one (a new app: none,
    open)."""
    current = current or {}
    wanted = params["virtual_network_subnet"]
    subnet = (
        current.get("virtual_network_subnet_id", "")
        if wanted is None
        else subnet_id(subscription_id, params["resource_group"], wanted)
    )
    if same_id(subnet, current.get("virtual_network_subnet_id")):
        subnet = current.get("virtual_network_subnet_id", "")  # keep Azure's spelling
    fields = {"virtual_network_subnet_id": subnet}
    public = params["public_network_access"]
    fields["public_network_access"] = (
        public if public is not None else current.get("public_network_access", True)
    )
    return fields


def desired_site_fields(params, current, target_plan_id, subscription_id):
    registry = params["registry"] or {}
    network = desired_network_fields(params, current, subscription_id)
    identity = params["system_assigned_identity"]
    if identity is None:
        pulls_with_system_identity = registry.get("managed_identity") and not registry.get(
            "managed_identity_client_id"
        )
        identity = (
            True if pulls_with_system_identity else bool(current and current["system_assigned_identity"])
        )
    plan = target_plan_id
    if current and (plan is None or same_resource_id(plan, current["plan"])):
        plan = current["plan"]  # keep Azure's spelling so the comparison is exact
    return {
        "plan": plan,
        "https_only": params["https_only"],
        **network,
        "system_assigned_identity": identity,
        "tags": desired_tags(params["tags"], params["purge_tags"], current and current["tags"]),
    }


def site_body(location, fields, config=None, app_settings=None, connection_strings=None, current_site=None):
    properties = {
        "serverFarmId": fields["plan"],
        "reserved": True,
        "httpsOnly": fields["https_only"],
        "virtualNetworkSubnetId": fields["virtual_network_subnet_id"] or None,
        "publicNetworkAccess": "Enabled" if fields["public_network_access"] else "Disabled",
    }
    if config is not None:
        site_config = dict(config)
        site_config["appSettings"] = [{"name": k, "value": v} for k, v in sorted(app_settings.items())]
        if connection_strings is not None:
            site_config["connectionStrings"] = [
                {"name": name, "connectionString": item["value"], "type": item["type"]}
                for name, item in sorted(connection_strings.items())
            ]
        properties["siteConfig"] = site_config
    return {
        "location": location,
        "kind": SITE_KIND,
        "tags": fields["tags"],
        "identity": identity_body(current_site, fields["system_assigned_identity"]),
        "properties": properties,
    }


def normalised_connection_strings(values):
    return {
        name: {"value": item.get("value") or "", "type": _text(item.get("type"))}
        for name, item in values.items()
    }


def connection_strings_differ(current, desired):
    return normalised_connection_strings(current or {}) != normalised_connection_strings(desired)


def masked_connection_strings(current, desired):
    """Connection strings for the diff: type shown, value always masked."""
    names = set(current or {}) | set(desired or {})
    before_values = {n: (current or {})[n]["value"] for n in current or {}}
    after_values = {n: desired[n]["value"] for n in desired or {}}
    before_masked, after_masked = masked_pair(before_values, after_values, names)
    before = {n: {"value": v, "type": (current or {})[n].get("type")} for n, v in before_masked.items()}
    after = {n: {"value": v, "type": desired[n]["type"]} for n, v in after_masked.items()}
    return before, after


def comma_list(text):
    return [item for item in (text or "").split(",") if item]


def summarise(site, slot, app_settings, connection_strings, config):
    properties = (site or {}).get("properties") or {}
    host = properties.get("defaultHostName")
    return {
        "id": (site or {}).get("id"),
        "name": (site or {}).get("name"),
        "slot": slot,
        "default_host_name": host,
        "url": f"https://{host}" if host else None,
        "outbound_ip_addresses": comma_list(properties.get("outboundIpAddresses")),
        "possible_outbound_ip_addresses": comma_list(properties.get("possibleOutboundIpAddresses")),
        "state": properties.get("state"),
        "principal_id": ((site or {}).get("identity") or {}).get("principalId"),
        "linux_fx_version": (config or {}).get("linuxFxVersion"),
        "app_setting_names": sorted(app_settings or {}),
        "connection_string_names": sorted(connection_strings or {}),
    }


# --- the module ----------------------------------------------------------------------------------------
def name_taken_problem(answer):
    """The failure message when Azure says the (global) site name is taken, else ''."""
    if answer and answer.get("nameAvailable") is False:
        return (
            f"{answer.get('message') or answer.get('reason')}. App Service names are global across Azure: "
            "choose another name."
        )
    return ""


class Changes:
    """Desired state of every managed part, and which parts differ from what Azure has (no Azure call)."""

    def __init__(self, params, image, current, placement, subscription_id):
        self.exists = current["site"] is not None
        self.current_site = current["site"]
        self.wanted_plan, self.location = placement
        self.before_site = site_fields(current["site"])
        self.site = desired_site_fields(params, self.before_site or None, self.wanted_plan, subscription_id)
        self.config = desired_config(params, image)
        self.app_settings = desired_app_settings(params, image, current["app_settings"])
        self.connection_strings = desired_connection_strings(params)
        self.secrets = secret_names(params, current["app_settings"], self.app_settings)

        self.site_changes = changed_keys(self.before_site, self.site) if self.exists else []
        self.config_patch = config_changes(current["config"], self.config) if self.exists else self.config
        self.app_settings_changes = (
            changed_keys(current["app_settings"], self.app_settings) if self.exists else []
        )
        self.connection_strings_changed = (
            self.exists
            and self.connection_strings is not None
            and connection_strings_differ(current["connection_strings"], self.connection_strings)
        )

    def diff(self, current):
        """{before, after} of the managed parts, secret values masked."""
        settings_before, settings_after = masked_pair(
            current["app_settings"] if self.exists else {}, self.app_settings, self.secrets
        )
        before = {
            "site": self.before_site,
            "config": {key: current["config"].get(key) for key in self.config} if self.exists else {},
            "app_settings": settings_before,
        }
        after = {"site": self.site, "config": self.config, "app_settings": settings_after}
        if self.connection_strings is not None:
            strings_before, strings_after = masked_connection_strings(
                current["connection_strings"], self.connection_strings
            )
            if self.exists:
                before["connection_strings"] = strings_before
            after["connection_strings"] = strings_after
        return {"before": before, "after": after}


class AppServiceContainer(Resource):
    result_key = "site"

    def __init__(self, module):
        super().__init__(module)
        params = self.params
        self.image = None
        self.app = WebApp(module, self.description, params["resource_group"], params["name"], params["slot"])

    @property
    def kind(self):
        return "App Service slot" if self.slot else "App Service web app"

    @property
    def slot(self):
        slot = self.params["slot"]
        return slot if slot and slot.lower() != PRODUCTION_SLOT else None

    @property
    def description(self):
        return describe(self.kind, self.params["name"], self.params["resource_group"], self.slot)

    def secrets(self):
        """Secret app setting values are plain option values: hidden before anything can echo them."""
        settings = string_map(self.params["app_settings"])
        return [value for name, value in settings.items() if name in secret_names(self.params, settings)]

    def validate(self):
        self.image = validate(self.params)

    def read(self):
        return self.app.get_site()

    def lifecycle(self, current):
        state = (current.get("properties") or {}).get("state")
        return Lifecycle(STOPPED if _text(state) == "stopped" else RUNNING, state)

    def start_write(self, current):
        return Write("start", self.description, self.app.start)

    def read_related(self, current):
        """The site's sub-resources; for a new site, where it goes (after checking plan and name)."""
        params = self.params
        if params["state"] == "absent":
            return None
        related = {"site": current, "config": {}, "app_settings": {}, "connection_strings": None}
        if current is not None:
            related["config"] = self.app.get_configuration()
            related["app_settings"] = self.app.list_app_settings()
            if params["connection_strings"] is not None:
                related["connection_strings"] = self.app.list_connection_strings()
            related["placement"] = (self.requested_plan_id(), current["location"])
        elif self.slot:
            parent = self.app.get_parent_site()
            if parent is None and not self.check_mode:
                raise AzureModuleError(
                    f"{self.description} cannot be created: web app '{params['name']}' does not exist. "
                    "Create the app first (this module without `slot`)."
                )
            parent = parent or {}
            parent_plan = (parent.get("properties") or {}).get("serverFarmId")
            related["placement"] = (
                self.requested_plan_id() or parent_plan,
                params["location"] or parent.get("location"),
            )
        else:
            problem = name_taken_problem(self.app.name_availability())
            if problem:
                raise AzureModuleError(f"The name of {self.description} is not available: {problem}")
            related["placement"] = self.placement_on_plan()
        return related

    def requested_plan_id(self):
        params = self.params
        if not params["plan"]:
            return None
        return plan_id(
            self.module.subscription_id,
            params["plan_resource_group"] or params["resource_group"],
            params["plan"],
        )

    def placement_on_plan(self):
        """(plan id, location) for a new production app, after checking the plan exists and is Linux."""
        if not self.params["plan"]:
            raise AzureModuleError(f"{self.description} does not exist: give `plan` to create it.")
        target = self.requested_plan_id()
        plan_resource = f"App Service plan {target.rsplit('/', 1)[-1]!r}"
        plan = self.app.get_plan(target)
        if plan is None:
            if self.check_mode:
                self.module.warn(
                    f"{plan_resource} does not exist yet: a real run fails unless a task creates it."
                )
                return target, self.params["location"]
            raise AzureModuleError(
                f"{plan_resource} for {self.description} does not exist: create it first "
                "(papr.memory.app_service_plan)."
            )
        if not (plan.get("properties") or {}).get("reserved"):
            raise AzureModuleError(
                f"{plan_resource} is not a Linux plan: containers need a Linux plan (linux: true)."
            )
        return plan.get("id") or target, self.params["location"] or plan.get("location")

    def plan(self, current, related):
        if self.params["state"] == "absent":
            if current is None:
                return Plan()
            return Plan(
                [Write("delete", self.description, self.app.delete)], {"site": site_fields(current)}, {}
            )
        changes = Changes(self.params, self.image, related, related["placement"], self.module.subscription_id)
        self.module.hide(
            *(changes.app_settings[name] for name in changes.secrets if name in changes.app_settings)
        )
        self.module.hide(
            *(related["app_settings"][name] for name in changes.secrets if name in related["app_settings"])
        )
        self.module.hide(*(item["value"] for item in (changes.connection_strings or {}).values()))
        diff = changes.diff(related)
        return Plan(self.writes(changes), diff["before"], diff["after"], desired=changes)

    def writes(self, changes):
        """Fewest writes first: one PUT for a new site; for an existing one only the parts that differ."""
        app, target = self.app, self.description
        if not changes.exists:
            body = site_body(
                changes.location,
                changes.site,
                changes.config,
                changes.app_settings,
                changes.connection_strings,
            )
            return [Write("create", target, lambda: app.create_or_update("create", body), key="site")]
        writes = []
        if changes.site_changes:
            body = site_body(changes.location, changes.site, current_site=changes.current_site)
            writes.append(
                Write(
                    "update",
                    target,
                    lambda: app.create_or_update("update", body),
                    changes.site_changes,
                    "site",
                )
            )
        if changes.config_patch:
            patch = changes.config_patch
            writes.append(
                Write("update configuration", target, lambda: app.update_configuration(patch), patch)
            )
        if changes.app_settings_changes:
            settings = changes.app_settings
            writes.append(
                Write(
                    "replace app settings",
                    target,
                    lambda: app.replace_app_settings(settings),
                    changes.app_settings_changes,
                )
            )
        if changes.connection_strings_changed:
            strings = changes.connection_strings
            writes.append(
                Write(
                    "replace connection strings",
                    target,
                    lambda: app.replace_connection_strings(strings),
                    strings,
                )
            )
        return writes

    def summarise(self, current, related, plan, answers):
        if self.params["state"] == "absent":
            return {}
        changes = plan.desired
        current = answers.get("site", current)
        strings = (
            changes.connection_strings
            if changes.connection_strings is not None
            else related["connection_strings"]
        )
        summary = summarise(
            current, self.slot, changes.app_settings, strings, {**related["config"], **changes.config}
        )
        summary["name"] = summary["name"] or self.params["name"]
        return summary


def main():
    run_module(
        AppServiceContainer,
        dict(
            name=dict(type="str", required=True),
            resource_group=dict(type="str", required=True),
            slot=dict(type="str"),
            plan=dict(type="str"),
            plan_resource_group=dict(type="str"),
            location=dict(type="str"),
            image=dict(type="str"),
            tag=dict(type="str"),
            digest=dict(type="str"),
            registry=dict(
                type="dict",
                options=dict(
                    server=dict(type="str"),
                    username=dict(type="str"),
                    password=dict(type="str", no_log=True),
                    managed_identity=dict(type="bool", default=False),
                    managed_identity_client_id=dict(type="str"),
                ),
            ),
            startup_command=dict(type="str"),
            port=dict(type="int"),
            app_settings=dict(type="dict"),
            app_settings_mode=dict(type="str", choices=["authoritative", "merge"], default="authoritative"),
            secret_app_settings=dict(type="list", elements="str", default=[], no_log=False),
            connection_strings=dict(
                type="list",
                elements="dict",
                options=dict(
                    name=dict(type="str", required=True),
                    value=dict(type="str", required=True, no_log=True),
                    type=dict(
                        type="str",
                        default="Custom",
                        choices=[
                            "Custom",
                            "PostgreSQL",
                            "SQLAzure",
                            "SQLServer",
                            "MySql",
                            "RedisCache",
                            "DocDb",
                            "EventHub",
                            "ServiceBus",
                            "NotificationHub",
                            "ApiHub",
                        ],
                    ),
                ),
            ),
            health_check_path=dict(type="str"),
            always_on=dict(type="bool", default=True),
            https_only=dict(type="bool", default=True),
            min_tls_version=dict(type="str", choices=["1.0", "1.1", "1.2", "1.3"], default="1.2"),
            ftps_state=dict(type="str", choices=["AllAllowed", "FtpsOnly", "Disabled"], default="Disabled"),
            allowed_ip_ranges=dict(type="list", elements="str"),
            virtual_network_subnet=dict(type="str"),
            route_all_traffic=dict(type="bool"),
            public_network_access=dict(type="bool"),
            system_assigned_identity=dict(type="bool"),
            **STATE_ARGUMENT_SPEC,
            **TAGS_ARGUMENT_SPEC,
        ),
        lifecycle=True,
        mutually_exclusive=[("tag", "digest")],
    )


if __name__ == "__main__":
    main()
