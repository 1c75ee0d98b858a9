# Copyright: PAPR Memory engineers
# Apache-2.0
"""SDK clients pointed at the right cloud, with bounded retries, and long-running operations with a deadline.

Every management client gets base_url and credential_scopes from the resolved cloud (so sovereign
clouds, Azure Stack and the test double behave the same), azure-core's RetryPolicy bounded by
``max_retries`` (429 with Retry-After and transient 5xx), and the module's polling interval.
"""

from __future__ import annotations

import importlib
import os

from ansible.module_utils.basic import env_fallback
from ansible_collections.papr.memory.plugins.module_utils import polling
from ansible_collections.papr.memory.plugins.module_utils.azure_auth import resolve_cloud, resolve_identity
from ansible_collections.papr.memory.plugins.module_utils.azure_cache import DiskCache
from ansible_collections.papr.memory.plugins.module_utils.azure_errors import AzureModuleError

try:
    from azure.core.pipeline.policies import RetryPolicy
except ImportError:  # reported by AzureModule with missing_required_lib
    RetryPolicy = object

# Options for how the modules talk to ARM; documented in plugins/doc_fragments/azure.py.
AZURE_CLIENT_ARGUMENT_SPEC = dict(
    polling_interval=dict(type="float", default=10, fallback=(env_fallback, ["PAPR_AZURE_POLLING_INTERVAL"])),
    max_retries=dict(type="int", default=5, fallback=(env_fallback, ["PAPR_AZURE_MAX_RETRIES"])),
    timeout=dict(type="int", default=1800),
)

USER_AGENT = "papr.memory-ansible"
# Longest wait between two tries: exponential back-off and a throttled ARM's Retry-After alike.
RETRY_WAIT_MAX_SECONDS = 60


# kind -> (SDK package, client class, PyPI distribution). Imported on use: a module needs only the
# SDK packages of the clients it builds.
CLIENTS = {
    "resource": ("azure.mgmt.resource.resources", "ResourceManagementClient", "azure-mgmt-resource"),
    "web": ("azure.mgmt.web", "WebSiteManagementClient", "azure-mgmt-web"),
    "container_instance": (
        "azure.mgmt.containerinstance",
        "ContainerInstanceManagementClient",
        "azure-mgmt-containerinstance",
    ),
    "postgres": (
        "azure.mgmt.postgresqlflexibleservers",
        "PostgreSQLManagementClient",
        "azure-mgmt-postgresqlflexibleservers",
    ),
    "containerservice": (
        "azure.mgmt.containerservice",
        "ContainerServiceClient",
        "azure-mgmt-containerservice",
    ),
    "privatedns": ("azure.mgmt.privatedns", "PrivateDnsManagementClient", "azure-mgmt-privatedns"),
    "authorization": (
        "azure.mgmt.authorization",
        "AuthorizationManagementClient",
        "azure-mgmt-authorization",
    ),
}


def client_class(kind):
    package, name, distribution = CLIENTS[kind]
    try:
        return getattr(importlib.import_module(package), name)
    except ImportError as exc:
        raise AzureModuleError(
            f"The Python package {distribution} is missing on the controller ({exc}): install the controller "
            "dependencies (pip install 'papr-memory[controller]')."
        ) from exc


def rest_dict(model):
    """The REST-shaped dict (camelCase keys) of an SDK result, whichever generator made the SDK.

    TypeSpec models (azure-mgmt-web 8+, -resource 24+) are mappings with REST keys; msrest models
    (azure-mgmt-containerinstance 10) answer Python attribute names from as_dict(), so serialize them.
    """
    if model is None or isinstance(model, dict):
        return model
    if hasattr(model, "_attribute_map"):
        return model.serialize(keep_readonly=True)
    return model.as_dict()


class DeadlineRetryPolicy(RetryPolicy):
    """azure-core's RetryPolicy (429 + Retry-After, 408/500/502/503/504) kept inside the module's deadline.

    A throttled ARM may ask for minutes in Retry-After, which azure-core would sleep unbounded; here a wait
    never exceeds RETRY_WAIT_MAX_SECONDS nor the time left, and nothing is retried once the deadline passed.
    """

    def __init__(self, deadline, **kwargs):
        super().__init__(**kwargs)
        self._deadline = deadline

    def is_retry(self, settings, response):
        return self._deadline.remaining() > 0 and super().is_retry(settings, response)

    def get_retry_after(self, response):
        retry_after = super().get_retry_after(response)
        if retry_after is None:
            return None
        return min(retry_after, RETRY_WAIT_MAX_SECONDS, self._deadline.remaining())


class AzureSession:
    """The cloud, the identity and the clients of one module run (clients are built on first use)."""

    def __init__(self, params, deadline, run_command):
        self.params = params
        ca_path = params.get("ca_path")
        if ca_path:
            if not os.path.isfile(ca_path):
                raise AzureModuleError(f"ca_path {ca_path!r} is not a file: give the PEM CA bundle to trust.")
            # requests (under azure-core and MSAL alike) reads this; setting it here makes the module's
            # own ca_path option reach every HTTP client of this process, token requests included.
            os.environ["REQUESTS_CA_BUNDLE"] = ca_path
        self.verify = ca_path or True
        cache = DiskCache()
        self.cloud = resolve_cloud(params.get("cloud_environment"), self.verify, cache)
        self.identity = resolve_identity(params, self.cloud, run_command, cache)
        self.deadline = deadline
        self._clients = {}

    @property
    def subscription_id(self):
        return self.identity.subscription_id

    def client(self, kind):
        if kind not in self._clients:
            retries = max(self.params.get("max_retries") or 0, 0)
            self._clients[kind] = client_class(kind)(
                self.identity.credential,
                self.subscription_id,
                base_url=self.cloud.resource_manager,
                credential_scopes=[self.cloud.credential_scope],
                polling_interval=self.params.get("polling_interval"),
                retry_policy=DeadlineRetryPolicy(
                    self.deadline,
                    retry_total=retries,
                    retry_status=retries,
                    retry_backoff_max=RETRY_WAIT_MAX_SECONDS,
                ),
                connection_verify=self.verify,
                user_agent=USER_AGENT,
            )
        return self._clients[kind]


class Deadline(polling.Deadline):
    """The module's `timeout`: one budget for all waiting of the run (long-running operations, retries)."""

    def wait(self, poller, action, resource):
        """Result of an LROPoller, or an error naming the resource when the deadline passes first."""
        poller.wait(timeout=self.remaining())
        if not poller.done():
            raise AzureModuleError(
                f"Timed out after {self.timeout:g}s waiting to {action} {resource} (Azure status: "
                f"{poller.status()}). The operation may still finish in Azure: check it in the portal or "
                "with `az`, then run again (raise `timeout` for slow resources)."
            )
        return poller.result()
