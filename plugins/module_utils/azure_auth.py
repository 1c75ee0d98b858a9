# Copyright: PAPR Memory engineers
# Apache-2.0
"""Which Azure cloud, and which identity: the same inputs the AWX Azure credential injects.

Precedence for every value: module option, then environment variable, then the profile in
~/.azure/credentials. The cloud is a well-known name or a metadata URL (Azure Stack, private clouds,
the test double); for a cloud read from a URL, MSAL's instance discovery against the public login
host is switched off, because that host does not know the cloud's authority.
"""

from __future__ import annotations

import configparser
import importlib.util
import json
import os
import re
import shutil
import time
from dataclasses import asdict, dataclass
from urllib.parse import urlparse

from ansible.module_utils.basic import env_fallback
from ansible_collections.papr.memory.plugins.module_utils.azure_cache import (
    METADATA_TTL_SECONDS,
    CachedTokenCredential,
    DiskCache,
    cache_key,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_errors import AzureModuleError

# azure-identity (with MSAL) and requests are imported only when a task really needs a new token or
# the cloud metadata: with both cached, a task does without them. Their absence is reported up front.
REQUIRED_PACKAGES = ("azure.identity", "azure.core", "requests")


def missing_sdk_packages():
    """The required Python packages the controller lacks (found without importing them)."""
    missing = []
    for name in REQUIRED_PACKAGES:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    return missing


AUTH_SOURCES = ("auto", "env", "credentials", "cli", "msi")

# Shared by every Azure module; documented in plugins/doc_fragments/azure.py.
AZURE_AUTH_ARGUMENT_SPEC = dict(
    auth_source=dict(type="str", choices=list(AUTH_SOURCES), fallback=(env_fallback, ["AZURE_AUTH_SOURCE"])),
    subscription_id=dict(type="str", fallback=(env_fallback, ["AZURE_SUBSCRIPTION_ID"])),
    client_id=dict(type="str", fallback=(env_fallback, ["AZURE_CLIENT_ID"])),
    secret=dict(type="str", no_log=True, fallback=(env_fallback, ["AZURE_SECRET", "AZURE_CLIENT_SECRET"])),
    tenant=dict(type="str", fallback=(env_fallback, ["AZURE_TENANT", "AZURE_TENANT_ID"])),
    profile=dict(type="str", fallback=(env_fallback, ["AZURE_PROFILE"])),
    cloud_environment=dict(type="str", fallback=(env_fallback, ["AZURE_CLOUD_ENVIRONMENT"])),
    ca_path=dict(type="path", fallback=(env_fallback, ["REQUESTS_CA_BUNDLE"])),
)

UUID_PATTERN = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
CREDENTIALS_FILE = "~/.azure/credentials"


@dataclass(frozen=True)
class AzureCloud:
    name: str
    resource_manager: str
    login_endpoint: str
    audience: str
    from_metadata: bool = False

    @property
    def credential_scope(self):
        return self.audience.rstrip("/") + "/.default"


_PUBLIC = AzureCloud(
    "AzureCloud",
    "https://management.azure.com/",
    "https://login.microsoftonline.com/",
    "https://management.core.windows.net/",
)
_US_GOVERNMENT = AzureCloud(
    "AzureUSGovernment",
    "https://management.usgovcloudapi.net/",
    "https://login.microsoftonline.us/",
    "https://management.core.usgovcloudapi.net/",
)
_CHINA = AzureCloud(
    "AzureChinaCloud",
    "https://management.chinacloudapi.cn/",
    "https://login.chinacloudapi.cn/",
    "https://management.core.chinacloudapi.cn/",
)
# The names the Azure CLI, msrestazure and azure.azcollection accept, lower-cased.
KNOWN_CLOUDS = {
    "azurecloud": _PUBLIC,
    "azurepubliccloud": _PUBLIC,
    "public": _PUBLIC,
    "azureusgovernment": _US_GOVERNMENT,
    "azureusgovernmentcloud": _US_GOVERNMENT,
    "azurechinacloud": _CHINA,
}


def _pick_metadata_entry(document, url):
    """The metadata endpoint answers a list of clouds (current API versions) or one cloud (2015-01-01)."""
    if isinstance(document, dict):
        return document
    if not isinstance(document, list) or not document:
        return None
    host = urlparse(url).hostname
    for entry in document:
        if isinstance(entry, dict) and urlparse(entry.get("resourceManager") or "").hostname == host:
            return entry
    return document[0] if isinstance(document[0], dict) else None


def cloud_from_metadata(url, verify):
    """Read a cloud's endpoints from its ARM metadata URL."""
    import requests

    try:
        response = requests.get(url, verify=verify, timeout=30)
        response.raise_for_status()
        entry = _pick_metadata_entry(response.json(), url)
    except (requests.RequestException, ValueError) as exc:
        raise AzureModuleError(
            f"Could not read the Azure cloud metadata at {url} (cloud_environment / "
            f"AZURE_CLOUD_ENVIRONMENT): {exc}. Check the URL, the network and the CA bundle "
            "(ca_path / REQUESTS_CA_BUNDLE)."
        ) from exc
    authentication = (entry or {}).get("authentication") or {}
    audiences = authentication.get("audiences") or [authentication.get("audience")]
    parsed = urlparse(url)
    # Azure Stack's 2015-01-01 document has no resourceManager: ARM is the host that answered.
    resource_manager = (entry or {}).get("resourceManager") or f"{parsed.scheme}://{parsed.netloc}/"
    if not authentication.get("loginEndpoint") or not audiences[0]:
        raise AzureModuleError(
            f"The Azure cloud metadata at {url} has no authentication.loginEndpoint or audiences: "
            "point cloud_environment / AZURE_CLOUD_ENVIRONMENT at an ARM metadata endpoint "
            "(https://<arm host>/metadata/endpoints?api-version=2022-09-01)."
        )
    return AzureCloud(
        name=(entry or {}).get("name") or parsed.netloc,
        resource_manager=resource_manager,
        login_endpoint=authentication["loginEndpoint"],
        audience=audiences[0],
        from_metadata=True,
    )


def resolve_cloud(cloud_environment, verify, cache=None):
    if not cloud_environment:
        return _PUBLIC
    if cloud_environment.lower().startswith(("https://", "http://")):
        key = cache_key(cloud_environment, verify)
        cached = cache.get("cloud", key) if cache else None
        if cached:
            try:
                return AzureCloud(**cached)
            except TypeError:  # written by another version of this code
                pass
        cloud = cloud_from_metadata(cloud_environment, verify)
        if cache:
            cache.put("cloud", key, asdict(cloud), expires=time.time() + METADATA_TTL_SECONDS)
        return cloud
    cloud = KNOWN_CLOUDS.get(cloud_environment.lower())
    if cloud is None:
        raise AzureModuleError(
            f"Unknown Azure cloud {cloud_environment!r} (cloud_environment / AZURE_CLOUD_ENVIRONMENT): use "
            "AzureCloud, AzureUSGovernment, AzureChinaCloud or the cloud's metadata URL."
        )
    return cloud


def read_credentials_profile(profile):
    """The azure.azcollection-style INI file: [profile] subscription_id, client_id, secret, tenant."""
    path = os.path.expanduser(CREDENTIALS_FILE)
    if not os.path.exists(path):
        return None
    parser = configparser.ConfigParser()
    parser.read(path)
    name = profile or "default"
    return dict(parser.items(name)) if parser.has_section(name) else None


def _cli_subscription(run_command):
    """The Azure CLI's default subscription, when the playbook names none."""
    rc, out, err = run_command(["az", "account", "show", "--output", "json"])
    try:
        subscription = json.loads(out).get("id") if rc == 0 else None
    except ValueError:
        subscription = None
    if not subscription:
        raise AzureModuleError(
            f"auth_source=cli needs a subscription: `az account show` failed ({(err or out).strip()[:300]}). "
            "Run `az login`, or set subscription_id / AZURE_SUBSCRIPTION_ID."
        )
    return subscription


@dataclass
class AzureIdentity:
    """The credential to use, where it came from (for messages) and the subscription to act in."""

    credential: object
    source: str
    subscription_id: str
    # Secrets read from places Ansible does not know are secret (~/.azure/credentials), so the
    # module can mask them like its no_log options.
    secrets: tuple = ()


def _service_principal(params, cloud, source, cache):
    missing = [name for name in ("client_id", "secret", "tenant") if not params.get(name)]
    if missing:
        raise AzureModuleError(
            f"auth_source={source} needs a service principal, but {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not set: set the option(s), or AZURE_CLIENT_ID, "
            "AZURE_SECRET (or AZURE_CLIENT_SECRET) and AZURE_TENANT (or AZURE_TENANT_ID)."
        )

    def make_credential():
        from azure.identity import ClientSecretCredential

        return ClientSecretCredential(
            tenant_id=params["tenant"],
            client_id=params["client_id"],
            client_secret=params["secret"],
            authority=cloud.login_endpoint,
            disable_instance_discovery=cloud.from_metadata,
        )

    key = cache_key(
        "service-principal", cloud.login_endpoint, params["tenant"], params["client_id"], params["secret"]
    )
    return CachedTokenCredential(make_credential, cache, key)


def _managed_identity(params, cache):
    def make_credential():
        from azure.identity import ManagedIdentityCredential

        return ManagedIdentityCredential(client_id=params.get("client_id"))

    endpoint = os.environ.get("IDENTITY_ENDPOINT") or os.environ.get("MSI_ENDPOINT")
    key = cache_key("managed-identity", endpoint, params.get("client_id"), os.environ.get("IDENTITY_HEADER"))
    return CachedTokenCredential(make_credential, cache, key)


def _choose_source(params, profile_values):
    """auth_source=auto: the first source that is configured, in a fixed and documented order."""
    if params.get("client_id") and params.get("secret") and params.get("tenant"):
        return "env"
    if profile_values:
        return "credentials"
    if os.environ.get("IDENTITY_ENDPOINT") or os.environ.get("MSI_ENDPOINT"):
        return "msi"
    if shutil.which("az"):
        return "cli"
    raise AzureModuleError(
        "No Azure credentials found (auth_source=auto): set AZURE_SUBSCRIPTION_ID, AZURE_CLIENT_ID, "
        "AZURE_SECRET and AZURE_TENANT (the AWX Azure credential does), add a profile to "
        f"{CREDENTIALS_FILE}, run on a managed identity, or log in with `az login`."
    )


def resolve_identity(params, cloud, run_command, cache=None):
    """Build the azure-identity credential the parameters ask for (its tokens cached in `cache`)."""
    cache = cache or DiskCache()
    params = dict(params)
    profile_values = read_credentials_profile(params.get("profile"))
    source = params.get("auth_source") or "auto"
    if source == "auto":
        source = _choose_source(params, profile_values)
    if source == "credentials":
        if not profile_values:
            profile = params.get("profile") or "default"
            raise AzureModuleError(f"auth_source=credentials: no profile {profile!r} in {CREDENTIALS_FILE}.")
        # Options and environment still win over the file.
        for key in ("subscription_id", "client_id", "secret", "tenant"):
            params[key] = params.get(key) or profile_values.get(key)
    if source in ("env", "credentials"):
        credential = _service_principal(params, cloud, source, cache)
    elif source == "msi":
        credential = _managed_identity(params, cache)
    else:  # the Azure CLI keeps its own token cache
        from azure.identity import AzureCliCredential

        credential = AzureCliCredential(tenant_id=params.get("tenant"))
    subscription_id = params.get("subscription_id")
    if not subscription_id and source == "cli":
        subscription_id = _cli_subscription(run_command)
    if not subscription_id:
        raise AzureModuleError(
            f"No Azure subscription (auth_source={source}): set subscription_id or AZURE_SUBSCRIPTION_ID."
        )
    if not UUID_PATTERN.match(subscription_id):
        raise AzureModuleError(
            f"subscription_id {subscription_id!r} is not a subscription id: use the GUID "
            "(`az account show --query id`), not the subscription's display name."
        )
    secrets = (params["secret"],) if source == "credentials" and params.get("secret") else ()
    return AzureIdentity(credential, source, subscription_id, secrets)
