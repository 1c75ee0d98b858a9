"""Microsoft.OperationalInsights workspaces and Microsoft.Insights diagnostic settings.

Recorded (azure-cli recordings, MIT: monitor's test_monitor_log_analytics_workspace_default.yaml,
2020-08-01, and application-insights' test_component_with_linked_workspace.yaml, 2023-09-01): a
workspace create is long-running in the provisioningState style. The PUT answers 201 with
`provisioningState: "Creating"` (2023-09-01 adds a `location` header naming the workspace's own URL),
later GETs show "Succeeded"; an update of an existing workspace answers 200 "Succeeded" at once.
Through that Location header the Python SDK ends its poll at the first 200 GET, so a client can get
the workspace back still "Creating" (here: an operation needing more than one poll) and must read it
again. A create whose operation fails leaves the workspace "Failed" (*unverified*: no recording shows
a failed create).

Not recorded (*unverified*): the rest of the shapes and rules follow the REST API reference.
Workspaces need a location, a known SKU and a retention of 30-730 days (PerGB2018); a diagnostic
setting lives under the resource it watches (an extension resource), needs that resource and a
destination that exist, and at least one enabled log or metric; its writes are synchronous.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..arm import check_tags, collection_pattern, list_body, not_found, provider_pattern, require_location
from ..http import Request, Response, arm_error
from ..lro import arm_status_body, utc_now
from .resources import in_scope, require_group

if TYPE_CHECKING:
    from ..server import AzureDouble

NS = "Microsoft.OperationalInsights"
WORKSPACE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{2,61}[A-Za-z0-9]$")
SKUS = ("PerGB2018", "CapacityReservation", "Free", "Standalone", "PerNode", "Premium", "Standard")
# A diagnostic setting on a resource of a resource group: <resource id>/providers/Microsoft.Insights/...
DIAGNOSTIC_SETTING = (
    "/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/{namespace}/{type}/{name}"
    "/providers/Microsoft.Insights/diagnosticSettings/{setting}"
)


def bad_request(message: str) -> Exception:
    return arm_error(400, "BadRequest", message)  # *unverified* code


class OperationalInsightsProvider:
    def __init__(self, double: AzureDouble) -> None:
        self.double = double
        self.store = double.store

    # --- workspaces ---------------------------------------------------------------------------------
    def _workspace_id(self, params: dict[str, str]) -> str:
        return (
            f"/subscriptions/{params['subscription']}/resourceGroups/{params['resource_group']}"
            f"/providers/{NS}/workspaces/{params['workspaces']}"
        )

    def put_workspace(self, request: Request, params: dict[str, str]) -> Response:
        require_group(self.double, params)
        name = params["workspaces"]
        if not WORKSPACE_NAME.match(name):
            raise bad_request(f"The workspace name '{name}' is invalid: 4-63 letters, digits and hyphens.")
        body = request.json_object()
        location = require_location(body, f"{NS}/workspaces")
        props = body.get("properties") or {}
        sku = ((props.get("sku") or {}).get("name")) or "PerGB2018"
        if sku not in SKUS:
            raise bad_request(f"The SKU '{sku}' is invalid.")
        retention = props.get("retentionInDays", 30)
        if not isinstance(retention, int) or not 30 <= retention <= 730:
            raise bad_request(f"retentionInDays {retention} must be between 30 and 730.")
        rid = self._workspace_id(params)
        existing = self.store.get(rid)
        if existing and existing["location"] != location:
            raise bad_request("The location of an existing workspace cannot change.")
        creating = existing is None
        before = (existing or {}).get("properties") or {}
        now = utc_now()
        workspace = {
            "id": rid,
            "name": name,
            "type": f"{NS}/workspaces",
            "location": location,
            "etag": f'"{uuid.uuid4()}"',
            "properties": {
                "provisioningState": "Creating" if creating else "Succeeded",
                "customerId": before.get("customerId") or str(uuid.uuid4()),
                "sku": {
                    "name": sku,
                    "lastSkuUpdate": now
                    if before.get("sku", {}).get("name") != sku
                    else before["sku"]["lastSkuUpdate"],
                },
                "retentionInDays": retention,
                "features": {
                    "legacy": 0,
                    "searchVersion": 1,
                    "enableLogAccessUsingOnlyResourcePermissions": True,
                },
                # No daily cap unless one is asked for (-1.0, recorded); the reset time is *unverified*.
                "workspaceCapping": {
                    "dailyQuotaGb": float((props.get("workspaceCapping") or {}).get("dailyQuotaGb", -1.0)),
                    "quotaNextResetTime": time.strftime(
                        "%Y-%m-%dT%H:00:00Z", time.gmtime(time.time() + 3600)
                    ),
                    "dataIngestionStatus": "RespectQuota",
                },
                "publicNetworkAccessForIngestion": props.get("publicNetworkAccessForIngestion", "Enabled"),
                "publicNetworkAccessForQuery": props.get("publicNetworkAccessForQuery", "Enabled"),
                "createdDate": before.get("createdDate") or now,
                "modifiedDate": now,
            },
        }
        if "tags" in body:  # recorded: no tags key when none were sent
            workspace["tags"] = check_tags(body["tags"])
        self.store.put(rid, workspace)
        if not creating:
            return Response(200, workspace)
        self.double.operations.start(
            target_id=rid,
            on_success=lambda: self._settle(rid, "Succeeded"),
            on_failure=lambda code, message: self._settle(rid, "Failed"),
            status_body=arm_status_body,
            **self.double.operation_overrides(request),
        )
        own_url = f"{self.double.base_url}{quote(request.path)}?api-version={request.api_version}"
        return Response(201, self.store.get(rid), {"location": own_url})

    def _settle(self, rid: str, state: str) -> None:
        self.store.update(rid, lambda w: w["properties"].update(provisioningState=state))

    def get_workspace(self, request: Request, params: dict[str, str]) -> Response:
        require_group(self.double, params)
        rid = self._workspace_id(params)
        self.double.operations.advance_target(rid)  # a read is time passing for a create under way
        workspace = self.store.get(rid)
        if workspace is None:
            raise not_found(f"{NS}/workspaces", params["workspaces"], params["resource_group"])
        return Response(200, workspace)

    def delete_workspace(self, request: Request, params: dict[str, str]) -> Response:
        require_group(self.double, params)
        return Response(200 if self.store.delete(self._workspace_id(params)) else 204)

    def list_workspaces(self, request: Request, params: dict[str, str]) -> Response:
        return Response(200, list_body(in_scope(self.double, params, f"{NS}/workspaces")))

    # --- diagnostic settings --------------------------------------------------------------------------
    @staticmethod
    def _target_id(params: dict[str, str]) -> str:
        return (
            f"/subscriptions/{params['subscription']}/resourceGroups/{params['resource_group']}"
            f"/providers/{params['namespace']}/{params['type']}/{params['name']}"
        )

    def _setting_id(self, params: dict[str, str]) -> str:
        return (
            f"{self._target_id(params)}/providers/Microsoft.Insights/diagnosticSettings/{params['setting']}"
        )

    def _target(self, params: dict[str, str]) -> dict[str, Any]:
        require_group(self.double, params)
        target = self.store.get(self._target_id(params))
        if target is None:
            raise not_found(
                f"{params['namespace']}/{params['type']}", params["name"], params["resource_group"]
            )
        return target

    def put_setting(self, request: Request, params: dict[str, str]) -> Response:
        self._target(params)
        props = (request.json_object().get("properties")) or {}
        workspace = props.get("workspaceId")
        if (
            not workspace
            and not props.get("storageAccountId")
            and not props.get("eventHubAuthorizationRuleId")
        ):
            raise bad_request(
                "A diagnostic setting needs a destination (workspaceId, storage account or event hub)."
            )
        if workspace and not self.store.exists(workspace):
            raise bad_request(f"The workspace '{workspace}' does not exist.")
        logs, metrics = props.get("logs") or [], props.get("metrics") or []
        for entry in logs:
            if not entry.get("category") and not entry.get("categoryGroup"):
                raise bad_request("Every log entry needs a category or a categoryGroup.")
        if not any(entry.get("enabled") for entry in logs + metrics):
            raise bad_request("At least one log or metric category must be enabled.")
        rid = self._setting_id(params)
        setting = {
            "id": rid,
            "name": params["setting"],
            "type": "Microsoft.Insights/diagnosticSettings",
            "properties": {
                "workspaceId": workspace,
                "logAnalyticsDestinationType": props.get("logAnalyticsDestinationType"),
                "logs": [
                    {
                        "category": e.get("category"),
                        "categoryGroup": e.get("categoryGroup"),
                        "enabled": bool(e.get("enabled")),
                        "retentionPolicy": {"enabled": False, "days": 0},
                    }
                    for e in logs
                ],
                "metrics": [
                    {
                        "category": e.get("category", "AllMetrics"),
                        "enabled": bool(e.get("enabled")),
                        "retentionPolicy": {"enabled": False, "days": 0},
                    }
                    for e in metrics
                ],
            },
        }
        self.store.put(rid, setting)
        return Response(200, setting)

    def get_setting(self, request: Request, params: dict[str, str]) -> Response:
        self._target(params)
        setting = self.store.get(self._setting_id(params))
        if setting is None:
            raise arm_error(
                404,
                "ResourceNotFound",
                f"The diagnostic setting '{params['setting']}' doesn't exist.",  # *unverified* wording
            )
        return Response(200, setting)

    def delete_setting(self, request: Request, params: dict[str, str]) -> Response:
        self._target(params)
        return Response(200 if self.store.delete(self._setting_id(params)) else 204)


def register(double: AzureDouble) -> None:
    provider = OperationalInsightsProvider(double)
    route = double.arm.add
    pattern = provider_pattern(NS, "workspaces")
    route("PUT", pattern, provider.put_workspace)
    route("GET", pattern, provider.get_workspace)
    route("DELETE", pattern, provider.delete_workspace)
    route("GET", collection_pattern(NS, "workspaces"), provider.list_workspaces)
    route("PUT", DIAGNOSTIC_SETTING, provider.put_setting)
    route("GET", DIAGNOSTIC_SETTING, provider.get_setting)
    route("DELETE", DIAGNOSTIC_SETTING, provider.delete_setting)
