# Copyright: PAPR Memory engineers
# Apache-2.0
"""The frame every papr.memory Azure module runs in.

AzureModule joins the shared argument spec (auth, cloud, retries, polling, timeout) with the
module's own, builds the session on first use, wraps every Azure call so that a failure names the
resource and says what to do, and keeps secret values out of results, diffs and -vvv output.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.papr.memory.plugins.module_utils.azure_auth import (
    AZURE_AUTH_ARGUMENT_SPEC,
    missing_sdk_packages,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_client import (
    AZURE_CLIENT_ARGUMENT_SPEC,
    AzureSession,
    Deadline,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_errors import (
    AzureModuleError,
    describe_failure,
    is_not_found,
)

# The `state` option of every module that creates or deletes a resource (doc fragment azure.state).
STATE_ARGUMENT_SPEC = dict(state=dict(type="str", choices=["present", "absent"], default="present"))


def describe(kind, name, resource_group=None, slot=None):
    """How messages name a resource: "App Service site 'web' (slot 'staging') in resource group 'rg'"."""
    text = f"{kind} '{name}'"
    if slot:
        text += f" (slot '{slot}')"
    if resource_group:
        text += f" in resource group '{resource_group}'"
    return text


class AzureModule:
    def __init__(self, argument_spec, **ansible_module_kwargs):
        spec = dict(AZURE_AUTH_ARGUMENT_SPEC)
        spec.update(AZURE_CLIENT_ARGUMENT_SPEC)
        spec.update(argument_spec)
        self.ansible = AnsibleModule(argument_spec=spec, supports_check_mode=True, **ansible_module_kwargs)
        missing = missing_sdk_packages()
        if missing:
            self.ansible.fail_json(
                msg=missing_required_lib(
                    "azure-identity and azure-mgmt-* (extra papr-memory[controller])",
                    reason=f"{', '.join(missing)} cannot be imported",
                ),
            )
        self.params = self.ansible.params
        self.check_mode = self.ansible.check_mode
        self.diff_mode = self.ansible._diff
        if self.params["timeout"] < 0:
            self.ansible.fail_json(msg=f"timeout must be >= 0 seconds, got {self.params['timeout']}.")
        self.deadline = Deadline(self.params["timeout"])
        self._session = None

    # --- session and clients ---------------------------------------------------------------------
    @property
    def session(self):
        if self._session is None:
            self._session = AzureSession(self.params, self.deadline, self.ansible.run_command)
            self.hide(*self._session.identity.secrets)
        return self._session

    def client(self, kind):
        return self.session.client(kind)

    @property
    def subscription_id(self):
        return self.session.subscription_id

    # --- calling Azure -----------------------------------------------------------------------------
    def call(self, action, resource, operation, *args, **kwargs):
        """Run one SDK call; any failure becomes an AzureModuleError naming `resource`."""
        try:
            return operation(*args, **kwargs)
        except AzureModuleError:
            raise
        except Exception as exc:  # noqa: BLE001 - every SDK failure is reported the same way
            raise AzureModuleError(describe_failure(exc, action, resource)) from exc

    def get_or_none(self, resource, operation, *args, **kwargs):
        """A read that answers None when the resource (or its resource group) does not exist."""
        try:
            return operation(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001
            if is_not_found(exc):
                return None
            raise AzureModuleError(describe_failure(exc, "read", resource)) from exc

    def wait(self, poller, action, resource):
        try:
            return self.deadline.wait(poller, action, resource)
        except AzureModuleError:
            raise
        except Exception as exc:  # noqa: BLE001 - a failed long-running operation
            raise AzureModuleError(describe_failure(exc, action, resource)) from exc

    # --- secrets and results ------------------------------------------------------------------------
    def hide(self, *values):
        """Treat values like no_log options: Ansible scrubs them from every result and log line."""
        self.ansible.no_log_values.update(str(v) for v in values if v not in (None, ""))

    def warn(self, message):
        self.ansible.warn(message)

    def fail(self, msg, **result):
        self.ansible.fail_json(msg=msg, **result)

    def run(self, main):
        """Call main(self) -> result dict and exit; every AzureModuleError becomes a clean failure."""
        try:
            result = main(self)
        except AzureModuleError as exc:
            self.fail(str(exc))
        self.ansible.exit_json(**result)
