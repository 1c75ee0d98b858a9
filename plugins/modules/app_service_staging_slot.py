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
extends_documentation_fragment:
  - papr.memory.azure.result
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
from ansible_collections.papr.memory.plugins.module_utils.azure_runner import (
    Plan,
    Write,
    run_module,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_web import (
    DeploymentSlotResource,
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


def _strings(connection_strings):
    return {
        name: (item.get("value") or "", (item.get("type") or "").lower())
        for name, item in (connection_strings or {}).items()
    }


def with_state(site, state):
    """The site as it is once `state` (Running, Stopped) is reached: for the summary."""
    return {**site, "properties": {**(site.get("properties") or {}), "state": state}} if site else None


def changed_names(before, after):
    return {name for name in set(before) | set(after) if before.get(name) != after.get(name)}


class StagingSlot(DeploymentSlotResource):
    result_key = "slot"

    def is_secret(self, name):
        return is_secret_name(name, set(self.params["secret_app_settings"]))

    def validate(self):
        super().validate()
        params = self.params
        if params["state"] == "staged":
            if not params["image"]:
                raise AzureModuleError("`image` is required with state=staged.")
            parse_image(params["image"])  # a bad reference fails before any Azure call

    def read(self):
        return self.slot_app.get_site()

    def read_related(self, current):
        """Production (what the slot copies) and, when the slot is to change, the slot's own settings."""
        production = Production(self.module, self.production_app, self.production_description)
        slot = {"config": {}, "app_settings": {}, "connection_strings": {}}
        if current is not None and self.params["state"] == "stopped":
            slot["config"] = self.slot_app.get_configuration()
        elif current is not None and not same_image(production.image, self.image):
            slot = {
                "config": self.slot_app.get_configuration(),
                "app_settings": self.slot_app.list_app_settings(),
                "connection_strings": self.slot_app.list_connection_strings(),
            }
        for settings in (
            production.app_settings,
            slot["app_settings"],
            string_map(self.params["app_settings"]),
        ):
            self.module.hide(*(value for name, value in settings.items() if self.is_secret(name)))
        for strings in (production.connection_strings, slot["connection_strings"]):
            self.module.hide(*(item.get("value") for item in strings.values()))
        return {"production": production, "slot": slot}

    def plan(self, current, related):
        production = related["production"]
        result = {
            "released": False,
            "production": {"image": production.image, "url": site_url(production.site)},
            "sticky_app_settings": sorted(production.sticky.get("appSettingNames") or []),
        }
        if self.params["state"] == "stopped":
            return self.plan_stop(current, related, result)
        if same_image(production.image, self.image):
            # Nothing to release: the slot (the previous image, or absent) is left exactly as it is.
            result["released"] = True
            return Plan(desired={"site": current, "image": None, "app_settings": {}}, result=result)
        return self.plan_stage(current, related, result)

    def plan_stage(self, current, related, result):
        production, slot, image = related["production"], related["slot"], self.image
        settings = {**production.app_settings, **string_map(self.params["app_settings"])}
        config = desired_config(production, image)
        sticky = sorted(set(result["sticky_app_settings"]) | set(self.params["sticky_app_settings"]))
        writes = []
        if sticky != result["sticky_app_settings"]:
            # Sticky first: a setting must be a slot setting before the slot that carries it is swapped.
            names = {**production.sticky, "appSettingNames": sticky}
            writes.append(
                Write(
                    "update",
                    f"slot settings of {self.production_description}",
                    lambda: self.production_app.replace_slot_config_names(names),
                    set(sticky) - set(result["sticky_app_settings"]),
                    key="sticky",
                )
            )
        if current is None:
            body = create_body(production, config, settings, production.connection_strings)
            writes.append(
                Write("create", self.description, lambda: self.slot_app.create_or_update("create", body))
            )
        else:
            patch = config_patch(slot["config"], config)
            if patch:
                writes.append(
                    Write(
                        "update",
                        f"configuration of {self.description}",
                        lambda: self.slot_app.update_configuration(patch),
                        patch,
                        key="config",
                    )
                )
            if slot["app_settings"] != settings:
                writes.append(
                    Write(
                        "update",
                        f"app settings of {self.description}",
                        lambda: self.slot_app.replace_app_settings(settings),
                        changed_names(slot["app_settings"], settings),
                        key="app_settings",
                    )
                )
            before_strings, after_strings = (
                _strings(slot["connection_strings"]),
                _strings(production.connection_strings),
            )
            if before_strings != after_strings:
                writes.append(
                    Write(
                        "update",
                        f"connection strings of {self.description}",
                        lambda: self.slot_app.replace_connection_strings(production.connection_strings),
                        changed_names(before_strings, after_strings),
                        key="connection_strings",
                    )
                )
            if site_state(current) != RUNNING:
                writes.append(Write("start", self.description, self.slot_app.start))
        secrets = {name for name in set(settings) | set(slot["app_settings"]) if self.is_secret(name)}
        before_settings, after_settings = masked_pair(slot["app_settings"], settings, secrets)
        result["sticky_app_settings"] = sticky
        return Plan(
            writes=writes,
            before={
                "image": container_image(slot["config"].get("linuxFxVersion")),
                "state": site_state(current) if current else None,
                "app_settings": before_settings,
                "sticky_app_settings": sorted(production.sticky.get("appSettingNames") or []),
            },
            after={
                "image": image,
                "state": RUNNING,
                "app_settings": after_settings,
                "sticky_app_settings": sticky,
            },
            desired={"site": with_state(current, RUNNING), "image": image, "app_settings": settings},
            result=result,
        )

    def plan_stop(self, current, related, result):
        writes = []
        if current is not None and site_state(current) != STOPPED:
            writes.append(Write("stop", self.description, self.slot_app.stop))
        image = container_image(related["slot"]["config"].get("linuxFxVersion")) if current else None
        return Plan(
            writes=writes,
            before={"state": site_state(current) if current else None},
            after={"state": STOPPED if current else None},
            desired={"site": with_state(current, STOPPED), "image": image, "app_settings": {}},
            result=result,
        )

    def summarise(self, current, related, plan, answers):
        shown = plan.desired
        site = answers.get("create") or shown["site"]
        summary = summarise_slot(self.slot_app.slot, site, shown["image"], shown["app_settings"])
        if summary or not plan.writes or self.params["state"] == "stopped":
            return summary
        # Check mode, no slot yet: what the create would make.
        return {
            "name": self.slot_app.slot,
            "image": shown["image"],
            "state": RUNNING,
            "app_setting_names": sorted(shown["app_settings"]),
        }


def main():
    run_module(
        StagingSlot,
        dict(
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


if __name__ == "__main__":
    main()
