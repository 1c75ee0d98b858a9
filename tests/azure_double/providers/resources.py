"""Microsoft.Resources: subscriptions, resource groups (delete cascades as a long-running operation)."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from .. import catalogues
from ..arm import LOCATIONS, canonical_location, check_tags, list_body
from ..http import Request, Response, arm_error
from ..lro import Operation

if TYPE_CHECKING:
    from ..server import AzureDouble

GROUP = "/subscriptions/{subscription}/resourceGroups/{resource_group}"
# ARM: 1-90 chars of letters, digits, underscores, hyphens, periods and parentheses, not ending in a period.
# Whole words ARM reserves in resource names (trademarks; Microsoft's published list, abridged).
RESERVED_WORDS = {"microsoft", "windows", "azure", "office", "xbox", "bing", "skype", "outlook", "onedrive"}
GROUP_NAME = re.compile(r"^[-\w.()]{0,89}[-\w()]$")


def group_id(subscription: str, name: str) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{name}"


def group_not_found(name: str):
    return arm_error(404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")


def require_group(double: AzureDouble, params: dict[str, str]) -> dict[str, Any]:
    """The stored resource group a resource path names, or ARM's 404 ResourceGroupNotFound."""
    group = double.store.get(group_id(params["subscription"], params["resource_group"]))
    if group is None or group["properties"]["provisioningState"] == "Deleting":
        raise group_not_found(params["resource_group"])
    return group


def in_scope(double: AzureDouble, params: dict[str, str], resource_type: str) -> list[dict[str, Any]]:
    """Stored resources of a type in the request's resource group, or in its subscription (a list route)."""
    if "resource_group" in params:
        prefix = require_group(double, params)["id"].lower() + "/"
    else:
        prefix = f"/subscriptions/{params['subscription']}/".lower()
    wanted = resource_type.lower()
    return double.store.matching(lambda k, v: k.startswith(prefix) and v.get("type", "").lower() == wanted)


def register(double: AzureDouble) -> None:
    route = double.arm.route

    @route("GET", "/subscriptions")
    def list_subscriptions(request: Request, params: dict[str, str]) -> Response:
        return Response(200, list_body([_subscription(double)]))

    @route("GET", "/subscriptions/{subscription}")
    def get_subscription(request: Request, params: dict[str, str]) -> Response:
        return Response(200, _subscription(double))

    @route("GET", "/subscriptions/{subscription}/locations")
    def list_locations(request: Request, params: dict[str, str]) -> Response:
        """`az account list-locations`: the real list (catalogues/regions.json), in the request's version."""
        return Response(
            200,
            list_body(
                [_location(region, params, request.api_version) for region in catalogues.load("regions")]
            ),
        )

    @route("POST", "/providers/Microsoft.Resources/checkResourceName")
    def check_resource_name(request: Request, params: dict[str, str]) -> Response:
        """ARM's reserved-word check (CheckResourceNameResult); a name with a trademark is "Reserved"."""
        body = request.json_object()
        name = str(body.get("name", ""))
        words = re.findall(r"[a-z]+", name.lower())
        reserved = any(word in RESERVED_WORDS for word in words) or name.lower().startswith(("login", "xbox"))
        answer = {"name": name, "type": body.get("type"), "status": "Reserved" if reserved else "Allowed"}
        return Response(200, answer)

    @route("GET", "/tenants")
    def list_tenants(request: Request, params: dict[str, str]) -> Response:
        tenant = {
            "id": f"/tenants/{double.tenant_id}",
            "tenantId": double.tenant_id,
            "tenantCategory": "Home",
        }
        return Response(200, list_body([tenant]))

    @route("PUT", GROUP)
    def put_group(request: Request, params: dict[str, str]) -> Response:
        name = params["resource_group"]
        if not GROUP_NAME.match(name):
            raise arm_error(  # *unverified* wording
                400,
                "InvalidResourceGroupName",
                f"The resource group name '{name}' is invalid. It can contain letters, digits, underscores, "
                "periods, parentheses and hyphens, up to 90 characters, and must not end with a period.",
            )
        body = request.json_object()
        raw_location = body.get("location")
        location = canonical_location(raw_location)
        if location is None:
            raise arm_error(
                400,
                "LocationNotAvailableForResourceGroup",
                f"The provided location '{raw_location}' is not available for resource group. List of "
                f"available regions is '{','.join(LOCATIONS)}'.",
            )
        rid = group_id(params["subscription"], name)
        existing = double.store.get(rid)
        if existing and existing["properties"]["provisioningState"] == "Deleting":
            raise arm_error(
                409,
                "ResourceGroupBeingDeleted",
                f"The resource group '{existing['name']}' is in deprovisioning state and cannot perform this "
                "operation.",
            )
        if existing and existing["location"] != location:
            raise arm_error(
                409,
                "InvalidResourceGroupLocation",
                f"Invalid resource group location '{raw_location}'. "
                "The Resource group already exists in location "
                f"'{existing['location']}'.",
            )
        group = {
            "id": existing["id"] if existing else rid,
            "name": existing["name"] if existing else name,
            "type": "Microsoft.Resources/resourceGroups",
            "location": location,
            "tags": check_tags(body.get("tags")),
            "properties": {"provisioningState": "Succeeded"},
        }
        if body.get("managedBy"):
            group["managedBy"] = body["managedBy"]
        double.store.put(rid, group)
        return Response(200 if existing else 201, group)

    @route("GET", GROUP)
    def get_group(request: Request, params: dict[str, str]) -> Response:
        rid = group_id(params["subscription"], params["resource_group"])
        double.operations.advance_target(rid)
        group = double.store.get(rid)
        if group is None:
            raise group_not_found(params["resource_group"])
        return Response(200, group)

    @route("PATCH", GROUP)
    def patch_group(request: Request, params: dict[str, str]) -> Response:
        group = require_group(double, params)
        body = request.json_object()
        if "tags" in body:
            group["tags"] = check_tags(body["tags"])
        double.store.put(group["id"], group)
        return Response(200, group)

    @route("DELETE", GROUP)
    def delete_group(request: Request, params: dict[str, str]) -> Response:
        group = require_group(double, params)
        rid = group["id"]
        double.store.update(rid, lambda g: g["properties"].update(provisioningState="Deleting"))

        def restore(code: str, message: str) -> None:
            double.store.update(rid, lambda g: g["properties"].update(provisioningState="Succeeded"))

        op: Operation = double.operations.start(
            target_id=rid,
            on_success=lambda: double.store.delete(rid),
            on_failure=restore,
            status_body=lambda op: {"status": op.status},
            final_result=lambda: Response(200),
            **double.operation_overrides(request),
        )
        if op.done and op.status == "Succeeded":
            return Response(200)
        url = f"{double.base_url}/subscriptions/{params['subscription']}/operationresults/{op.op_id}"
        return Response(202, None, {"location": f"{url}?api-version={request.api_version}"})

    @route("GET", "/subscriptions/{subscription}/operationresults/{op_id}")
    def group_operation(request: Request, params: dict[str, str]) -> Response:
        own = f"{double.base_url}{request.path}?api-version={request.api_version}"
        return double.operations.location_response(params["op_id"], own)

    @route("GET", "/subscriptions/{subscription}/resourcegroups")
    def list_groups(request: Request, params: dict[str, str]) -> Response:
        groups = double.store.matching(lambda key, v: v.get("type") == "Microsoft.Resources/resourceGroups")
        return Response(200, list_body([g for g in groups]))

    @route("GET", GROUP + "/resources")
    def list_group_resources(request: Request, params: dict[str, str]) -> Response:
        group = require_group(double, params)
        prefix = group["id"].lower() + "/providers/"

        def top_level(key: str, value: dict[str, Any]) -> bool:
            return key.startswith(prefix) and key[len(prefix) :].count("/") == 2

        items = [
            {k: v[k] for k in ("id", "name", "type", "location", "tags", "kind", "sku") if k in v}
            for v in double.store.matching(top_level)
        ]
        return Response(200, list_body(items))


def _location(region: dict[str, Any], params: dict[str, str], api_version: str | None) -> dict[str, Any]:
    answer = {k: v for k, v in region.items() if k not in ("id", "metadata")}
    answer["id"] = region["id"].replace("{subscription}", params["subscription"])
    if (api_version or "") >= "2019-11-01":  # regionalDisplayName and metadata came with 2019-11-01
        answer["metadata"] = json.loads(
            json.dumps(region["metadata"]).replace("{subscription}", params["subscription"])
        )
    else:
        answer.pop("regionalDisplayName", None)
    if (api_version or "") < "2022-12-01":  # availabilityZoneMappings came with 2022-12-01
        answer.pop("availabilityZoneMappings", None)
    return answer


def _subscription(double: AzureDouble) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{double.subscription_id}",
        "subscriptionId": double.subscription_id,
        "tenantId": double.tenant_id,
        "displayName": "Azure double subscription",
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
        },
        "authorizationSource": "RoleBased",
    }
