#!/usr/bin/python
# Copyright: PAPR Memory engineers
# Apache-2.0
"""Azure App Service plan (Microsoft.Web/serverfarms): SKU, worker count, Linux, tags."""

from __future__ import annotations

DOCUMENTATION = r"""
module: app_service_plan
short_description: Create, resize or delete an Azure App Service plan
description:
  - Ensures an App Service plan (C(Microsoft.Web/serverfarms)) exists with the given SKU, number of workers,
    operating system and tags, or is absent.
  - The SKU is checked against the known App Service SKUs before anything is sent, and compared without case
    (Azure answers V(P1v3) for V(P1V3)).
  - Idempotent; check mode sends no write request; diff mode shows the plan before and after.
version_added: 0.1.0
author:
  - PAPR Memory engineers (@papr-memory)
options:
  name:
    description: Name of the plan (1-60 letters, digits and hyphens).
    type: str
    required: true
  resource_group:
    description: Resource group of the plan.
    type: str
    required: true
  location:
    description:
      - Azure region. Default - the resource group's location. A plan cannot move to another region.
    type: str
  sku:
    description:
      - The pricing tier, for example V(B1), V(S1), V(P1v3), V(P2v3), V(P1mv3). Case does not matter.
      - Required to create the plan; not given on an existing plan - its SKU is left alone.
    type: str
  capacity:
    description: Number of workers (instances). Not given - V(1) on create, left alone on an existing plan.
    type: int
  linux:
    description: A Linux plan (runs containers). Cannot change once the plan exists.
    type: bool
    default: true
  zone_redundant:
    description:
      - Spread the workers across availability zones (Premium v2/v3 and Isolated v2; at least 3 workers).
    type: bool
  state:
    description: Whether the plan should exist. Deleting a plan that still hosts apps fails and names them.
extends_documentation_fragment:
  - papr.memory.azure
  - papr.memory.azure.tags
  - papr.memory.azure.state
requirements:
  - azure-mgmt-web >= 7
"""

EXAMPLES = r"""
- name: Plan for the split option's web server (8 GB, 2 vCPU)
  papr.memory.app_service_plan:
    name: papr-memory-web-plan
    resource_group: papr-memory-prod
    sku: P1v3
    tags:
      app: papr-memory

- name: Scale out to three workers
  papr.memory.app_service_plan:
    name: papr-memory-web-plan
    resource_group: papr-memory-prod
    capacity: 3
"""

RETURN = r"""
extends_documentation_fragment:
  - papr.memory.azure.result
plan:
  description: The plan after the task (empty when absent).
  returned: always
  type: dict
  contains:
    id: {description: Resource id., type: str}
    name: {description: Name., type: str, sample: papr-memory-web-plan}
    location: {description: Location as Azure answers it., type: str, sample: West Europe}
    sku: {description: SKU name., type: str, sample: P1v3}
    tier: {description: SKU tier., type: str, sample: PremiumV3}
    capacity: {description: Number of workers., type: int, sample: 1}
    linux: {description: Whether it is a Linux plan., type: bool, sample: true}
    zone_redundant: {description: Zone redundancy., type: bool, sample: false}
    maximum_number_of_workers: {description: Most workers the SKU allows., type: int, sample: 30}
    number_of_sites: {description: Apps hosted on the plan., type: int, sample: 1}
    tags: {description: Tags., type: dict}
"""

from ansible_collections.papr.memory.plugins.module_utils.azure_diff import (
    TAGS_ARGUMENT_SPEC,
    desired_tags,
    same_location,
    same_text,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_errors import AzureModuleError
from ansible_collections.papr.memory.plugins.module_utils.azure_module import STATE_ARGUMENT_SPEC
from ansible_collections.papr.memory.plugins.module_utils.azure_names import name_pattern, require_valid_name
from ansible_collections.papr.memory.plugins.module_utils.azure_runner import (
    Plan,
    Resource,
    Write,
    run_module,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_service import location_for
from ansible_collections.papr.memory.plugins.module_utils.azure_web import AppServicePlans

NAME_PATTERN = name_pattern("app_service_plan")


def _skus(tier, *names):
    return {name.lower(): (name, tier) for name in names}


# App Service SKUs by canonical name -> (name as Azure answers it, tier).
SKUS = {
    **_skus("Free", "F1"),
    **_skus("Shared", "D1"),
    **_skus("Basic", "B1", "B2", "B3"),
    **_skus("Standard", "S1", "S2", "S3"),
    **_skus("Premium", "P1", "P2", "P3"),
    **_skus("PremiumV2", "P1v2", "P2v2", "P3v2"),
    **_skus("PremiumV3", "P0v3", "P1v3", "P2v3", "P3v3"),
    **_skus("PremiumMV3", "P1mv3", "P2mv3", "P3mv3", "P4mv3", "P5mv3"),
    **_skus("PremiumV4", "P0v4", "P1v4", "P2v4", "P3v4"),
    **_skus("IsolatedV2", "I1v2", "I2v2", "I3v2", "I4v2", "I5v2", "I6v2"),
    **_skus("IsolatedMV2", "I1mv2", "I2mv2", "I3mv2", "I4mv2", "I5mv2"),
    **_skus("ElasticPremium", "EP1", "EP2", "EP3"),
    **_skus("Dynamic", "Y1"),
    **_skus("FlexConsumption", "FC1"),
    **_skus("WorkflowStandard", "WS1", "WS2", "WS3"),
}


def canonical_sku(name):
    """(name, tier) of a SKU given in any case; fails for names App Service does not have."""
    sku = SKUS.get(name.lower())
    if sku is None:
        known = ", ".join(value[0] for value in SKUS.values())
        raise AzureModuleError(f"Unknown App Service SKU {name!r}: use one of {known}.")
    return sku


def summarise(plan):
    if not plan:
        return {}
    sku = plan.get("sku") or {}
    properties = plan.get("properties") or {}
    return {
        "id": plan.get("id"),
        "name": plan.get("name"),
        "location": plan.get("location"),
        "sku": sku.get("name"),
        "tier": sku.get("tier"),
        "capacity": sku.get("capacity"),
        "linux": bool(properties.get("reserved")),
        "zone_redundant": bool(properties.get("zoneRedundant")),
        "maximum_number_of_workers": properties.get("maximumNumberOfWorkers"),
        "number_of_sites": properties.get("numberOfSites"),
        "tags": plan.get("tags") or {},
    }


def comparable(plan_summary):
    """The fields the module manages, in the form both sides are compared in."""
    keys = ("location", "sku", "capacity", "linux", "zone_redundant", "tags")
    return {key: plan_summary.get(key) for key in keys} if plan_summary else {}


def desired_state(params, current, location, description):
    """The plan as it should be, from the options and what exists (no Azure call)."""
    if current:
        if params["location"] and not same_location(current["location"], params["location"]):
            raise AzureModuleError(
                f"{description} is in {current['location']}, not {params['location']}: a plan cannot move. "
                "Create a new plan in the new region."
            )
        if current["linux"] != params["linux"]:
            os_now = "Linux" if current["linux"] else "Windows"
            raise AzureModuleError(
                f"{description} is a {os_now} plan and cannot change its operating system: set linux: "
                f"{str(current['linux']).lower()}, or create another plan."
            )
    if not current and not params["sku"]:
        raise AzureModuleError(f"{description} does not exist: give `sku` (for example P1v3) to create it.")
    sku, tier = canonical_sku(params["sku"]) if params["sku"] else (current["sku"], current["tier"])
    zone_redundant = params["zone_redundant"]
    return {
        "location": current["location"] if current else location,
        "sku": current["sku"] if current and same_text(current["sku"], sku) else sku,
        "tier": tier,
        "capacity": params["capacity"] or (current["capacity"] if current else 1),
        "linux": params["linux"],
        "zone_redundant": zone_redundant
        if zone_redundant is not None
        else bool(current and current["zone_redundant"]),
        "tags": desired_tags(params["tags"], params["purge_tags"], current and current["tags"]),
    }


def plan_body(desired):
    return {
        "location": desired["location"],
        "kind": "linux" if desired["linux"] else "app",
        "sku": {"name": desired["sku"], "tier": desired["tier"], "capacity": desired["capacity"]},
        "properties": {"reserved": desired["linux"], "zoneRedundant": desired["zone_redundant"]},
        "tags": desired["tags"],
    }


class AppServicePlan(Resource):
    kind = "App Service plan"
    result_key = "plan"

    def __init__(self, module):
        super().__init__(module)
        self.plans = AppServicePlans(
            module, self.description, self.params["resource_group"], self.params["name"]
        )

    def validate(self):
        params = self.params
        require_valid_name("app_service_plan", params["name"])
        if params["sku"]:
            canonical_sku(params["sku"])
        if params["capacity"] is not None and params["capacity"] < 1:
            raise AzureModuleError(f"capacity must be at least 1, not {params['capacity']}.")

    def read(self):
        return summarise(self.plans.get_plan()) or None

    def read_related(self, current):
        if current or self.params["state"] == "absent":
            return None
        return location_for(
            self.module, self.params["location"], self.params["resource_group"], self.description
        )

    def plan(self, current, related):
        if self.params["state"] == "absent":
            if current is None:
                return Plan()
            if current.get("number_of_sites"):
                raise AzureModuleError(
                    f"{self.description} still hosts {current['number_of_sites']} app(s): delete them "
                    "(papr.memory.app_service_container state=absent) before the plan."
                )
            return Plan([Write("delete", self.description, self.plans.delete)], comparable(current), {})
        desired = desired_state(self.params, current, related, self.description)
        before, after = comparable(current), comparable(desired)
        writes = []
        if before != after:
            changes = [key for key in after if before.get(key) != after[key]]
            writes.append(
                Write(
                    "update" if current else "create",
                    self.description,
                    lambda: self.plans.create_or_update(plan_body(desired)),
                    changes,
                    key="plan",
                )
            )
        return Plan(writes, before, after, desired=desired)

    def summarise(self, current, related, plan, answers):
        if self.params["state"] == "absent":
            return {}
        if "plan" in answers:
            return summarise(answers["plan"])
        if plan.writes:
            return {"name": self.params["name"], **plan.desired}
        return current or {}


def main():
    run_module(
        AppServicePlan,
        dict(
            name=dict(type="str", required=True),
            resource_group=dict(type="str", required=True),
            location=dict(type="str"),
            sku=dict(type="str"),
            capacity=dict(type="int"),
            linux=dict(type="bool", default=True),
            zone_redundant=dict(type="bool"),
            **STATE_ARGUMENT_SPEC,
            **TAGS_ARGUMENT_SPEC,
        ),
    )


if __name__ == "__main__":
    main()
