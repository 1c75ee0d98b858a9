"""Generic ARM machinery the provider modules share: ids, locations, names, tags, errors, lists."""

from __future__ import annotations

import copy
import re
from typing import Any

from . import catalogues
from .http import DoubleError, arm_error

RG_SCOPE = "/subscriptions/{subscription}/resourceGroups/{resource_group}"

# Canonical region name -> display name, for every region that takes resources: the `Physical` regions
# of `az account list-locations` (catalogues/regions.json, from a real answer). Many providers answer
# the display name on GET (see azure-arm-notes.md).
LOCATIONS = {
    region["name"]: region["displayName"]
    for region in catalogues.load("regions")
    if region["metadata"]["regionType"] == "Physical"
}


def canonical_location(value: str | None) -> str | None:
    """'Australia East' / 'australiaeast' -> 'australiaeast'; None when not a region the double knows."""
    if not isinstance(value, str):
        return None
    key = value.replace(" ", "").lower()
    return key if key in LOCATIONS else None


def display_location(canonical: str) -> str:
    return LOCATIONS.get(canonical, canonical)


def require_location(body: dict[str, Any], resource_type: str) -> str:
    raw = body.get("location")
    if not raw:
        raise arm_error(400, "LocationRequired", "The location property is required for this definition.")
    location = canonical_location(raw)
    if location is None:
        raise arm_error(
            400,
            "LocationNotAvailableForResourceType",
            f"The provided location '{raw}' is not available for resource type '{resource_type}'. "
            f"List of available regions for the resource type is '{','.join(LOCATIONS)}'.",
        )
    return location


def provider_pattern(namespace: str, *type_names: str) -> str:
    """Route pattern for a (nested) resource: provider_pattern('Microsoft.Web', 'sites', 'slots')."""
    segments = "".join(f"/{t}/{{{_param(t)}}}" for t in type_names)
    return f"{RG_SCOPE}/providers/{namespace}{segments}"


def collection_pattern(namespace: str, *type_names: str) -> str:
    """Route pattern for the list of the last type under its parent."""
    return provider_pattern(namespace, *type_names).rsplit("/", 1)[0]


def route_resource_type(
    route, namespace: str, type_name: str, *, put, get, delete, list_all, patch=None
) -> None:
    """A top-level resource type's routes: PUT/GET/(PATCH)/DELETE of one, its list per group and subscription.

    `route` is the router's add(method, pattern, handler); every provider's type answers these the same way.
    """
    one = provider_pattern(namespace, type_name)
    route("PUT", one, put)
    route("GET", one, get)
    if patch is not None:
        route("PATCH", one, patch)
    route("DELETE", one, delete)
    route("GET", collection_pattern(namespace, type_name), list_all)
    route("GET", f"/subscriptions/{{subscription}}/providers/{namespace}/{type_name}", list_all)


def _param(type_name: str) -> str:
    return re.sub(r"\W", "_", type_name.lower())


def resource_id(params: dict[str, str], namespace: str, *type_names: str) -> str:
    """The id with ARM's canonical casing for fixed segments and the names as the client sent them."""
    group = f"/subscriptions/{params['subscription']}/resourceGroups/{params['resource_group']}"
    rid = f"{group}/providers/{namespace}"
    for type_name in type_names:
        rid += f"/{type_name}/{params[_param(type_name)]}"
    return rid


def not_found(namespace_type: str, name: str, resource_group: str) -> DoubleError:
    return arm_error(
        404,
        "ResourceNotFound",
        f"The Resource '{namespace_type}/{name}' under resource group '{resource_group}' was not found. "
        "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    )


def check_tags(tags: Any) -> dict[str, str]:
    """ARM's tag limits: at most 50, names <= 512 chars, values <= 256 chars, no <>%&\\?/ in names."""
    if tags is None:
        return {}
    if not isinstance(tags, dict):
        raise arm_error(400, "InvalidRequestContent", "The tags property must be an object.")
    if len(tags) > 50:
        raise arm_error(400, "InvalidTagCount", "The number of tags exceeds the maximum of 50.")
    for key, value in tags.items():
        # Application Insights links a web test to its component by a `hidden-link:<component id>` tag,
        # the one tag name ARM accepts slashes in.
        name = key.split(":", 1)[0] if key.startswith("hidden-link:") else key
        if len(key) > 512 or re.search(r"[<>%&\\?/]", name):
            raise arm_error(400, "InvalidTagNameCharacters", f"The tag name '{key}' has invalid characters.")
        if value is not None and (not isinstance(value, str) or len(value) > 256):
            raise arm_error(
                400, "InvalidTagValueLength", f"The tag value of '{key}' must be a string of 256 chars."
            )
    return {k: "" if v is None else v for k, v in tags.items()}


def deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """JSON merge-patch semantics for PATCH bodies (nested objects merged, scalars and lists replaced)."""
    merged = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def list_body(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"value": items}


def require_enum(value: Any, allowed: tuple[str, ...], code: str, what: str) -> str:
    for candidate in allowed:
        if isinstance(value, str) and value.lower() == candidate.lower():
            return candidate
    raise arm_error(
        400, code, f"The value '{value}' of {what} is invalid. Allowed values: {', '.join(allowed)}."
    )


def for_api_version(
    body: dict[str, Any],
    api_version: str | None,
    since: dict[str, str] | None = None,
    until: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The body as the request's api-version knows it: a copy without the keys that version lacks.

    `since` {path: version}: keys answered from that api-version on; `until` {path: version}: keys no
    longer answered from that version on. Paths are dotted, `[]` walks every list item:
    "properties.agentPoolProfiles[].scaleDownMode". A request without api-version gets the newest shape.
    """
    version = (api_version or "9999")[:10]
    drop = [path for path, first in (since or {}).items() if version < first]
    drop += [path for path, gone in (until or {}).items() if version >= gone]
    if not drop:
        return body
    shaped = copy.deepcopy(body)
    for path in drop:
        _drop_path(shaped, path.replace("[]", ".[]").split("."))
    return shaped


def _drop_path(value: Any, steps: list[str]) -> None:
    if not steps:
        return
    head, rest = steps[0], steps[1:]
    if head == "[]":
        for item in value if isinstance(value, list) else []:
            _drop_path(item, rest)
    elif isinstance(value, dict) and head in value:
        if rest:
            _drop_path(value[head], rest)
        else:
            del value[head]
