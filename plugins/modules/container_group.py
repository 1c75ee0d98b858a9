#!/usr/bin/python
# Copyright: PAPR Memory engineers
# Apache-2.0
"""Azure Container Instances container group (for self-hosted Temporal: init container + server)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: container_group
short_description: Run containers on Azure Container Instances
description:
  - Ensures an Azure Container Instances container group (C(Microsoft.ContainerInstance/containerGroups)) runs
    the given containers (and init containers, for example a schema set-up step), with a public or private IP
    address and DNS label, or is absent.
  - Azure never returns secure environment variable values or registry passwords, so the module keeps a
    salted, slow hash of them in the tag C(papr-secrets-hash) and detects a changed secret by comparing
    hashes.
  - ACI cannot change the location, OS type, restart policy, IP address type, subnet or a container's CPU and
    memory in place. Such a change fails before anything is sent, unless O(allow_recreate=true), in which case
    the group is deleted and created again (the result says C(recreated)).
  - Idempotent; check mode sends no write request; diff mode masks secret values. Waits for Azure's
    long-running operation with the O(timeout) deadline.
version_added: 0.1.0
author:
  - PAPR Memory engineers (@papr-memory)
options:
  name:
    description: Name of the container group (1-63 lower-case letters, digits and single hyphens).
    type: str
    required: true
  resource_group:
    description: Resource group of the container group.
    type: str
    required: true
  location:
    description: Azure region. Default - the resource group's location.
    type: str
  os_type:
    description: Operating system of the containers.
    type: str
    choices: [Linux, Windows]
    default: Linux
  restart_policy:
    description: When ACI restarts containers that exit.
    type: str
    choices: [Always, OnFailure, Never]
    default: Always
  containers:
    description: The containers, all started together. Required with O(state=present).
    type: list
    elements: dict
    suboptions:
      name:
        description: Container name (lower-case letters, digits and hyphens).
        type: str
        required: true
      image:
        description: Image reference, V([registry/]repository[:tag]) or with V(@sha256:...).
        type: str
        required: true
      cpu: {description: CPU cores., type: float, default: 1}
      memory_gb: {description: Memory in GB., type: float, default: 1.5}
      ports: {description: TCP ports the container listens on., type: list, elements: int, default: []}
      command:
        description: Command and arguments (replaces the image's entry point).
        type: list
        elements: str
      environment: {description: Environment variables (values become strings)., type: dict, default: {}}
      secure_environment:
        description: Secret environment variables (never returned by Azure, never shown by this module).
        type: dict
        default: {}
      secret_files:
        description:
          - Secret files (file name to content), mounted read-only at O(containers[].secret_mount_path) in
            this container only (a C(secret) volume of the group; never returned by Azure, never shown by
            this module). Unlike a secure environment variable, no other container and no process listing
            sees them.
        type: dict
        default: {}
      secret_mount_path:
        description: Where O(containers[].secret_files) are mounted.
        type: str
        default: /mnt/secrets
  init_containers:
    description: Containers that run to completion, in order, before O(containers) start.
    type: list
    elements: dict
    default: []
    suboptions:
      name: {description: Container name., type: str, required: true}
      image: {description: Image reference., type: str, required: true}
      command: {description: Command and arguments., type: list, elements: str}
      environment: {description: Environment variables., type: dict, default: {}}
      secure_environment: {description: Secret environment variables., type: dict, default: {}}
      secret_files:
        description: Secret files (file name to content) of this init container only.
        type: dict
        default: {}
      secret_mount_path:
        description: Where its O(init_containers[].secret_files) are mounted.
        type: str
        default: /mnt/secrets
  registries:
    description: Credentials for private registries the images come from.
    type: list
    elements: dict
    default: []
    suboptions:
      server:
        description: Registry host, for example V(myregistry.azurecr.io).
        type: str
        required: true
      username: {description: User name., type: str, required: true}
      password: {description: Password (never shown)., type: str, required: true}
  ip_address:
    description:
      - V(public) - a public IP exposing every container port; V(private) - an address of O(subnet) only, no
        public IP; V(none).
    type: str
    choices: [public, private, none]
    default: public
  subnet:
    description:
      - The subnet (delegated to C(Microsoft.ContainerInstance/containerGroups)) the group runs in, as an id
        or V(<virtual network>/<subnet>) in O(resource_group) (C(subnetIds)). Needed by O(ip_address=private).
      - ACI cannot move a group to another subnet in place (see O(allow_recreate)).
    type: str
  dns_name_label:
    description: DNS label of the public IP (C(<label>.<region>.azurecontainer.io)); unique per region.
    type: str
  allow_recreate:
    description: Delete and create the group again when a change cannot be made in place.
    type: bool
    default: false
  state:
    description: Whether the container group should exist.
extends_documentation_fragment:
  - papr.memory.azure
  - papr.memory.azure.tags
  - papr.memory.azure.state
  - papr.memory.azure.lifecycle
requirements:
  - azure-mgmt-containerinstance >= 10.1
"""

EXAMPLES = r"""
- name: Temporal server on ACI, schema set up first by an init container
  papr.memory.container_group:
    name: papr-memory-temporal
    resource_group: papr-memory-prod
    dns_name_label: papr-memory-temporal
    init_containers:
      - name: schema
        image: temporalio/admin-tools:1.27
        command: [sh, -c, "temporal-sql-tool --ep $POSTGRES_SEEDS setup-schema -v 0.0"]
        environment: {POSTGRES_SEEDS: papr-memory-pg.postgres.database.azure.com}
        secure_environment: {SQL_PASSWORD: "{{ vault_postgres_password }}"}
    containers:
      - name: temporal
        image: temporalio/server:1.27
        cpu: 2
        memory_gb: 4
        ports: [7233]
        environment: {DB: postgres12, POSTGRES_SEEDS: papr-memory-pg.postgres.database.azure.com}
        secure_environment: {POSTGRES_PWD: "{{ vault_postgres_password }}"}
"""

RETURN = r"""
extends_documentation_fragment:
  - papr.memory.azure.result
  - papr.memory.azure.lifecycle_result
container_group:
  description: The container group after the task (empty when absent); secret values are never included.
  returned: always
  type: dict
  contains:
    id: {description: Resource id., type: str}
    name: {description: Name., type: str}
    location: {description: Location., type: str}
    ip: {description: Public IP address (once provisioned)., type: str}
    fqdn: {description: Fully qualified domain name of the DNS label., type: str}
    provisioning_state: {description: ARM provisioning state., type: str, sample: Succeeded}
    state: {description: Group state from the instance view., type: str, sample: Running}
    containers:
      description: Name, image and current state of each container.
      type: list
      elements: dict
recreated:
  description: Whether the group was (or in check mode would be) deleted and created again.
  returned: always
  type: bool
"""

import base64
import re

from ansible_collections.papr.memory.plugins.module_utils.azure_container_instance import ContainerGroups
from ansible_collections.papr.memory.plugins.module_utils.azure_diff import (
    MASK,
    SECRETS_TAG,
    TAGS_ARGUMENT_SPEC,
    changed_keys,
    desired_tags,
    normalise_location,
    secrets_fingerprint,
    string_map,
    with_secrets_hash_masked,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_errors import AzureModuleError
from ansible_collections.papr.memory.plugins.module_utils.azure_image import parse_image
from ansible_collections.papr.memory.plugins.module_utils.azure_module import STATE_ARGUMENT_SPEC
from ansible_collections.papr.memory.plugins.module_utils.azure_names import name_pattern, require_valid_name
from ansible_collections.papr.memory.plugins.module_utils.azure_network import subnet_id
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

NAME_PATTERN = name_pattern("container_group")
DNS_LABEL_PATTERN = name_pattern("dns_label")
# Linux container group limits in most regions (a request above them fails in Azure after a round trip).
MAX_CPU = 4.0
SECRET_FILE_NAME = re.compile(r"^[A-Za-z0-9._-]{1,253}$")
MAX_MEMORY_GB = 16.0
# What ACI refuses to change in place (its InvalidContainerGroupUpdate message lists these).
IMMUTABLE_FIELDS = ("location", "os_type", "restart_policy", "ip_type", "subnet", "resources")


# --- validation ---------------------------------------------------------------------------------------
def validate(params):
    require_valid_name("container_group", params["name"])
    if params["state"] == "absent":
        return
    if not params["containers"]:
        raise AzureModuleError("`containers` needs at least one container with state=present.")
    names = [c["name"] for c in params["containers"] + params["init_containers"]]
    for container in params["containers"] + params["init_containers"]:
        require_valid_name("container", container["name"])
        parse_image(container["image"])
        for file_name in container.get("secret_files") or {}:
            if not SECRET_FILE_NAME.match(file_name) or file_name in (".", ".."):
                raise AzureModuleError(
                    f"Container {container['name']!r}: secret file name {file_name!r} must be letters, "
                    "digits, '.', '_' and '-'."
                )
        mount_path = str(container.get("secret_mount_path") or "")
        if container.get("secret_files") and not mount_path.startswith("/"):
            raise AzureModuleError(f"Container {container['name']!r}: secret_mount_path must be absolute.")
        clash = set(container.get("environment") or {}) & set(container.get("secure_environment") or {})
        if clash:
            raise AzureModuleError(
                f"Container {container['name']!r} sets {', '.join(sorted(clash))} in both environment and "
                "secure_environment."
            )
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise AzureModuleError(f"Container names must be unique in the group: {', '.join(duplicates)}.")
    for container in params["containers"]:
        if container["cpu"] <= 0 or container["memory_gb"] <= 0:
            raise AzureModuleError(f"Container {container['name']!r}: cpu and memory_gb must be above 0.")
        bad_ports = [port for port in container["ports"] if not 1 <= port <= 65535]
        if bad_ports:
            raise AzureModuleError(f"Container {container['name']!r}: {bad_ports} are not TCP ports.")
    cpu = sum(c["cpu"] for c in params["containers"])
    memory = sum(c["memory_gb"] for c in params["containers"])
    if cpu > MAX_CPU or memory > MAX_MEMORY_GB:
        raise AzureModuleError(
            f"The containers ask for {cpu:g} CPU and {memory:g} GB in total; a container group has at most "
            f"{MAX_CPU:g} CPU and {MAX_MEMORY_GB:g} GB. Use smaller requests or several groups."
        )
    if params["ip_address"] == "public" and not any(c["ports"] for c in params["containers"]):
        raise AzureModuleError("ip_address=public needs at least one container port (or ip_address: none).")
    if params["subnet"]:
        subnet_id("", params["resource_group"], params["subnet"])  # its form, before any call
        if params["ip_address"] == "public":
            raise AzureModuleError(
                "A group in a subnet has no public IP: give ip_address: private (or none)."
            )
    elif params["ip_address"] == "private":
        raise AzureModuleError("ip_address=private needs `subnet`: the private address comes from it.")
    label = params["dns_name_label"]
    if label and (params["ip_address"] != "public" or not DNS_LABEL_PATTERN.match(label)):
        raise AzureModuleError(
            f"dns_name_label {label!r} needs ip_address=public and 1-63 lower-case letters, digits and "
            "hyphens, starting with a letter."
        )


# --- desired state and comparison --------------------------------------------------------------------------
def secret_values(params):
    """Every secret the group carries as (where, value), in a stable order (for the hash tag)."""
    secrets = []
    for container in (params["containers"] or []) + params["init_containers"]:
        for name, value in sorted(string_map(container.get("secure_environment")).items()):
            secrets.append((f"env:{container['name']}:{name}", value))
        for name, value in sorted(string_map(container.get("secret_files")).items()):
            secrets.append((f"file:{container['name']}:{name}", value))
    for registry in params["registries"]:
        secrets.append(
            (f"registry:{registry['server'].lower()}:{registry['username']}", registry["password"])
        )
    return secrets


def container_body(container, init):
    environment = [
        {"name": k, "value": v} for k, v in sorted(string_map(container.get("environment")).items())
    ]
    secure = string_map(container.get("secure_environment"))
    environment += [{"name": k, "secureValue": v} for k, v in sorted(secure.items())]
    properties = {"image": str(parse_image(container["image"])), "environmentVariables": environment}
    if container.get("command"):
        properties["command"] = container["command"]
    if container.get("secret_files"):
        properties["volumeMounts"] = [
            {
                "name": secret_volume_name(container),
                "mountPath": container["secret_mount_path"],
                "readOnly": True,
            }
        ]
    if not init:
        properties["ports"] = [{"port": port, "protocol": "TCP"} for port in container["ports"]]
        properties["resources"] = {
            "requests": {"cpu": container["cpu"], "memoryInGB": container["memory_gb"]}
        }
    return {"name": container["name"], "properties": properties}


def secret_volume_name(container):
    return f"{container['name']}-secrets"


def secret_volumes(params):
    """One `secret` volume per container with secret files (ACI wants the contents in base64)."""
    return [
        {
            "name": secret_volume_name(container),
            "secret": {
                name: base64.b64encode(value.encode()).decode()
                for name, value in sorted(string_map(container["secret_files"]).items())
            },
        }
        for container in params["containers"] + params["init_containers"]
        if container.get("secret_files")
    ]


def group_body(params, location, tags, subscription_id):
    containers = params["containers"]
    properties = {
        "osType": params["os_type"],
        "restartPolicy": params["restart_policy"],
        "sku": "Standard",
        "containers": [container_body(c, init=False) for c in containers],
        "initContainers": [container_body(c, init=True) for c in params["init_containers"]],
    }
    volumes = secret_volumes(params)
    if volumes:
        properties["volumes"] = volumes
    if params["registries"]:
        properties["imageRegistryCredentials"] = [
            {"server": r["server"], "username": r["username"], "password": r["password"]}
            for r in params["registries"]
        ]
    if params["ip_address"] != "none":
        ip = {
            "type": params["ip_address"].capitalize(),
            "ports": [{"port": port, "protocol": "TCP"} for c in containers for port in c["ports"]],
        }
        if params["dns_name_label"]:
            ip["dnsNameLabel"] = params["dns_name_label"]
        properties["ipAddress"] = ip
    if params["subnet"]:
        properties["subnetIds"] = [
            {"id": subnet_id(subscription_id, params["resource_group"], params["subnet"])}
        ]
    return {"location": location, "tags": tags, "properties": properties}


def _container_view(container, init):
    properties = container.get("properties") or {}
    environment = properties.get("environmentVariables") or []
    view = {
        "name": container["name"],
        "image": properties.get("image"),
        "command": properties.get("command") or [],
        "environment": {e["name"]: e["value"] for e in environment if e.get("value") is not None},
        # Azure answers a secure variable with its name only: the value is compared through the hash tag.
        "secure_environment": {e["name"]: MASK for e in environment if e.get("value") is None},
        # Secret file contents never come back: the hash tag compares them.
        "volume_mounts": sorted(
            f"{m.get('name')}:{m.get('mountPath')}:{'ro' if m.get('readOnly') else 'rw'}"
            for m in properties.get("volumeMounts") or []
        ),
    }
    if not init:
        requests = (properties.get("resources") or {}).get("requests") or {}
        view["ports"] = sorted(p["port"] for p in properties.get("ports") or [])
        view["cpu"] = float(requests.get("cpu") or 0)
        view["memory_gb"] = float(requests.get("memoryInGB") or 0)
    return view


def comparable(group):
    """The managed fields of a group body or GET answer, normalised and without secret values."""
    if not group:
        return {}
    properties = group.get("properties") or {}
    ip = properties.get("ipAddress") or {}
    tags = dict(group.get("tags") or {})
    return {
        "location": normalise_location(group.get("location")),
        "os_type": properties.get("osType"),
        "restart_policy": properties.get("restartPolicy"),
        "ip_type": ip.get("type"),
        "subnet": next((s["id"].rstrip("/").lower() for s in properties.get("subnetIds") or []), None),
        "dns_name_label": (ip.get("dnsNameLabel") or "").lower() or None,
        "containers": [_container_view(c, init=False) for c in properties.get("containers") or []],
        "init_containers": [_container_view(c, init=True) for c in properties.get("initContainers") or []],
        "volumes": sorted(
            f"{v.get('name')}:{','.join(sorted(k for k in v if k != 'name'))}"
            for v in properties.get("volumes") or []
        ),
        "registries": sorted(
            f"{r.get('username')}@{(r.get('server') or '').lower()}"
            for r in properties.get("imageRegistryCredentials") or []
        ),
        "secrets_hash": tags.pop(SECRETS_TAG, None),
        "tags": tags,
    }


def immutable_view(view):
    return {
        "location": view.get("location"),
        "os_type": view.get("os_type"),
        "restart_policy": view.get("restart_policy"),
        "ip_type": view.get("ip_type"),
        "subnet": view.get("subnet"),
        "resources": {c["name"]: (c["cpu"], c["memory_gb"]) for c in view.get("containers") or []},
    }


def summarise(group):
    if not group:
        return {}
    properties = group.get("properties") or {}
    ip = properties.get("ipAddress") or {}
    return {
        "id": group.get("id"),
        "name": group.get("name"),
        "location": group.get("location"),
        "ip": ip.get("ip"),
        "fqdn": ip.get("fqdn"),
        "provisioning_state": properties.get("provisioningState"),
        "state": (properties.get("instanceView") or {}).get("state"),
        "containers": [
            {
                "name": c["name"],
                "image": (c.get("properties") or {}).get("image"),
                "state": (
                    ((c.get("properties") or {}).get("instanceView") or {}).get("currentState") or {}
                ).get("state"),
            }
            for c in properties.get("containers") or []
        ],
    }


# --- the module ----------------------------------------------------------------------------------------
# ACI provisioning states of a group Azure is still working on.
TRANSITIONAL_STATES = ("pending", "creating", "updating", "repairing", "deleting")


class ContainerGroup(Resource):
    kind = "container group"
    result_key = "container_group"
    repairs_failed = True  # a failed deployment is sent again, even when nothing else changed

    def __init__(self, module):
        super().__init__(module)
        params = self.params
        self.groups = ContainerGroups(module, self.description, params["resource_group"], params["name"])

    def secrets(self):
        return [secret[1] for secret in secret_values(self.params)]

    def validate(self):
        validate(self.params)

    def read(self):
        return self.groups.get_group()

    def lifecycle(self, current):
        properties = current.get("properties") or {}
        provisioning = properties.get("provisioningState") or ""
        state = (properties.get("instanceView") or {}).get("state")
        return provisioning_lifecycle(provisioning, TRANSITIONAL_STATES) or Lifecycle(
            STOPPED if (state or "").lower() == "stopped" else RUNNING, state or provisioning
        )

    def start_write(self, current):
        return Write("start", self.description, self.groups.start)

    def read_related(self, current):
        if current is not None or self.params["state"] == "absent":
            return None
        return location_for(
            self.module, self.params["location"], self.params["resource_group"], self.description
        )

    def plan(self, current, related):
        if self.params["state"] == "absent":
            if current is None:
                return Plan(result={"recreated": False})
            before = with_secrets_hash_masked(comparable(current))
            return Plan(
                [Write("delete", self.description, self.groups.delete)],
                before,
                {},
                result={"recreated": False},
            )
        params = self.params
        current_view = comparable(current)
        location = params["location"] or (current["location"] if current else related)
        tags = desired_tags(params["tags"], params["purge_tags"], current_view.get("tags"))
        tag = secrets_fingerprint(secret_values(params), current_view.get("secrets_hash"))
        if tag:
            tags[SECRETS_TAG] = tag
        body = group_body(params, location, tags, self.module.subscription_id)
        desired_view = comparable(body)

        differences = changed_keys(current_view, desired_view)
        if current and (current.get("properties") or {}).get("provisioningState") == "Failed":
            differences.append("provisioning_state")
        recreate = bool(current) and immutable_view(current_view) != immutable_view(desired_view)
        if recreate and not params["allow_recreate"]:
            fields = [
                k
                for k in IMMUTABLE_FIELDS
                if immutable_view(current_view)[k] != immutable_view(desired_view)[k]
            ]
            raise AzureModuleError(
                f"{self.description}: changing {', '.join(fields)} needs the group to be deleted and "
                "created again (ACI cannot change location, OS type, restart policy, IP address type, "
                "subnet, CPU or memory in place). Set allow_recreate: true to do that (the containers "
                "restart and a public IP may change)."
            )
        writes = []
        if differences:
            if recreate:
                writes.append(
                    Write("delete", self.description, self.groups.delete, differences, key="recreate")
                )
            action = "update" if current and not recreate else "create"
            writes.append(
                Write(
                    action, self.description, lambda: self.groups.create_or_update(body), differences, "group"
                )
            )
        before, after = with_secrets_hash_masked(current_view), with_secrets_hash_masked(desired_view)
        return Plan(writes, before, after, result={"recreated": recreate})

    def summarise(self, current, related, plan, answers):
        if self.params["state"] == "absent":
            return {}
        if "recreate" in answers:
            self.module.warn(
                f"{self.description} was deleted and created again: {', '.join(plan.writes[-1].changes)}."
            )
        return summarise(answers.get("group", current))


def main():
    environment_options = dict(
        environment=dict(type="dict", default={}),
        secure_environment=dict(type="dict", default={}, no_log=True),
        secret_files=dict(type="dict", default={}, no_log=True),
        secret_mount_path=dict(type="str", default="/mnt/secrets", no_log=False),  # a path, not a secret
        command=dict(type="list", elements="str"),
    )
    run_module(
        ContainerGroup,
        dict(
            name=dict(type="str", required=True),
            resource_group=dict(type="str", required=True),
            location=dict(type="str"),
            os_type=dict(type="str", choices=["Linux", "Windows"], default="Linux"),
            restart_policy=dict(type="str", choices=["Always", "OnFailure", "Never"], default="Always"),
            containers=dict(
                type="list",
                elements="dict",
                options=dict(
                    name=dict(type="str", required=True),
                    image=dict(type="str", required=True),
                    cpu=dict(type="float", default=1),
                    memory_gb=dict(type="float", default=1.5),
                    ports=dict(type="list", elements="int", default=[]),
                    **environment_options,
                ),
            ),
            init_containers=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    name=dict(type="str", required=True),
                    image=dict(type="str", required=True),
                    **environment_options,
                ),
            ),
            registries=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    server=dict(type="str", required=True),
                    username=dict(type="str", required=True),
                    password=dict(type="str", required=True, no_log=True),
                ),
            ),
            ip_address=dict(type="str", choices=["public", "private", "none"], default="public"),
            dns_name_label=dict(type="str"),
            subnet=dict(type="str"),
            allow_recreate=dict(type="bool", default=False),
            **STATE_ARGUMENT_SPEC,
            **TAGS_ARGUMENT_SPEC,
        ),
        lifecycle=True,
    )


if __name__ == "__main__":
    main()
