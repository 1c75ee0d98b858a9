# Copyright: PAPR Memory engineers
# Apache-2.0
"""Filters that check inventory values the way the Azure modules will, so a play can refuse a bad
value before its first write (a later module would reject it only after earlier resources changed)."""

from __future__ import annotations

from ansible_collections.papr.memory.plugins.module_utils.azure_errors import AzureModuleError
from ansible_collections.papr.memory.plugins.module_utils.azure_image import parse_image
from ansible_collections.papr.memory.plugins.module_utils.azure_web import SITE_NAME_PATTERN
from ansible_collections.papr.memory.plugins.modules import (
    app_service_plan,
    container_group,
    postgres_flexible_server,
    resource_group,
)

# kind -> (pattern the module enforces, rule in words)
NAME_RULES = {
    "resource_group": (resource_group.NAME_PATTERN, "1-90 letters, digits, _ - . ( ), not ending in ."),
    "app_service_plan": (app_service_plan.NAME_PATTERN, "1-60 letters, digits and hyphens"),
    "web_app": (SITE_NAME_PATTERN, "2-60 letters, digits and hyphens, not starting or ending with -"),
    "container_group": (container_group.NAME_PATTERN, "1-63 lower-case letters, digits, single hyphens"),
    "dns_label": (container_group.NAME_PATTERN, "1-63 lower-case letters, digits, single hyphens"),
    "postgres_server": (postgres_flexible_server.NAME_PATTERN, "3-63 lower-case letters, digits, hyphens"),
}


def azure_name_problem(name, kind, variable):
    """'' when `name` is a valid Azure name of that kind, else a message naming the variable."""
    pattern, rule = NAME_RULES[kind]
    if isinstance(name, str) and pattern.match(name):
        return ""
    return f"{variable}={name!r} is not a valid {kind.replace('_', ' ')} name ({rule})"


def image_reference_problem(image, variable):
    """'' when `image` is a container image reference Azure can pull, else why not."""
    try:
        parse_image(image)
    except AzureModuleError as error:
        return f"{variable}: {error}"
    return ""


class FilterModule:
    def filters(self):
        return {
            "azure_name_problem": azure_name_problem,
            "image_reference_problem": image_reference_problem,
        }
