# Copyright: PAPR Memory engineers
# Apache-2.0
"""Microsoft.Web helpers shared by the App Service modules.

A site and its deployment slots have the same sub-resources (config/web, app settings, connection
strings) behind differently named SDK methods (`get` / `get_slot`); WebApp hides that, so module
code reads the same for both. It also keeps the Web RP's reading rules in one place: GET site
leaves most of siteConfig null (the real values are in config/web), and app settings and
connection strings can only be read with POST .../list.
"""

from __future__ import annotations

from ansible_collections.papr.memory.plugins.module_utils.azure_client import rest_dict
from ansible_collections.papr.memory.plugins.module_utils.azure_names import name_pattern

SITE_NAME_PATTERN = name_pattern("web_app")
SLOT_NAME_PATTERN = name_pattern("slot")
PRODUCTION_SLOT = "production"


def plan_id(subscription_id, resource_group, plan):
    """Resource id of a plan given by name, or the id itself when one is given."""
    if plan.lower().startswith("/subscriptions/"):
        return plan
    group = f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
    return f"{group}/providers/Microsoft.Web/serverfarms/{plan}"


def same_resource_id(a, b):
    return (a or "").rstrip("/").lower() == (b or "").rstrip("/").lower()


class WebApp:
    """One App Service site, or one deployment slot of it, with the SDK calls to read and write it."""

    def __init__(self, web_client, resource_group, name, slot=None):
        self.operations = web_client.web_apps
        self.resource_group = resource_group
        self.name = name
        self.slot = slot if slot and slot.lower() != PRODUCTION_SLOT else None

    def _call(self, operation, *args):
        if self.slot:
            return getattr(self.operations, operation + "_slot")(
                self.resource_group, self.name, self.slot, *args
            )
        return getattr(self.operations, operation)(self.resource_group, self.name, *args)

    # reads
    def get(self):
        return rest_dict(self._call("get"))

    def get_configuration(self):
        return (rest_dict(self._call("get_configuration")) or {}).get("properties") or {}

    def list_app_settings(self):
        return (rest_dict(self._call("list_application_settings")) or {}).get("properties") or {}

    def list_connection_strings(self):
        return (rest_dict(self._call("list_connection_strings")) or {}).get("properties") or {}

    # writes
    def begin_create_or_update(self, body):
        return self._call("begin_create_or_update", body)

    def update_configuration(self, properties):
        """PATCH config/web: only the given properties change."""
        return self._call("update_configuration", {"properties": properties})

    def replace_app_settings(self, settings):
        """PUT config/appsettings replaces the whole set."""
        return self._call("update_application_settings", {"properties": settings})

    def replace_connection_strings(self, connection_strings):
        return self._call("update_connection_strings", {"properties": connection_strings})

    def delete(self):
        return self._call("delete")
