#!/usr/bin/python
# Copyright: PAPR Memory engineers
# Apache-2.0
"""Swap a deployment slot with production so that production runs a given image (and back)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: app_service_slot_swap
short_description: Swap a deployment slot of a Linux web app with production, so production runs an image
description:
  - Swaps the deployment slot O(slot) with the production app when that makes production run O(image) - the
    slot runs O(image) and production does not yet. App Service first warms the slot up (it calls
    C(WEBSITE_SWAP_WARMUP_PING_PATH) on every instance until an answer in
    C(WEBSITE_SWAP_WARMUP_PING_STATUSES))
    and only then routes production traffic to it. The swap is a long-running operation bounded by O(timeout).
  - Said by the image, a swap is idempotent - when production already runs O(image) nothing is sent; and
    a swap back is the same task with the previous image.
  - Fails, before anything is sent, when neither production nor the slot runs O(image) (in check mode it
    warns instead and predicts the swap, since the task staging the image wrote nothing either).
  - Check mode sends no write; diff mode shows which image production and the slot run before and after.
version_added: 0.2.0
author:
  - PAPR Memory engineers (@papr-memory)
options:
  name:
    description: Name of the production web app.
    type: str
    required: true
  resource_group:
    description: Resource group of the web app.
    type: str
    required: true
  slot:
    description: The deployment slot to swap with production.
    type: str
    default: staging
  image:
    description: The image production must run after the task (V(registry/repository:tag) or with a digest).
    type: str
    required: true
extends_documentation_fragment:
  - papr.memory.azure
requirements:
  - azure-mgmt-web >= 7
"""

EXAMPLES = r"""
- name: Swap the staged release into production
  papr.memory.app_service_slot_swap:
    name: papr-memory-prod-web
    resource_group: papr-memory-prod
    image: paprmemory.azurecr.io/memory:1.5.0

- name: Roll back - the previous image is in the slot now
  papr.memory.app_service_slot_swap:
    name: papr-memory-prod-web
    resource_group: papr-memory-prod
    image: "{{ staged.production.image }}"
"""

RETURN = r"""
extends_documentation_fragment:
  - papr.memory.azure.result
production_image:
  description: The image production runs after the task.
  returned: always
  type: str
  sample: paprmemory.azurecr.io/memory:1.5.0
slot_image:
  description: The image the slot runs after the task.
  returned: always
  type: str
  sample: paprmemory.azurecr.io/memory:1.4.2
swapped:
  description: Whether a swap was sent (or, in check mode, would be).
  returned: always
  type: bool
"""

from ansible_collections.papr.memory.plugins.module_utils.azure_errors import AzureModuleError
from ansible_collections.papr.memory.plugins.module_utils.azure_image import parse_image
from ansible_collections.papr.memory.plugins.module_utils.azure_runner import (
    Plan,
    Write,
    run_module,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_web import (
    DeploymentSlotResource,
    container_image,
    same_image,
)


def running_image(app):
    """(the image the site or slot runs, whether it exists)."""
    if app.get_site() is None:
        return None, False
    return container_image(app.get_configuration().get("linuxFxVersion")), True


class SlotSwap(DeploymentSlotResource):
    result_key = None  # production_image, slot_image and swapped stand at the top level

    def validate(self):
        super().validate()
        parse_image(self.params["image"])

    def read(self):
        production_image, exists = running_image(self.production_app)
        if not exists:
            raise AzureModuleError(
                f"{self.production_description} does not exist: deploy it first (site.yml)."
            )
        slot_image, slot_exists = running_image(self.slot_app)
        return {"production_image": production_image, "slot_image": slot_image, "slot_exists": slot_exists}

    def plan(self, current, related):
        slot, image = self.params["slot"], self.image
        production_image, slot_image = current["production_image"], current["slot_image"]
        images = {"production_image": production_image, "slot_image": slot_image}
        if same_image(production_image, image):
            return Plan(desired=images)
        slot_ready = current["slot_exists"] and same_image(slot_image, image)
        if not slot_ready and self.check_mode:
            # A check-mode release stages nothing: predict the swap the real run makes after staging.
            self.module.warn(
                f"Check mode: slot '{slot}' does not run {image} yet; assuming a task stages it."
            )
            slot_image = image
        elif not slot_ready:
            raise AzureModuleError(
                f"Cannot make {self.production_description} run {image}: it runs {production_image}, and "
                + (
                    f"slot '{slot}' runs {slot_image}"
                    if current["slot_exists"]
                    else f"it has no slot '{slot}'"
                )
                + ". Stage the image in the slot first (papr.memory.app_service_staging_slot)."
            )
        swap = Write(
            "swap",
            self.description,
            lambda: self.production_app.swap_with_production(slot),
            changes=("production_image", "slot_image"),
        )
        return Plan(
            writes=[swap],
            before={"production": production_image, slot: slot_image},
            after={"production": slot_image, slot: production_image},
            desired={"production_image": slot_image, "slot_image": production_image},
        )

    def summarise(self, current, related, plan, answers):
        return {"swapped": bool(plan.writes), **plan.desired}


def main():
    run_module(
        SlotSwap,
        dict(
            name=dict(type="str", required=True),
            resource_group=dict(type="str", required=True),
            slot=dict(type="str", default="staging"),
            image=dict(type="str", required=True),
        ),
    )


if __name__ == "__main__":
    main()
