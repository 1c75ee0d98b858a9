#!/usr/bin/python
# Copyright: PAPR Memory engineers
# Apache-2.0
"""Stage a new container image in a deployment slot of a web app: production's configuration, new image."""

from __future__ import annotations

DOCUMENTATION = r"""
module: app_service_staging_slot
short_description: Stage a container image in a deployment slot of a Linux web app, ready to swap
description:
  - The first step of a release without downtime. Ensures the deployment slot O(slot) of the web app
    O(name) runs O(image) with the production app's own configuration (startup command, health check
    path, hardening, app settings, connection strings) plus O(app_settings), and is running - so that
    a swap (M(papr.memory.app_service_slot_swap)) changes nothing but the image.
  - When the production app already runs O(image) there is nothing to release - the task changes
    nothing and sends no write, so a release run twice is a no-op.
  - Makes O(sticky_app_settings) slot settings of the app (C(slotConfigNames)), so they stay with
    their slot on a swap - the swap warm-up settings, for example.
  - With O(state=stopped) it stops the slot (after a release the slot runs the previous image; stopping
    it lets workers in it drain - they get SIGTERM and finish or hand back their activities).
  - Check mode sends no write request; diff mode shows before and after with secret values masked.
version_added: 0.2.0
author:
  - PAPR Memory engineers (@papr-memory)
options:
  name:
    description: Name of the production web app (it must exist).
    type: str
    required: true
  resource_group:
    description: Resource group of the web app.
    type: str
    required: true
  slot:
    description: Name of the deployment slot.
    type: str
    default: staging
  image:
    description:
      - The container image to stage, V(registry/repository:tag) or V(registry/repository@sha256:<digest>).
      - Required with O(state=staged).
    type: str
  app_settings:
    description:
      - App settings the slot gets on top of the production app's (same name - this value wins).
    type: dict
    default: {}
  sticky_app_settings:
    description:
      - Names of app settings that stay with their slot on a swap. Added to the app's slot settings;
        names already sticky stay sticky.
    type: list
    elements: str
    default: []
  secret_app_settings:
    description:
      - Names of app settings whose values are secret. Names containing PASSWORD, SECRET, TOKEN, KEY,
        CONNECTION_STRING (and C(DATABASE_URL)-like names given here) are masked anyway.
    type: list
    elements: str
    default: []
  state:
    description:
      - V(staged) - the slot runs O(image) with production's configuration and is started.
      - V(stopped) - the slot, when it exists, is stopped.
    type: str
    choices: [staged, stopped]
    default: staged
extends_documentation_fragment:
  - papr.memory.azure
requirements:
  - azure-mgmt-web >= 7
notes:
  - The slot runs in the production app's plan; the plan's tier must allow deployment slots (Standard or
    above).
  - When the production app pulls its image with a managed identity, the slot gets its own
    system-assigned identity, which needs the AcrPull role on the registry too.
"""

EXAMPLES = r"""
- name: Stage the new image in the staging slot, warmed up on /health by the swap
  papr.memory.app_service_staging_slot:
    name: papr-memory-prod-web
    resource_group: papr-memory-prod
    image: paprmemory.azurecr.io/memory:1.5.0
    app_settings:
      WEBSITE_SWAP_WARMUP_PING_PATH: /health
      WEBSITE_SWAP_WARMUP_PING_STATUSES: "200"
    sticky_app_settings: [WEBSITE_SWAP_WARMUP_PING_PATH, WEBSITE_SWAP_WARMUP_PING_STATUSES]
  register: staged

- name: After the release, stop the slot (it now runs the previous image)
  papr.memory.app_service_staging_slot:
    name: papr-memory-prod-web
    resource_group: papr-memory-prod
    state: stopped
"""

RETURN = r"""
released:
  description: Whether the production app already ran O(image) (then nothing was staged).
  returned: always
  type: bool
production:
  description: The production app.
  returned: always
  type: dict
  contains:
    image: {description: The image production runs., type: str, sample: paprmemory.azurecr.io/memory:1.4.2}
    url: {description: HTTPS URL of its default host name., type: str}
slot:
  description: The slot after the task (empty when it does not exist). Secret values are never included.
  returned: always
  type: dict
  contains:
    name: {description: Slot name., type: str, sample: staging}
    image: {description: The image the slot runs., type: str, sample: paprmemory.azurecr.io/memory:1.5.0}
    default_host_name:
      description: The slot's own host name.
      type: str
      sample: papr-memory-web-staging.azurewebsites.net
    url: {description: HTTPS URL of the slot's own host name., type: str}
    state: {description: Running state., type: str, sample: Running}
    app_setting_names: {description: Names of its app settings., type: list, elements: str}
sticky_app_settings:
  description: The app's slot-sticky app setting names after the task.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.papr.memory.plugins.module_utils.azure_diff import (
    is_secret_name,
    masked_pair,
    string_map,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_errors import AzureModuleError
from ansible_collections.papr.memory.plugins.module_utils.azure_image import parse_image
from ansible_collections.papr.memory.plugins.module_utils.azure_module import AzureModule, describe
from ansible_collections.papr.memory.plugins.module_utils.azure_names import require_valid_name
from ansible_collections.papr.memory.plugins.module_utils.azure_web import (
    WebApp,
    container_image,
    same_image,
)

# config/web properties a slot copies from production, with how each is compared (Azure answers null
# for "" and re-cases enums).
COPIED_CONFIG = {
    "appCommandLine": lambda v: v or "",
    "healthCheckPath": lambda v: v or "",
    "alwaysOn": bool,
    "minTlsVersion": lambda v: (v or "").lower(),
    "ftpsState": lambda v: (v or "").lower(),
    "http20Enabled": bool,
    "acrUseManagedIdentityCreds": bool,
    "acrUserManagedIdentityID": lambda v: (v or "").lower(),
}
RUNNING = "Running"
STOPPED = "Stopped"


def site_url(site):
    host = ((site or {}).get("properties") or {}).get("defaultHostName")
    return f"https://{host}" if host else None


def site_state(site):
    return ((site or {}).get("properties") or {}).get("state") or RUNNING


class Production:
    """What the slot copies: the production app's site, config/web, app settings, connection strings."""

    def __init__(self, module, app, resource):
        site = app.get_site()
        if site is None:
            raise AzureModuleError(
                f"{resource} does not exist: deploy the app first (site.yml), then release into its slot."
            )
        self.site = site
        self.config = app.get_configuration()
        self.app_settings = app.list_app_settings()
        self.connection_strings = app.list_connection_strings()
        self.sticky = app.slot_config_names()
        self.image = container_image(self.config.get("linuxFxVersion"))


def desired_config(production, image):
    config = {
        key: production.config.get(key) for key in COPIED_CONFIG if production.config.get(key) is not None
    }
    config["linuxFxVersion"] = f"DOCKER|{image}"
    return config


def config_patch(current, desired):
    patch = {
        key: value
        for key, value in desired.items()
        if key in COPIED_CONFIG and COPIED_CONFIG[key](current.get(key)) != COPIED_CONFIG[key](value)
    }
    if not same_image(
        container_image(current.get("linuxFxVersion")), container_image(desired["linuxFxVersion"])
    ):
        patch["linuxFxVersion"] = desired["linuxFxVersion"]
    return patch


def create_body(production, config, app_settings, connection_strings):
    site_config = dict(config)
    site_config["appSettings"] = [{"name": k, "value": v} for k, v in sorted(app_settings.items())]
    site_config["connectionStrings"] = [
        {"name": name, "connectionString": item.get("value") or "", "type": item.get("type") or "Custom"}
        for name, item in sorted(connection_strings.items())
    ]
    properties = production.site.get("properties") or {}
    body = {
        "location": production.site["location"],
        "kind": production.site.get("kind"),
        "tags": production.site.get("tags") or {},
        "properties": {
            "serverFarmId": properties.get("serverFarmId"),
            "reserved": True,
            "httpsOnly": bool(properties.get("httpsOnly")),
            "siteConfig": site_config,
        },
    }
    if "systemassigned" in ((production.site.get("identity") or {}).get("type") or "").lower().replace(
        " ", ""
    ):
        body["identity"] = {"type": "SystemAssigned"}
    return body


def summarise_slot(slot_name, site, image, app_settings):
    if not site:
        return {}
    properties = site.get("properties") or {}
    return {
        "name": slot_name,
        "image": image,
        "default_host_name": properties.get("defaultHostName"),
        "url": site_url(site),
        "state": site_state(site),
        "app_setting_names": sorted(app_settings or {}),
    }


def hide_secrets(module, secret_names, *setting_maps):
    for settings in setting_maps:
        module.hide(*(value for name, value in settings.items() if name in secret_names))


def stage(module, production_app, slot_app, production, resource):
    params = module.params
    image = str(parse_image(params["image"]))
    result = {
        "released": same_image(production.image, image),
        "production": {"image": production.image, "url": site_url(production.site)},
        "sticky_app_settings": sorted(production.sticky.get("appSettingNames") or []),
    }
    slot_site = slot_app.get_site()
    if result["released"]:
        # Nothing to release: the slot (the previous image, or absent) is left exactly as it is.
        result["changed"] = False
        result["slot"] = summarise_slot(slot_app.slot, slot_site, None, {})
        return result

    extra = string_map(params["app_settings"])
    wanted_settings = {**production.app_settings, **extra}
    declared = set(params["secret_app_settings"])
    secrets = {name for name in set(wanted_settings) if is_secret_name(name, declared)}
    wanted_config = desired_config(production, image)
    wanted_sticky = sorted(
        set(production.sticky.get("appSettingNames") or []) | set(params["sticky_app_settings"])
    )

    if slot_site is None:
        current = {"config": {}, "app_settings": {}, "connection_strings": {}}
    else:
        current = {
            "config": slot_app.get_configuration(),
            "app_settings": slot_app.list_app_settings(),
            "connection_strings": slot_app.list_connection_strings(),
        }
    hide_secrets(module, secrets, wanted_settings, current["app_settings"])
    module.hide(*(item.get("value") for item in production.connection_strings.values()))
    module.hide(*(item.get("value") for item in current["connection_strings"].values()))

    patch = config_patch(current["config"], wanted_config) if slot_site else wanted_config
    settings_changed = slot_site is not None and current["app_settings"] != wanted_settings
    strings_changed = slot_site is not None and _strings(current["connection_strings"]) != _strings(
        production.connection_strings
    )
    start_needed = slot_site is not None and site_state(slot_site) != RUNNING
    sticky_changed = wanted_sticky != result["sticky_app_settings"]
    changed = (
        slot_site is None
        or bool(patch)
        or settings_changed
        or strings_changed
        or start_needed
        or sticky_changed
    )
    result["changed"] = changed

    if module.diff_mode:
        before_settings, after_settings = masked_pair(current["app_settings"], wanted_settings, secrets)
        result["diff"] = {
            "before": {
                "image": container_image(current["config"].get("linuxFxVersion")),
                "state": site_state(slot_site) if slot_site else None,
                "app_settings": before_settings,
                "sticky_app_settings": result["sticky_app_settings"],
            },
            "after": {
                "image": image,
                "state": RUNNING,
                "app_settings": after_settings,
                "sticky_app_settings": wanted_sticky,
            },
        }

    if changed and not module.check_mode:
        if sticky_changed:
            # Sticky first: a setting must be a slot setting before the slot that carries it is swapped.
            production_app.replace_slot_config_names({**production.sticky, "appSettingNames": wanted_sticky})
        if slot_site is None:
            body = create_body(production, wanted_config, wanted_settings, production.connection_strings)
            slot_site = slot_app.create_or_update("create", body)
        else:
            if patch:
                slot_app.update_configuration(patch)
            if settings_changed:
                slot_app.replace_app_settings(wanted_settings)
            if strings_changed:
                slot_app.replace_connection_strings(production.connection_strings)
            if start_needed:
                slot_app.start()
                slot_site = {**slot_site, "properties": {**slot_site["properties"], "state": RUNNING}}
    elif changed and slot_site is not None:
        slot_site = {**slot_site, "properties": {**slot_site["properties"], "state": RUNNING}}
    result["sticky_app_settings"] = wanted_sticky
    result["slot"] = summarise_slot(slot_app.slot, slot_site, image, wanted_settings) or {
        "name": slot_app.slot,
        "image": image,
        "state": RUNNING,
        "app_setting_names": sorted(wanted_settings),
    }
    return result


def _strings(connection_strings):
    return {
        name: (item.get("value") or "", (item.get("type") or "").lower())
        for name, item in (connection_strings or {}).items()
    }


def stop(module, slot_app, production, resource):
    slot_site = slot_app.get_site()
    running = slot_site is not None and site_state(slot_site) != STOPPED
    result = {
        "changed": running,
        "released": False,
        "production": {"image": production.image, "url": site_url(production.site)},
        "sticky_app_settings": sorted(production.sticky.get("appSettingNames") or []),
    }
    if module.diff_mode:
        result["diff"] = {
            "before": {"state": site_state(slot_site) if slot_site else None},
            "after": {"state": STOPPED if slot_site else None},
        }
    if running and not module.check_mode:
        slot_app.stop()
    if slot_site is not None:
        slot_site = {**slot_site, "properties": {**slot_site["properties"], "state": STOPPED}}
        config = slot_app.get_configuration()
        result["slot"] = summarise_slot(
            slot_app.slot, slot_site, container_image(config.get("linuxFxVersion")), {}
        )
    else:
        result["slot"] = {}
    return result


def run(module):
    params = module.params
    require_valid_name("web_app", params["name"])
    require_valid_name("slot", params["slot"])
    if params["slot"].lower() == "production":
        raise AzureModuleError("slot must name a deployment slot, not production.")
    if params["state"] == "staged":
        if not params["image"]:
            raise AzureModuleError("`image` is required with state=staged.")
        parse_image(params["image"])  # a bad reference fails before any Azure call
    production_resource = describe("App Service web app", params["name"], params["resource_group"])
    resource = describe("App Service slot", params["name"], params["resource_group"], params["slot"])
    production_app = WebApp(module, production_resource, params["resource_group"], params["name"], None)
    slot_app = WebApp(module, resource, params["resource_group"], params["name"], params["slot"])
    production = Production(module, production_app, production_resource)
    hide_secrets(
        module,
        {n for n in production.app_settings if is_secret_name(n, set(params["secret_app_settings"]))},
        production.app_settings,
    )
    if params["state"] == "stopped":
        return stop(module, slot_app, production, resource)
    return stage(module, production_app, slot_app, production, resource)


def main():
    module = AzureModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            resource_group=dict(type="str", required=True),
            slot=dict(type="str", default="staging"),
            image=dict(type="str"),
            app_settings=dict(type="dict", default={}),
            sticky_app_settings=dict(type="list", elements="str", default=[], no_log=False),
            secret_app_settings=dict(type="list", elements="str", default=[], no_log=False),
            state=dict(type="str", choices=["staged", "stopped"], default="staged"),
        ),
    )
    module.run(run)


if __name__ == "__main__":
    main()
