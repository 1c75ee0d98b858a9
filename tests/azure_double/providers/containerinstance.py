"""Microsoft.ContainerInstance containerGroups (recorded: api 2021-09-01; the SDK 10.1 uses 2023-05-01).

PUT answers 201 (200 on update) with Azure-AsyncOperation and provisioningState Pending; the operation
status reads {"id","status","startTime","properties":{"events"}}. Secrets never come back: secret volumes
answer {}, registry credentials lose their password, secure environment variables lose their value.
What Azure refuses to change in place (os type, restart policy, network, CPU/memory/GPU) is a 409
InvalidContainerGroupUpdate with Azure's own message.
"""

from __future__ import annotations

import copy
import hashlib
import re
from typing import TYPE_CHECKING, Any

from ..arm import (
    check_tags,
    for_api_version,
    list_body,
    not_found,
    provider_pattern,
    require_enum,
    require_location,
    resource_id,
    route_resource_type,
)
from ..http import Request, Response, arm_error
from ..lro import Operation, operation_headers, utc_now
from .authorization import system_identity
from .network import find_subnet, require_subnet, subnet_private_ip
from .resources import in_scope, require_group

if TYPE_CHECKING:
    from ..server import AzureDouble

NS = "Microsoft.ContainerInstance"
TYPE = f"{NS}/containerGroups"
GROUP = provider_pattern(NS, "containerGroups")
STATUS_API_VERSION = "2018-06-01"  # what real status URLs carry, whatever the PUT used
GROUP_NAME = re.compile(r"^(?!.*--)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
CONTAINER_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
MAX_CPU, MAX_MEMORY_GB = 4.0, 16.0  # Linux standard SKU limits per group
IMMUTABLE_MESSAGE = (
    "The updates on container group '{name}' are invalid. If you are going to update the os type, "
    "restart policy, network profile, CPU, memory or GPU resources for a container group, "
    "you must delete it first and then create "
    "a new one."
)


class ContainerInstanceProvider:
    def __init__(self, double: AzureDouble) -> None:
        self.double = double
        self.store = double.store

    # --- input --------------------------------------------------------------------------------------
    def _validate(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """The group's stored state from a PUT body; refuses what ACI refuses."""
        if not GROUP_NAME.match(name):
            raise arm_error(  # *unverified* code
                400,
                "InvalidContainerGroupName",
                f"The container group name '{name}' is invalid. The name must contain no more than 63 "
                "characters, only lowercase letters, numbers and hyphens, not start or end with a hyphen "
                "nor have two in a row.",
            )
        location = require_location(body, TYPE)
        props = body.get("properties") or {}
        containers = props.get("containers") or []
        if not containers:
            raise arm_error(
                400,
                "ContainerGroupContainersRequired",  # *unverified* code
                f"The container group '{name}' must have at least one container.",
            )
        os_type = require_enum(props.get("osType"), ("Linux", "Windows"), "InvalidOsType", "osType")
        restart = require_enum(
            props.get("restartPolicy", "Always"),
            ("Always", "OnFailure", "Never"),
            "InvalidRestartPolicy",
            "restartPolicy",
        )
        seen: set[str] = set()
        cpu = memory = 0.0
        for container in [*containers, *(props.get("initContainers") or [])]:
            cname = container.get("name", "")
            if not CONTAINER_NAME.match(cname) or cname in seen:
                raise arm_error(
                    400,
                    "InvalidContainerName",
                    f"The container name '{cname}' in container group '{name}' is invalid. "
                    "The container name must contain no more than 63 characters and must match the regex "
                    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?' "
                    "(e.g. 'my-name'), and be unique in the group.",
                )
            seen.add(cname)
            if not (container.get("properties") or {}).get("image"):
                raise arm_error(
                    400, "InvalidContainerImage", f"The image of container '{cname}' is required."
                )
        for container in containers:
            requests = ((container.get("properties") or {}).get("resources") or {}).get("requests") or {}
            if not _positive(requests.get("cpu")) or not _positive(requests.get("memoryInGB")):
                raise arm_error(
                    400,
                    "InvalidContainerResourceRequests",  # *unverified* code
                    f"The container '{container['name']}' must request cpu and memoryInGB above 0.",
                )
            cpu += float(requests["cpu"])
            memory += float(requests["memoryInGB"])
        if cpu > MAX_CPU or memory > MAX_MEMORY_GB:
            raise arm_error(
                400,
                "ResourceRequestsExceedLimit",  # *unverified* code
                f"The requested resource (cpu {cpu}, memory {memory} GB) exceeds the limit of the container "
                "group "
                f"(cpu {MAX_CPU}, memory {MAX_MEMORY_GB} GB) in region '{location}'.",
            )
        ip = props.get("ipAddress")
        if ip is not None:
            # ARM matches enum values case-insensitively and answers the canonical spelling ("public")
            ip = {
                **ip,
                "type": require_enum(ip.get("type"), IP_TYPES, "InvalidIpAddressType", "ipAddress.type"),
            }
            if not ip.get("dnsNameLabel"):  # the label scope only matters with a label (recorded)
                ip.pop("autoGeneratedDomainNameLabelScope", None)
            exposed = {
                p.get("port") for c in containers for p in (c.get("properties") or {}).get("ports") or []
            }
            for port in ip.get("ports") or []:
                if port.get("port") not in exposed:
                    raise arm_error(
                        400,
                        "InvalidIpAddressPorts",  # *unverified* code
                        f"The port {port.get('port')} of the ipAddress is not exposed by any container.",
                    )
        subnet_ids = props.get("subnetIds") or []
        for entry in subnet_ids:
            require_subnet(
                self.double,
                entry.get("id"),
                "Microsoft.ContainerInstance/containerGroups",
                f"container group '{name}'",
            )
        if subnet_ids and (ip or {}).get("type") == "Public":
            raise arm_error(  # *unverified* code
                400,
                "PublicIPAddressNotSupportedWithVirtualNetwork",
                f"The container group '{name}' joins a virtual network: its IP address type must be Private.",
            )
        if subnet_ids and (ip or {}).get("dnsNameLabel"):
            raise arm_error(  # *unverified* code
                400,
                "DnsNameLabelNotSupportedForPrivateIP",
                f"The container group '{name}' has a private IP address: a DNS name label is not supported.",
            )
        if (ip or {}).get("type") == "Private" and not subnet_ids:
            raise arm_error(  # *unverified* code
                400,
                "PrivateIPAddressNotSupported",
                f"The container group '{name}' needs subnetIds for a private IP address.",
            )
        return {
            "location": location,
            "tags": check_tags(body.get("tags")),
            "identity": body.get("identity"),
            "zones": body.get("zones"),
            "properties": {
                "sku": props.get("sku", "Standard"),
                "priority": props.get("priority"),
                "containers": copy.deepcopy(containers),
                "initContainers": copy.deepcopy(props.get("initContainers") or []),
                "imageRegistryCredentials": copy.deepcopy(props.get("imageRegistryCredentials")),
                "restartPolicy": restart,
                "ipAddress": copy.deepcopy(ip),
                "osType": os_type,
                "volumes": copy.deepcopy(props.get("volumes")),
                "subnetIds": copy.deepcopy(props.get("subnetIds")),
                "diagnostics": copy.deepcopy(props.get("diagnostics")),
            },
        }

    @staticmethod
    def _immutable(state: dict[str, Any]) -> dict[str, Any]:
        """What ACI cannot change in place (os type, restart policy, network profile, CPU/memory/GPU)."""
        props = state["properties"]
        return {
            "osType": props["osType"],
            "restartPolicy": props["restartPolicy"],
            "sku": props["sku"],
            "subnetIds": props.get("subnetIds"),
            "ipType": (props.get("ipAddress") or {}).get("type"),
            "resources": {
                c["name"]: (c.get("properties") or {}).get("resources") for c in props["containers"]
            },
        }

    # --- handlers -----------------------------------------------------------------------------------
    def put(self, request: Request, params: dict[str, str]) -> Response:
        group = require_group(self.double, params)
        name = params["containergroups"]
        desired = self._validate(name, request.json_object())
        rid = resource_id(params, NS, "containerGroups")
        existing = self.store.get(rid)
        if existing and self._immutable(existing) != self._immutable(desired):
            raise arm_error(
                409, "InvalidContainerGroupUpdate", IMMUTABLE_MESSAGE.format(name=name)
            )  # status *unverified*
        self._check_dns_label(rid, desired)
        desired["identity"] = system_identity(desired["identity"], rid, self.double.tenant_id)
        state = {
            "id": existing["id"] if existing else rid,
            "name": existing["name"] if existing else name,
            "type": TYPE,
            **desired,
            "provisioningState": "Pending",
            "running": False,
            "ip": (existing or {}).get("ip") or self._address_for(rid, desired),
            "resourceGroup": group["name"],
        }
        self.store.put(rid, state)
        op = self._start(request, rid, params)
        answer = self._render(self.store.get(rid), instance_view=True, api_version=request.api_version)
        headers = operation_headers(
            self.double.base_url, params["subscription"], NS, desired["location"], op, STATUS_API_VERSION
        )
        return Response(200 if existing else 201, answer, headers)

    def _address_for(self, rid: str, desired: dict[str, Any]) -> str:
        """A public address, or the next free one of the group's subnet (ACI takes it from the subnet)."""
        subnet_ids = desired["properties"].get("subnetIds") or []
        if not subnet_ids:
            return _ip_for(rid)
        subnet = find_subnet(self.double, subnet_ids[0]["id"])
        taken = {
            v.get("ip")
            for v in self.store.matching(
                lambda k, v: v.get("type") == TYPE and v.get("properties", {}).get("subnetIds")
            )
        }
        return subnet_private_ip(subnet, taken)

    def _start(self, request: Request, rid: str, params: dict[str, str]) -> Operation:
        def succeed() -> None:
            self.store.update(
                rid, lambda s: s.update(provisioningState="Succeeded", running=True, started=utc_now())
            )

        def fail(code: str, message: str) -> None:
            self.store.update(rid, lambda s: s.update(provisioningState="Failed", running=False))

        return self.double.operations.start(
            target_id=rid,
            on_success=succeed,
            on_failure=fail,
            status_body=lambda op: self._status_body(rid, op),
            pending_label="Pending",
            **self.double.operation_overrides(request),
        )

    def _status_body(self, rid: str, op: Operation) -> dict[str, Any]:
        state = self.store.get(rid)
        body: dict[str, Any] = {
            "id": state["id"] if state else rid,
            "status": op.status,
            "startTime": op.start_time,
        }
        events = []
        if state and op.status == "Succeeded":
            started = state.get("started") or utc_now()
            events = [e for c in state["properties"]["containers"] for e in _events(c, started)]
        body["properties"] = {"events": events}
        if op.status == "Failed":
            body["error"] = op.error_body()
        return body

    def _check_dns_label(self, rid: str, desired: dict[str, Any]) -> None:
        label = ((desired["properties"].get("ipAddress") or {}).get("dnsNameLabel") or "").lower()
        if not label:
            return
        clash = self.store.matching(
            lambda k, v: (
                v.get("type") == TYPE
                and k != rid.lower()
                and v["location"] == desired["location"]
                and ((v["properties"].get("ipAddress") or {}).get("dnsNameLabel") or "").lower() == label
            )
        )
        if clash:
            raise arm_error(
                409,
                "DnsNameLabelAlreadyUsed",  # *unverified* code
                f"The DNS name label '{label}' is already used in region '{desired['location']}'.",
            )

    def get(self, request: Request, params: dict[str, str]) -> Response:
        self.double.operations.advance_target(self._require(params)["id"])
        return Response(  # looked up again: advancing may have finished a delete (then 404, as Azure)
            200,
            self._render(self._require(params), instance_view=True, api_version=request.api_version),
        )

    def list(self, request: Request, params: dict[str, str]) -> Response:
        states = in_scope(self.double, params, TYPE)
        return Response(
            200,
            list_body(
                [self._render(s, instance_view=False, api_version=request.api_version) for s in states]
            ),
        )

    def delete(self, request: Request, params: dict[str, str]) -> Response:
        require_group(self.double, params)
        rid = resource_id(params, NS, "containerGroups")
        state = self.store.get(rid)
        if state is None:
            return Response(204)
        self.store.delete(rid)
        return Response(200, self._render(state, instance_view=True, api_version=request.api_version))

    def stop(self, request: Request, params: dict[str, str]) -> Response:
        state = self._require(params)
        self.store.update(state["id"], lambda s: s.update(running=False, stopped=True))
        return Response(204)

    def start(self, request: Request, params: dict[str, str]) -> Response:
        state = self._require(params)
        self.store.update(state["id"], lambda s: s.update(stopped=False))
        op = self._start(request, state["id"], params)
        headers = operation_headers(
            self.double.base_url, params["subscription"], NS, state["location"], op, STATUS_API_VERSION
        )
        return Response(202, None, headers)

    def restart(self, request: Request, params: dict[str, str]) -> Response:
        self._require(params)
        return Response(204)

    def logs(self, request: Request, params: dict[str, str]) -> Response:
        state = self._require(params)
        names = [c["name"] for c in state["properties"]["containers"] + state["properties"]["initContainers"]]
        container = params["containers"]
        if container not in names:
            raise arm_error(
                404,
                "ContainerNotFound",  # *unverified* code
                f"The container '{container}' is not found in container group '{state['name']}'.",
            )
        content = state.get("logs", {}).get(container, "")
        tail = request.query.get("tail")
        if tail and tail.isdigit():
            content = "".join(content.splitlines(keepends=True)[-int(tail) :])
        return Response(200, {"content": content})

    def _require(self, params: dict[str, str]) -> dict[str, Any]:
        require_group(self.double, params)
        state = self.store.get(resource_id(params, NS, "containerGroups"))
        if state is None:
            raise not_found(TYPE, params["containergroups"], params["resource_group"])
        return state

    # --- output -------------------------------------------------------------------------------------
    def _render(self, state: dict[str, Any], instance_view: bool, api_version: str | None) -> dict[str, Any]:
        props = state["properties"]
        running = state.get("running") and not state.get("stopped")
        out_props: dict[str, Any] = {
            "sku": props["sku"],
            "provisioningState": state["provisioningState"],
            "provisioningTimeoutInSeconds": DEFAULT_PROVISIONING_TIMEOUT_S,
            "isCustomProvisioningTimeout": False,
        }
        out_props["containers"] = [
            _render_container(c, state, instance_view, init=False) for c in props["containers"]
        ]
        out_props["initContainers"] = [
            _render_container(c, state, instance_view, init=True) for c in props["initContainers"]
        ]
        if props.get("imageRegistryCredentials"):
            out_props["imageRegistryCredentials"] = [
                {k: v for k, v in cred.items() if k != "password"}
                for cred in props["imageRegistryCredentials"]
            ]
        out_props["restartPolicy"] = props["restartPolicy"]
        private = (props.get("ipAddress") or {}).get("type") == "Private"
        # A group joining a subnet shows no ipAddress at all until its address is taken from the subnet
        # (recorded, 2023-05-01: the Pending PUT answer has none, the Succeeded GET has ip 10.0.0.4).
        if props.get("ipAddress") and not (private and state["provisioningState"] != "Succeeded"):
            ip = copy.deepcopy(props["ipAddress"])
            if state["provisioningState"] == "Succeeded":
                ip["ip"] = state["ip"]
            if ip.get("dnsNameLabel"):
                ip["fqdn"] = f"{ip['dnsNameLabel']}.{state['location']}.azurecontainer.io"
            out_props["ipAddress"] = _ordered(ip, ("ports", "ip", "type", "dnsNameLabel", "fqdn"))
        out_props["osType"] = props["osType"]
        if props.get("volumes"):
            out_props["volumes"] = [_render_volume(v) for v in props["volumes"]]
        for key in ("subnetIds", "diagnostics", "priority"):
            if props.get(key):
                out_props[key] = props[key]
        if instance_view:
            group_state = "Running" if running else ("Stopped" if state.get("stopped") else "Pending")
            if state["provisioningState"] == "Failed":
                group_state = "Stopped"
            out_props["instanceView"] = {"events": [], "state": group_state}
        answer = {
            "properties": out_props,
            "id": state["id"],
            "name": state["name"],
            "type": TYPE,
            "location": state["location"],
            "tags": state["tags"],
        }
        for key in ("identity", "zones"):
            if state.get(key):
                answer[key] = state[key]
        return for_api_version(answer, api_version, GROUP_SINCE)


IP_TYPES = ("Public", "Private")
DEFAULT_PROVISIONING_TIMEOUT_S = 1800
# Keys by api-version as recorded: 2023-05-01 answers the provisioning timeout (absent at 2021-09-01),
# configMap comes with 2024-10-01-preview (*unverified*).
GROUP_SINCE = {
    "properties.provisioningTimeoutInSeconds": "2023-05-01",
    "properties.isCustomProvisioningTimeout": "2023-05-01",
    "properties.priority": "2022-10-01",
    "properties.containers[].properties.configMap": "2024-10-01",
}


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _ip_for(rid: str) -> str:
    digest = hashlib.sha256(rid.lower().encode()).digest()
    return f"20.{digest[0]}.{digest[1]}.{digest[2] or 1}"


def _ordered(value: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    return {k: value[k] for k in order if k in value} | {k: v for k, v in value.items() if k not in order}


def _events(container: dict[str, Any], when: str) -> list[dict[str, Any]]:
    """A container's pull and start events, as a started container shows them."""
    image = container["properties"]["image"]
    steps = (
        ("Pulling", f'pulling image "{image}"'),
        ("Pulled", f'Successfully pulled image "{image}"'),
        ("Started", "Started container"),
    )
    return [
        {
            "count": 1,
            "firstTimestamp": when,
            "lastTimestamp": when,
            "name": name,
            "message": message,
            "type": "Normal",
        }
        for name, message in steps
    ]


def _render_container(container: dict[str, Any], state: dict[str, Any], instance_view: bool, init: bool):
    props = container.get("properties") or {}
    out = {
        k: copy.deepcopy(props[k])
        for k in (
            "image",
            "command",
            "ports",
            "environmentVariables",
            "resources",
            "volumeMounts",
            "livenessProbe",
            "readinessProbe",
            "configMap",
        )
        if props.get(k) is not None
    }
    # no ports or variables answer as empty lists (recorded 2021-09-01 and 2023-05-01)
    out.setdefault("ports", [])
    out.setdefault("environmentVariables", [])
    if "environmentVariables" in out:
        # A secure value is never returned (the name stays).
        out["environmentVariables"] = [
            {"name": e["name"], "value": e["value"]}
            if e.get("value") is not None and "secureValue" not in e
            else {"name": e["name"]}
            for e in out["environmentVariables"]
        ]
    if instance_view and state["provisioningState"] == "Succeeded":
        started = state.get("started") or utc_now()
        if init:
            current = {
                "state": "Terminated",
                "startTime": started,
                "exitCode": 0,
                "finishTime": started,
                "detailStatus": "Completed",
            }
        elif state.get("stopped"):
            current = {
                "state": "Terminated",
                "startTime": started,
                "exitCode": 0,
                "finishTime": utc_now(),
                "detailStatus": "Stopped",
            }
        else:
            current = {"state": "Running", "startTime": started, "detailStatus": ""}
        out["instanceView"] = {
            "restartCount": 0,
            "currentState": current,
            "events": _events(container, started),
        }
    ordered = (
        "image",
        "command",
        "ports",
        "environmentVariables",
        "instanceView",
        "resources",
        "volumeMounts",
    )
    return {"name": container["name"], "properties": _ordered(out, ordered)}


def _render_volume(volume: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(volume)
    if "secret" in out:
        out["secret"] = {}
    if isinstance(out.get("azureFile"), dict):
        out["azureFile"].pop("storageAccountKey", None)
    return out


def register(double: AzureDouble) -> None:
    aci = ContainerInstanceProvider(double)
    route = double.arm.add
    route_resource_type(
        route, NS, "containerGroups", put=aci.put, get=aci.get, delete=aci.delete, list_all=aci.list
    )
    route("POST", f"{GROUP}/stop", aci.stop)
    route("POST", f"{GROUP}/start", aci.start)
    route("POST", f"{GROUP}/restart", aci.restart)
    route("GET", f"{GROUP}/containers/{{containers}}/logs", aci.logs)
