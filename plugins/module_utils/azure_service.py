# Copyright: PAPR Memory engineers
# Apache-2.0
"""Azure I/O of the modules: a service per resource type, built on AzureService.

Services are the only code that calls the SDK. Every call goes through ``read``/``get``/``write``
here, so a failure names the resource and says what to do, REST-shaped dicts come back whatever
generator made the SDK, and a long-running operation is waited for within the module's deadline.
A write whose request Azure accepted and whose operation then failed raises an AzureModuleError
marked ``accepted`` (the runner then reports ``changed: true``).
"""

from __future__ import annotations

from ansible_collections.papr.memory.plugins.module_utils.azure_client import rest_dict
from ansible_collections.papr.memory.plugins.module_utils.azure_errors import AzureModuleError


def _is_poller(answer):
    return hasattr(answer, "polling_method") and hasattr(answer, "result")


class AzureService:
    """Calls on one resource (`description` names it in messages) through the module's session."""

    client_kind = None  # the azure_client.CLIENTS entry the service uses

    def __init__(self, module, description, resource_group=None, name=None):
        self.module = module
        self.description = description
        self.resource_group = resource_group
        self.name = name

    @property
    def client(self):
        return self.module.client(self.client_kind)

    def get(self, operation, *args, **kwargs):
        """A read answering None when the resource (or its resource group) does not exist."""
        return rest_dict(self.module.get_or_none(self.description, operation, *args, **kwargs))

    def read(self, what, operation, *args):
        """A read that must succeed: `what` completes "Could not <what> <resource>"."""
        answer = self.module.call(what, self.description, operation, *args)
        if _is_poller(answer):
            answer = self.module.wait(answer, what, self.description)
        return rest_dict(answer)

    def read_list(self, what, operation, *args):
        return [
            rest_dict(item)
            for item in self.module.call(what, self.description, lambda: list(operation(*args)))
        ]

    def write(self, action, operation, *args, **kwargs):
        """Send one write and wait for its long-running operation; Azure's answer as a REST dict."""
        answer = self.module.call(action, self.description, operation, *args, **kwargs)
        if _is_poller(answer):
            try:
                answer = self.module.wait(answer, action, self.description)
            except AzureModuleError as exc:
                exc.accepted = True  # the request was accepted: something may have changed
                raise
        return rest_dict(answer)


class ResourceGroups(AzureService):
    client_kind = "resource"

    def __init__(self, module, name):
        super().__init__(module, f"resource group '{name}'", name=name)

    @property
    def operations(self):
        return self.client.resource_groups

    def get_group(self):
        return self.get(self.operations.get, self.name)

    def create_or_update(self, body):
        return self.write("create or update", self.operations.create_or_update, self.name, body)

    def list_resources(self):
        return self.read_list(
            "list the resources of", self.client.resources.list_by_resource_group, self.name
        )

    def delete(self):
        return self.write("delete", self.operations.begin_delete, self.name)


def location_for(module, requested, resource_group, resource):
    """Where a new resource goes: `requested`, else its resource group's location.

    The one place the modules resolve a default location. In check mode a missing group (a task
    before would create it) answers None; in a real run it fails naming the group.
    """
    if requested:
        return requested
    group = ResourceGroups(module, resource_group).get_group()
    if group is not None:
        return group["location"]
    if module.check_mode:
        return None
    raise AzureModuleError(
        f"Resource group '{resource_group}' of {resource} does not exist: create it first "
        "(papr.memory.resource_group) or give `location`."
    )
