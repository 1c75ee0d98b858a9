# Copyright: PAPR Memory engineers
# Apache-2.0
"""The deployment model: the one place that turns (platform, option, inventory) into what each
component is given: names, addresses, the exact service environment and which processes run where.

The roles are faces that only render it (a systemd environment file, App Service app settings, a
ConfigMap and Secret later). The pre-flight checks every input here too, before any write, with
messages that name the variable to fix and never quote a secret.

Inputs are the inventory's variables listed in INPUTS (an inventory value always wins over the
default here); `deployment_inputs_pattern` gives the regular expression a play reads them with.
"""

from __future__ import annotations

import copy
import difflib
import ipaddress
import re
from pathlib import Path
from urllib.parse import quote

from ansible.errors import AnsibleFilterError
from ansible_collections.papr.memory.plugins.module_utils.azure_errors import AzureModuleError
from ansible_collections.papr.memory.plugins.module_utils.azure_image import parse_image
from ansible_collections.papr.memory.plugins.module_utils.azure_names import (
    POSTGRES_BACKUP_RETENTION_DAYS,
    name_problem,
    postgres_login_problem,
    postgres_password_problem,
    region_problem,
)
from ansible_collections.papr.memory.plugins.module_utils.network_layout import (
    network_layout_problem,
    subnet_layout,
)

PLATFORMS = ("hosts", "azure", "aks")
NOT_YET = {}  # platform -> why its face cannot deploy yet
COMPONENT_GROUPS = ("postgres", "temporal", "web", "workers")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
NETWORK_MODES = ("private", "public")
REGISTRY_AUTHS = ("none", "managed_identity", "credentials")
REGISTRY_ID = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.ContainerRegistry/registries/[^/]+$",
    re.I,
)
# Registries the images may come from; an inventory adds its own with papr_image_registries.
KNOWN_REGISTRY_DOMAINS = (
    "azurecr.io",
    "azurecr.us",
    "azurecr.cn",
    "mcr.microsoft.com",
    "docker.io",
    "ghcr.io",
    "quay.io",
    "gcr.io",
    "registry.k8s.io",
    "public.ecr.aws",
    "localhost",  # images loaded into a test cluster's runtime
)

# Every input of the model and its default (None: required, or derived below).
INPUTS = {
    "papr_platform": None,
    "papr_option": None,
    "papr_database_name": "papr_memory",
    "papr_database_user": "papr_memory",
    "papr_database_password": None,
    "papr_temporal_namespace": "default",
    "papr_api_keys": None,
    # The database and Temporal as the service reaches them: derived per platform unless given
    # (a private DNS name, a database outside this deployment).
    "papr_database_host": None,
    "papr_temporal_address": None,
    "papr_image_registries": [],
    # papr_platform=hosts: the network the hosts share (a CIDR). PostgreSQL and Temporal listen on
    # each host's address in it, and the hosts reach each other there. Empty: each host's default
    # IPv4 address (hosts with one network).
    "papr_hosts_network": None,
    # papr_platform=aks: the private PostgreSQL and the cluster namespace.
    "papr_aks_database_host": None,
    "papr_aks_database_port": None,
    "papr_aks_namespace": "papr-memory",
    "papr_aks_image": None,
    "papr_database_sslmode": "require",
    # papr_platform=aks: the cluster the play creates (papr.memory.aks_cluster), unless
    # papr_aks_manage_cluster is false (an existing cluster, given by papr_aks_kubeconfig).
    "papr_aks_manage_cluster": True,
    "papr_aks_cluster_name": None,  # <papr_azure_name_prefix>-aks
    "papr_aks_resource_group": None,  # papr_azure_resource_group
    "papr_aks_location": None,  # papr_azure_location, else the resource group's
    "papr_aks_kubernetes_version": "1.33",
    "papr_aks_system_vm_size": "Standard_D2s_v3",
    "papr_aks_system_node_count": 1,
    "papr_aks_node_vm_size": "Standard_D4s_v3",
    "papr_aks_node_min_count": 3,
    "papr_aks_node_max_count": 6,
    "papr_aks_zones": [],
    "papr_aks_subnet_id": None,  # the deployment's AKS subnet (empty: AKS makes its own network)
    "papr_aks_private_cluster": False,
    "papr_aks_authorized_ip_ranges": [],
    "papr_aks_entra_id": True,  # false: the explicit opt-out (local accounts kept)
    "papr_aks_admin_group_object_ids": [],
    "papr_aks_kubeconfig": None,  # managed cluster: ~/.kube/<cluster>.yml (0600)
    # How often the kubelet asks a starting pod (startup probe) and a running one (readiness probe)
    # whether it is ready, in seconds. The time a pod may take to start (300 s) and how long it
    # may stay unanswered before it leaves its Service (30 s) stay the same whatever the period.
    "papr_aks_probe_period_seconds": {"startup": 5, "readiness": 10},
    # How often the play looks again while it waits for a rollout or a Job (kubernetes.core's wait_sleep).
    "papr_aks_wait_poll_seconds": 5,
    # The sizing data (group_vars/all/sizing.yml): the node size every pod must fit.
    "papr_sizing": {},
    "papr_sizing_overrides": {},
    # Where the hosts' packages come from: the service's source tree (default: this collection's
    # directory when it is a source checkout), else papr_service_requirement from the index
    # (empty: the controller pip's own) and folders of wheels; cached on the controller.
    "papr_service_source": None,
    "papr_service_requirement": "papr-memory==0.1.0",
    "papr_wheel_index_url": "",
    "papr_wheel_find_links": [],
    "papr_wheel_cache_dir": None,
    "postgres_port": 5432,
    "temporal_port": 7233,
    "web_port": 5001,
    "web_listen_address": "127.0.0.1",
    "web_uvicorn_processes": 1,
    "web_max_upload_bytes": 20971520,
    "web_poller_liveness_seconds": 90,
    "web_log_level": "INFO",
    "workers_memory_concurrency": 20,
    "workers_document_concurrency": 4,
    # A burst of documents must not starve user writes: documents started per second, and the
    # niceness the document worker adds to its own process.
    "workers_document_activities_per_second": 2,
    "workers_document_nice": 10,
    "workers_shutdown_seconds": 20,
    "workers_log_level": "INFO",
    # papr_platform=azure
    "papr_azure_resource_group": None,
    "papr_azure_location": None,
    "papr_azure_extra_locations": [],
    "papr_azure_name_prefix": "papr-memory",
    "papr_azure_image": None,
    "papr_azure_postgres_domain": "postgres.database.azure.com",
    "papr_azure_container_domain": "azurecontainer.io",
    # private: one VNet, Temporal and PostgreSQL on private addresses only, the workers app closed;
    # public: the old way (public IPs, firewall rules), for a deployment holding no real data.
    "papr_network": "private",
    "papr_network_address_space": "10.20.0.0/16",
    # The flexible server's zone; Temporal's is <prefix>.papr.internal.
    "papr_network_postgres_zone": "privatelink.postgres.database.azure.com",
    "papr_network_temporal_zone": None,
    # How the apps pull papr_azure_image: none (a public image), managed_identity (the app's system
    # identity with AcrPull on the registry papr_azure_registry_id), credentials (user + password).
    "papr_azure_registry_auth": "none",
    "papr_azure_registry_id": None,
    "papr_azure_registry_username": None,
    "papr_azure_registry_password": None,
    # Least privilege on the flexible server: the administrator only creates the roles (from inside
    # the network); the service logs in as papr_database_user, Temporal as its own login.
    "papr_database_admin_user": "papr_admin",
    "papr_database_admin_password": None,
    "papr_temporal_database_user": "temporal",
    "papr_temporal_database_password": None,
    "web_azure_plan_name": None,
    "web_azure_site_name": None,
    "web_azure_plan_capacity": 1,
    "web_azure_image": None,
    "web_azure_startup_command": None,
    "workers_azure_plan_name": None,
    "workers_azure_site_name": None,
    "workers_azure_plan_capacity": 1,
    "workers_azure_image": None,
    "workers_azure_port": 8080,
    "workers_azure_startup_command": "python start_all_workers.py",
    "postgres_azure_server_name": None,
    "postgres_azure_backup_retention_days": 7,
    "temporal_azure_group_name": None,
    "temporal_azure_dns_label": None,
    "temporal_azure_server_image": "temporalio/server:1.29.1",
    "temporal_azure_admin_tools_image": "temporalio/admin-tools:1.29.1-tctl-1.18.4-cli-1.5.0",
}


class Inputs:
    """The inventory's values over the defaults; remembers which variable gave each value, so a
    problem names the variable the user actually set."""

    def __init__(self, given):
        self.given = {name: value for name, value in (given or {}).items() if name in INPUTS}

    def get(self, name, fallback=None):
        """(value, variable): the inventory's `name`, else `fallback` (another input's name, whose
        value is used and named), else the default."""
        if self.given.get(name) not in (None, ""):
            return self.given[name], name
        if fallback:
            return self.get(fallback)
        return INPUTS[name], name

    def value(self, name, fallback=None):
        return self.get(name, fallback)[0]

    def azure_name(self, name, suffix):
        """A resource name: the inventory's, else <papr_azure_name_prefix>-<suffix>."""
        given = self.given.get(name)
        if given not in (None, ""):
            return given, name
        return f"{self.value('papr_azure_name_prefix')}-{suffix}", "papr_azure_name_prefix"


def _int(value):
    """int(value) for whole numbers given as numbers or strings, else None."""
    if isinstance(value, bool):
        return None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number


def _option_problem(value):
    return f"papr_option={value!r}: must be 1 (single) or 2 (split)"


def _option(inputs):
    platform = inputs.value("papr_platform")
    return 3 if platform == "aks" else _int(inputs.value("papr_option"))


def api_keys(value):
    """The keys as a list (an inventory may give one comma-separated string)."""
    if isinstance(value, str):
        return value.split(",")
    return list(value or [])


def database_url(user, password, host, port, name, sslmode=None):
    """The one DATABASE_URL: user, password and database percent-encoded whole (`/`, `:`, `@`,
    `%`, `?`, `#`, `&`, `+` and spaces included), as libpq decodes them."""
    host = f"[{host}]" if ":" in host else host
    url = (
        f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{port}/{quote(name, safe='')}"
    )
    return f"{url}?sslmode={sslmode}" if sslmode else url


# --- the pre-flight -----------------------------------------------------------------------------


def _registry_problem(reference, extra_registries):
    """'' when the image's registry is a known one (or listed in papr_image_registries)."""
    registry = parse_image(reference).registry
    if registry is None:  # Docker Hub
        return ""
    host = registry.split(":", 1)[0]
    domains = KNOWN_REGISTRY_DOMAINS + tuple(str(name).lower() for name in extra_registries or ())
    if any(host == domain or host.endswith("." + domain) for domain in domains):
        return ""
    suffix = host.split(".", 1)[-1]
    close = difflib.get_close_matches(suffix, domains, n=1, cutoff=0.7)
    hint = f"; did you mean {host[: len(host) - len(suffix)]}{close[0]}?" if close else ""
    return f"registry {registry!r} is not a known registry{hint} (yours? add it to papr_image_registries)"


def _image_problem(reference, extra_registries):
    try:
        return _registry_problem(reference, extra_registries)
    except AzureModuleError as error:
        return str(error)


def _positive_number(value):
    """float(value) for finite numbers above 0 given as numbers or strings, else None."""
    if isinstance(value, bool):
        return None
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 < number < float("inf") else None


def _at_least_one(inputs, name, problems):
    value = inputs.value(name)
    number = _int(value)
    if number is None or number < 1:
        problems.append(f"{name}={value!r}: must be a whole number of at least 1")


def _port(inputs, name, problems):
    value = inputs.value(name)
    number = _int(value)
    if number is None or not 1 <= number <= 65535:
        problems.append(f"{name}={value!r}: must be a port number, 1-65535")


def _service_problems(inputs, problems):
    """What every platform needs: the secrets, names, concurrency and sizes of the service."""
    password = inputs.value("papr_database_password")
    user = inputs.value("papr_database_user")
    if password in (None, ""):
        problems.append(
            "papr_database_password is not set: give it in a vault or the environment the "
            "inventory reads (PAPR_DATABASE_PASSWORD in inventories/dev and prod)"
        )
    else:
        why = postgres_password_problem(str(password), str(user or ""))
        if why:
            problems.append(f"papr_database_password is too weak: {why}")
    keys = api_keys(inputs.value("papr_api_keys"))
    if not keys:
        problems.append(
            "papr_api_keys is not set: give at least one API key in a vault or the environment the "
            "inventory reads (PAPR_API_KEYS, comma-separated, in inventories/dev and prod)"
        )
    for index, key in enumerate(keys, start=1):
        key = str(key)
        if not key.strip():
            problems.append(f"papr_api_keys: key {index} of {len(keys)} is blank")
        elif key != key.strip() or "," in key or any(ord(char) < 33 for char in key):
            problems.append(
                f"papr_api_keys: key {index} of {len(keys)} contains spaces, commas or control characters"
            )
    why = postgres_login_problem(user)
    if why:
        problems.append(f"papr_database_user: {why}")
    database = inputs.value("papr_database_name")
    if name_problem("postgres_database", database):
        problems.append(
            f"papr_database_name={database!r}: 1-63 letters, digits, _, $ and -, starting with a letter or _"
        )
    namespace = inputs.value("papr_temporal_namespace")
    if not isinstance(namespace, str) or not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$", namespace):
        problems.append(
            f"papr_temporal_namespace={namespace!r}: letters, digits, '.', '_' and '-', "
            "starting with a letter or digit"
        )
    for name in (
        "workers_memory_concurrency",
        "workers_document_concurrency",
        "web_uvicorn_processes",
        "web_max_upload_bytes",
        "web_poller_liveness_seconds",
    ):
        _at_least_one(inputs, name, problems)
    rate = inputs.value("workers_document_activities_per_second")
    if _positive_number(rate) is None:
        problems.append(f"workers_document_activities_per_second={rate!r}: must be a number above 0")
    nice = inputs.value("workers_document_nice")
    if _int(nice) is None or not 0 <= _int(nice) <= 19:
        problems.append(f"workers_document_nice={nice!r}: must be a whole number from 0 to 19")
    shutdown = inputs.value("workers_shutdown_seconds")
    if _int(shutdown) is None or _int(shutdown) < 0:
        problems.append(f"workers_shutdown_seconds={shutdown!r}: must be a whole number of at least 0")
    for name in ("web_port", "postgres_port", "temporal_port"):
        _port(inputs, name, problems)
    for name in ("web_log_level", "workers_log_level"):
        level = inputs.value(name)
        if str(level).upper() not in LOG_LEVELS:
            problems.append(f"{name}={level!r}: must be one of {', '.join(LOG_LEVELS)}")


def _azure_problems(inputs, option, problems):
    for name in ("papr_azure_resource_group", "papr_azure_location"):
        if inputs.value(name) in (None, ""):
            problems.append(f"{name} is not set: every Azure inventory names its resource group and region")
    location = inputs.value("papr_azure_location")
    if location:
        why = region_problem(location, inputs.value("papr_azure_extra_locations"))
        if why:
            problems.append(
                f"papr_azure_location: {why} (an Azure Stack region goes in papr_azure_extra_locations)"
            )
    names = [("resource_group", inputs.get("papr_azure_resource_group"))]
    names += [
        ("app_service_plan", inputs.azure_name("web_azure_plan_name", "web-plan")),
        ("web_app", inputs.azure_name("web_azure_site_name", "web")),
        ("postgres_server", inputs.azure_name("postgres_azure_server_name", "pg")),
        ("container_group", inputs.azure_name("temporal_azure_group_name", "temporal")),
    ]
    dns_label = inputs.get("temporal_azure_dns_label")
    names.append(
        (
            "dns_label",
            dns_label if dns_label[0] else inputs.azure_name("temporal_azure_group_name", "temporal"),
        )
    )
    if option == 2:
        names += [
            ("app_service_plan", inputs.azure_name("workers_azure_plan_name", "workers-plan")),
            ("web_app", inputs.azure_name("workers_azure_site_name", "workers")),
        ]
    for kind, (value, variable) in names:
        if value not in (None, ""):
            why = name_problem(kind, value)
            if why:
                problems.append(f"{variable}: {why}")
    images = [
        inputs.get("web_azure_image", "papr_azure_image"),
        inputs.get("temporal_azure_server_image"),
        inputs.get("temporal_azure_admin_tools_image"),
    ]
    if option == 2:
        images.append(inputs.get("workers_azure_image", "papr_azure_image"))
    for value, variable in dict.fromkeys(images):
        if value in (None, ""):
            problems.append(f"{variable} is not set: the service's container image, <registry>/memory:<tag>")
            continue
        why = _image_problem(value, inputs.value("papr_image_registries"))
        if why:
            problems.append(f"{variable}: {why}")
    capacities = ["web_azure_plan_capacity"] + (["workers_azure_plan_capacity"] if option == 2 else [])
    for name in capacities:
        _at_least_one(inputs, name, problems)
    _port(inputs, "workers_azure_port", problems)
    _network_problems(inputs, problems)
    _registry_problems(inputs, problems)
    _database_role_problems(inputs, problems)
    retention = inputs.value("postgres_azure_backup_retention_days")
    low, high = POSTGRES_BACKUP_RETENTION_DAYS
    if _int(retention) is None or not low <= _int(retention) <= high:
        problems.append(
            f"postgres_azure_backup_retention_days={retention!r}: Azure keeps backups {low}-{high} days"
        )


def _network_problems(inputs, problems):
    mode = inputs.value("papr_network")
    if mode not in NETWORK_MODES:
        problems.append(f"papr_network={mode!r}: must be one of {', '.join(NETWORK_MODES)}")
    elif mode == "private":
        why = network_layout_problem(inputs.value("papr_network_address_space"), "papr_network_address_space")
        if why:
            problems.append(why)
        zone = str(inputs.value("papr_network_postgres_zone"))
        if not zone.endswith(".postgres.database.azure.com"):
            problems.append(
                f"papr_network_postgres_zone={zone!r}: a flexible server's private zone must end in "
                ".postgres.database.azure.com"
            )


def _database_role_problems(inputs, problems):
    """The flexible server's three logins (administrator, service, Temporal): valid, distinct, each
    with a strong password of its own (one shared password would give every role the others' rights)."""
    roles = {
        "papr_database_admin": "PAPR_DATABASE_ADMIN_PASSWORD",
        "papr_temporal_database": "PAPR_TEMPORAL_DATABASE_PASSWORD",
    }
    for prefix, variable in roles.items():
        user = inputs.value(f"{prefix}_user")
        why = postgres_login_problem(user)
        if why:
            problems.append(f"{prefix}_user: {why}")
        password = inputs.value(f"{prefix}_password")
        if password in (None, ""):
            problems.append(
                f"{prefix}_password is not set: give it in a vault or the environment the inventory "
                f"reads ({variable} in inventories/dev, prod and aks)"
            )
            continue
        why = postgres_password_problem(str(password), str(user or ""))
        if why:
            problems.append(f"{prefix}_password is too weak: {why}")
    logins = [str(inputs.value(f"{prefix}_user")).lower() for prefix in ("papr_database", *roles)]
    if len(set(logins)) < len(logins):
        problems.append(
            "papr_database_user, papr_database_admin_user and papr_temporal_database_user must be three "
            "different logins"
        )
    passwords = [inputs.value(f"{prefix}_password") for prefix in ("papr_database", *roles)]
    given = [str(password) for password in passwords if password not in (None, "")]
    if len(set(given)) < len(given):
        problems.append(
            "papr_database_password, papr_database_admin_password and papr_temporal_database_password "
            "must differ"
        )


def _registry_problems(inputs, problems):
    auth = inputs.value("papr_azure_registry_auth")
    if auth not in REGISTRY_AUTHS:
        problems.append(f"papr_azure_registry_auth={auth!r}: must be one of {', '.join(REGISTRY_AUTHS)}")
    elif auth == "managed_identity" and not REGISTRY_ID.match(
        str(inputs.value("papr_azure_registry_id") or "")
    ):
        problems.append(
            f"papr_azure_registry_id={inputs.value('papr_azure_registry_id')!r}: managed_identity needs the "
            "registry's resource id, /subscriptions/<s>/resourceGroups/<g>/providers/"
            "Microsoft.ContainerRegistry/registries/<name> (the apps get AcrPull on it)"
        )
    elif auth == "credentials":
        for name in ("papr_azure_registry_username", "papr_azure_registry_password"):
            if inputs.value(name) in (None, ""):
                problems.append(f"{name} is not set: papr_azure_registry_auth=credentials pulls with it")


def _hosts_problems(inputs, context, problems):
    groups = (context or {}).get("groups", {})
    empty = [group for group in COMPONENT_GROUPS if not groups.get(group)]
    for group in empty:
        problems.append(f"inventory group {group!r} has no host: every component needs one (docs/hosts.md)")
    network = inputs.value("papr_hosts_network")
    if network not in (None, ""):
        try:
            ipaddress.IPv4Network(str(network), strict=False)
        except ValueError:
            problems.append(f"papr_hosts_network={network!r}: must be an IPv4 network such as 10.0.0.0/24")
            return
    if empty:
        return
    groups = {group: list(groups[group]) for group in COMPONENT_GROUPS}
    shared = _shared_addresses(inputs, context)
    # A server listens beyond loopback only on its address on the shared network, never on all.
    for server in sorted(set(groups["postgres"] + groups["temporal"])):
        clients = sorted(set().union(*_remote_clients(groups, server)))
        if clients and server not in shared:
            where = (
                f"none of its addresses is in papr_hosts_network={network!r}"
                if network not in (None, "")
                else "it has no default IPv4 address: set papr_hosts_network"
            )
            problems.append(
                f"{server}: no address on the network the hosts share to listen on for"
                f" {', '.join(clients)} ({where})"
            )


def _shared_addresses(inputs, context):
    """Each host's address on the network the hosts share: its address inside papr_hosts_network,
    else its default IPv4 address (hosts with one network). Hosts whose facts are unknown are left
    out."""
    network = inputs.value("papr_hosts_network")
    if network in (None, ""):
        return dict(context.get("ipv4") or {})
    network = ipaddress.IPv4Network(str(network), strict=False)
    shared = {}
    for name, addresses in (context.get("ipv4_all") or {}).items():
        inside = [address for address in addresses or [] if ipaddress.IPv4Address(address) in network]
        if inside:
            shared[name] = inside[0]
    return shared


def _remote_clients(groups, host):
    """(database clients, Temporal clients) of `host`: the other hosts that connect to it."""
    service_hosts = sorted(set(groups["web"] + groups["workers"]))
    database_clients = [name for name in sorted(set(service_hosts + groups["temporal"])) if name != host]
    temporal_clients = [name for name in service_hosts if name != host]
    return database_clients, temporal_clients


def _aks_problems(inputs, problems):
    if not (inputs.value("papr_database_host") or inputs.value("papr_aks_database_host")):
        problems.append(
            "papr_aks_database_host is not set: the private PostgreSQL server the cluster reaches"
        )
    image = inputs.value("papr_aks_image")
    if image in (None, ""):
        problems.append("papr_aks_image is not set: the service's container image, <registry>/memory:<tag>")
    else:
        why = _image_problem(image, inputs.value("papr_image_registries"))
        if why:
            problems.append(f"papr_aks_image: {why}")
    node = _aks_node(inputs)
    if inputs.value("papr_sizing") and (node["vcpu"] is None or node["memory_gb"] is None):
        problems.append(
            f"papr_aks_node_vm_size={node['name']!r} has no vcpu/memory_gb in the sizing data: add it to "
            "papr_sizing_overrides.skus (group_vars/all/sizing.yml explains the format)"
        )
    periods = _aks_probe_periods(inputs)
    if not isinstance(inputs.value("papr_aks_probe_period_seconds"), dict):
        problems.append("papr_aks_probe_period_seconds: must be a mapping, e.g. {startup: 5, readiness: 10}")
    for probe in AKS_PROBE_WINDOWS:
        value = periods.get(probe)
        number = _int(value)
        if number is None or not 1 <= number <= AKS_PROBE_WINDOWS[probe]:
            problems.append(
                f"papr_aks_probe_period_seconds.{probe}={value!r}: must be a whole number of seconds, "
                f"1-{AKS_PROBE_WINDOWS[probe]}"
            )
    _at_least_one(inputs, "papr_aks_wait_poll_seconds", problems)
    if inputs.value("papr_aks_manage_cluster"):
        _aks_cluster_problems(inputs, problems)
    _database_role_problems(inputs, problems)


AKS_VERSION = re.compile(r"^\d+\.\d+(\.\d+)?$")


def _aks_cluster_problems(inputs, problems):
    """The inputs of the cluster the play creates (papr.memory.aks_cluster checks them again)."""
    group, group_variable = inputs.get("papr_aks_resource_group", "papr_azure_resource_group")
    if group in (None, ""):
        problems.append(
            "papr_aks_resource_group (or papr_azure_resource_group) is not set: the AKS cluster's resource "
            "group (papr_aks_manage_cluster: false deploys into an existing cluster instead)"
        )
    else:
        problems.extend(f"{group_variable}: {p}" for p in [name_problem("resource_group", group)] if p)
    name, name_variable = _aks_cluster_name(inputs)
    problems.extend(f"{name_variable}: {p}" for p in [name_problem("aks_cluster", name)] if p)
    location, location_variable = inputs.get("papr_aks_location", "papr_azure_location")
    if location in (None, ""):
        problems.append("papr_aks_location (or papr_azure_location) is not set: the AKS cluster's region")
    else:
        why = region_problem(location, inputs.value("papr_azure_extra_locations"))
        problems.extend([f"{location_variable}: {why}"] if why else [])
    version = inputs.value("papr_aks_kubernetes_version")
    if not AKS_VERSION.match(str(version or "")):
        problems.append(f"papr_aks_kubernetes_version={version!r}: a Kubernetes version like 1.33 or 1.33.3")
    system, low, high = (
        _int(inputs.value(name))
        for name in ("papr_aks_system_node_count", "papr_aks_node_min_count", "papr_aks_node_max_count")
    )
    if system is None or system < 1:
        problems.append("papr_aks_system_node_count must be a whole number of at least 1")
    if low is None or low < 1:
        problems.append(
            "papr_aks_node_min_count must be a whole number of at least 1 (the workloads need nodes)"
        )
    elif high is None or high < low:
        problems.append(
            f"papr_aks_node_max_count={inputs.value('papr_aks_node_max_count')!r} is below "
            f"papr_aks_node_min_count={low}"
        )
    private = bool(inputs.value("papr_aks_private_cluster"))
    ranges = list(inputs.value("papr_aks_authorized_ip_ranges") or [])
    if private and ranges:
        problems.append(
            "papr_aks_authorized_ip_ranges apply to a public API server: set them or "
            "papr_aks_private_cluster: true, not both"
        )
    elif not private and not ranges:
        problems.append(
            "papr_aks_authorized_ip_ranges is empty and papr_aks_private_cluster is false: the API server "
            "would be open to the internet (give the controller's and operators' address ranges, or a "
            "private cluster)"
        )


def _aks_cluster_name(inputs):
    return inputs.azure_name("papr_aks_cluster_name", "aks")


def _aks_node(inputs):
    """The user pool's node size from the sizing data: the size every pod's requests must fit."""
    sizing = inputs.value("papr_sizing") or {}
    overrides = inputs.value("papr_sizing_overrides") or {}
    vm_size = str(inputs.value("papr_aks_node_vm_size"))
    skus = {**(sizing.get("skus") or {}), **(overrides.get("skus") or {})}
    sku = {**((sizing.get("skus") or {}).get(vm_size) or {}), **(skus.get(vm_size) or {})}
    return {
        "name": vm_size,
        "variable": "papr_aks_node_vm_size",
        "vcpu": sku.get("vcpu"),
        "memory_gb": sku.get("memory_gb"),
    }


def deployment_problems(given, context=None):
    """Every problem of the inputs, each naming its variable; [] when the deployment can go ahead."""
    inputs = Inputs(given)
    platform = inputs.value("papr_platform")
    if platform in NOT_YET:
        return [f"papr_platform={platform!r}: {NOT_YET[platform]}"]
    if platform not in PLATFORMS:
        return [f"papr_platform={platform!r}: must be one of {', '.join(PLATFORMS)}"]
    problems = []
    option = _option(inputs)
    if platform != "aks" and option not in (1, 2):
        problems.append(_option_problem(inputs.value("papr_option")))
    _service_problems(inputs, problems)
    if platform == "azure":
        _azure_problems(inputs, option, problems)
    elif platform == "hosts":
        _hosts_problems(inputs, context, problems)
    else:
        _aks_problems(inputs, problems)
    return problems


# --- the model ----------------------------------------------------------------------------------

PROCESSES = ("web", "memory-worker", "document-worker")

# On hosts, the workers unit's processes by option: option 1 both workers in one process, option 2
# a process per worker (the keys name the systemd units below).
HOSTS_WORKER_COMMANDS = {
    1: {"all": ["papr-memory-workers"]},
    2: {"memory": ["papr-memory-worker", "memory"], "documents": ["papr-memory-worker", "documents"]},
}
# The systemd units the web and workers roles install on hosts: the one place that names them (the
# roles, hosts_release.yml, migrate.yml and teardown.yml read them from the model).
SYSTEMD_NAMES = {
    # The socket owns the listening address and hands it to the service (fd 3).
    "web": {
        "socket": "papr-memory-web.socket",
        "service": "papr-memory-web.service",
        "unit_files": ["papr-memory-web.socket", "papr-memory-web.service"],
    },
    # Both files on every workers host (the option decides which units run): moving between
    # options needs no other role.
    "workers": {
        "units": {
            "all": "papr-memory-workers.service",
            "memory": "papr-memory-worker@memory.service",
            "documents": "papr-memory-worker@documents.service",
        },
        "unit_files": ["papr-memory-workers.service", "papr-memory-worker@.service"],
    },
}


def _environment(inputs, unit, processes, database_host, database_port, database_sslmode, temporal_address):
    """(environment, secret_environment) of a unit running `processes`: strings only, so the
    faces can write them as they are (env file, app settings, ConfigMap/Secret)."""
    level = inputs.value("web_log_level" if "web" in processes else "workers_log_level")
    environment = {
        "TEMPORAL_ADDRESS": temporal_address,
        "TEMPORAL_NAMESPACE": inputs.value("papr_temporal_namespace"),
        "PAPR_LOG_LEVEL": str(level).upper(),
    }
    secret = {
        "DATABASE_URL": database_url(
            str(inputs.value("papr_database_user")),
            str(inputs.value("papr_database_password") or ""),
            database_host,
            database_port,
            str(inputs.value("papr_database_name")),
            database_sslmode,
        )
    }
    if "web" in processes:
        environment["PAPR_MAX_UPLOAD_BYTES"] = str(_int(inputs.value("web_max_upload_bytes")))
        environment["PAPR_POLLER_LIVENESS_SECONDS"] = str(_int(inputs.value("web_poller_liveness_seconds")))
        secret["PAPR_API_KEYS"] = ",".join(str(key) for key in api_keys(inputs.value("papr_api_keys")))
    if "memory-worker" in processes or "document-worker" in processes:
        environment["PAPR_MEMORY_WORKER_CONCURRENCY"] = str(_int(inputs.value("workers_memory_concurrency")))
        environment["PAPR_DOCUMENT_WORKER_CONCURRENCY"] = str(
            _int(inputs.value("workers_document_concurrency"))
        )
        environment["PAPR_DOCUMENT_WORKER_ACTIVITIES_PER_SECOND"] = str(
            _positive_number(inputs.value("workers_document_activities_per_second"))
        )
        environment["PAPR_DOCUMENT_WORKER_NICE"] = str(_int(inputs.value("workers_document_nice")))
        environment["PAPR_WORKER_SHUTDOWN_SECONDS"] = str(_int(inputs.value("workers_shutdown_seconds")))
    return environment, secret


def _unit(inputs, name, processes, command, port, addresses):
    environment, secret = _environment(inputs, name, processes, *addresses)
    return {
        "processes": list(processes),
        "command": command,
        "port": port,
        "environment": environment,
        "secret_environment": secret,
    }


def _uvicorn(listen, port, processes, *extra):
    return ["uvicorn", "app.main:app", "--host", listen, "--port", str(port), *extra] + (
        ["--workers", str(processes)] if processes > 1 else []
    )


def _azure_model(inputs, option):
    location = inputs.value("papr_azure_location")
    names = {
        "resource_group": inputs.value("papr_azure_resource_group"),
        "location": location,
        "web_plan": inputs.azure_name("web_azure_plan_name", "web-plan")[0],
        "web_site": inputs.azure_name("web_azure_site_name", "web")[0],
        "workers_plan": inputs.azure_name("workers_azure_plan_name", "workers-plan")[0],
        "workers_site": inputs.azure_name("workers_azure_site_name", "workers")[0],
        "postgres_server": inputs.azure_name("postgres_azure_server_name", "pg")[0],
        "temporal_group": inputs.azure_name("temporal_azure_group_name", "temporal")[0],
    }
    network = _azure_network(inputs)
    # A private group has no public IP, so no DNS label either.
    names["temporal_dns_label"] = (
        None if network else inputs.value("temporal_azure_dns_label") or names["temporal_group"]
    )
    temporal_port = _int(inputs.value("temporal_port"))
    # Private: the server's own name resolves to its private address through the linked zone.
    database_host = inputs.value("papr_database_host") or (
        f"{names['postgres_server']}.{inputs.value('papr_azure_postgres_domain')}"
    )
    temporal_host = (
        f"{network['temporal_record']}.{network['temporal_zone']}"
        if network
        else f"{names['temporal_dns_label']}.{location}.{inputs.value('papr_azure_container_domain')}"
    )
    temporal_address = inputs.value("papr_temporal_address") or f"{temporal_host}:{temporal_port}"
    addresses = (database_host, _int(inputs.value("postgres_port")), "require", temporal_address)
    web_port = _int(inputs.value("web_port"))
    uvicorn_processes = _int(inputs.value("web_uvicorn_processes"))
    image = inputs.value("papr_azure_image")
    if option == 1:
        # One container runs uvicorn and both workers (app.all_in_one supervises them).
        web_command = ["python", "-m", "app.all_in_one", "--port", str(web_port)]
        units = {"web": (PROCESSES, web_command, web_port)}
    else:
        web_command = _uvicorn("0.0.0.0", web_port, uvicorn_processes, "--no-access-log")
        workers_command = str(inputs.value("workers_azure_startup_command")).split()
        units = {
            "web": (("web",), web_command, web_port),
            "workers": (PROCESSES[1:], workers_command, _int(inputs.value("workers_azure_port"))),
        }
    model_units = {name: _unit(inputs, name, *unit, addresses) for name, unit in units.items()}
    for unit in model_units.values():
        unit["command_line"] = " ".join(unit["command"])
    if "workers" in model_units:
        model_units["workers"]["command_line"] = str(inputs.value("workers_azure_startup_command"))
    # A startup command the inventory gives is used as it is.
    given_command = inputs.value("web_azure_startup_command")
    if given_command:
        model_units["web"]["command_line"] = given_command
    model_units["web"]["image"] = inputs.value("web_azure_image") or image
    model_units["web"]["capacity"] = _int(inputs.value("web_azure_plan_capacity"))
    if "workers" in model_units:
        model_units["workers"]["image"] = inputs.value("workers_azure_image") or image
        model_units["workers"]["capacity"] = _int(inputs.value("workers_azure_plan_capacity"))
    return {
        "database": {
            "host": database_host,
            "sslmode": "require",
            "admin_user": inputs.value("papr_database_admin_user"),
            "temporal_user": inputs.value("papr_temporal_database_user"),
        },
        "temporal": {"address": temporal_address},
        "units": model_units,
        "azure": {
            "names": names,
            "backup_retention_days": _int(inputs.value("postgres_azure_backup_retention_days")),
        },
        "network": network or {"mode": "public"},
        "registry": _azure_registry(inputs),
    }


def _azure_registry(inputs):
    """How the apps pull the image: `app_service` is app_service_container's `registry` option (None: a
    public image), `acr_pull_scope` the registry the apps' identities get AcrPull on."""
    auth = inputs.value("papr_azure_registry_auth")
    registry = {"auth": auth, "app_service": None, "acr_pull_scope": None}
    if auth == "managed_identity":
        registry["app_service"] = {"managed_identity": True}
        registry["acr_pull_scope"] = inputs.value("papr_azure_registry_id")
    elif auth == "credentials":
        registry["app_service"] = {
            "username": str(inputs.value("papr_azure_registry_username")),
            "password": str(inputs.value("papr_azure_registry_password")),
        }
    return registry


def _azure_network(inputs):
    """The private network's plan (None for papr_network=public): one VNet, a subnet per component
    (derived from the one address space), and the private DNS zones the apps resolve through."""
    if inputs.value("papr_network") != "private":
        return None
    prefix = inputs.value("papr_azure_name_prefix")
    space = inputs.value("papr_network_address_space")
    return {
        "mode": "private",
        "address_space": space,
        "subnets": subnet_layout(space),
        "vnet": f"{prefix}-vnet",
        "postgres_zone": inputs.value("papr_network_postgres_zone"),
        "temporal_zone": inputs.value("papr_network_temporal_zone") or f"{prefix}.papr.internal",
        "temporal_record": "temporal",
    }


def _aks_model(inputs):
    """Option 3: the web server and each worker in their own Deployments; Temporal reached by its
    Service name, PostgreSQL at the private server's host."""
    namespace = inputs.value("papr_aks_namespace")
    database_host = str(inputs.value("papr_database_host") or inputs.value("papr_aks_database_host") or "")
    database_port = _int(inputs.value("papr_aks_database_port") or inputs.value("postgres_port"))
    temporal_address = inputs.value("papr_temporal_address") or (
        f"temporal-frontend.{namespace}.svc:{_int(inputs.value('temporal_port'))}"
    )
    sslmode = inputs.value("papr_database_sslmode")
    addresses = (database_host, database_port, sslmode, temporal_address)
    web_port = _int(inputs.value("web_port"))
    web_command = _uvicorn(
        "0.0.0.0", web_port, _int(inputs.value("web_uvicorn_processes")), "--no-access-log"
    )
    commands = {"memory": ["papr-memory-worker", "memory"], "documents": ["papr-memory-worker", "documents"]}
    return {
        "database": {
            "host": database_host,
            "port": database_port,
            "sslmode": sslmode,
            # The database-roles Job logs in as the administrator; Temporal as its own login.
            "admin_user": inputs.value("papr_database_admin_user"),
            "temporal_user": inputs.value("papr_temporal_database_user"),
        },
        "temporal": {"address": temporal_address},
        "units": {
            "web": _unit(inputs, "web", ("web",), web_command, web_port, addresses),
            "workers": _unit(inputs, "workers", PROCESSES[1:], commands, None, addresses),
        },
        "aks": {
            "namespace": namespace,
            "node": _aks_node(inputs),
            "cluster": _aks_cluster(inputs) if inputs.value("papr_aks_manage_cluster") else None,
            "kubeconfig": _aks_kubeconfig(inputs),
            "probes": _aks_probes(_aks_probe_periods(inputs)),
            "wait_poll_seconds": _int(inputs.value("papr_aks_wait_poll_seconds")),
            **AKS_WORKLOAD_RULES,
        },
    }


# Seconds a probe may keep failing: a starting pod (startup probe) before the kubelet restarts it,
# a running one (readiness probe) before it leaves its Service. A shorter period (a busy test
# node) asks more often within the same window.
AKS_PROBE_WINDOWS = {"startup": 300, "readiness": 30}


def _aks_probe_periods(inputs):
    """The inventory's periods over the defaults (a dict may give one probe only)."""
    given = inputs.value("papr_aks_probe_period_seconds")
    return {**INPUTS["papr_aks_probe_period_seconds"], **(given if isinstance(given, dict) else {})}


def _aks_probes(periods):
    """Each probe's period and failure threshold (period x threshold = its window)."""
    probes = {}
    for probe, window in AKS_PROBE_WINDOWS.items():
        period = _int(periods[probe])
        probes[probe] = {"periodSeconds": period, "failureThreshold": max(3, -(-window // period))}
    return probes


# How every object goes into the cluster and how every pod runs (the aks faces render these).
AKS_WORKLOAD_RULES = {
    # One field manager applies everything server-side; it takes back fields another manager
    # (kubectl edit, kubectl scale) changed, which is how drift is put back.
    "server_side_apply": {"field_manager": "papr-memory", "force_conflicts": True},
    # Non-root, no privilege escalation, no Linux capabilities, read-only root file system (a /tmp
    # emptyDir where needed), seccomp RuntimeDefault.
    "pod_security": {
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "runAsGroup": 10001,
        "fsGroup": 10001,
        "seccompProfile": {"type": "RuntimeDefault"},
    },
    "container_security": {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
    },
    # Each Deployment's pods spread over nodes and zones (preferred: a single-zone pool still schedules).
    "spread": [
        {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway"}
        for key in ("kubernetes.io/hostname", "topology.kubernetes.io/zone")
    ],
}


def _aks_cluster(inputs):
    """The arguments of papr.memory.aks_cluster: option 3's cluster in the sizing data's shape."""
    zones = [str(zone) for zone in inputs.value("papr_aks_zones") or []] or None
    entra = bool(inputs.value("papr_aks_entra_id"))
    return {
        "name": _aks_cluster_name(inputs)[0],
        "resource_group": inputs.value("papr_aks_resource_group", "papr_azure_resource_group"),
        "location": inputs.value("papr_aks_location", "papr_azure_location"),
        "kubernetes_version": str(inputs.value("papr_aks_kubernetes_version")),
        "node_pools": [
            {
                "name": "system",
                "mode": "System",
                "vm_size": inputs.value("papr_aks_system_vm_size"),
                "count": _int(inputs.value("papr_aks_system_node_count")),
                "zones": zones,
            },
            {
                "name": "user",
                "mode": "User",
                "vm_size": inputs.value("papr_aks_node_vm_size"),
                "min_count": _int(inputs.value("papr_aks_node_min_count")),
                "max_count": _int(inputs.value("papr_aks_node_max_count")),
                "zones": zones,
            },
        ],
        "subnet_id": inputs.value("papr_aks_subnet_id") or None,
        "private_cluster": bool(inputs.value("papr_aks_private_cluster")),
        "authorized_ip_ranges": [str(r) for r in inputs.value("papr_aks_authorized_ip_ranges") or []],
        "entra_id": {
            "enabled": entra,
            "admin_group_object_ids": [str(g) for g in inputs.value("papr_aks_admin_group_object_ids") or []],
        },
        "local_accounts": not entra,
        "tags": {"app": "papr-memory", "papr-option": "3"},
    }


def _aks_kubeconfig(inputs):
    """Where the cluster's kubeconfig is: given, else the file the cluster module writes (a managed
    cluster), else None (kubernetes.core's own default, ~/.kube/config)."""
    given = inputs.value("papr_aks_kubeconfig")
    if given:
        return str(given)
    if inputs.value("papr_aks_manage_cluster"):
        return str(Path(f"~/.kube/{_aks_cluster_name(inputs)[0]}.yml").expanduser())
    return None


def _hosts_model(inputs, option, context):
    """Per host: a component on the same host is reached on loopback, one on another host by its
    address (papr_address, else its address on papr_hosts_network when that is set, else its
    inventory name). PostgreSQL and Temporal listen beyond loopback only when a client is elsewhere,
    and then only on the host's address on the shared network (the pre-flight makes sure there is
    one); PostgreSQL lets exactly those clients in."""
    host = context["host"]
    groups = {group: list(context["groups"].get(group) or []) for group in COMPONENT_GROUPS}
    addresses = context.get("addresses") or {}
    shared = _shared_addresses(inputs, context)
    by_network = inputs.value("papr_hosts_network") not in (None, "")
    postgres_host, temporal_host = groups["postgres"][0], groups["temporal"][0]

    def reach(target):
        if target == host:
            return "127.0.0.1"
        given = addresses.get(target)
        if given and given != target:  # the host's papr_address
            return str(given)
        return str(shared[target]) if by_network and target in shared else target

    temporal_port = _int(inputs.value("temporal_port"))
    database_host = inputs.value("papr_database_host") or reach(postgres_host)
    temporal_address = inputs.value("papr_temporal_address") or f"{reach(temporal_host)}:{temporal_port}"
    database_clients, temporal_clients = _remote_clients(groups, host)
    link = (database_host, _int(inputs.value("postgres_port")), None, temporal_address)
    web_port = _int(inputs.value("web_port"))
    listen = str(inputs.value("web_listen_address"))
    web_command = ["uvicorn", "app.main:app", "--host", listen, "--port", str(web_port)]
    web_command += ["--workers", str(_int(inputs.value("web_uvicorn_processes")))]
    units = {}
    if host in groups["web"]:
        units["web"] = _unit(inputs, "web", ("web",), web_command, web_port, link)
        units["web"]["listen_address"] = listen
    if host in groups["workers"]:
        commands = {name: list(command) for name, command in HOSTS_WORKER_COMMANDS[option].items()}
        units["workers"] = _unit(inputs, "workers", PROCESSES[1:], commands, None, link)
    return {
        "database": {"host": database_host, "sslmode": None},
        "temporal": {"address": temporal_address},
        "units": units,
        "hosts": {
            "host": host,
            "runs": [group for group in COMPONENT_GROUPS if host in groups[group]],
            "postgres": {
                "listen_addresses": ["localhost"]
                + ([shared[host]] if database_clients and host in groups["postgres"] else []),
                "client_networks": ["127.0.0.1/32"]
                + [f"{shared[name]}/32" for name in database_clients if name in shared],
            },
            "temporal": {
                "listen_address": (
                    shared[host] if temporal_clients and host in groups["temporal"] else "127.0.0.1"
                )
            },
            "systemd": deployment_systemd(context, option),
        },
    }


def _packages(inputs):
    """Where the hosts' wheels come from, and the controller cache they are built in."""
    source = inputs.value("papr_service_source")
    if source is None:
        here = Path(__file__).resolve().parents[2]  # the collection's root
        source = str(here) if (here / "pyproject.toml").is_file() and (here / "app").is_dir() else ""
    cache = inputs.value("papr_wheel_cache_dir") or (
        f"{source}/.state" if source else str(Path("~/.cache/papr-memory").expanduser())
    )
    return {
        "service_source": source,
        "service_requirement": inputs.value("papr_service_requirement"),
        "index_url": inputs.value("papr_wheel_index_url") or "",
        "find_links": [str(link) for link in inputs.value("papr_wheel_find_links") or []],
        "cache_dir": cache,
    }


def deployment_model(given, context=None):
    """The contract of every component, from the inputs (checked by deployment_problems first)."""
    inputs = Inputs(given)
    platform = inputs.value("papr_platform")
    problems = deployment_problems(given, context)
    if problems:
        raise AnsibleFilterError("; ".join(problems))
    option = _option(inputs)
    model = {
        "platform": platform,
        "option": option,
        "database": {
            "name": inputs.value("papr_database_name"),
            "user": inputs.value("papr_database_user"),
            "port": _int(inputs.value("postgres_port")),
        },
        "temporal": {
            "namespace": inputs.value("papr_temporal_namespace"),
            "port": _int(inputs.value("temporal_port")),
            # The Temporal server's images where it runs in containers (azure, aks).
            "server_image": inputs.value("temporal_azure_server_image"),
            "admin_tools_image": inputs.value("temporal_azure_admin_tools_image"),
        },
    }
    # The raw secrets, for what creates them (the database role, the Temporal server, verify).
    model["secrets"] = {
        "database_password": str(inputs.value("papr_database_password")),
        "api_keys": [str(key) for key in api_keys(inputs.value("papr_api_keys"))],
    }
    if platform in ("azure", "aks"):
        model["secrets"]["database_admin_password"] = str(inputs.value("papr_database_admin_password"))
        model["secrets"]["temporal_database_password"] = str(inputs.value("papr_temporal_database_password"))
    if platform == "hosts":
        model["packages"] = _packages(inputs)
    if platform == "azure":
        face = _azure_model(inputs, option)
    elif platform == "aks":
        face = _aks_model(inputs)
    else:
        face = _hosts_model(inputs, option, context)
    for part in ("database", "temporal"):
        model[part].update(face.pop(part))
    model.update(face)
    return model


def image_reference_problem(image, variable, extra_registries=()):
    """'' when `image` is an image reference from a known registry, else why not, naming `variable`
    (the aks face's own images use it)."""
    if image in (None, ""):
        return f"{variable} is not set: a container image, <registry>/<repository>:<tag>"
    why = _image_problem(image, extra_registries)
    return f"{variable}: {why}" if why else ""


def deployment_systemd(context, option):
    """The systemd units of the service on one host (context: host and groups, as for the model):
    units - the ones it runs, in restart order: the workers first, the web server last (a release
    restarts the web server once the workers on the new build poll);
    unit_files - the files the web and workers roles install there (in /etc/systemd/system);
    teardown_units, teardown_unit_files - on a host of the web or workers group, every unit and
    file of the service (whatever the host runs now: a host moved between groups or options keeps
    the old ones until they are removed), the units in stop order: the web socket first, else a
    waiting connection starts the web server again;
    names - every component's names (migrate.yml removes the workers from a host that no longer
    runs them). Needs no secret: teardown.yml uses it without the model."""
    if _int(option) not in HOSTS_WORKER_COMMANDS:
        raise AnsibleFilterError(_option_problem(option))
    host = context["host"]
    runs = {group: host in (context["groups"].get(group) or []) for group in ("web", "workers")}
    web, workers = SYSTEMD_NAMES["web"], SYSTEMD_NAMES["workers"]
    units, unit_files = [], []
    if runs["workers"]:
        units += [workers["units"][name] for name in HOSTS_WORKER_COMMANDS[_int(option)]]
        unit_files += workers["unit_files"]
    if runs["web"]:
        units.append(web["service"])
        unit_files += web["unit_files"]
    app_host = runs["web"] or runs["workers"]
    return {
        "units": units,
        "unit_files": unit_files,
        "teardown_units": [web["socket"], web["service"], *workers["units"].values()] if app_host else [],
        "teardown_unit_files": [*web["unit_files"], *workers["unit_files"]] if app_host else [],
        "names": copy.deepcopy(SYSTEMD_NAMES),
    }


def deployment_inputs_pattern(_ignored=None):
    """A regular expression matching the names of the model's inputs (for the varnames lookup)."""
    return "^(" + "|".join(sorted(INPUTS)) + ")$"


def systemd_environment_file(environment):
    """KEY='value' lines for a systemd EnvironmentFile: single quotes keep every character as it
    is (systemd reads no escapes inside them); a value holding a single quote is double-quoted
    with \\, ", ` and $ escaped."""
    lines = []
    for key in sorted(environment):
        value = str(environment[key])
        if "\n" in value or "\r" in value:
            raise AnsibleFilterError(f"{key}: a value for a systemd environment file cannot hold a newline")
        if "'" not in value:
            lines.append(f"{key}='{value}'")
        else:
            escaped = re.sub(r'([\\"`$])', r"\\\1", value)
            lines.append(f'{key}="{escaped}"')
    return "\n".join(lines) + "\n"


class FilterModule:
    def filters(self):
        return {
            "deployment_problems": deployment_problems,
            "deployment_model": deployment_model,
            "deployment_inputs_pattern": deployment_inputs_pattern,
            "deployment_systemd": deployment_systemd,
            "systemd_environment_file": systemd_environment_file,
            "image_reference_problem": image_reference_problem,
        }
