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
from ansible_collections.papr.memory.plugins.module_utils.azure_module import AzureModule, describe
from ansible_collections.papr.memory.plugins.module_utils.azure_names import require_valid_name
from ansible_collections.papr.memory.plugins.module_utils.azure_web import WebApp, container_image, same_image


def running_image(module, app, resource):
    if app.get_site() is None:
        return None, False
    config = app.get_configuration()
    return container_image(config.get("linuxFxVersion")), True


def run(module):
    params = module.params
    require_valid_name("web_app", params["name"])
    require_valid_name("slot", params["slot"])
    if params["slot"].lower() == "production":
        raise AzureModuleError("slot must name a deployment slot, not production.")
    image = str(parse_image(params["image"]))
    production_resource = describe("App Service web app", params["name"], params["resource_group"])
    slot_resource = describe("App Service slot", params["name"], params["resource_group"], params["slot"])
    production_app = WebApp(module, production_resource, params["resource_group"], params["name"], None)
    slot_app = WebApp(module, slot_resource, params["resource_group"], params["name"], params["slot"])

    production_image, exists = running_image(module, production_app, production_resource)
    if not exists:
        raise AzureModuleError(f"{production_resource} does not exist: deploy it first (site.yml).")
    slot_image, slot_exists = running_image(module, slot_app, slot_resource)
    result = {
        "changed": False,
        "swapped": False,
        "production_image": production_image,
        "slot_image": slot_image,
    }
    if same_image(production_image, image):
        return result
    if (not slot_exists or not same_image(slot_image, image)) and module.check_mode:
        # A check-mode release stages nothing: predict the swap the real run makes after staging.
        module.warn(
            f"Check mode: slot '{params['slot']}' does not run {image} yet; assuming a task stages it."
        )
        slot_image = image
    elif not slot_exists or not same_image(slot_image, image):
        raise AzureModuleError(
            f"Cannot make {production_resource} run {image}: it runs {production_image}, and "
            + (
                f"slot '{params['slot']}' runs {slot_image}"
                if slot_exists
                else f"it has no slot '{params['slot']}'"
            )
            + ". Stage the image in the slot first (papr.memory.app_service_staging_slot)."
        )
    result.update(changed=True, swapped=True, production_image=slot_image, slot_image=production_image)
    if module.diff_mode:
        result["diff"] = {
            "before": {"production": production_image, params["slot"]: slot_image},
            "after": {"production": slot_image, params["slot"]: production_image},
        }
    if not module.check_mode:
        production_app.swap_with_production(params["slot"])
    return result


def main():
    module = AzureModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            resource_group=dict(type="str", required=True),
            slot=dict(type="str", default="staging"),
            image=dict(type="str", required=True),
        ),
    )
    module.run(run)


if __name__ == "__main__":
    main()
