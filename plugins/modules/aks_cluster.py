#!/usr/bin/python
# Copyright: PAPR Memory engineers
# Apache-2.0
"""Azure Kubernetes Service managed cluster (Microsoft.ContainerService/managedClusters) for option 3."""

from __future__ import annotations

DOCUMENTATION = r"""
module: aks_cluster
short_description: Create, update, upgrade or delete an AKS managed cluster
description:
  - Ensures an AKS managed cluster (C(Microsoft.ContainerService/managedClusters)) exists with its Kubernetes
    version, node pools (a system pool and user pools, with the cluster autoscaler), Azure CNI overlay in a
    subnet of the deployment's virtual network, the OIDC issuer and workload identity, Entra ID with Azure
    RBAC (local accounts disabled), a private API server or authorized IP ranges, and tags; or is absent.
  - Every option is checked before anything is sent; what AKS cannot change in place (network plugin and
    ranges, DNS prefix, a pool's VM size or subnet, a private API server) fails naming the option.
  - A higher O(kubernetes_version) upgrades the control plane and the managed pools in place, one minor
    version at a time; a lower one is refused.
  - With O(kubeconfig_path), the cluster user's kubeconfig (C(listClusterUserCredential)) is written to that
    file with mode 0600, only when it differs from what the file holds. It never appears in the result,
    the diff or the log.
  - Idempotent; check mode sends no write request; diff mode shows the managed settings before and after.
version_added: 0.2.0
author:
  - PAPR Memory engineers (@papr-memory)
options:
  name:
    description: Name of the cluster (1-63 letters, digits, hyphens and underscores).
    type: str
    required: true
  resource_group:
    description: Resource group of the cluster.
    type: str
    required: true
  location:
    description: Azure region. Default - the resource group's location. A cluster cannot move.
    type: str
  dns_prefix:
    description: DNS prefix of the API server's name. Default - O(name). Cannot change once created.
    type: str
  kubernetes_version:
    description:
      - Kubernetes version, a minor (V(1.33), the newest patch Azure offers) or a patch (V(1.33.3)).
      - Not given - Azure's default on create, left alone afterwards. Higher than the current version - an
        in-place upgrade of the control plane and every pool listed in O(node_pools) (one minor at a time).
    type: str
  sku_tier:
    description: Control plane tier. Not given - V(Free) on create, left alone afterwards.
    type: str
    choices: [Free, Standard, Premium]
  node_pools:
    description:
      - The node pools. At least one pool with O(node_pools[].mode=System) (it runs CoreDNS and the add-ons).
        Pools the cluster has that are not listed are left as they are.
      - Giving O(node_pools[].min_count) and O(node_pools[].max_count) turns the cluster autoscaler on for
        the pool; the autoscaler then owns its node count.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Pool name (1-12 lower-case letters and digits, starting with a letter).
        type: str
        required: true
      mode:
        description: V(System) or V(User).
        type: str
        choices: [System, User]
        default: User
      vm_size:
        description: VM size of the nodes, for example V(Standard_D4s_v3). Cannot change once created.
        type: str
        required: true
      count:
        description: Nodes without the autoscaler (required then on create); with it, the start size.
        type: int
      min_count:
        description: Fewest nodes the autoscaler keeps (with O(node_pools[].max_count)).
        type: int
      max_count:
        description: Most nodes the autoscaler adds (with O(node_pools[].min_count)).
        type: int
      zones:
        description: Availability zones of the nodes, for example V(["1","2","3"]). Fixed once created.
        type: list
        elements: str
      max_pods:
        description: Most pods per node. Not given - Azure's default. Cannot change once created.
        type: int
      os_disk_size_gb:
        description: OS disk size. Not given - Azure's default. Cannot change once created.
        type: int
  subnet_id:
    description:
      - Resource id of the virtual network subnet the nodes go in (Azure CNI overlay - pods get addresses
        from O(network.pod_cidr), not from the subnet). Not given - AKS makes its own virtual network.
    type: str
  network:
    description: Azure CNI overlay settings. Each is fixed once the cluster exists, except O(network.policy).
    type: dict
    default: {}
    suboptions:
      pod_cidr:
        description: Pod address range. Default V(10.244.0.0/16) on create.
        type: str
      service_cidr:
        description: Service address range (must not overlap the virtual network). Default V(10.0.0.0/16).
        type: str
      dns_service_ip:
        description: Cluster DNS Service address, inside O(network.service_cidr). Default V(10.0.0.10).
        type: str
      policy:
        description: Network policy engine that enforces NetworkPolicies. Default V(azure) on create.
        type: str
        choices: [azure, calico, cilium, none]
  oidc_issuer:
    description: The cluster's OIDC issuer (needed by workload identity). Cannot be turned off once on.
    type: bool
    default: true
  workload_identity:
    description: Microsoft Entra Workload ID for pods (needs O(oidc_issuer)).
    type: bool
    default: true
  entra_id:
    description:
      - Microsoft Entra ID integration (AKS-managed). Cannot be turned off once on.
      - The explicit opt-out is O(entra_id.enabled=false) together with O(local_accounts=true).
    type: dict
    default: {}
    suboptions:
      enabled:
        description: Sign-in with Entra ID.
        type: bool
        default: true
      azure_rbac:
        description: Authorise Kubernetes requests with Azure RBAC role assignments (with Entra ID).
        type: bool
        default: true
      admin_group_object_ids:
        description: Entra groups whose members are cluster administrators.
        type: list
        elements: str
        default: []
  local_accounts:
    description:
      - Keep the static local admin account (C(listClusterAdminCredential)). V(false) needs
        O(entra_id.enabled).
    type: bool
    default: false
  private_cluster:
    description:
      - A private API server (reachable only from the virtual network). Cannot change once created.
      - Either this or O(authorized_ip_ranges) is required.
    type: bool
    default: false
  authorized_ip_ranges:
    description: The address ranges allowed to reach a public API server (CIDR), for example the controller's.
    type: list
    elements: str
    default: []
  kubeconfig_path:
    description:
      - File to write the cluster user's kubeconfig to (mode 0600, written only when it differs).
        Not given - no kubeconfig is read.
    type: path
  kubeconfig_format:
    description:
      - Format of an Entra ID cluster's kubeconfig; V(exec) needs C(kubelogin) on the controller.
    type: str
    choices: [exec, azure]
    default: exec
  state:
    description: Whether the cluster should exist.
extends_documentation_fragment:
  - papr.memory.azure
  - papr.memory.azure.tags
  - papr.memory.azure.state
  - papr.memory.azure.lifecycle
requirements:
  - azure-mgmt-containerservice >= 30
"""

EXAMPLES = r"""
- name: The option 3 cluster in the deployment's subnet
  papr.memory.aks_cluster:
    name: papr-memory-aks
    resource_group: papr-memory-prod
    kubernetes_version: "1.33"
    node_pools:
      - {name: system, mode: System, vm_size: Standard_D2s_v3, count: 2, zones: ["1", "2", "3"]}
      - {name: user, vm_size: Standard_D4s_v3, min_count: 3, max_count: 6, zones: ["1", "2", "3"]}
    subnet_id: "{{ papr_network.subnets.aks.id }}"
    entra_id:
      admin_group_object_ids: [00000000-0000-0000-0000-00000000cafe]
    authorized_ip_ranges: [203.0.113.0/24]
    kubeconfig_path: ~/.kube/papr-memory-aks.yml
    tags:
      app: papr-memory
"""

RETURN = r"""
extends_documentation_fragment:
  - papr.memory.azure.result
  - papr.memory.azure.lifecycle_result
cluster:
  description: The cluster after the task (empty when absent). Never the kubeconfig.
  returned: always
  type: dict
  contains:
    id: {description: Resource id., type: str}
    name: {description: Name., type: str}
    location: {description: Region., type: str}
    kubernetes_version: {description: Version as set., type: str, sample: "1.33"}
    current_kubernetes_version: {description: Patch version running., type: str, sample: 1.33.3}
    provisioning_state: {description: Azure's provisioning state., type: str, sample: Succeeded}
    power_state: {description: Running or Stopped., type: str}
    fqdn: {description: API server name (public cluster)., type: str}
    private_fqdn: {description: API server name (private cluster)., type: str}
    node_resource_group: {description: Resource group of the nodes., type: str}
    oidc_issuer_url: {description: OIDC issuer (for federated credentials)., type: str}
    kubelet_identity_object_id: {description: Object id of the kubelet identity (for AcrPull)., type: str}
    node_pools:
      description: Name, mode, VM size, count, autoscaler bounds and version of each pool.
      type: list
      elements: dict
    kubeconfig_path: {description: Where the user kubeconfig was written (when asked)., type: str}
"""

import ipaddress
import os
import re

from ansible_collections.papr.memory.plugins.module_utils.azure_aks import (
    ManagedClusters,
    read_private_file,
    write_private_file,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_diff import (
    TAGS_ARGUMENT_SPEC,
    changed_keys,
    desired_tags,
    normalise_location,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_errors import AzureModuleError
from ansible_collections.papr.memory.plugins.module_utils.azure_module import STATE_ARGUMENT_SPEC
from ansible_collections.papr.memory.plugins.module_utils.azure_names import require_valid_name
from ansible_collections.papr.memory.plugins.module_utils.azure_network import address_range
from ansible_collections.papr.memory.plugins.module_utils.azure_runner import (
    RUNNING,
    STOPPED,
    Lifecycle,
    Plan,
    Resource,
    Write,
    provisioning_lifecycle,
    run_module,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_service import location_for

VERSION_PATTERN = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?$")
VM_SIZE_PATTERN = re.compile(r"^Standard_[A-Za-z0-9_]+$")
SUBNET_ID_PATTERN = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Network/virtualNetworks/[^/]+/subnets/[^/]+$",
    re.IGNORECASE,
)
NETWORK_DEFAULTS = {
    "pod_cidr": "10.244.0.0/16",
    "service_cidr": "10.0.0.0/16",
    "dns_service_ip": "10.0.0.10",
    "policy": "azure",
}
# Provisioning states of a cluster AKS is still working on.
TRANSITIONAL_STATES = (
    "creating",
    "updating",
    "upgrading",
    "scaling",
    "deleting",
    "starting",
    "stopping",
    "canceling",
)
# Read-only fields of a GET answer, dropped before it is sent back as the update's body.
READ_ONLY_PROPERTIES = (
    "provisioningState",
    "powerState",
    "currentKubernetesVersion",
    "fqdn",
    "azurePortalFQDN",
    "privateFQDN",
    "maxAgentPools",
    "resourceUID",
)
READ_ONLY_POOL_PROPERTIES = (
    "provisioningState",
    "powerState",
    "currentOrchestratorVersion",
    "nodeImageVersion",
)


# --- validation (no Azure call) -------------------------------------------------------------------------
def _minor(version):
    """(major, minor) of '1.33' or '1.33.3'."""
    match = VERSION_PATTERN.match(str(version or ""))
    return (int(match.group(1)), int(match.group(2))) if match else None


def validate(params):
    require_valid_name("aks_cluster", params["name"])
    if params["state"] == "absent":
        return
    require_valid_name("aks_dns_prefix", params["dns_prefix"] or params["name"])
    if params["kubernetes_version"] and not _minor(params["kubernetes_version"]):
        raise AzureModuleError(
            f"kubernetes_version {params['kubernetes_version']!r} is not a version like 1.33 or 1.33.3."
        )
    validate_pools(params["node_pools"])
    if params["subnet_id"] and not SUBNET_ID_PATTERN.match(params["subnet_id"]):
        raise AzureModuleError(
            f"subnet_id {params['subnet_id']!r} is not a subnet's resource id "
            "(/subscriptions/<s>/resourceGroups/<g>/providers/Microsoft.Network/virtualNetworks/<v>/subnets/<n>)."
        )
    network = params["network"] or {}
    pods = address_range(network["pod_cidr"], "network.pod_cidr") if network.get("pod_cidr") else None
    services = (
        address_range(network["service_cidr"], "network.service_cidr")
        if network.get("service_cidr")
        else None
    )
    if pods and services and pods.overlaps(services):
        raise AzureModuleError(f"network.pod_cidr {pods} overlaps network.service_cidr {services}.")
    if network.get("dns_service_ip"):
        try:
            dns = ipaddress.ip_address(network["dns_service_ip"])
        except ValueError as exc:
            raise AzureModuleError(f"network.dns_service_ip: {exc}.") from exc
        within = services or ipaddress.ip_network(NETWORK_DEFAULTS["service_cidr"])
        if dns not in within:
            raise AzureModuleError(f"network.dns_service_ip {dns} is not inside the service range {within}.")
    if params["workload_identity"] and not params["oidc_issuer"]:
        raise AzureModuleError("workload_identity needs oidc_issuer: true (pods' tokens are issued by it).")
    entra = params["entra_id"]
    if not params["local_accounts"] and not entra["enabled"]:
        raise AzureModuleError(
            "local_accounts: false needs entra_id.enabled: true (nobody could sign in). To opt out of Entra "
            "ID set both entra_id.enabled: false and local_accounts: true."
        )
    for cidr in params["authorized_ip_ranges"]:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError as exc:
            raise AzureModuleError(
                f"authorized_ip_ranges: {cidr!r} is not an address range ({exc})."
            ) from exc
    if params["private_cluster"] and params["authorized_ip_ranges"]:
        raise AzureModuleError(
            "authorized_ip_ranges apply to a public API server: give them or private_cluster: true, not both."
        )
    if not params["private_cluster"] and not params["authorized_ip_ranges"]:
        raise AzureModuleError(
            "The API server would be open to the internet: set authorized_ip_ranges (the controller's and "
            "operators' ranges) or private_cluster: true."
        )


def validate_pools(pools):
    if not pools:
        raise AzureModuleError(
            "node_pools needs at least one pool (one with mode: System) with state=present."
        )
    names = [pool["name"] for pool in pools]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise AzureModuleError(f"node_pools: pool names must be unique: {', '.join(duplicates)}.")
    if not any(pool["mode"] == "System" for pool in pools):
        raise AzureModuleError("node_pools needs a pool with mode: System (it runs CoreDNS and the add-ons).")
    for pool in pools:
        require_valid_name("aks_node_pool", pool["name"])
        where = f"node_pools[{pool['name']}]"
        if not VM_SIZE_PATTERN.match(pool["vm_size"]):
            raise AzureModuleError(
                f"{where}.vm_size {pool['vm_size']!r} is not a VM size like Standard_D4s_v3."
            )
        least = 1 if pool["mode"] == "System" else 0
        low, high, count = pool["min_count"], pool["max_count"], pool["count"]
        if (low is None) != (high is None):
            raise AzureModuleError(f"{where}: give both min_count and max_count (the autoscaler) or neither.")
        if low is not None:
            if low < least or high > 1000:
                raise AzureModuleError(
                    f"{where}.min_count must be at least {least} and max_count at most 1000."
                )
            if high < low:
                raise AzureModuleError(f"{where}.max_count {high} is below min_count {low}.")
            if count is not None and not low <= count <= high:
                raise AzureModuleError(
                    f"{where}.count {count} is outside min_count..max_count ({low}..{high})."
                )
        elif count is not None and not least <= count <= 1000:
            raise AzureModuleError(f"{where}.count must be {least}..1000, not {count}.")
        for option in ("max_pods", "os_disk_size_gb"):
            if pool[option] is not None and pool[option] < 1:
                raise AzureModuleError(f"{where}.{option} must be above 0.")


# --- what Azure holds, as compared -----------------------------------------------------------------------
def _pool_view(profile):
    autoscaling = bool(profile.get("enableAutoScaling"))
    return {
        "mode": profile.get("mode"),
        "vm_size": profile.get("vmSize"),
        "count": None if autoscaling else profile.get("count"),
        "min_count": profile.get("minCount") if autoscaling else None,
        "max_count": profile.get("maxCount") if autoscaling else None,
        "zones": sorted(profile.get("availabilityZones") or []),
        "max_pods": profile.get("maxPods"),
        "os_disk_size_gb": profile.get("osDiskSizeGB"),
        "subnet_id": (profile.get("vnetSubnetID") or "").lower() or None,
        "version": _version_text(
            _minor(profile.get("currentOrchestratorVersion") or profile.get("orchestratorVersion"))
        ),
    }


def _version_text(minor):
    return f"{minor[0]}.{minor[1]}" if minor else None


def comparable(cluster):
    """The managed settings of a cluster as Azure answers it (or as the body sends it)."""
    if not cluster:
        return {}
    properties = cluster.get("properties") or {}
    network = properties.get("networkProfile") or {}
    aad = properties.get("aadProfile") or {}
    access = properties.get("apiServerAccessProfile") or {}
    security = properties.get("securityProfile") or {}
    return {
        "location": normalise_location(cluster.get("location")),
        "kubernetes_version": properties.get("kubernetesVersion"),
        "sku_tier": (cluster.get("sku") or {}).get("tier"),
        "dns_prefix": properties.get("dnsPrefix"),
        "node_pools": {p["name"]: _pool_view(p) for p in properties.get("agentPoolProfiles") or []},
        "network": {
            "plugin": network.get("networkPlugin"),
            "plugin_mode": network.get("networkPluginMode"),
            "policy": network.get("networkPolicy"),
            "pod_cidr": network.get("podCidr"),
            "service_cidr": network.get("serviceCidr"),
            "dns_service_ip": network.get("dnsServiceIP"),
        },
        "oidc_issuer": bool((properties.get("oidcIssuerProfile") or {}).get("enabled")),
        "workload_identity": bool((security.get("workloadIdentity") or {}).get("enabled")),
        "entra_id": {
            "enabled": bool(aad.get("managed")),
            "azure_rbac": bool(aad.get("enableAzureRBAC")),
            "admin_group_object_ids": sorted(aad.get("adminGroupObjectIDs") or []),
        },
        "local_accounts": not properties.get("disableLocalAccounts"),
        "private_cluster": bool(access.get("enablePrivateCluster")),
        "authorized_ip_ranges": sorted(access.get("authorizedIPRanges") or []),
        "tags": dict(cluster.get("tags") or {}),
    }


def same_version(requested, properties):
    """Whether the cluster runs what `requested` asks for ('1.33' is any 1.33 patch)."""
    running = properties.get("currentKubernetesVersion") or properties.get("kubernetesVersion")
    if requested in (properties.get("kubernetesVersion"), running):
        return True
    return VERSION_PATTERN.match(requested).group(3) is None and _minor(requested) == _minor(running)


# --- the desired state (pure) ---------------------------------------------------------------------------
def _pick(given, current):
    return given if given is not None else current


def desired_view(params, current, location, description):
    """The managed settings as they should be: the options, or the current value where one is not given."""
    now = comparable(current)
    properties = (current or {}).get("properties") or {}
    requested = params["kubernetes_version"]
    version = properties.get("kubernetesVersion")
    if requested and not (current and same_version(requested, properties)):
        version = requested
    version_minor = _version_text(_minor(version))
    network_now = now.get("network") or {}
    network = {
        key: _pick((params["network"] or {}).get(key), network_now.get(key) or (None if current else default))
        for key, default in NETWORK_DEFAULTS.items()
    }
    network.update(plugin="azure", plugin_mode="overlay")
    pools = dict(now.get("node_pools") or {})  # pools not listed stay as they are
    for pool in params["node_pools"]:
        pools[pool["name"]] = _desired_pool(
            pool, pools.get(pool["name"]), params, version_minor, bool(requested)
        )
    entra = params["entra_id"]
    return {
        "location": now.get("location") or normalise_location(location),
        "kubernetes_version": version,
        "sku_tier": params["sku_tier"] or now.get("sku_tier") or "Free",
        "dns_prefix": params["dns_prefix"] or now.get("dns_prefix") or params["name"],
        "node_pools": pools,
        "network": network,
        "oidc_issuer": params["oidc_issuer"],
        "workload_identity": params["workload_identity"],
        "entra_id": {
            "enabled": entra["enabled"],
            "azure_rbac": entra["enabled"] and entra["azure_rbac"],
            "admin_group_object_ids": sorted(entra["admin_group_object_ids"]) if entra["enabled"] else [],
        },
        "local_accounts": params["local_accounts"],
        "private_cluster": params["private_cluster"],
        "authorized_ip_ranges": sorted(params["authorized_ip_ranges"]),
        "tags": desired_tags(params["tags"], params["purge_tags"], now.get("tags")),
    }


def _desired_pool(pool, now, params, version_minor, upgrading):
    autoscaling = pool["min_count"] is not None
    if not now and not autoscaling and pool["count"] is None:
        raise AzureModuleError(
            f"node_pools[{pool['name']}]: give count (or min_count and max_count) to create the pool."
        )
    now = now or {}
    subnet = (params["subnet_id"] or "").lower() or None
    return {
        "mode": pool["mode"],
        "vm_size": pool["vm_size"],
        "count": None if autoscaling else _pick(pool["count"], now.get("count")),
        "min_count": pool["min_count"],
        "max_count": pool["max_count"],
        "zones": sorted(pool["zones"]) if pool["zones"] is not None else now.get("zones", []),
        "max_pods": _pick(pool["max_pods"], now.get("max_pods")),
        "os_disk_size_gb": _pick(pool["os_disk_size_gb"], now.get("os_disk_size_gb")),
        "subnet_id": _pick(subnet, now.get("subnet_id")) if now else subnet,
        "version": version_minor if (upgrading or not now) else now.get("version"),
    }


def check_changes(before, after, description):
    """Refuse, before any write, what AKS cannot change in place."""
    if not before:
        return
    fixed = [
        (f"network.{key}", before["network"][key], after["network"][key])
        for key in ("plugin", "plugin_mode", "pod_cidr", "service_cidr", "dns_service_ip")
    ]
    fixed += [(key, before[key], after[key]) for key in ("location", "dns_prefix", "private_cluster")]
    for name, pool in after["node_pools"].items():
        old = before["node_pools"].get(name)
        if old:
            fixed += [
                (f"node_pools[{name}].{key}", old[key], pool[key])
                for key in ("vm_size", "zones", "max_pods", "os_disk_size_gb", "subnet_id")
            ]
    for option, old, new in fixed:
        if old != new:
            raise AzureModuleError(
                f"{description}: {option} is {old!r} and cannot change to {new!r} in place. Nothing was "
                "changed. Keep the current value, add a new node pool, or create a new cluster."
            )
    if before["oidc_issuer"] and not after["oidc_issuer"]:
        raise AzureModuleError(f"{description}: the OIDC issuer cannot be turned off once on (oidc_issuer).")
    if before["entra_id"]["enabled"] and not after["entra_id"]["enabled"]:
        raise AzureModuleError(
            f"{description}: Entra ID integration cannot be turned off once on (entra_id.enabled)."
        )
    old_version, new_version = _minor(before["kubernetes_version"]), _minor(after["kubernetes_version"])
    if old_version and new_version and new_version != old_version:
        if new_version < old_version:
            raise AzureModuleError(
                f"{description} runs Kubernetes {before['kubernetes_version']}: downgrading to "
                f"{after['kubernetes_version']} is not possible (kubernetes_version)."
            )
        if new_version[0] != old_version[0] or new_version[1] > old_version[1] + 1:
            step = f"{old_version[0]}.{old_version[1] + 1}"
            raise AzureModuleError(
                f"{description} runs Kubernetes {before['kubernetes_version']}: AKS upgrades one minor "
                f"version at a time; set kubernetes_version: '{step}' first (kubernetes_version)."
            )


def _pool_body(name, view, current_profile, params):
    body = {k: v for k, v in (current_profile or {}).items() if k not in READ_ONLY_POOL_PROPERTIES}
    autoscaling = view["min_count"] is not None
    count = view["count"]
    if autoscaling:  # the autoscaler owns the count: keep it, inside the new bounds
        start = (current_profile or {}).get("count")
        start = start if start is not None else _pick(_given_count(params, name), view["min_count"])
        count = min(max(start, view["min_count"]), view["max_count"])
    body.update(
        name=name,
        mode=view["mode"],
        vmSize=view["vm_size"],
        count=count,
        enableAutoScaling=autoscaling,
        type="VirtualMachineScaleSets",
        osType="Linux",
    )
    if autoscaling:
        body.update(minCount=view["min_count"], maxCount=view["max_count"])
    else:
        body.pop("minCount", None)
        body.pop("maxCount", None)
    optional = {
        "availabilityZones": view["zones"] or None,
        "maxPods": view["max_pods"],
        "osDiskSizeGB": view["os_disk_size_gb"],
        "vnetSubnetID": (current_profile or {}).get("vnetSubnetID") or params["subnet_id"],
        "orchestratorVersion": view["version"],
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    return body


def _given_count(params, name):
    return next((p["count"] for p in params["node_pools"] if p["name"] == name), None)


def cluster_body(view, current, params):
    """The PUT body: the current cluster (read-only fields dropped) with the managed settings set."""
    current = current or {}
    properties = {k: v for k, v in (current.get("properties") or {}).items() if k not in READ_ONLY_PROPERTIES}
    profiles = {p["name"]: p for p in properties.get("agentPoolProfiles") or []}
    network = dict(properties.get("networkProfile") or {})
    network.update(
        networkPlugin="azure",
        networkPluginMode="overlay",
        networkPolicy=view["network"]["policy"],
        podCidr=view["network"]["pod_cidr"],
        serviceCidr=view["network"]["service_cidr"],
        dnsServiceIP=view["network"]["dns_service_ip"],
    )
    if isinstance(network.get("loadBalancerProfile"), dict):
        network["loadBalancerProfile"] = {
            k: v for k, v in network["loadBalancerProfile"].items() if k != "effectiveOutboundIPs"
        }
    access = dict(properties.get("apiServerAccessProfile") or {})
    access.update(
        enablePrivateCluster=view["private_cluster"], authorizedIPRanges=view["authorized_ip_ranges"]
    )
    security = dict(properties.get("securityProfile") or {})
    security["workloadIdentity"] = {"enabled": view["workload_identity"]}
    entra = view["entra_id"]
    properties.update(
        kubernetesVersion=view["kubernetes_version"],
        dnsPrefix=view["dns_prefix"],
        enableRBAC=True,
        agentPoolProfiles=[
            _pool_body(name, pool, profiles.get(name), params) for name, pool in view["node_pools"].items()
        ],
        networkProfile=network,
        oidcIssuerProfile={"enabled": view["oidc_issuer"]},
        securityProfile=security,
        disableLocalAccounts=not view["local_accounts"],
        apiServerAccessProfile=access,
    )
    if not properties["kubernetesVersion"]:
        properties.pop("kubernetesVersion")
    if entra["enabled"]:
        properties["aadProfile"] = {
            "managed": True,
            "enableAzureRBAC": entra["azure_rbac"],
            "adminGroupObjectIDs": entra["admin_group_object_ids"],
        }
    identity = {
        k: v
        for k, v in (current.get("identity") or {"type": "SystemAssigned"}).items()
        if k not in ("principalId", "tenantId")
    }
    return {
        "location": current.get("location") or view["location"],
        "tags": view["tags"],
        "sku": {"name": "Base", "tier": view["sku_tier"]},
        "identity": identity,
        "properties": properties,
    }


def summarise(cluster, kubeconfig_path):
    if not cluster:
        return {}
    properties = cluster.get("properties") or {}
    kubelet = (properties.get("identityProfile") or {}).get("kubeletidentity") or {}
    summary = {
        "id": cluster.get("id"),
        "name": cluster.get("name"),
        "location": cluster.get("location"),
        "kubernetes_version": properties.get("kubernetesVersion"),
        "current_kubernetes_version": properties.get("currentKubernetesVersion"),
        "provisioning_state": properties.get("provisioningState"),
        "power_state": (properties.get("powerState") or {}).get("code"),
        "fqdn": properties.get("fqdn"),
        "private_fqdn": properties.get("privateFQDN"),
        "node_resource_group": properties.get("nodeResourceGroup"),
        "oidc_issuer_url": (properties.get("oidcIssuerProfile") or {}).get("issuerURL"),
        "kubelet_identity_object_id": kubelet.get("objectId"),
        "node_pools": [
            {
                "name": p.get("name"),
                "mode": p.get("mode"),
                "vm_size": p.get("vmSize"),
                "count": p.get("count"),
                "autoscaling": bool(p.get("enableAutoScaling")),
                "min_count": p.get("minCount"),
                "max_count": p.get("maxCount"),
                "version": p.get("currentOrchestratorVersion") or p.get("orchestratorVersion"),
            }
            for p in properties.get("agentPoolProfiles") or []
        ],
    }
    if kubeconfig_path:
        summary["kubeconfig_path"] = kubeconfig_path
    return summary


# --- the module ------------------------------------------------------------------------------------------
class AksCluster(Resource):
    kind = "AKS cluster"
    result_key = "cluster"
    repairs_failed = True  # a PUT of the same settings is how AKS reconciles a failed cluster

    def __init__(self, module):
        super().__init__(module)
        params = self.params
        self.clusters = ManagedClusters(module, self.description, params["resource_group"], params["name"])
        path = params["kubeconfig_path"]
        self.kubeconfig_path = os.path.abspath(path) if path else None  # type path: ~ already expanded

    def validate(self):
        validate(self.params)

    def read(self):
        return self.clusters.get_cluster()

    def lifecycle(self, current):
        properties = current.get("properties") or {}
        power = (properties.get("powerState") or {}).get("code") or "Running"
        return provisioning_lifecycle(properties.get("provisioningState"), TRANSITIONAL_STATES) or Lifecycle(
            STOPPED if power.lower() == "stopped" else RUNNING, power
        )

    def start_write(self, current):
        return Write("start", self.description, self.clusters.start)

    def read_related(self, current):
        if self.params["state"] == "absent":
            return {}
        related = {"location": None, "kubeconfig": None}
        if current is None:
            related["location"] = location_for(
                self.module, self.params["location"], self.params["resource_group"], self.description
            )
        elif self.kubeconfig_path:
            related["kubeconfig"] = self.fetch_kubeconfig()
        return related

    def fetch_kubeconfig(self):
        fmt = self.params["kubeconfig_format"] if self.params["entra_id"]["enabled"] else None
        text = self.clusters.user_kubeconfig(fmt)
        self.module.hide(text, *text.splitlines())  # never in a result, a diff or the log
        return text

    def write_kubeconfig(self, text):
        write_private_file(self.kubeconfig_path, text if text is not None else self.fetch_kubeconfig())
        return {"path": self.kubeconfig_path}

    def plan(self, current, related):
        if self.params["state"] == "absent":
            if current is None:
                return Plan()
            return Plan([Write("delete", self.description, self.clusters.delete)], comparable(current), {})
        before = comparable(current)
        after = desired_view(self.params, current, related["location"], self.description)
        check_changes(before, after, self.description)
        changes = changed_keys(before, after)
        failed = (
            current and (current.get("properties") or {}).get("provisioningState", "").lower() == "failed"
        )
        if failed:
            changes.append("provisioning_state")
        writes = []
        if changes:
            body = cluster_body(after, current, self.params)
            upgrading = current and before["kubernetes_version"] != after["kubernetes_version"]
            action = "create" if not current else "upgrade" if upgrading else "update"
            writes.append(
                Write(
                    action, self.description, lambda: self.clusters.create_or_update(body), changes, "cluster"
                )
            )
        if self.kubeconfig_path:
            fetched = related["kubeconfig"]
            if current is None or fetched != read_private_file(self.kubeconfig_path):
                writes.append(
                    Write(
                        "write",
                        f"kubeconfig file {self.kubeconfig_path}",
                        lambda: self.write_kubeconfig(fetched),
                        ["user kubeconfig"],
                        "kubeconfig",
                    )
                )
        return Plan(writes, before, after, desired=after)

    def summarise(self, current, related, plan, answers):
        if self.params["state"] == "absent":
            return {}
        if "cluster" in answers:
            return summarise(answers["cluster"], self.kubeconfig_path)
        if current is None:  # check mode: what would be created
            return {"name": self.params["name"], "kubernetes_version": plan.desired["kubernetes_version"]}
        return summarise(current, self.kubeconfig_path)


def main():
    run_module(
        AksCluster,
        dict(
            name=dict(type="str", required=True),
            resource_group=dict(type="str", required=True),
            location=dict(type="str"),
            dns_prefix=dict(type="str"),
            kubernetes_version=dict(type="str"),
            sku_tier=dict(type="str", choices=["Free", "Standard", "Premium"]),
            node_pools=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    name=dict(type="str", required=True),
                    mode=dict(type="str", choices=["System", "User"], default="User"),
                    vm_size=dict(type="str", required=True),
                    count=dict(type="int"),
                    min_count=dict(type="int"),
                    max_count=dict(type="int"),
                    zones=dict(type="list", elements="str"),
                    max_pods=dict(type="int"),
                    os_disk_size_gb=dict(type="int"),
                ),
            ),
            subnet_id=dict(type="str"),
            network=dict(
                type="dict",
                default={},
                options=dict(
                    pod_cidr=dict(type="str"),
                    service_cidr=dict(type="str"),
                    dns_service_ip=dict(type="str"),
                    policy=dict(type="str", choices=["azure", "calico", "cilium", "none"]),
                ),
            ),
            oidc_issuer=dict(type="bool", default=True),
            workload_identity=dict(type="bool", default=True),
            entra_id=dict(
                type="dict",
                default={},
                options=dict(
                    enabled=dict(type="bool", default=True),
                    azure_rbac=dict(type="bool", default=True),
                    admin_group_object_ids=dict(type="list", elements="str", default=[]),
                ),
            ),
            local_accounts=dict(type="bool", default=False),
            private_cluster=dict(type="bool", default=False),
            authorized_ip_ranges=dict(type="list", elements="str", default=[]),
            kubeconfig_path=dict(type="path"),
            kubeconfig_format=dict(type="str", choices=["exec", "azure"], default="exec"),
            **STATE_ARGUMENT_SPEC,
            **TAGS_ARGUMENT_SPEC,
        ),
        lifecycle=True,
    )


if __name__ == "__main__":
    main()
