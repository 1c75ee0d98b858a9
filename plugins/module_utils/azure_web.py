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

from ansible_collections.papr.memory.plugins.module_utils.azure_errors import AzureModuleError
from ansible_collections.papr.memory.plugins.module_utils.azure_image import parse_image
from ansible_collections.papr.memory.plugins.module_utils.azure_module import describe
from ansible_collections.papr.memory.plugins.module_utils.azure_names import name_pattern, require_valid_name
from ansible_collections.papr.memory.plugins.module_utils.azure_runner import Resource
from ansible_collections.papr.memory.plugins.module_utils.azure_service import AzureService

SITE_NAME_PATTERN = name_pattern("web_app")
SLOT_NAME_PATTERN = name_pattern("slot")
PRODUCTION_SLOT = "production"


def plan_id(subscription_id, resource_group, plan):
    """Resource id of a plan given by name, or the id itself when one is given."""
    if plan.lower().startswith("/subscriptions/"):
        return plan
    group = f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
    return f"{group}/providers/Microsoft.Web/serverfarms/{plan}"


def container_image(linux_fx_version):
    """'DOCKER|reg/memory:1.4' -> 'reg/memory:1.4' (None when the app runs no container)."""
    kind, separator, image = (linux_fx_version or "").partition("|")
    return image if separator and kind.upper() == "DOCKER" and image else None


def same_image(a, b):
    """Whether two image references name the same image (a missing tag means :latest)."""
    if not a or not b:
        return False
    try:
        return str(parse_image(a)) == str(parse_image(b))
    except AzureModuleError:
        return a == b


def same_resource_id(a, b):
    return (a or "").rstrip("/").lower() == (b or "").rstrip("/").lower()


class AppServicePlans(AzureService):
    """One App Service plan (Microsoft.Web/serverfarms)."""

    client_kind = "web"

    def get_plan(self):
        return self.get(self.client.app_service_plans.get, self.resource_group, self.name)

    def create_or_update(self, body):
        operations = self.client.app_service_plans
        return self.write(
            "create or update", operations.begin_create_or_update, self.resource_group, self.name, body
        )

    def delete(self):
        return self.write("delete", self.client.app_service_plans.delete, self.resource_group, self.name)


class WebApp(AzureService):
    """One App Service site, or one deployment slot of it, with the SDK calls to read and write it."""

    client_kind = "web"

    def __init__(self, module, description, resource_group, name, slot):
        super().__init__(module, description, resource_group, name)
        self.slot = slot if slot and slot.lower() != PRODUCTION_SLOT else None

    def _operation(self, operation):
        """The SDK method and its leading arguments, for the site or for the slot."""
        operations = self.client.web_apps
        if self.slot:
            return getattr(operations, operation + "_slot"), (self.resource_group, self.name, self.slot)
        return getattr(operations, operation), (self.resource_group, self.name)

    def _read(self, what, operation, *args):
        method, leading = self._operation(operation)
        return self.read(what, method, *leading, *args)

    def _write(self, action, operation, *args):
        method, leading = self._operation(operation)
        return self.write(action, method, *leading, *args)

    # reads
    def get_site(self):
        method, leading = self._operation("get")
        return self.get(method, *leading)

    def get_parent_site(self):
        """The production app of a slot (a new slot takes its location and plan)."""
        return self.get(self.client.web_apps.get, self.resource_group, self.name)

    def get_configuration(self):
        return (self._read("read the configuration of", "get_configuration") or {}).get("properties") or {}

    def list_app_settings(self):
        return (self._read("read the app settings of", "list_application_settings") or {}).get(
            "properties"
        ) or {}

    def list_connection_strings(self):
        answer = self._read("read the connection strings of", "list_connection_strings")
        return (answer or {}).get("properties") or {}

    def name_availability(self):
        """Azure's answer to "is this (global) site name free?"; None where the endpoint is missing."""
        return self.get(self.client.check_name_availability, {"name": self.name, "type": "Site"})

    def get_plan(self, plan_resource_id):
        """The plan a new site goes on (by resource id), or None when it does not exist."""
        parts = plan_resource_id.split("/")
        return self.get(self.client.app_service_plans.get, parts[4], parts[-1])

    # writes
    def create_or_update(self, action, body):
        return self._write(action, "begin_create_or_update", body)

    def update_configuration(self, properties):
        """PATCH config/web: only the given properties change."""
        return self._write("update the configuration of", "update_configuration", {"properties": properties})

    def replace_app_settings(self, settings):
        """PUT config/appsettings replaces the whole set."""
        return self._write(
            "replace the app settings of", "update_application_settings", {"properties": settings}
        )

    def replace_connection_strings(self, connection_strings):
        return self._write(
            "replace the connection strings of",
            "update_connection_strings",
            {"properties": connection_strings},
        )

    def start(self):
        return self._write("start", "start")

    def delete(self):
        return self._write("delete", "delete")

    def stop(self):
        return self._write("stop", "stop")

    # Called on the production app: which settings stay with their slot on a swap, and the swap.
    def slot_config_names(self):
        answer = self.read(
            "read the slot settings of",
            self.client.web_apps.list_slot_configuration_names,
            self.resource_group,
            self.name,
        )
        return (answer or {}).get("properties") or {}

    def replace_slot_config_names(self, properties):
        return self.write(
            "update the slot settings of",
            self.client.web_apps.update_slot_configuration_names,
            self.resource_group,
            self.name,
            {"properties": properties},
        )

    def swap_with_production(self, slot):
        """Swap `slot` with production (long-running; App Service warms the slot up first)."""
        return self.write(
            f"swap slot '{slot}' into",
            self.client.web_apps.begin_swap_slot_with_production,
            self.resource_group,
            self.name,
            {"targetSlot": slot, "preserveVnet": True},
        )


class DeploymentSlotResource(Resource):
    """A runner Resource (module_utils/azure_runner.py) on a deployment slot of a web app: the options
    `name`, `resource_group`, `slot` and `image`, the slot and the production app beside it."""

    kind = "App Service slot"

    def __init__(self, module):
        super().__init__(module)
        params = self.params
        group, name = params["resource_group"], params["name"]
        self.production_description = describe("App Service web app", name, group)
        self.production_app = WebApp(module, self.production_description, group, name, None)
        self.slot_app = WebApp(module, self.description, group, name, params["slot"])

    @property
    def description(self):
        params = self.params
        return describe("App Service slot", params["name"], params["resource_group"], params["slot"])

    @property
    def image(self):
        return str(parse_image(self.params["image"]))

    def validate(self):
        require_valid_name("web_app", self.params["name"])
        require_valid_name("slot", self.params["slot"])
        if self.params["slot"].lower() == PRODUCTION_SLOT:
            raise AzureModuleError("slot must name a deployment slot, not production.")
