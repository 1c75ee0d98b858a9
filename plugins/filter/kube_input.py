# Copyright: PAPR Memory engineers
# Apache-2.0
"""Filters that check the aks face's inventory values before anything is applied to a cluster, so
a bad value fails naming its variable instead of half-way through a rollout (or as pods that never
schedule)."""

from __future__ import annotations

import re

# Kubernetes resource quantities: a decimal number with an optional SI or binary suffix.
QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
MULTIPLIERS = {
    None: 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}  # fmt: skip


def kube_quantity(value, variable="value"):
    """'500m' -> 0.5, '2Gi' -> 2147483648.0, 2 -> 2.0; ValueError naming `variable` otherwise."""
    match = QUANTITY.match(str(value).strip())
    if match is None:
        raise ValueError(f"{variable}={value!r} is not a Kubernetes quantity (e.g. 500m, 2, 512Mi, 4Gi)")
    return float(match.group(1)) * MULTIPLIERS[match.group(2)]


def _integer(value):
    try:
        return int(value) if str(value).strip().lstrip("-").isdigit() else None
    except (TypeError, ValueError):
        return None


def kube_workload_problems(workload, prefix, node):
    """Every problem of one workload's scaling and sizing, each naming its variable.

    workload: {replicas, max_replicas, cpu_target_percent, resources: {requests, limits}}, read from
    the variables <prefix>_replicas, <prefix>_max_replicas, <prefix>_cpu_target_percent and
    <prefix>_resources. node: {name, variable, vcpu, memory_gb}, the node size the pods must fit.
    """
    problems = []
    replicas, max_replicas = _integer(workload.get("replicas")), _integer(workload.get("max_replicas"))
    if replicas is None or replicas < 1:
        problems.append(
            f"{prefix}_replicas={workload.get('replicas')!r} must be a whole number of at least 1"
        )
    if max_replicas is None or (replicas is not None and max_replicas < replicas):
        problems.append(
            f"{prefix}_max_replicas={workload.get('max_replicas')!r} must be a whole number not below "
            f"{prefix}_replicas={workload.get('replicas')!r} (the autoscaler's minimum)"
        )
    target = _integer(workload.get("cpu_target_percent"))
    if target is None or not 1 <= target <= 100:
        problems.append(f"{prefix}_cpu_target_percent={workload.get('cpu_target_percent')!r} must be 1-100")
    resources = workload.get("resources") or {}
    node_size = {"cpu": float(node.get("vcpu") or 0), "memory": float(node.get("memory_gb") or 0) * 2**30}
    for resource in ("cpu", "memory"):
        amounts = {}
        for kind in ("requests", "limits"):
            value = (resources.get(kind) or {}).get(resource)
            variable = f"{prefix}_resources.{kind}.{resource}"
            if value is None:
                problems.append(f"{variable} is not set")
                continue
            try:
                amounts[kind] = kube_quantity(value, variable)
            except ValueError as error:
                problems.append(str(error))
        request, limit = amounts.get("requests"), amounts.get("limits")
        if request is not None and limit is not None and request > limit:
            problems.append(
                f"{prefix}_resources.requests.{resource} is above {prefix}_resources.limits.{resource}"
            )
        if request is not None and node_size[resource] and request > node_size[resource]:
            problems.append(
                f"{prefix}_resources.requests.{resource}={resources['requests'][resource]} is larger than "
                f"a node ({node.get('variable')}={node.get('name')}: {node.get('vcpu')} vCPU, "
                f"{node.get('memory_gb')} GB): "
                "no pod could ever be scheduled"
            )
    return problems


class FilterModule:
    def filters(self):
        return {"kube_quantity": kube_quantity, "kube_workload_problems": kube_workload_problems}
