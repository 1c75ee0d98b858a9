# Copyright: PAPR Memory engineers
# Apache-2.0
"""Microsoft.ContainerService: reads and writes of one managed cluster (aks_cluster's service),
and the cluster user's kubeconfig, kept out of every result and written only to a 0600 file."""

from __future__ import annotations

import base64
import os
import tempfile

from ansible_collections.papr.memory.plugins.module_utils.azure_errors import AzureModuleError
from ansible_collections.papr.memory.plugins.module_utils.azure_service import AzureService


class ManagedClusters(AzureService):
    client_kind = "containerservice"

    @property
    def operations(self):
        return self.client.managed_clusters

    def get_cluster(self):
        return self.get(self.operations.get, self.resource_group, self.name)

    def create_or_update(self, body):
        return self.write(
            "create or update", self.operations.begin_create_or_update, self.resource_group, self.name, body
        )

    def start(self):
        return self.write("start", self.operations.begin_start, self.resource_group, self.name)

    def delete(self):
        return self.write("delete", self.operations.begin_delete, self.resource_group, self.name)

    def user_kubeconfig(self, kubeconfig_format=None):
        """The cluster user's kubeconfig (listClusterUserCredential, a read) as text."""
        answer = self.module.call(
            "read the user credential of",
            self.description,
            self.operations.list_cluster_user_credentials,
            self.resource_group,
            self.name,
            format=kubeconfig_format,
        )
        kubeconfigs = answer.get("kubeconfigs") or []
        if not kubeconfigs or not kubeconfigs[0].get("value"):
            raise AzureModuleError(f"Azure answered no user kubeconfig for {self.description}.")
        value = kubeconfigs[0]["value"]
        # The REST answer is base64; a model may already have decoded it to bytes.
        raw = value if isinstance(value, (bytes, bytearray)) else base64.b64decode(value)
        return bytes(raw).decode()


def read_private_file(path):
    """The text of `path`, or None when it does not exist."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def write_private_file(path, text):
    """Write `text` to `path` readable by its owner only (0600), atomically: no reader ever sees
    a partial file, and the secret never sits in a file with wider permissions."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".kubeconfig-")  # created 0600
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
