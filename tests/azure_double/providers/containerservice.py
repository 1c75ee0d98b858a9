"""Microsoft.ContainerService managedClusters and agentPools, with user/admin kubeconfig credentials.

Recorded (2025-07-01): PUT answers 201 + Azure-AsyncOperation with provisioningState "Creating" and
empty request fields filled (kubernetesVersion, vmSize, osDiskSizeGB, maxPods, network plugin azure/overlay,
nodeResourceGroup MC_<rg>_<cluster>_<loc>, fqdn); type answers "Microsoft.ContainerService/ManagedClusters";
status {"name","status","startTime"} (+ "endTime" when done); DELETE answers 202 with both LRO headers.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import re
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..arm import (
    canonical_location,
    check_tags,
    collection_pattern,
    deep_merge,
    for_api_version,
    list_body,
    not_found,
    provider_pattern,
    require_location,
    resource_id,
    route_resource_type,
)
from ..http import Request, Response, arm_error
from ..lro import arm_status_body, operation_headers
from ..shapes import shape
from .resources import in_scope, require_group

if TYPE_CHECKING:
    from ..server import AzureDouble

NS = "Microsoft.ContainerService"
TYPE = f"{NS}/managedClusters"
CLUSTER = provider_pattern(NS, "managedClusters")
POOL = provider_pattern(NS, "managedClusters", "agentPools")
STATUS_API_VERSION = "2025-03-01"  # what the recorded status URLs carry
# The statuses a real cluster create walked through before Succeeded (recorded).
CREATE_PROGRESS = (
    "InProgress",
    "ProvisioningControlPlane",
    "ReconcilingDNS",
    "CreatingAgentPools: 0/{nodes} nodes completed",
    "ReconcilingAddons",
)
# Keys the 2023-10-01 recordings do not have and the 2025-07-01 ones do: answered from the first
# api-version after 2023-10-01 (the exact version each came with is *unverified*).
NEWER_THAN_2023_10 = "2023-11-01"
POOL_KEYS_SINCE = {
    "scaleDownMode": NEWER_THAN_2023_10,
    "securityProfile": NEWER_THAN_2023_10,
    "upgradeSettings.maxSurge": NEWER_THAN_2023_10,
    "upgradeSettings.maxUnavailable": NEWER_THAN_2023_10,
}
CLUSTER_SINCE = {
    "kind": NEWER_THAN_2023_10,
    "properties.metricsProfile": NEWER_THAN_2023_10,
    "properties.bootstrapProfile": NEWER_THAN_2023_10,
    "properties.nodeProvisioningProfile": NEWER_THAN_2023_10,
    "properties.resourceUID": NEWER_THAN_2023_10,
    "properties.autoUpgradeProfile": NEWER_THAN_2023_10,
    "properties.networkProfile.networkPolicy": NEWER_THAN_2023_10,
    "properties.networkProfile.loadBalancerProfile.backendPoolType": NEWER_THAN_2023_10,
    **{f"properties.agentPoolProfiles[].{k}": v for k, v in POOL_KEYS_SINCE.items()},
}
POOL_SINCE = {f"properties.{k}": v for k, v in POOL_KEYS_SINCE.items()}
# Creates answered with the detailed status walk above from this api-version on; before it every poll
# said "InProgress" (recorded at 2023-10-01; the boundary is *unverified*).
DETAILED_PROGRESS_SINCE = NEWER_THAN_2023_10
# Network keys of the Azure CNI (overlay) plugin that a kubenet cluster does not have (recorded).
AZURE_CNI_ONLY = ("networkPluginMode", "networkDataplane", "networkPolicy")
CLUSTER_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$")
DNS_PREFIX = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,52}[A-Za-z0-9])?$")
POOL_NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")
# minor version -> current patch (the double's "supported versions" list)
KUBERNETES_VERSIONS = {"1.30": "1.30.14", "1.31": "1.31.11", "1.32": "1.32.7", "1.33": "1.33.3"}
DEFAULT_VERSION = "1.32"
DEFAULT_VM_SIZE = "Standard_D8ds_v4"
POOL_WRITABLE = (
    "count",
    "vmSize",
    "osDiskSizeGB",
    "osDiskType",
    "maxPods",
    "type",
    "enableAutoScaling",
    "minCount",
    "maxCount",
    "mode",
    "orchestratorVersion",
    "enableNodePublicIP",
    "tags",
    "nodeLabels",
    "nodeTaints",
    "osType",
    "osSKU",
    "availabilityZones",
    "vnetSubnetID",
    "podSubnetID",
    "scaleSetPriority",
    "scaleSetEvictionPolicy",
    "spotMaxPrice",
    "upgradeSettings",
    "enableEncryptionAtHost",
    "enableUltraSSD",
    "enableFIPS",
    "kubeletDiskType",
)
# Properties AKS refuses to change after creation (*unverified* list and code).
IMMUTABLE_CLUSTER = ("dnsPrefix", "nodeResourceGroup")
IMMUTABLE_NETWORK = (
    "networkPlugin",
    "networkPluginMode",
    "podCidr",
    "serviceCidr",
    "dnsServiceIP",
    "outboundType",
)
IMMUTABLE_POOL = ("vmSize", "osType", "osDiskSizeGB", "vnetSubnetID", "availabilityZones")


def _given(value: Any) -> bool:
    """AKS treats null, "" and {} in a request as "not set" and fills its default."""
    return value not in (None, "", {})


def invalid(parameter: str, message: str) -> Exception:
    """AKS's validation error shape: code InvalidParameter with the parameter as target."""
    return arm_error(400, "InvalidParameter", message, target=parameter)


class ContainerServiceProvider:
    def __init__(self, double: AzureDouble) -> None:
        self.double = double
        self.store = double.store

    def _cluster(self, params: dict[str, str]) -> dict[str, Any]:
        require_group(self.double, params)
        cluster = self.store.get(resource_id(params, NS, "managedClusters"))
        if cluster is None:
            raise not_found(TYPE, params["managedclusters"], params["resource_group"])
        return cluster

    # --- clusters -----------------------------------------------------------------------------------
    def put_cluster(self, request: Request, params: dict[str, str]) -> Response:
        group = require_group(self.double, params)
        name = params["managedclusters"]
        if not CLUSTER_NAME.match(name):
            raise invalid(
                "name", f"The value of parameter name '{name}' is invalid: 1-63 letters, digits, '-' or '_'."
            )
        rid = resource_id(params, NS, "managedClusters")
        existing = self.store.get(rid)
        if existing and self.double.operations.running_on(rid):
            raise arm_error(
                409,
                "OperationNotAllowed",
                f"Operation is not allowed: Another operation is in progress on cluster '{name}'.",
            )
        body = request.json_object()
        location = existing["location"] if existing else require_location(body, TYPE)
        props = body.get("properties") or {}
        version = self._version(props.get("kubernetesVersion"), existing)
        dns_prefix = props.get("dnsPrefix") or (existing or {}).get("properties", {}).get("dnsPrefix")
        if not dns_prefix or not DNS_PREFIX.match(dns_prefix):
            raise invalid("dnsPrefix", f"The value of parameter dnsPrefix '{dns_prefix}' is invalid.")
        profiles = props.get("agentPoolProfiles") or []
        if not existing and not any((p or {}).get("mode") == "System" for p in profiles):
            raise invalid("agentPoolProfiles", "A cluster must have at least one agent pool in System mode.")

        self._check_identity_settings(props, existing)
        cluster = existing or self._new_cluster(params, group, location, dns_prefix)
        self._check_immutable(existing, props)
        if "tags" in body:  # a cluster created without tags has no tags key (recorded), nothing made up
            cluster["tags"] = check_tags(body.get("tags"))
        cluster["sku"] = body.get("sku") or cluster.get("sku") or {"name": "Base", "tier": "Free"}
        if body.get("identity"):
            identity = dict(body["identity"])
            identity.setdefault("principalId", str(uuid.uuid5(uuid.NAMESPACE_URL, rid + "/identity")))
            identity.setdefault("tenantId", self.double.tenant_id)
            cluster["identity"] = identity
        cp = cluster["properties"]
        cp.update(
            # kubernetesVersion stays as sent ("1.32" or "1.32.7"); the current one is a full patch
            kubernetesVersion=str(props.get("kubernetesVersion") or cp.get("kubernetesVersion") or version),
            currentKubernetesVersion=_patch(props.get("kubernetesVersion"), version),
            provisioningState="Updating" if existing else "Creating",
        )
        for key in (
            "enableRBAC",
            "disableLocalAccounts",
            "addonProfiles",
            "aadProfile",
            "apiServerAccessProfile",
            "oidcIssuerProfile",
            "securityProfile",
            "autoUpgradeProfile",
            "linuxProfile",
        ):
            if _given(props.get(key)):  # empty objects are not echoed (recorded: addonProfiles {})
                cp[key] = copy.deepcopy(props[key])
        if props.get("networkProfile"):
            cp["networkProfile"].update({k: v for k, v in props["networkProfile"].items() if _given(v)})
        if str(cp["networkProfile"].get("networkPlugin", "")).lower() == "kubenet":
            for key in AZURE_CNI_ONLY:
                cp["networkProfile"].pop(key, None)
        if "identity" not in cluster:  # a service principal cluster has no kubelet managed identity
            cp.pop("identityProfile", None)
        if cp.get("oidcIssuerProfile", {}).get("enabled"):
            issuer_id = uuid.uuid5(uuid.NAMESPACE_URL, rid)
            issuer = f"https://{location}.oic.prod-aks.azure.com/{self.double.tenant_id}/{issuer_id}/"
            cp["oidcIssuerProfile"]["issuerURL"] = issuer
        self.store.put(rid, cluster)
        for profile in profiles:
            self._upsert_pool(rid, dict(profile), version)

        op = self.double.operations.start(
            target_id=rid,
            on_success=lambda: self._settle(rid, "Succeeded"),
            on_failure=lambda code, message: self._settle(rid, "Failed"),
            status_body=arm_status_body,
            progress=() if existing else self._create_progress(rid, request.api_version),
            **self.double.operation_overrides(request),
        )
        answer = self._render(self.store.get(rid), request.api_version)
        # The PUT answer comes before the kubelet identity and outbound IPs exist (recorded).
        answer["properties"].pop("identityProfile", None)
        answer["properties"]["networkProfile"].get("loadBalancerProfile", {}).pop(
            "effectiveOutboundIPs", None
        )
        headers = operation_headers(
            self.double.base_url, params["subscription"], NS, location, op, STATUS_API_VERSION
        )
        return Response(200 if existing else 201, answer, headers)

    def _new_cluster(self, params: dict[str, str], group: dict[str, Any], location: str, dns_prefix: str):
        name = params["managedclusters"]
        cluster = shape(
            "aks_cluster",
            name=name,
            resourceGroup=group["name"],
            subscription=params["subscription"],
            location=location,
        )
        suffix = hashlib.sha256(
            f"{params['subscription']}/{group['name']}/{name}".lower().encode()
        ).hexdigest()[:8]
        cp = cluster["properties"]
        cp.update(
            dnsPrefix=dns_prefix,
            fqdn=f"{dns_prefix}-{suffix}.hcp.{location}.azmk8s.io",
            azurePortalFQDN=f"{dns_prefix}-{suffix}.portal.hcp.{location}.azmk8s.io",
            resourceUID=suffix * 3,
            agentPoolProfiles=[],
        )
        cp["linuxProfile"] = None
        cluster["id"] = (
            f"/subscriptions/{params['subscription']}/resourcegroups/{group['name']}/providers/{NS}/managedClusters/{name}"
        )
        cluster["location"] = location
        cluster.pop("identity", None)
        cluster.pop("tags", None)
        return cluster

    def _version(self, requested: Any, existing: dict[str, Any] | None) -> str:
        """The minor version a request means (AKS answers kubernetesVersion as it was sent)."""
        current = _minor(existing["properties"]["kubernetesVersion"]) if existing else None
        if not requested:
            return current or DEFAULT_VERSION
        minor = ".".join(str(requested).split(".")[:2])
        if minor not in KUBERNETES_VERSIONS:
            raise arm_error(
                400,
                "K8sVersionNotSupported",  # code and wording as seen in public reports
                f"Managed cluster is on version {requested} which is not supported in this region. "
                "Please use [az aks get-versions] command to get the supported version list in this region "
                f"(the double supports {', '.join(KUBERNETES_VERSIONS)}).",
            )
        if current and minor < current:
            raise invalid(
                "kubernetesVersion", f"Downgrading the Kubernetes version to {requested} is not allowed."
            )
        return minor

    def _check_identity_settings(self, props: dict[str, Any], existing: dict[str, Any] | None) -> None:
        """Settings AKS refuses together (*unverified* codes and wording; the rules are documented)."""
        now = (existing or {}).get("properties") or {}

        def setting(key: str) -> Any:
            return props[key] if key in props else now.get(key)

        workload = ((setting("securityProfile") or {}).get("workloadIdentity") or {}).get("enabled")
        if workload and not (setting("oidcIssuerProfile") or {}).get("enabled"):
            raise invalid(
                "securityProfile.workloadIdentity",
                "Enabling workload identity requires enabling OIDC issuer (oidcIssuerProfile.enabled).",
            )
        if setting("disableLocalAccounts") and not (setting("aadProfile") or {}).get("managed"):
            raise arm_error(
                400,
                "BadRequest",
                "Local accounts can only be disabled on a cluster with AKS-managed Azure AD integration.",
            )

    def _check_immutable(self, existing: dict[str, Any] | None, props: dict[str, Any]) -> None:
        if not existing:
            return
        current = existing["properties"]
        changes = [k for k in IMMUTABLE_CLUSTER if props.get(k) and props[k] != current.get(k)]
        network = props.get("networkProfile") or {}
        changes += [
            f"networkProfile.{k}"
            for k in IMMUTABLE_NETWORK
            if network.get(k) and network[k] != current["networkProfile"].get(k)
        ]
        if changes:
            raise arm_error(
                400,
                "PropertyChangeNotAllowed",  # *unverified* code
                f"Changing property '{changes[0]}' is not allowed.",
                target=changes[0],
            )

    def _create_progress(self, cluster_id: str, api_version: str | None) -> tuple[str, ...]:
        if (api_version or "9999") < DETAILED_PROGRESS_SINCE:
            return ("InProgress",)
        nodes = sum(p["properties"]["count"] for p in self.store.children(cluster_id, "agentPools"))
        return tuple(label.format(nodes=nodes) for label in CREATE_PROGRESS)

    def _settle(self, cluster_id: str, state: str) -> None:
        self.store.update(cluster_id, lambda c: c["properties"].update(provisioningState=state))
        for pool in self.store.children(cluster_id, "agentPools"):
            self.store.update(pool["id"], lambda p: p["properties"].update(provisioningState=state))

    def _render(self, cluster: dict[str, Any], api_version: str | None) -> dict[str, Any]:
        out = copy.deepcopy(cluster)
        profiles = []
        for pool in self.store.children(cluster["id"], "agentPools"):
            profiles.append({"name": pool["name"], **pool["properties"]})
        out["properties"]["agentPoolProfiles"] = profiles
        if out["properties"].get("linuxProfile") is None:
            out["properties"].pop("linuxProfile")
        return for_api_version(out, api_version, CLUSTER_SINCE)

    def get_cluster(self, request: Request, params: dict[str, str]) -> Response:
        self.double.operations.advance_target(self._cluster(params)["id"])
        # advancing may have finished a delete: then the cluster is gone, as Azure's next GET finds it
        return Response(200, self._render(self._cluster(params), request.api_version))

    def list_clusters(self, request: Request, params: dict[str, str]) -> Response:
        clusters = in_scope(self.double, params, TYPE)
        return Response(200, list_body([self._render(c, request.api_version) for c in clusters]))

    def delete_cluster(self, request: Request, params: dict[str, str]) -> Response:
        require_group(self.double, params)
        rid = resource_id(params, NS, "managedClusters")
        cluster = self.store.get(rid)
        if cluster is None:
            return Response(204)
        headers = self._start_delete(
            request, params, rid, cluster["location"], lambda code, message: self._settle(rid, "Failed")
        )
        headers["location"] = headers["location"].replace("/operationResults/", "/operationresults/")
        return Response(202, None, headers)

    def _start_delete(
        self, request: Request, params: dict[str, str], rid: str, location: str, on_failure: Callable
    ) -> dict[str, str]:
        """Mark the resource Deleting and start the operation that removes it; the 202's headers."""
        self.store.update(rid, lambda r: r["properties"].update(provisioningState="Deleting"))
        op = self.double.operations.start(
            target_id=rid,
            on_success=lambda: self.store.delete(rid),
            on_failure=on_failure,
            status_body=arm_status_body,
            **self.double.operation_overrides(request),
        )
        return operation_headers(
            self.double.base_url,
            params["subscription"],
            NS,
            location,
            op,
            STATUS_API_VERSION,
            location_header=True,
        )

    def power(self, request: Request, params: dict[str, str]) -> Response:
        """POST start / stop: 202 with both operation headers (*unverified*, like a delete); the power
        state changes when the operation ends."""
        cluster = self._cluster(params)
        starting = request.path.lower().endswith("/start")
        code, state = ("Running", "Starting") if starting else ("Stopped", "Stopping")
        rid = cluster["id"]
        self.store.update(rid, lambda c: c["properties"].update(provisioningState=state))

        def done() -> None:
            def settle(c: dict[str, Any]) -> None:
                c["properties"].update(provisioningState="Succeeded", powerState={"code": code})

            self.store.update(rid, settle)

        op = self.double.operations.start(
            target_id=rid,
            on_success=done,
            on_failure=lambda code_, message: self._settle(rid, "Failed"),
            status_body=arm_status_body,
            **self.double.operation_overrides(request),
        )
        headers = operation_headers(
            self.double.base_url,
            params["subscription"],
            NS,
            cluster["location"],
            op,
            STATUS_API_VERSION,
            location_header=True,
        )
        return Response(202, None, headers)

    # --- credentials ----------------------------------------------------------------------------
    def orchestrators(self, request: Request, params: dict[str, str]) -> Response:
        """The Kubernetes versions a region offers (`az aks get-versions`, azure.azcollection's check)."""
        if canonical_location(params["location"]) is None:
            raise arm_error(400, "InvalidLocation", f"The location '{params['location']}' is not valid.")
        patches = list(KUBERNETES_VERSIONS.values())
        versions = [
            {
                "orchestratorType": "Kubernetes",
                "orchestratorVersion": patch,
                **({"default": True} if _minor(patch) == DEFAULT_VERSION else {}),
                "upgrades": [
                    {"orchestratorType": "Kubernetes", "orchestratorVersion": newer}
                    for newer in patches[i + 1 :]
                ]
                or None,
            }
            for i, patch in enumerate(patches)
        ]
        base = f"/subscriptions/{params['subscription']}/providers/{NS}/locations/{params['location']}"
        return Response(
            200,
            {
                "id": f"{base}/orchestrators",
                "name": "default",
                "type": f"{NS}/locations/orchestrators",
                "properties": {"orchestrators": versions},
            },
        )

    def credentials(self, request: Request, params: dict[str, str]) -> Response:
        cluster = self._cluster(params)
        admin = request.path.lower().endswith("listclusteradmincredential")
        if admin and cluster["properties"].get("disableLocalAccounts"):
            raise arm_error(
                400,
                "BadRequest",  # *unverified* wording
                "Getting static credential is not allowed because this cluster is set to disable local "
                "accounts.",
            )
        kind = "clusterAdmin" if admin else "clusterUser"
        override = self.store.get(_kubeconfig_id(cluster["id"]))
        if override and not admin:
            value = base64.b64encode(override["value"].encode()).decode()
        else:
            value = self._kubeconfig(cluster, kind)
        return Response(200, {"kubeconfigs": [{"name": kind, "value": value}]})

    def _kubeconfig(self, cluster: dict[str, Any], kind: str) -> str:
        name = cluster["name"]
        group = cluster["id"].split("/")[4]
        user = f"{kind}_{group}_{name}"
        token = hashlib.sha256(f"{cluster['id']}/{kind}".lower().encode()).hexdigest()
        ca = base64.b64encode(
            b"-----BEGIN CERTIFICATE-----\nAzure double cluster CA\n-----END CERTIFICATE-----\n"
        )
        text = (
            "apiVersion: v1\n"
            "clusters:\n"
            f"- cluster:\n    certificate-authority-data: {ca.decode()}\n"
            f"    server: https://{cluster['properties']['fqdn']}:443\n"
            f"  name: {name}\n"
            "contexts:\n"
            f"- context:\n    cluster: {name}\n    user: {user}\n"
            f"  name: {name}{'-admin' if kind == 'clusterAdmin' else ''}\n"
            f"current-context: {name}{'-admin' if kind == 'clusterAdmin' else ''}\n"
            "kind: Config\n"
            "preferences: {}\n"
            "users:\n"
            f"- name: {user}\n  user:\n    token: {token}\n"
        )
        return base64.b64encode(text.encode()).decode()

    # --- agent pools (*unverified*: same operation style as the cluster) -------------------------
    def _upsert_pool(self, cluster_id: str, profile: dict[str, Any], version: str) -> dict[str, Any]:
        name = profile.get("name", "")
        if not POOL_NAME.match(name):
            raise invalid(
                "agentPoolProfile.name",
                f"The agent pool name '{name}' is invalid: 1-12 lowercase letters and digits, "
                "starting with a letter.",
            )
        pool_id = f"{cluster_id}/agentPools/{name}"
        existing = self.store.get(pool_id)
        count = profile.get("count", 1 if not existing else existing["properties"]["count"])
        mode = profile.get("mode") or (existing or {}).get("properties", {}).get("mode") or "User"
        if not isinstance(count, int) or not (1 if mode == "System" else 0) <= count <= 1000:
            raise invalid(
                "agentPoolProfile.count", f"The count {count} of agent pool '{name}' is out of range."
            )
        if existing:
            changed = [
                k for k in IMMUTABLE_POOL if profile.get(k) and profile[k] != existing["properties"].get(k)
            ]
            if changed:
                raise arm_error(
                    400,
                    "PropertyChangeNotAllowed",  # *unverified* code
                    f"Changing property '{changed[0]}' is not allowed.",
                    target=changed[0],
                )
            properties = existing["properties"]
        else:
            properties = copy.deepcopy(_POOL_TEMPLATE)
        for key in POOL_WRITABLE:
            if _given(profile.get(key)):
                value = profile[key]
                properties[key] = (
                    deep_merge(properties[key], value) if isinstance(properties.get(key), dict) else value
                )
        properties.update(count=count, mode=mode, vmSize=properties.get("vmSize") or DEFAULT_VM_SIZE)
        pool_version = ".".join(str(profile.get("orchestratorVersion") or version).split(".")[:2])
        properties.update(
            orchestratorVersion=pool_version,
            currentOrchestratorVersion=KUBERNETES_VERSIONS.get(pool_version, pool_version),
            provisioningState="Updating" if existing else "Creating",
        )
        # AKS does not echo the defaults of regular (non-spot) pools nor empty taints (recorded).
        if properties.get("scaleSetPriority", "Regular") == "Regular":
            for key in ("scaleSetPriority", "scaleSetEvictionPolicy", "spotMaxPrice"):
                properties.pop(key, None)
        if not properties.get("nodeTaints"):
            properties.pop("nodeTaints", None)
        pool = {"id": pool_id, "name": name, "type": f"{TYPE}/agentPools", "properties": properties}
        self.store.put(pool_id, pool)
        return pool

    def put_pool(self, request: Request, params: dict[str, str]) -> Response:
        cluster = self._cluster(params)
        existed = self.store.exists(f"{cluster['id']}/agentPools/{params['agentpools']}")
        profile = {"name": params["agentpools"], **(request.json_object().get("properties") or {})}
        pool = self._upsert_pool(cluster["id"], profile, _minor(cluster["properties"]["kubernetesVersion"]))
        op = self.double.operations.start(
            target_id=pool["id"],
            on_success=lambda: self.store.update(
                pool["id"], lambda p: p["properties"].update(provisioningState="Succeeded")
            ),
            on_failure=lambda code, message: self.store.update(
                pool["id"], lambda p: p["properties"].update(provisioningState="Failed")
            ),
            status_body=arm_status_body,
            **self.double.operation_overrides(request),
        )
        headers = operation_headers(
            self.double.base_url, params["subscription"], NS, cluster["location"], op, STATUS_API_VERSION
        )
        answer = for_api_version(self.store.get(pool["id"]), request.api_version, POOL_SINCE)
        return Response(200 if existed else 201, answer, headers)

    def get_pool(self, request: Request, params: dict[str, str]) -> Response:
        cluster = self._cluster(params)
        pool_id = f"{cluster['id']}/agentPools/{params['agentpools']}"
        self.double.operations.advance_target(pool_id)
        pool = self.store.get(pool_id)
        if pool is None:
            raise not_found(
                f"{TYPE}/agentPools", f"{cluster['name']}/{params['agentpools']}", params["resource_group"]
            )
        return Response(200, for_api_version(pool, request.api_version, POOL_SINCE))

    def list_pools(self, request: Request, params: dict[str, str]) -> Response:
        cluster = self._cluster(params)
        pools = self.store.children(cluster["id"], "agentPools")
        return Response(200, list_body([for_api_version(p, request.api_version, POOL_SINCE) for p in pools]))

    def delete_pool(self, request: Request, params: dict[str, str]) -> Response:
        cluster = self._cluster(params)
        pool_id = f"{cluster['id']}/agentPools/{params['agentpools']}"
        pool = self.store.get(pool_id)
        if pool is None:
            return Response(204)
        pools = self.store.children(cluster["id"], "agentPools")
        systems = [p for p in pools if p["properties"]["mode"] == "System"]
        if pool["properties"]["mode"] == "System" and len(systems) == 1:
            raise arm_error(
                400,
                "OperationNotAllowed",  # *unverified* wording
                "Operation is not allowed: a cluster must keep at least one System agent pool.",
            )
        headers = self._start_delete(
            request, params, pool_id, cluster["location"], lambda code, message: None
        )
        return Response(202, None, headers)


def _kubeconfig_id(cluster_id: str) -> str:
    return f"{cluster_id}/doubleUserKubeconfig/default"


def use_user_kubeconfig(double: AzureDouble, cluster_id: str, kubeconfig: str) -> None:
    """Make listClusterUserCredential of `cluster_id` answer `kubeconfig` (a real cluster's, for
    end-to-end tests); it is forgotten on reset() like every stored resource."""
    double.store.put(
        _kubeconfig_id(cluster_id),
        {
            "id": _kubeconfig_id(cluster_id),
            "name": "default",
            "type": "double/kubeconfig",
            "value": kubeconfig,
        },
    )


def _minor(version: str) -> str:
    return ".".join(str(version).split(".")[:2])


def _patch(requested: Any, minor: str) -> str:
    """The running patch: the one asked for, or the newest of the minor version."""
    return str(requested) if str(requested or "").count(".") == 2 else KUBERNETES_VERSIONS[minor]


# The recorded pool profile, without its name: the defaults AKS fills into an agent pool.
_POOL_TEMPLATE = {
    k: v for k, v in shape("aks_cluster")["properties"]["agentPoolProfiles"][0].items() if k != "name"
}
for _key in ("tags", "nodeLabels"):
    _POOL_TEMPLATE.pop(_key, None)


def register(double: AzureDouble) -> None:
    aks = ContainerServiceProvider(double)
    route = double.arm.add
    route_resource_type(
        route,
        NS,
        "managedClusters",
        put=aks.put_cluster,
        get=aks.get_cluster,
        delete=aks.delete_cluster,
        list_all=aks.list_clusters,
    )
    route("POST", f"{CLUSTER}/listClusterUserCredential", aks.credentials)
    route(
        "GET",
        f"/subscriptions/{{subscription}}/providers/{NS}/locations/{{location}}/orchestrators",
        aks.orchestrators,
    )
    route("POST", f"{CLUSTER}/listClusterAdminCredential", aks.credentials)
    route("POST", f"{CLUSTER}/start", aks.power)
    route("POST", f"{CLUSTER}/stop", aks.power)
    route("PUT", POOL, aks.put_pool)
    route("GET", POOL, aks.get_pool)
    route("DELETE", POOL, aks.delete_pool)
    route("GET", collection_pattern(NS, "managedClusters", "agentPools"), aks.list_pools)
