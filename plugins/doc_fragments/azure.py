# Copyright: PAPR Memory engineers
# Apache-2.0
"""Options shared by the papr.memory Azure modules: auth, cloud, retries, polling, timeout; tags; state;
and the return values every module run by module_utils/azure_runner.py shares (a module's RETURN extends
`papr.memory.azure.result`, and `papr.memory.azure.lifecycle_result` with the lifecycle options)."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  auth_source:
    description:
      - Where the credentials come from.
      - V(auto) picks the first that is configured, in this order - a service principal from the options
        or environment (V(env)), a profile in C(~/.azure/credentials) (V(credentials)), a managed identity
        when C(IDENTITY_ENDPOINT) or C(MSI_ENDPOINT) is set (V(msi)), the Azure CLI login (V(cli)).
      - Falls back to the E(AZURE_AUTH_SOURCE) environment variable.
    type: str
    choices: [auto, env, credentials, cli, msi]
  subscription_id:
    description:
      - The subscription id (a GUID). Falls back to E(AZURE_SUBSCRIPTION_ID), then the credentials profile;
        with O(auth_source=cli), the Azure CLI's default subscription.
    type: str
  client_id:
    description:
      - Service principal application (client) id; with O(auth_source=msi), the client id of a user-assigned
        identity. Falls back to E(AZURE_CLIENT_ID).
    type: str
  secret:
    description:
      - Service principal client secret. Falls back to E(AZURE_SECRET) (what the AWX "Microsoft Azure Resource
        Manager" credential injects), then E(AZURE_CLIENT_SECRET).
    type: str
  tenant:
    description:
      - Entra ID tenant id. Falls back to E(AZURE_TENANT), then E(AZURE_TENANT_ID).
    type: str
  profile:
    description:
      - Section of C(~/.azure/credentials) to read with O(auth_source=credentials). Falls back to
        E(AZURE_PROFILE); default C(default).
    type: str
  cloud_environment:
    description:
      - The Azure cloud - V(AzureCloud) (default), V(AzureUSGovernment), V(AzureChinaCloud), or the cloud's
        ARM metadata URL (Azure Stack, private clouds), whose C(resourceManager),
        C(authentication.loginEndpoint) and first audience are used. Falls back to E(AZURE_CLOUD_ENVIRONMENT).
    type: str
  ca_path:
    description:
      - PEM bundle of the certificate authorities to trust for ARM, Entra ID and the metadata URL (private
        clouds, TLS-inspecting proxies). Falls back to E(REQUESTS_CA_BUNDLE).
    type: path
  polling_interval:
    description:
      - Seconds between status polls of a long-running operation.
      - Falls back to E(PAPR_AZURE_POLLING_INTERVAL).
    type: float
    default: 10
  max_retries:
    description:
      - How many times a request throttled by Azure (HTTP 429, honouring C(Retry-After)) or failed with a
        transient server error (500, 502, 503, 504) is retried before the task fails.
        Falls back to E(PAPR_AZURE_MAX_RETRIES).
    type: int
    default: 5
  timeout:
    description:
      - Seconds the task may spend waiting for Azure in total - long-running operations and retries of
        throttled requests. When it passes, the task fails naming the resource; an operation may still
        complete in Azure.
    type: int
    default: 1800
requirements:
  - python >= 3.11
  - azure-identity >= 1.17
  - azure-mgmt-core, and the azure-mgmt-* package of the resource (see the module's requirements)
notes:
  - Authentication is the same as the AWX "Microsoft Azure Resource Manager" credential injects, so a job
    template with that credential needs no auth options. Set them once for every Azure module of a play with
    C(module_defaults) and the action group C(group/papr.memory.azure).
  - Secret option values are never returned, shown in diffs or logged, also with C(-vvv).
"""

    TAGS = r"""
options:
  tags:
    description:
      - Tags of the resource (values are stored as strings). Not given - the resource's tags are left alone.
    type: dict
  purge_tags:
    description: With O(tags), remove tags that are not listed (authoritative). V(false) merges.
    type: bool
    default: true
"""

    # Modules whose resource can be stopped (web app, container group, PostgreSQL server).
    LIFECYCLE = r"""
options:
  start_stopped:
    description:
      - What to do when the resource exists but is stopped. V(true) (default, what the roles want) - start it,
        as the first write of the task; the result says so (C(started)). V(false) - leave it stopped, with a
        warning.
      - A resource Azure is still creating or updating (for example a create that was interrupted) is waited
        for, within O(timeout), before anything is written; a resource in a failed state fails the task
        before any write, naming the state.
    type: bool
    default: true
"""

    # Modules give `state` their own description (what deleting means for the resource); the rest is shared.
    STATE = r"""
options:
  state:
    description: Whether the resource should exist.
    type: str
    choices: [present, absent]
    default: present
"""

    # RETURN fragments: what module_utils/azure_runner.py adds to every result.
    RESULT = r"""
operations:
  description:
    - The writes the task sent, in order; in check mode the writes it would send. Each names the action, the
      target and the changed fields or names (never values). A failed task lists what it sent before failing
      (the failed write with C(failed=true)) and reports C(changed=true) once Azure accepted a write.
  returned: always
  type: list
  elements: dict
  sample: [{action: update, target: "App Service plan 'plan' in resource group 'rg'", changes: [sku]}]
"""

    # RETURN fragment of the modules with the lifecycle options (start_stopped).
    LIFECYCLE_RESULT = r"""
resource_state:
  description:
    - The state Azure reported for the resource when the task started (null when it did not exist).
    - Returned also when the task fails, so a failure after a start says what the task found.
  returned: with O(state=present)
  type: str
  sample: Stopped
started:
  description: Whether the task started (in check mode, would start) the stopped resource (O(start_stopped)).
  returned: with O(state=present)
  type: bool
  sample: false
"""
