# Copyright: PAPR Memory engineers
# Apache-2.0
"""Resources without a typed SDK client here, read and written by id through ARM's generic API.

Azure Monitor's resources (Log Analytics workspaces, diagnostic settings, metric alerts, action
groups, Application Insights components and web tests) are plain ARM resources; the generic
`resources/{id}?api-version=` calls need only azure-mgmt-resource. `converge` runs the lifecycle
every such module shares: read, compare the managed view with the desired one, write only when
they differ (never in check mode), and return the diff.
"""

from __future__ import annotations

from ansible_collections.papr.memory.plugins.module_utils.azure_client import rest_dict
from ansible_collections.papr.memory.plugins.module_utils.azure_diff import desired_tags, same_location
from ansible_collections.papr.memory.plugins.module_utils.azure_errors import AzureModuleError
from ansible_collections.papr.memory.plugins.module_utils.azure_module import describe


def id_in_group(module, resource_group, provider_path):
    """'/subscriptions/<s>/resourceGroups/<g>/providers/<provider_path>' for the module's subscription."""
    return (
        f"/subscriptions/{module.subscription_id}/resourceGroups/{resource_group}/providers/{provider_path}"
    )


def properties_of(body):
    """The `properties` of a body as read or desired ({} for none, or for no body at all)."""
    return (body or {}).get("properties") or {}


def tracked_body(module, current, location, properties):
    """The body of a tracked resource: its location, the tags the module's `tags`/`purge_tags` ask
    for (kept from `current` unless purged), and `properties`."""
    params = module.params
    tags = desired_tags(params["tags"], params["purge_tags"], (current or {}).get("tags"))
    return {"location": location, "tags": tags, "properties": properties}


def fixed_location(module, resource, current):
    """The region of a resource that cannot move: the module's `location` (needed to create it),
    which must be the region of an existing one."""
    location = module.params["location"] or (current or {}).get("location")
    if not location:
        raise AzureModuleError(f"{resource.description} does not exist: give `location` to create it.")
    if current and not same_location(current.get("location"), location):
        raise AzureModuleError(
            f"{resource.description} is in {current.get('location')}, not {location}: it cannot move."
        )
    return current.get("location") if current else location


class ArmResource:
    """One resource by id and api-version."""

    @classmethod
    def in_group(cls, module, resource_type, kind, api_version):
        """The resource named by the module's `name` and `resource_group` options, of
        `resource_type` ('Microsoft.Insights/actionGroups'); `kind` names it in messages."""
        name, group = module.params["name"], module.params["resource_group"]
        resource_id = id_in_group(module, group, f"{resource_type}/{name}")
        return cls(module, resource_id, api_version, describe(kind, name, group))

    def __init__(self, module, resource_id, api_version, description):
        self.module = module
        self.id = resource_id
        self.api_version = api_version
        self.description = description
        self._resources = module.client("resource").resources

    def read(self):
        found = self.module.get_or_none(
            self.description, self._resources.get_by_id, self.id, api_version=self.api_version
        )
        return rest_dict(found)

    def write(self, body):
        poller = self.module.call(
            "create or update",
            self.description,
            self._resources.begin_create_or_update_by_id,
            self.id,
            body,
            api_version=self.api_version,
        )
        return rest_dict(self.module.wait(poller, "create or update", self.description))

    def delete(self):
        poller = self.module.call(
            "delete",
            self.description,
            self._resources.begin_delete_by_id,
            self.id,
            api_version=self.api_version,
        )
        self.module.wait(poller, "delete", self.description)


def converge(module, resource, desired, view, summarise):
    """Make `resource` match `desired(current)`: a body, or None for absent.

    `view(body)` is what the module manages, normalised, from a body as read or as desired;
    `summarise(body)` the result's description of the resource. Returns the module result.
    """
    current = resource.read()
    desired_body = desired(current)
    before = view(current) if current else {}
    after = view(desired_body) if desired_body is not None else {}
    changed = before != after
    result = {"changed": changed, "id": resource.id, "resource": summarise(current) if current else {}}
    if module.diff_mode:
        result["diff"] = {"before": before, "after": after}
    if not changed:
        return result
    if desired_body is None:
        if not module.check_mode:
            resource.delete()
        result["resource"] = {}
        return result
    if not module.check_mode:
        written = resource.write(desired_body)
        result["resource"] = summarise(written or desired_body)
    else:
        result["resource"] = summarise(desired_body)
    return result
