# Copyright: PAPR Memory engineers
# Apache-2.0
"""Resources without a typed SDK client here, read and written by id through ARM's generic API.

Azure Monitor's resources (Log Analytics workspaces, diagnostic settings, metric alerts, action
groups, Application Insights components and web tests) are plain ARM resources; the generic
`resources/{id}?api-version=` calls need only azure-mgmt-resource. `ArmResourceType` fits them to
the one module runner (module_utils/azure_runner.py): read, compare the managed view with the
desired one, write only when they differ (never in check mode), summarise, with `operations`.
"""

from __future__ import annotations

from ansible_collections.papr.memory.plugins.module_utils.azure_diff import desired_tags, same_location
from ansible_collections.papr.memory.plugins.module_utils.azure_errors import AzureModuleError
from ansible_collections.papr.memory.plugins.module_utils.azure_runner import (
    FAILED,
    Plan,
    Resource,
    Write,
    provisioning_lifecycle,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_service import AzureService


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


class ArmResource(AzureService):
    """One resource by id and api-version."""

    client_kind = "resource"

    def __init__(self, module, resource_id, api_version, description, resource_group=None, name=None):
        super().__init__(module, description, resource_group, name)
        self._id = resource_id
        self.api_version = api_version

    @property
    def id(self):
        return self._id

    def read(self):
        return self.get(self.client.resources.get_by_id, self.id, api_version=self.api_version)

    def write(self, body):
        return super().write(
            "create or update",
            self.client.resources.begin_create_or_update_by_id,
            self.id,
            body,
            api_version=self.api_version,
        )

    def delete(self):
        super().write(
            "delete", self.client.resources.begin_delete_by_id, self.id, api_version=self.api_version
        )


class ArmResourceType(Resource):
    """A Resource (module_utils/azure_runner.py) read and written by id through ARM's generic API.

    A module sets `kind`, `resource_type` and `api_version` and gives the pure parts: `desired_body`
    (the body to write, from the options and the current body; never called for state=absent),
    `view` (what the module manages, normalised, from a body as read or as desired: the diff and
    the comparison) and `describe_body` (the result's description of the resource).
    """

    resource_type = None  # 'Microsoft.Insights/actionGroups'
    api_version = None
    repairs_failed = True  # a PUT of the same body is how ARM retries a failed create or update

    # ARM's provisioningState words of a resource still being worked on (Log Analytics workspaces
    # answer "Creating" to a create; the others here write synchronously and answer "Succeeded").
    TRANSITIONAL_STATES = (
        "accepted",
        "creating",
        "updating",
        "deleting",
        "provisioning",
        "provisioningaccount",
    )

    def __init__(self, module):
        super().__init__(module)
        self._arm = None

    def resource_id(self):
        """The id of the resource named by the options `name` and `resource_group` (override for others)."""
        return id_in_group(
            self.module, self.params["resource_group"], f"{self.resource_type}/{self.params['name']}"
        )

    @property
    def arm(self):
        # Built on first use: the id needs the subscription, so validate() runs before any Azure call.
        if self._arm is None:
            self._arm = ArmResource(self.module, self.resource_id(), self.api_version, self.description)
        return self._arm

    def desired_body(self, current):
        raise NotImplementedError

    def view(self, body):
        raise NotImplementedError

    def describe_body(self, body):
        raise NotImplementedError

    def read(self):
        return self.arm.read()

    def lifecycle(self, current):
        state = properties_of(current).get("provisioningState") or (current or {}).get("provisioningState")
        return provisioning_lifecycle(state, self.TRANSITIONAL_STATES)

    def plan(self, current, related):
        desired = None if self.params.get("state") == "absent" else self.desired_body(current)
        before = self.view(current) if current else {}
        after = self.view(desired) if desired is not None else {}
        plan = Plan(before=before, after=after, desired=desired, result={"id": self.arm.id})
        failed = current is not None and desired is not None and self._failed(current)
        if before == after and not failed:
            return plan
        if desired is None:
            plan.writes.append(Write("delete", self.description, self.arm.delete))
        else:
            action = "update" if current else "create"
            changes = [key for key in after if before.get(key) != after[key]] if current else []
            if failed:
                changes.append("provisioning_state")
            plan.writes.append(
                Write(
                    action, self.description, lambda: self.arm.write(desired), changes, "write", settles=True
                )
            )
        return plan

    def _failed(self, current):
        lifecycle = self.lifecycle(current)
        return lifecycle is not None and lifecycle.phase == FAILED

    def summarise(self, current, related, plan, answers):
        if plan.desired is None:
            return {}
        if plan.writes:
            return self.describe_body(answers.get("write") or plan.desired)
        return self.describe_body(current)
