"""Microsoft.Web: Linux App Service plans, sites and slots with their config, swap, start/stop/restart.

Real behaviour modelled (azure-arm-notes.md + the recorded 2023-01-01 traffic): writes are synchronous
(200), except slot swaps and site PUTs under an operation fault (202 + Location); GET site shows
siteConfig mostly null (the real values live in config/web); app settings are read only through
POST .../config/appsettings/list and a PUT replaces the whole set; site names are unique across
resource groups; the Web RP answers errors in its own {"Code","Message",...} shape.
"""

from __future__ import annotations

import hashlib
import re
import time
from typing import TYPE_CHECKING, Any

from .. import catalogues
from ..arm import (
    RG_SCOPE,
    canonical_location,
    check_tags,
    collection_pattern,
    deep_merge,
    display_location,
    list_body,
    not_found,
    provider_pattern,
    resource_id,
    route_resource_type,
)
from ..http import DoubleError, Request, Response, arm_error, web_error
from ..lro import Operation, arm_status_body, operation_headers
from ..shapes import shape
from .authorization import system_identity
from .network import require_subnet
from .resources import in_scope, require_group

if TYPE_CHECKING:
    from ..server import AzureDouble

NS = "Microsoft.Web"
SITE = provider_pattern(NS, "sites")
SLOT = provider_pattern(NS, "sites", "slots")

# name -> (tier, family, maximumNumberOfWorkers, deployment slots allowed). Slot counts *unverified*.
SKUS = {
    "F1": ("Free", "F", 1, 0),
    "D1": ("Shared", "D", 1, 0),
    "B1": ("Basic", "B", 3, 0),
    "B2": ("Basic", "B", 3, 0),
    "B3": ("Basic", "B", 3, 0),
    "S1": ("Standard", "S", 10, 5),
    "S2": ("Standard", "S", 10, 5),
    "S3": ("Standard", "S", 10, 5),
    "P1v2": ("PremiumV2", "Pv2", 30, 20),
    "P2v2": ("PremiumV2", "Pv2", 30, 20),
    "P3v2": ("PremiumV2", "Pv2", 30, 20),
    "P0v3": ("PremiumV3", "Pv3", 30, 20),
    "P1v3": ("PremiumV3", "Pv3", 30, 20),
    "P2v3": ("PremiumV3", "Pv3", 30, 20),
    "P3v3": ("PremiumV3", "Pv3", 30, 20),
}
# siteMode by tier (recorded: F1 "Limited", D1 "Basic"; null for dedicated tiers).
SITE_MODES = {"Free": "Limited", "Shared": "Basic"}
# Linux Basic plans come with a 30-day free offer (recorded: freeOfferExpirationTime = createdTime + 30 days).
FREE_OFFER_DAYS = 30
SITE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,58}[A-Za-z0-9]$")  # 2-60 chars
PLAN_NAME = re.compile(r"^[A-Za-z0-9-]{1,60}$")
CONNECTION_STRING_TYPES = (
    "MySql",
    "SQLServer",
    "SQLAzure",
    "Custom",
    "NotificationHub",
    "ServiceBus",
    "EventHub",
    "ApiHub",
    "DocDb",
    "RedisCache",
    "PostgreSQL",
)
# siteConfig keys GET site shows with their real values; the rest is null there (only config/web has them).
SITE_CONFIG_IN_SITE = (
    "numberOfWorkers",
    "linuxFxVersion",
    "windowsFxVersion",
    "alwaysOn",
    "http20Enabled",
    "acrUseManagedIdentityCreds",
)
ALLOW_ALL = [
    {
        "ipAddress": "Any",
        "action": "Allow",
        "priority": 2147483647,
        "name": "Allow all",
        "description": "Allow all access",
    }
]
IMPLICIT_PRIORITY = 2147483647
DENY_ALL = {
    "ipAddress": "Any",
    "action": "Deny",
    "priority": IMPLICIT_PRIORITY,
    "name": "Deny all",
    "description": "Deny all access",
}
# Site properties config/web shows as well; a write to either one shows in both.
NETWORK_SETTINGS = ("vnetRouteAllEnabled", "publicNetworkAccess")
# How the PUT answer differs from a later GET (recorded): the config is not applied yet.
PUT_SITE_CONFIG = {
    "linuxFxVersion": "",
    "windowsFxVersion": None,
    "http20Enabled": False,
    "ipSecurityRestrictions": ALLOW_ALL,
    "scmIpSecurityRestrictions": ALLOW_ALL,
    "elasticWebAppScaleLimit": 0,
    "functionAppScaleLimit": None,
}
PUT_SITE_PROPERTIES = {"privateEndpointConnections": None, "inFlightFeatures": None}
# Site properties a client may set; everything else in a request is read-only and ignored.
SITE_WRITABLE = (
    "enabled",
    "httpsOnly",
    "clientAffinityEnabled",
    "clientCertEnabled",
    "clientCertMode",
    "hostNamesDisabled",
    "scmSiteAlsoStopped",
    "keyVaultReferenceIdentity",
    "publicNetworkAccess",
    "virtualNetworkSubnetId",
    "vnetRouteAllEnabled",
    "vnetImagePullEnabled",
    "vnetContentShareEnabled",
    "redundancyMode",
    "isXenon",
    "hyperV",
    "endToEndEncryptionEnabled",
    "clientCertExclusionPaths",
)
# config/authsettings (Easy Auth v1): every key a real answer has; unset ones are null (recorded 2023-01-01).
AUTH_SETTINGS_KEYS = (
    "enabled",
    "unauthenticatedClientAction",
    "tokenStoreEnabled",
    "allowedExternalRedirectUrls",
    "defaultProvider",
    "clientId",
    "clientSecret",
    "clientSecretSettingName",
    "clientSecretCertificateThumbprint",
    "issuer",
    "allowedAudiences",
    "additionalLoginParams",
    "isAadAutoProvisioned",
    "aadClaimsAuthorization",
    "googleClientId",
    "googleClientSecret",
    "googleClientSecretSettingName",
    "googleOAuthScopes",
    "facebookAppId",
    "facebookAppSecret",
    "facebookAppSecretSettingName",
    "facebookOAuthScopes",
    "gitHubClientId",
    "gitHubClientSecret",
    "gitHubClientSecretSettingName",
    "gitHubOAuthScopes",
    "twitterConsumerKey",
    "twitterConsumerSecret",
    "twitterConsumerSecretSettingName",
    "microsoftAccountClientId",
    "microsoftAccountClientSecret",
    "microsoftAccountClientSecretSettingName",
    "microsoftAccountOAuthScopes",
    "configVersion",
)
# keys a real answer shows only once they were set
AUTH_SETTINGS_OPTIONAL = ("runtimeVersion", "tokenRefreshExtensionHours")
CONFIG_READ_ONLY = ("publishingUsername", "publishingPassword", "machineKey", "windowsConfiguredStacks")


def _with_implicit_rule(rules: Any, default_action: Any) -> list[dict[str, Any]]:
    """Access restrictions as the Web RP answers them: the given rules, then an implicit last rule
    (priority 2147483647): "Deny all" once any rule allows or the default action denies, else "Allow all"
    (*unverified*: seen in the portal and docs, not in a recording)."""
    given = [dict(r) for r in rules or [] if r.get("priority") != IMPLICIT_PRIORITY]
    deny = default_action == "Deny" or any(r.get("action", "Allow") == "Allow" for r in given)
    if not given and not deny:
        return [dict(r) for r in ALLOW_ALL]
    return given + [DENY_ALL if deny else ALLOW_ALL[0]]


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".00"


def _timestamp(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + ".00"


def _validation_failure(code: str, message: str) -> Response:
    """The validate action's answer for what would fail (ValidateResponse: status + error)."""
    return Response(200, {"status": "Failure", "error": {"code": code, "message": message}})


def _has_zones(location: str) -> bool:
    """Zone redundancy needs availability zones: the regions the real region list gives zone mappings."""
    return any(
        r["name"] == location and r.get("availabilityZoneMappings") for r in catalogues.load("regions")
    )


def _setting_value(value: Any) -> str:
    """App setting values are strings; booleans become .NET's "True"/"False", missing values ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


class WebProvider:
    def __init__(self, double: AzureDouble) -> None:
        self.double = double
        self.store = double.store

    # --- helpers ----------------------------------------------------------------------------------
    def _site_id(self, params: dict[str, str]) -> str:
        if "slots" in params:
            return resource_id(params, NS, "sites", "slots")
        return resource_id(params, NS, "sites")

    def _site(self, params: dict[str, str]) -> dict[str, Any]:
        """The stored site or slot, or ARM's 404."""
        require_group(self.double, params)
        site = self.store.get(self._site_id(params))
        if site is None:
            kind, name = (
                ("sites/slots", f"{params['sites']}/{params['slots']}")
                if "slots" in params
                else ("sites", params["sites"])
            )
            raise not_found(f"{NS}/{kind}", name, params["resource_group"])
        return site

    def _site_for_subresource(self, params: dict[str, str]) -> dict[str, Any]:
        """Sub-resource calls on a missing site: the Web RP's own NotFound (*unverified* wording)."""
        require_group(self.double, params)
        site = self.store.get(self._site_id(params))
        if site is None:
            name = params["sites"]
            raise web_error(
                404,
                "NotFound",
                f"Cannot find Site with name {name}.",
                "Cannot find Site with name {0}.",
                [name],
            )
        return site

    def _plan(self, plan_id: str) -> dict[str, Any] | None:
        return self.store.get(plan_id)

    # --- serverfarms --------------------------------------------------------------------------------
    def put_plan(self, request: Request, params: dict[str, str]) -> Response:
        return self._upsert_plan(params, request.json_object())

    def _upsert_plan(self, params: dict[str, str], body: dict[str, Any]) -> Response:
        require_group(self.double, params)
        name = params["serverfarms"]
        if not PLAN_NAME.match(name):
            raise web_error(
                400,
                "BadRequest",
                f"The plan name '{name}' is invalid.",
                "The plan name '{0}' is invalid.",
                [name],
            )
        location = self._location(body)
        sku_name, tier, family, capacity = self._sku(body.get("sku") or {})
        properties = body.get("properties") or {}
        rid = resource_id(params, NS, "serverfarms")
        existing = self.store.get(rid)
        reserved = bool(properties.get("reserved", existing["properties"]["reserved"] if existing else False))
        plan = existing or shape(
            "web_serverfarm",
            name=name,
            resourceGroup=params["resource_group"],
            subscription=params["subscription"],
            location=location,
            locationDisplay=display_location(location),
            locationCompact=display_location(location).replace(" ", ""),
        )
        plan["location"] = location
        if "tags" in body:  # a plan created without tags answers without a tags key (recorded)
            plan["tags"] = check_tags(body["tags"])
        hyper_v = bool(
            properties.get("hyperV", properties.get("isXenon", existing and existing["properties"]["hyperV"]))
        )
        zone_redundant = bool(
            properties.get("zoneRedundant", existing and existing["properties"]["zoneRedundant"])
        )
        if zone_redundant and not _has_zones(location):
            message = "Requested features are not supported in region. Please try another region."
            raise web_error(400, "BadRequest", message, message, [], extended_code="59911")  # recorded
        # Windows containers run on Hyper-V plans, which answer kind "windows" (recorded)
        plan["kind"] = "linux" if reserved else ("windows" if hyper_v else "app")
        sku = {"name": sku_name, "tier": tier, "size": sku_name, "family": family, "capacity": capacity}
        plan["sku"] = sku
        props = plan["properties"]
        if not existing:
            created = time.time()
            props["createdTime"] = _timestamp(created)
            props["freeOfferExpirationTime"] = (
                _timestamp(created + FREE_OFFER_DAYS * 86400) if reserved and tier == "Basic" else None
            )
        props.update(
            name=plan["name"],
            reserved=reserved,
            hyperV=hyper_v,
            isXenon=hyper_v,
            siteMode=SITE_MODES.get(tier),
            kind=plan["kind"],
            numberOfWorkers=capacity,
            currentNumberOfWorkers=capacity,
            maximumNumberOfWorkers=SKUS[sku_name][2],
            geoRegion=display_location(location),
            perSiteScaling=bool(properties.get("perSiteScaling", props.get("perSiteScaling", False))),
            zoneRedundant=zone_redundant,
            webSpace=f"{params['resource_group']}-{display_location(location).replace(' ', '')}webspace"
            + ("-Linux" if reserved else ""),
            resourceGroup=params["resource_group"],
            subscription=params["subscription"],
        )
        self.store.put(rid, plan)
        answer = self._render_plan(plan)
        # The PUT answer echoes the request's location and sku, before the plan's limits are filled in.
        answer["location"] = body["location"]
        answer["properties"].update(sku=sku, maximumNumberOfWorkers=0)
        if not existing:  # a create's answer has no vnet connection counts yet; an update's has (recorded)
            answer["properties"].update(vnetConnectionsUsed=None, vnetConnectionsMax=None)
        return Response(200, answer)

    def _sites_on(self, plan_id: str) -> list[dict[str, Any]]:
        return self.store.matching(
            lambda k, v: (
                v.get("type") == "Microsoft.Web/sites"
                and v["properties"].get("serverFarmId", "").lower() == plan_id.lower()
            )
        )

    def _render_plan(self, plan: dict[str, Any]) -> dict[str, Any]:
        plan = dict(plan)
        plan["location"] = display_location(plan["location"])
        plan["properties"] = {**plan["properties"], "numberOfSites": len(self._sites_on(plan["id"]))}
        return plan

    def get_plan(self, request: Request, params: dict[str, str]) -> Response:
        require_group(self.double, params)
        plan = self.store.get(resource_id(params, NS, "serverfarms"))
        if plan is None:
            raise not_found(f"{NS}/serverFarms", params["serverfarms"], params["resource_group"])
        return Response(200, self._render_plan(plan))

    def patch_plan(self, request: Request, params: dict[str, str]) -> Response:
        require_group(self.double, params)
        plan = self.store.get(resource_id(params, NS, "serverfarms"))
        if plan is None:
            raise not_found(f"{NS}/serverFarms", params["serverfarms"], params["resource_group"])
        body = request.json_object()
        merged = deep_merge(
            {
                "location": plan["location"],
                "sku": plan["sku"],
                "tags": plan.get("tags"),
                "properties": {"reserved": plan["properties"]["reserved"]},
            },
            body,
        )
        return self._upsert_plan(params, merged)

    def delete_plan(self, request: Request, params: dict[str, str]) -> Response:
        require_group(self.double, params)
        rid = resource_id(params, NS, "serverfarms")
        plan = self.store.get(rid)
        if plan is None:
            return Response(204)
        sites = self._sites_on(plan["id"])
        if sites:
            name, apps = plan["name"], ",".join(s["name"] for s in sites)
            raise web_error(  # code and wording as seen in public reports; status 409 *unverified*
                409,
                "Conflict",
                f"Server farm '{name}' cannot be deleted because it has web app(s) {apps} assigned to it.",
                "Server farm '{0}' cannot be deleted because it has web app(s) {1} assigned to it.",
                [name, apps],
            )
        self.store.delete(rid)
        return Response(200)

    def list_plans(self, request: Request, params: dict[str, str]) -> Response:
        return Response(
            200,
            list_body(
                [self._render_plan(p) for p in in_scope(self.double, params, "Microsoft.Web/serverfarms")]
            ),
        )

    def _location(self, body: dict[str, Any]) -> str:
        location = canonical_location(body.get("location"))
        if location is None:
            raise arm_error(
                400,
                "LocationRequired" if not body.get("location") else "NoRegisteredProviderFound",
                f"The location '{body.get('location')}' is not available for {NS}.",
            )
        return location

    def _sku(self, sku: dict[str, Any]) -> tuple[str, str, str, int]:
        requested = str(sku.get("name", "")).lower()
        match = next((n for n in SKUS if n.lower() == requested), None)
        if match is None:
            shown = sku.get("name")
            raise web_error(  # *unverified* wording
                400,
                "BadRequest",
                f"The pricing tier '{shown}' is not allowed in this resource group. "
                f"Use one of {', '.join(SKUS)}.",
                "The pricing tier '{0}' is not allowed in this resource group.",
                [str(shown)],
            )
        tier, family, max_workers, _ = SKUS[match]
        capacity = sku.get("capacity", 1)
        if not isinstance(capacity, int) or not 1 <= capacity <= max_workers:
            raise web_error(
                400,
                "BadRequest",
                f"Requested number of workers {capacity} exceeds the maximum of {max_workers} for {match}.",
                "Requested number of workers {0} exceeds the maximum of {1}.",
                [str(capacity), str(max_workers)],
            )
        return match, tier, family, capacity

    # --- sites and slots ----------------------------------------------------------------------------
    def put_site(self, request: Request, params: dict[str, str]) -> Response:
        group = require_group(self.double, params)
        site_name = params["sites"]
        slot = params.get("slots")
        body = request.json_object()
        properties = body.get("properties") or {}
        rid = self._site_id(params)
        existing = self.store.get(rid)
        parent = None
        if slot:
            parent = self._site({k: v for k, v in params.items() if k != "slots"})
        elif not SITE_NAME.match(site_name):
            raise web_error(  # *unverified* wording
                400,
                "BadRequest",
                f"Site name '{site_name}' is invalid. It can contain only letters, numbers and hyphens, "
                "2 to 60 characters, and must start and end with a letter or number.",
                "Site name '{0}' is invalid.",
                [site_name],
            )
        if not existing and not slot:
            self._check_name_free(site_name, rid)
        plan_id = properties.get("serverFarmId") or (existing or parent or {}).get("properties", {}).get(
            "serverFarmId"
        )
        plan = self._plan(plan_id) if plan_id else None
        if plan is None:
            plan_name = (plan_id or "").rsplit("/", 1)[-1]
            raise web_error(
                404,
                "NotFound",
                f"Cannot find ServerFarm with name {plan_name}.",
                "Cannot find ServerFarm with name {0}.",
                [plan_name],
            )
        location = self._location(body) if "location" in body else (existing or parent or {}).get("location")
        if location is None:
            raise arm_error(400, "LocationRequired", "The location property is required for this definition.")
        if location != plan["location"]:
            raise web_error(  # *unverified* wording
                400,
                "BadRequest",
                f"The site location '{body['location']}' must be the plan's location '{plan['location']}'.",
                "The site location '{0}' must be the plan's location '{1}'.",
                [str(body["location"]), plan["location"]],
            )
        if slot and SKUS[plan["sku"]["name"]][3] == 0:
            raise web_error(  # *unverified* wording
                409,
                "Conflict",
                f"Cannot create more than 0 deployment slots for this site in the {plan['sku']['tier']} "
                "tier.",
                "Cannot create more than {0} deployment slots for this site.",
                ["0"],
            )

        site = existing or self._new_site(params, location, group)
        if "tags" in body:  # a site created without tags answers without a tags key (recorded)
            site["tags"] = check_tags(body["tags"])
        if "identity" in body:
            site["identity"] = system_identity(body["identity"], rid, self.double.tenant_id)
        props = site["properties"]
        self._check_network(properties, plan)
        for key in SITE_WRITABLE:
            if key in properties:
                props[key] = properties[key]
        if not props.get("enabled", True):
            props["state"] = "Stopped"
        props.update(
            serverFarmId=plan["id"],
            reserved=plan["properties"]["reserved"],  # from the plan whatever the request says
            hyperV=plan["properties"]["hyperV"],  # a Hyper-V plan's sites are Windows containers (recorded)
            isXenon=plan["properties"]["hyperV"],
            sku=plan["sku"]["tier"],
            lastModifiedTimeUtc=_now(),
        )

        def write() -> dict[str, Any]:
            self.store.put(rid, site)
            self._apply_site_config(rid, site, properties.get("siteConfig"), replace=not existing)
            self._site_network_to_config(rid, properties)
            answer = self._render_site(rid)
            answer["location"] = body.get("location", answer["location"])
            answer["properties"].update(PUT_SITE_PROPERTIES)
            answer["properties"]["siteConfig"].update(PUT_SITE_CONFIG)
            return answer

        overrides = self.double.operation_overrides(request)
        if not overrides:
            return Response(200, write())
        # A test made this write slow or fail: answer 202 + Location, as the Web RP may for a long site
        # create (the SDK accepts 200 or 202 here); the site is written when the operation succeeds.
        written: dict[str, Any] = {}
        op = self.double.operations.start(
            target_id=rid,
            on_success=lambda: written.update(write()),
            on_failure=lambda code, message: None,
            status_body=arm_status_body,
            final_result=lambda: Response(200, written),
            **overrides,
        )
        return self._accepted(request, params, location, op)

    def _accepted(self, request: Request, params: dict[str, str], location: str, op: Operation) -> Response:
        """202 + Location: the SDK polls the operation's result URL until it answers 200."""
        headers = operation_headers(
            self.double.base_url,
            params["subscription"],
            NS,
            location,
            op,
            request.api_version,
            status_segment=None,
            location_header=True,
        )
        return Response(202, None, headers)

    def _new_site(self, params: dict[str, str], location: str, group: dict[str, Any]) -> dict[str, Any]:
        site_name, slot = params["sites"], params.get("slots")
        host_label = f"{site_name}-{slot}" if slot else site_name
        site = shape(
            "web_site",
            name=host_label,
            resourceGroup=group["name"],
            subscription=params["subscription"],
            plan="",
            location=location,
            locationDisplay=display_location(location),
            locationCompact=display_location(location).replace(" ", ""),
        )
        site["id"] = self._site_id(params)
        site["name"] = f"{site_name}/{slot}" if slot else site_name
        site["type"] = "Microsoft.Web/sites/slots" if slot else "Microsoft.Web/sites"
        site["location"] = location
        props = site["properties"]
        props.update(
            name=site["name"],
            repositorySiteName=site_name,
            deploymentId=host_label,
            slotName=slot,
            ftpUsername=f"{host_label}\\${site_name}",
            customDomainVerificationId=hashlib.sha256(site["id"].lower().encode()).hexdigest().upper(),
        )
        props["siteProperties"]["properties"] = [
            {"name": "LinuxFxVersion", "value": ""},
            {"name": "WindowsFxVersion", "value": None},
        ]
        return site

    def _check_name_free(self, name: str, rid: str) -> None:
        taken = self.store.matching(
            lambda k, v: (
                v.get("type") == "Microsoft.Web/sites"
                and v["name"].lower() == name.lower()
                and k != rid.lower()
            )
        )
        if taken:
            raise web_error(
                409,
                "Conflict",
                f"Website with given name {name} already exists.",
                "Website with given name {0} already exists.",
                [name],
            )

    def _apply_site_config(
        self, rid: str, site: dict[str, Any], config: dict[str, Any] | None, replace: bool
    ) -> None:
        """A site PUT's siteConfig goes to config/web; its appSettings/connectionStrings replace them."""
        config = dict(config or {})
        app_settings = config.pop("appSettings", None)
        connection_strings = config.pop("connectionStrings", None)
        current = self.store.get(rid + "/config/web")
        if current is None:
            current = self._default_config(site)
        for key, value in config.items():
            if key in current["properties"] and key not in CONFIG_READ_ONLY:
                current["properties"][key] = value
        for key in ("ipSecurityRestrictions", "scmIpSecurityRestrictions"):
            if key in config:
                current["properties"][key] = _with_implicit_rule(
                    config[key], current["properties"].get(key + "DefaultAction")
                )
        synced = {k: config[k] for k in NETWORK_SETTINGS if k in config}
        if synced and self.store.exists(rid):
            self.store.update(rid, lambda s: s["properties"].update(synced))
        for application in current["properties"].get("virtualApplications") or []:
            application.setdefault("preloadEnabled", False)
            application.setdefault("virtualDirectories", None)
        self.store.put(rid + "/config/web", current)
        self._sync_fx_version(rid)
        if app_settings is not None or replace:
            settings = {s["name"]: _setting_value(s.get("value")) for s in app_settings or []}
            self.store.put(rid + "/config/appsettings", {"properties": settings})
        if connection_strings is not None or replace:
            strings = {
                c["name"]: {"value": c.get("connectionString") or "", "type": c.get("type", "Custom")}
                for c in connection_strings or []
            }
            self.store.put(rid + "/config/connectionstrings", {"properties": strings})

    def _check_network(self, properties: dict[str, Any], plan: dict[str, Any] | None) -> None:
        """Regional VNet integration needs a subnet delegated to Microsoft.Web/serverFarms (Basic and up)."""
        subnet_id = properties.get("virtualNetworkSubnetId")
        if not subnet_id:
            return
        if plan and plan["sku"]["tier"] in ("Free", "Shared"):
            raise web_error(  # *unverified* wording
                400,
                "BadRequest",
                f"VNet integration is not available in the {plan['sku']['tier']} tier.",
                "VNet integration is not available in the {0} tier.",
                [plan["sku"]["tier"]],
            )
        require_subnet(self.double, subnet_id, "Microsoft.Web/serverFarms", "the site's VNet integration")

    def _site_network_to_config(self, rid: str, properties: dict[str, Any]) -> None:
        """Site properties that config/web shows too (vnetRouteAllEnabled, publicNetworkAccess)."""
        synced = {k: properties[k] for k in NETWORK_SETTINGS if k in properties}
        if synced:
            self.store.update(rid + "/config/web", lambda c: c["properties"].update(synced))

    def _default_config(self, site: dict[str, Any]) -> dict[str, Any]:
        group = site["properties"]["resourceGroup"]
        host_label = site["properties"]["deploymentId"]
        config = shape("web_site_config", name=host_label, resourceGroup=group, subscription="")
        properties = config["properties"]
        properties.update(
            linuxFxVersion="",
            http20Enabled=False,
            alwaysOn=False,
            publishingUsername=f"${host_label}",
            remoteDebuggingVersion=None,
        )
        return {"properties": properties}

    def _sync_fx_version(self, rid: str) -> None:
        """kind and siteProperties follow linuxFxVersion (Linux) or windowsFxVersion (Hyper-V plans)."""
        config = self.store.get(rid + "/config/web")["properties"]
        fx = config.get("linuxFxVersion") or ""
        windows_fx = config.get("windowsFxVersion") or ""

        def update(site: dict[str, Any]) -> None:
            linux = site["properties"]["reserved"]
            container = fx.upper().startswith("DOCKER|") or windows_fx.upper().startswith("DOCKER|")
            kinds = (
                ["app"]
                + (["linux"] if linux else [])
                + (["container"] if container else [])
                + (["windows"] if site["properties"].get("hyperV") else [])
            )
            site["kind"] = site["properties"]["kind"] = ",".join(kinds)
            site["properties"]["siteProperties"]["properties"][0]["value"] = fx

        self.store.update(rid, update)

    def _render_site(self, rid: str) -> dict[str, Any]:
        site = self.store.get(rid)
        config = self.store.get(rid + "/config/web")["properties"]
        site["location"] = display_location(site["location"])
        site_config = site["properties"]["siteConfig"]
        site_config.update({k: config[k] for k in SITE_CONFIG_IN_SITE})
        return site

    def get_site(self, request: Request, params: dict[str, str]) -> Response:
        site = self._site(params)
        return Response(200, self._render_site(site["id"]))

    def patch_site(self, request: Request, params: dict[str, str]) -> Response:
        site = self._site(params)
        body = request.json_object()
        properties = body.get("properties") or {}
        self._check_network(properties, self._plan(site["properties"]["serverFarmId"]))
        for key in SITE_WRITABLE:
            if key in properties:
                site["properties"][key] = properties[key]
        if "tags" in body:
            site["tags"] = check_tags(body["tags"])
        if "identity" in body:
            site["identity"] = system_identity(body["identity"], site["id"], self.double.tenant_id)
        site["properties"]["lastModifiedTimeUtc"] = _now()
        self.store.put(site["id"], site)
        self._site_network_to_config(site["id"], properties)
        if properties.get("siteConfig"):
            self._apply_site_config(site["id"], site, properties["siteConfig"], replace=False)
        return Response(200, self._render_site(site["id"]))

    def list_vnet_connections(self, request: Request, params: dict[str, str]) -> Response:
        """Regional ("swift") VNet integration as a connection list: a bare JSON array, one entry named
        <VNet resourceGuid>_<subnet> while virtualNetworkSubnetId is set (recorded, 2023-01-01)."""
        site = self._site_for_subresource(params)
        subnet_id = site["properties"].get("virtualNetworkSubnetId")
        if not subnet_id:
            return Response(200, [])
        vnet = self.store.get(subnet_id.rsplit("/subnets/", 1)[0]) or {}
        guid = (vnet.get("properties") or {}).get("resourceGuid") or ""
        name = f"{guid}_{subnet_id.rstrip('/').rsplit('/', 1)[-1]}"
        connection = {
            "id": f"{site['id']}/virtualNetworkConnections/{name}",
            "name": name,
            "type": f"{NS}/sites/virtualNetworkConnections",
            "location": display_location(site["location"]),
            "properties": {
                "vnetResourceId": subnet_id,
                "certThumbprint": None,
                "certBlob": None,
                "routes": None,
                "resyncRequired": False,
                "dnsServers": None,
                "isSwift": True,
            },
        }
        return Response(200, [connection])

    def delete_vnet_integration(self, request: Request, params: dict[str, str]) -> Response:
        """Leaves the subnet: virtualNetworkSubnetId empties, the rest of the site stays (recorded: 200, no
        body)."""
        site = self._site_for_subresource(params)
        self.store.update(site["id"], lambda s: s["properties"].update(virtualNetworkSubnetId=None))
        return Response(200)

    def delete_site(self, request: Request, params: dict[str, str]) -> Response:
        require_group(self.double, params)
        rid = self._site_id(params)
        if not self.store.exists(rid):
            raise not_found(f"{NS}/sites", params["sites"], params["resource_group"])
        self.store.delete(rid)
        return Response(200)

    def list_sites(self, request: Request, params: dict[str, str]) -> Response:
        sites = in_scope(self.double, params, "Microsoft.Web/sites")
        return Response(200, list_body([self._render_site(s["id"]) for s in sites]))

    def list_slots(self, request: Request, params: dict[str, str]) -> Response:
        site = self._site(params)
        slots = self.store.children(site["id"], "slots")
        return Response(200, list_body([self._render_site(s["id"]) for s in slots]))

    def check_name_available(self, name: str) -> bool:
        """Site names are global (they become <name>.azurewebsites.net)."""
        return SITE_NAME.match(name) is not None and not self.store.matching(
            lambda k, v: v.get("type") == "Microsoft.Web/sites" and v["name"].lower() == name.lower()
        )

    def check_name(self, request: Request, params: dict[str, str]) -> Response:
        body = request.json_object()
        name = str(body.get("name", ""))
        if not SITE_NAME.match(name):
            return Response(
                200,
                {
                    "nameAvailable": False,
                    "reason": "Invalid",
                    "message": f"The name '{name}' is not a valid site name.",
                },
            )
        if not self.check_name_available(name):
            return Response(
                200,
                {
                    "nameAvailable": False,
                    "reason": "AlreadyExists",
                    "message": f"Hostname '{name}' already exists. Please select a different name.",
                },
            )
        return Response(200, {"nameAvailable": True, "reason": "", "message": ""})

    def site_action(self, request: Request, params: dict[str, str]) -> Response:
        """restart / stop / start: 200 with no body."""
        site = self._site_for_subresource(params)
        action = request.path.rstrip("/").rsplit("/", 1)[-1].lower()
        if action in ("stop", "start"):
            state = "Stopped" if action == "stop" else "Running"
            self.store.update(
                site["id"], lambda s: s["properties"].update(state=state, lastModifiedTimeUtc=_now())
            )
        return Response(200)

    def publish_xml(self, request: Request, params: dict[str, str]) -> Response:
        site = self._site_for_subresource(params)
        host = site["properties"]["defaultHostName"]
        scm = host.replace(".azurewebsites.net", ".scm.azurewebsites.net")
        xml = (
            f'<publishData><publishProfile profileName="{site["name"]} - Web Deploy" '
            f'publishMethod="MSDeploy" publishUrl="{scm}:443" msdeploySite="{site["name"]}" '
            f'userName="${site["name"]}" userPWD="********" '
            f'destinationAppUrl="http://{host}"/></publishData>'
        )
        return Response(200, xml, {"content-type": "application/xml"})

    # --- config sub-resources ---------------------------------------------------------------------
    def _config_envelope(self, site: dict[str, Any], name: str, properties: Any) -> dict[str, Any]:
        return {
            "id": f"{site['id']}/config/{name}",
            "name": name,
            "type": f"{site['type']}/config"
            if site["type"].endswith("slots")
            else "Microsoft.Web/sites/config",
            "location": display_location(site["location"]),
            "properties": properties,
        }

    def get_config_web(self, request: Request, params: dict[str, str]) -> Response:
        site = self._site_for_subresource(params)
        config = self.store.get(site["id"] + "/config/web")["properties"]
        answer = self._config_envelope(site, "web", config)
        answer["name"] = site["name"]  # real Azure names config/web after the site
        return Response(200, answer)

    def write_config_web(self, request: Request, params: dict[str, str]) -> Response:
        """PUT and PATCH config/web both merge (unset properties are kept); the answer has the site's id."""
        site = self._site_for_subresource(params)
        body = request.json_object()
        self._apply_site_config(site["id"], site, body.get("properties") or {}, replace=False)
        self.store.update(site["id"], lambda s: s["properties"].update(lastModifiedTimeUtc=_now()))

        def first_write_defaults(config: dict[str, Any]) -> None:
            # Recorded: the first config/web write fills the remote debugging version.
            config["properties"]["remoteDebuggingVersion"] = (
                config["properties"]["remoteDebuggingVersion"] or "VS2019"
            )

        self.store.update(site["id"] + "/config/web", first_write_defaults)
        config = self.store.get(site["id"] + "/config/web")["properties"]
        answer = {
            "id": site["id"],
            "name": site["name"],
            "type": site["type"],
            "location": display_location(site["location"]),
            "properties": config,
        }
        return Response(200, answer)

    def put_app_settings(self, request: Request, params: dict[str, str]) -> Response:
        site = self._site_for_subresource(params)
        body = request.json_object()
        settings = body.get("properties") or {}
        if not isinstance(settings, dict):
            raise web_error(
                400,
                "BadRequest",
                "The app settings must be an object of name: value.",
                "The app settings must be an object.",
                [],
            )
        stored = {name: _setting_value(value) for name, value in settings.items()}
        self.store.put(site["id"] + "/config/appsettings", {"properties": stored})
        return Response(200, self._config_envelope(site, "appsettings", stored))

    def list_app_settings(self, request: Request, params: dict[str, str]) -> Response:
        return self._list_config(params, "appsettings")

    def _list_config(self, params: dict[str, str], name: str) -> Response:
        """POST .../config/<name>/list: the only way Azure shows app settings and connection strings."""
        site = self._site_for_subresource(params)
        stored = self.store.get(f"{site['id']}/config/{name}")["properties"]
        return Response(200, self._config_envelope(site, name, stored))

    def put_connection_strings(self, request: Request, params: dict[str, str]) -> Response:
        site = self._site_for_subresource(params)
        strings = (request.json_object().get("properties")) or {}
        stored = {}
        for name, entry in strings.items():
            entry = entry or {}
            kind = next(
                (t for t in CONNECTION_STRING_TYPES if t.lower() == str(entry.get("type", "")).lower()), None
            )
            if kind is None:
                raise web_error(
                    400,
                    "BadRequest",
                    f"Connection string type '{entry.get('type')}' is invalid for {name}.",
                    "Connection string type '{0}' is invalid.",
                    [str(entry.get("type"))],
                )
            stored[name] = {"value": entry.get("value") or "", "type": kind}
        self.store.put(site["id"] + "/config/connectionstrings", {"properties": stored})
        return Response(200, self._config_envelope(site, "connectionstrings", stored))

    def put_auth_settings(self, request: Request, params: dict[str, str]) -> Response:
        """PUT config/authsettings replaces the whole set: what the request leaves out goes back to null."""
        site = self._site_for_subresource(params)
        wanted = request.json_object().get("properties") or {}
        settings: dict[str, Any] = {key: wanted.get(key) for key in AUTH_SETTINGS_KEYS}
        settings.update({key: wanted[key] for key in AUTH_SETTINGS_OPTIONAL if key in wanted})
        settings["enabled"] = bool(wanted.get("enabled", False))
        settings["isAadAutoProvisioned"] = bool(wanted.get("isAadAutoProvisioned", False))
        settings["configVersion"] = wanted.get("configVersion") or "v1"
        if settings["clientId"] and not settings["aadClaimsAuthorization"]:
            # the Entra ID provider gets an empty claims policy (recorded)
            settings["aadClaimsAuthorization"] = '{"allowed_groups":null,"allowed_client_applications":[]}'
        self.store.put(site["id"] + "/config/authsettings", {"properties": settings})
        return Response(200, self._config_envelope(site, "authsettings", self._auth_settings(site)))

    def list_auth_settings(self, request: Request, params: dict[str, str]) -> Response:
        site = self._site_for_subresource(params)
        return Response(200, self._config_envelope(site, "authsettings", self._auth_settings(site)))

    def _auth_settings(self, site: dict[str, Any]) -> dict[str, Any]:
        stored = self.store.get(site["id"] + "/config/authsettings")
        if stored:
            return stored["properties"]
        defaults: dict[str, Any] = dict.fromkeys(AUTH_SETTINGS_KEYS)
        defaults.update(enabled=False, isAadAutoProvisioned=False, configVersion="v1")
        return defaults

    def validate(self, request: Request, params: dict[str, str]) -> Response:
        """POST .../providers/Microsoft.Web/validate: would this site or plan be created? Never writes."""
        require_group(self.double, params)
        body = request.json_object()
        kind = str(body.get("type", ""))
        props = body.get("properties") or {}
        try:
            if canonical_location(body.get("location")) is None:
                raise web_error(
                    400,
                    "BadRequest",
                    f"The location '{body.get('location')}' is invalid.",  # *unverified* wording
                    "The location '{0}' is invalid.",
                    [str(body.get("location"))],
                )
            if kind.lower() == "serverfarm":
                self._sku({"name": props.get("skuName"), "capacity": props.get("capacity") or 1})
            elif kind.lower() == "site":
                name = str(body.get("name", ""))
                if not self.check_name_available(name):
                    return _validation_failure(
                        "SiteNameNotAvailable", f"The site name '{name}' is not available."
                    )
                farm = props.get("serverFarmId")
                if farm and self._plan(farm) is None:
                    return _validation_failure(
                        "ServerFarmNotFound", f"The server farm '{farm}' was not found."
                    )
            else:
                return _validation_failure(
                    "InvalidResourceType", f"Cannot validate resources of type '{kind}'."
                )
        except DoubleError as error:
            body = error.response.body
            return _validation_failure(body.get("Code", "BadRequest"), body.get("Message", ""))
        return Response(200, {"status": "Success", "error": None})

    def list_connection_strings(self, request: Request, params: dict[str, str]) -> Response:
        return self._list_config(params, "connectionstrings")

    def _slot_config_names(self, site: dict[str, Any]) -> dict[str, Any]:
        stored = self.store.get(site["id"] + "/config/slotConfigNames")
        properties = (stored or {}).get("properties") or {}
        return {
            "id": None,
            "name": site["name"],
            "type": site["type"],
            "location": display_location(site["location"]),
            "properties": {
                "connectionStringNames": properties.get("connectionStringNames"),
                "appSettingNames": properties.get("appSettingNames"),
                "azureStorageConfigNames": properties.get("azureStorageConfigNames"),
            },
        }

    def get_slot_config_names(self, request: Request, params: dict[str, str]) -> Response:
        return Response(200, self._slot_config_names(self._site_for_subresource(params)))

    def put_slot_config_names(self, request: Request, params: dict[str, str]) -> Response:
        site = self._site_for_subresource(params)
        properties = request.json_object().get("properties") or {}
        keys = ("connectionStringNames", "appSettingNames", "azureStorageConfigNames")
        self.store.put(
            site["id"] + "/config/slotConfigNames", {"properties": {k: properties.get(k) for k in keys}}
        )
        return Response(200, self._slot_config_names(site))

    # --- slot swap (long-running, Location style: *unverified* shape) -------------------------------
    def swap(self, request: Request, params: dict[str, str]) -> Response:
        site_params = {k: v for k, v in params.items() if k != "slots"}
        production = self._site_for_subresource(site_params)
        body = request.json_object()
        target = body.get("targetSlot")
        source = params.get("slots")
        if not target:
            raise web_error(400, "BadRequest", "targetSlot is required.", "targetSlot is required.", [])
        names = {s.lower() for s in (source or "production", target)}
        slots = [n for n in names if n != "production"]
        if len(names) != 2 or len(slots) != 1:
            raise web_error(
                400,
                "BadRequest",
                "A swap needs one slot and production.",
                "A swap needs one slot and production.",
                [],
            )
        slot_id = f"{production['id']}/slots/{slots[0]}"
        if not self.store.exists(slot_id):
            raise web_error(
                404,
                "NotFound",
                f"Cannot find Slot with name {slots[0]}.",
                "Cannot find Slot with name {0}.",
                [slots[0]],
            )
        op = self.double.operations.start(
            target_id=production["id"],
            on_success=lambda: self._swap_config(production["id"], slot_id),
            on_failure=lambda code, message: None,
            status_body=arm_status_body,
            final_result=lambda: Response(200),
            **self.double.operation_overrides(request),
        )
        if op.done and op.status == "Succeeded":
            return Response(200)
        return self._accepted(request, params, production["location"], op)

    def _swap_config(self, site_id: str, slot_id: str) -> None:
        """Exchange config/web, non-sticky app settings and connection strings between site and slot."""
        sticky = (self.store.get(site_id + "/config/slotConfigNames") or {}).get("properties") or {}
        sticky_settings = set(sticky.get("appSettingNames") or [])
        sticky_strings = set(sticky.get("connectionStringNames") or [])
        web_a, web_b = self.store.get(site_id + "/config/web"), self.store.get(slot_id + "/config/web")
        self.store.put(site_id + "/config/web", web_b)
        self.store.put(slot_id + "/config/web", web_a)
        for name, keep in (("appsettings", sticky_settings), ("connectionstrings", sticky_strings)):
            a = self.store.get(f"{site_id}/config/{name}")["properties"]
            b = self.store.get(f"{slot_id}/config/{name}")["properties"]
            new_a = {k: v for k, v in a.items() if k in keep} | {k: v for k, v in b.items() if k not in keep}
            new_b = {k: v for k, v in b.items() if k in keep} | {k: v for k, v in a.items() if k not in keep}
            self.store.put(f"{site_id}/config/{name}", {"properties": new_a})
            self.store.put(f"{slot_id}/config/{name}", {"properties": new_b})
        self._sync_fx_version(site_id)
        self._sync_fx_version(slot_id)


def register(double: AzureDouble) -> None:
    web = WebProvider(double)
    route = double.arm.add
    route_resource_type(
        route,
        NS,
        "serverfarms",
        put=web.put_plan,
        get=web.get_plan,
        patch=web.patch_plan,
        delete=web.delete_plan,
        list_all=web.list_plans,
    )
    route("POST", f"/subscriptions/{{subscription}}/providers/{NS}/checknameavailability", web.check_name)
    route("POST", f"{RG_SCOPE}/providers/{NS}/validate", web.validate)
    route("GET", f"/subscriptions/{{subscription}}/providers/{NS}/sites", web.list_sites)
    route("GET", collection_pattern(NS, "sites"), web.list_sites)
    route("GET", collection_pattern(NS, "sites", "slots"), web.list_slots)
    for pattern in (SITE, SLOT):
        route("PUT", pattern, web.put_site)
        route("GET", pattern, web.get_site)
        route("PATCH", pattern, web.patch_site)
        route("DELETE", pattern, web.delete_site)
        for action in ("restart", "stop", "start"):
            route("POST", f"{pattern}/{action}", web.site_action)
        route("POST", f"{pattern}/publishxml", web.publish_xml)
        route("GET", f"{pattern}/virtualNetworkConnections", web.list_vnet_connections)
        route("DELETE", f"{pattern}/networkConfig/virtualNetwork", web.delete_vnet_integration)
        route("GET", f"{pattern}/config/web", web.get_config_web)
        route("PUT", f"{pattern}/config/web", web.write_config_web)
        route("PATCH", f"{pattern}/config/web", web.write_config_web)
        route("PUT", f"{pattern}/config/appsettings", web.put_app_settings)
        route("POST", f"{pattern}/config/appsettings/list", web.list_app_settings)
        route("PUT", f"{pattern}/config/connectionstrings", web.put_connection_strings)
        route("POST", f"{pattern}/config/connectionstrings/list", web.list_connection_strings)
        route("POST", f"{pattern}/slotsswap", web.swap)
        route("PUT", f"{pattern}/config/authsettings", web.put_auth_settings)
        route("POST", f"{pattern}/config/authsettings/list", web.list_auth_settings)
    route("GET", f"{SITE}/config/slotConfigNames", web.get_slot_config_names)
    route("PUT", f"{SITE}/config/slotConfigNames", web.put_slot_config_names)
