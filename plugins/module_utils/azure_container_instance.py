# Copyright: PAPR Memory engineers
# Apache-2.0
"""Microsoft.ContainerInstance: reads and writes of one container group (container_group's service)."""

from __future__ import annotations

import json

from ansible_collections.papr.memory.plugins.module_utils.azure_service import AzureService


class ContainerGroups(AzureService):
    client_kind = "container_instance"

    @property
    def operations(self):
        return self.client.container_groups

    def get_group(self):
        return self.get(self.operations.get, self.resource_group, self.name)

    def create_or_update(self, body):
        # Bytes go out exactly as built (the msrest model would drop what it does not know).
        payload = json.dumps(body).encode()
        return self.write(
            "create or update",
            self.operations.begin_create_or_update,
            self.resource_group,
            self.name,
            payload,
        )

    def start(self):
        return self.write("start", self.operations.begin_start, self.resource_group, self.name)

    def delete(self):
        return self.write("delete", self.operations.begin_delete, self.resource_group, self.name)
