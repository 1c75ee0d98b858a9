"""Microsoft.Insights action groups, metric alerts, Application Insights components and web tests:
synchronous writes (PUT 201/200 and 200).

Action group writes are recorded synchronous (201 create, 200 update: recordings/
test_monitor_action_group_basic_scenario.yaml). For the rest no recording is here (*unverified*):
shapes and rules follow the REST API reference (action groups are global with a <= 12 character
short name; metric alerts need severity 0-4, existing scopes and action groups, and a window no
shorter than the evaluation frequency; a web test belongs to the component its
`hidden-link:<component id>` tag names, runs every 5, 10 or 15 minutes from 1-16 test locations, and
times out within its frequency).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..arm import check_tags, collection_pattern, list_body, not_found, provider_pattern, resource_id
from ..http import DoubleError, Request, Response, arm_error
from .resources import in_scope, require_group

if TYPE_CHECKING:
    from ..server import AzureDouble

NS = "Microsoft.Insights"
NAME = re.compile(r"^[^<>%&:\\?/*#|]{1,260}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DURATIONS = {
    "PT1M": 1,
    "PT5M": 5,
    "PT15M": 15,
    "PT30M": 30,
    "PT1H": 60,
    "PT6H": 360,
    "PT12H": 720,
    "P1D": 1440,
}
OPERATORS = ("Equals", "GreaterThan", "GreaterThanOrEqual", "LessThan", "LessThanOrEqual")
AGGREGATIONS = ("Average", "Count", "Minimum", "Maximum", "Total")
RECEIVER_KINDS = (
    "emailReceivers",
    "smsReceivers",
    "webhookReceivers",
    "itsmReceivers",
    "azureAppPushReceivers",
    "automationRunbookReceivers",
    "voiceReceivers",
    "logicAppReceivers",
    "azureFunctionReceivers",
    "armRoleReceivers",
    "eventHubReceivers",
)


def bad_request(message: str) -> Exception:
    return arm_error(400, "BadRequest", message)  # *unverified* code for Insights validation errors


@dataclass
class SyncType:
    """A resource type whose writes complete synchronously: one place for get/put/patch/list/delete."""

    type_name: str  # "actionGroups"
    answer_type: str  # the type string real Azure answers
    id_namespace: str  # the provider segment in answered ids
    validate: Callable[
        [dict[str, Any], dict[str, Any] | None], dict[str, Any]
    ]  # body, existing -> properties
    default_location: str
    created_status: int  # what a create answers (the SDKs accept only the spec's codes)
    keeps_kind: bool = False  # the body's `kind` is part of the resource (components: "web")


class InsightsProvider:
    def __init__(self, double: AzureDouble) -> None:
        self.double = double
        self.store = double.store

    def routes(self, kind: SyncType) -> None:
        pattern = provider_pattern(NS, kind.type_name)
        param = kind.type_name.lower()

        def rid(params: dict[str, str]) -> str:
            return resource_id(params, NS, kind.type_name)

        def put(request: Request, params: dict[str, str]) -> Response:
            require_group(self.double, params)
            name = params[param]
            if not NAME.match(name):
                raise bad_request(f"The name '{name}' of the {kind.type_name} resource is invalid.")
            body = request.json_object()
            existing = self.store.get(rid(params))
            properties = kind.validate(body, existing)
            location = body.get("location") or kind.default_location
            resource = {
                "id": existing["id"]
                if existing
                else rid(params).replace(f"/providers/{NS}/", f"/providers/{kind.id_namespace}/"),
                "type": kind.answer_type,
                "name": existing["name"] if existing else name,
                "location": location if location.lower() != "global" else kind.default_location,
                "kind": body.get("kind") if kind.keeps_kind else None,
                # a resource created without tags answers "tags": null (recorded), not {}
                "tags": check_tags(body["tags"]) if body.get("tags") is not None else None,
                "properties": properties,
            }
            if kind.answer_type == "Microsoft.Insights/ActionGroups":
                resource["identity"] = body.get("identity")
            self.store.put(rid(params), resource)
            return Response(200 if existing else kind.created_status, resource)

        def get(request: Request, params: dict[str, str]) -> Response:
            require_group(self.double, params)
            resource = self.store.get(rid(params))
            if resource is None:
                raise not_found(f"{NS}/{kind.type_name}", params[param], params["resource_group"])
            return Response(200, resource)

        def patch(request: Request, params: dict[str, str]) -> Response:
            resource = get(request, params).body
            body = request.json_object()
            if "tags" in body:
                resource["tags"] = check_tags(body["tags"])
            if "enabled" in (body.get("properties") or {}):
                resource["properties"]["enabled"] = bool(body["properties"]["enabled"])
            self.store.put(rid(params), resource)
            return Response(200, resource)

        def delete(request: Request, params: dict[str, str]) -> Response:
            require_group(self.double, params)
            return Response(200 if self.store.delete(rid(params)) else 204)

        def list_(request: Request, params: dict[str, str]) -> Response:
            return Response(200, list_body(in_scope(self.double, params, kind.answer_type)))

        route = self.double.arm.add
        if kind.answer_type == "Microsoft.Insights/ActionGroups":
            route("POST", f"{pattern}/subscribe", self.subscribe(get))
        route("PUT", pattern, put)
        route("GET", pattern, get)
        route("PATCH", pattern, patch)
        route("DELETE", pattern, delete)
        route("GET", collection_pattern(NS, kind.type_name), list_)
        route("GET", f"/subscriptions/{{subscription}}/providers/{NS}/{kind.type_name}", list_)

    # --- action groups ----------------------------------------------------------------------------
    def subscribe(self, get):
        """POST .../subscribe {"receiverName"}: re-enable an email/SMS/voice receiver (errors as recorded)."""

        def subscribe(request: Request, params: dict[str, str]) -> Response:
            group = get(request, params).body
            name = str(request.json_object().get("receiverName", ""))
            # Azure names the group by an internal id in these messages; the double uses the resource id.
            where = f"in action group with Id {group['id']}"
            for kind in ("emailReceivers", "smsReceivers", "voiceReceivers"):
                for receiver in group["properties"].get(kind, []):
                    if receiver["name"] != name:
                        continue
                    if receiver.get("status") == "Enabled":
                        raise DoubleError(
                            409,
                            {
                                "code": "ReceiverAlreadyEnabled",
                                "message": f"Receiver with name {name} {where} is already enabled",
                            },
                        )
                    receiver["status"] = "Enabled"
                    self.store.put(group["id"], group)
                    return Response(200, receiver)  # *unverified*: what a successful subscribe answers
            raise DoubleError(
                404,
                {"code": "ReceiverNotFound", "message": f"Could not find receiver with name {name} {where}"},
            )

        return subscribe

    def action_group(self, body: dict[str, Any], existing: dict[str, Any] | None) -> dict[str, Any]:
        props = body.get("properties") or {}
        short = props.get("groupShortName")
        if not isinstance(short, str) or not 1 <= len(short) <= 12:
            raise bad_request("The groupShortName is required and must be at most 12 characters.")
        out: dict[str, Any] = {"groupShortName": short, "enabled": bool(props.get("enabled", True))}
        for receiver_kind in RECEIVER_KINDS:
            receivers = []
            for receiver in props.get(receiver_kind) or []:
                if not receiver.get("name"):
                    raise bad_request(f"Every entry of {receiver_kind} needs a name.")
                if receiver_kind == "emailReceivers" and not EMAIL.match(
                    str(receiver.get("emailAddress", ""))
                ):
                    raise bad_request(f"The email address '{receiver.get('emailAddress')}' is invalid.")
                if receiver_kind == "webhookReceivers" and not str(receiver.get("serviceUri", "")).startswith(
                    "https://"
                ):
                    raise bad_request(
                        f"The webhook service URI '{receiver.get('serviceUri')}' must be an https URL."
                    )
                entry = {**receiver}
                if receiver_kind in ("emailReceivers", "smsReceivers", "voiceReceivers"):
                    entry["status"] = "Enabled"
                if receiver_kind not in ("smsReceivers", "azureAppPushReceivers"):
                    entry.setdefault("useCommonAlertSchema", False)
                if (
                    receiver_kind == "webhookReceivers"
                ):  # as recorded (2022-06-01): AAD auth fields, null if unset
                    entry.setdefault("useAadAuth", False)
                    for key in ("objectId", "identifierUri", "tenantId"):
                        entry.setdefault(key, None)
                if receiver_kind == "eventHubReceivers":  # the event hub's tenant: the subscription's
                    entry.setdefault("tenantId", self.double.tenant_id)
                receivers.append(entry)
            out[receiver_kind] = receivers
        return out

    # --- metric alerts --------------------------------------------------------------------------------
    def metric_alert(self, body: dict[str, Any], existing: dict[str, Any] | None) -> dict[str, Any]:
        props = body.get("properties") or {}
        severity = props.get("severity")
        if not isinstance(severity, int) or not 0 <= severity <= 4:
            raise bad_request(f"The severity '{severity}' is invalid: use 0 to 4.")
        if not isinstance(props.get("enabled"), bool):
            raise bad_request("The enabled property is required.")
        scopes = props.get("scopes") or []
        if not scopes:
            raise bad_request("At least one scope is required.")
        for scope in scopes:
            if not self.store.exists(scope):
                raise bad_request(f"Scope '{scope}' does not exist.")
        frequency = props.get("evaluationFrequency", "PT1M")
        window = props.get("windowSize", "PT5M")
        if frequency not in DURATIONS or window not in DURATIONS:
            raise bad_request(f"evaluationFrequency and windowSize must be one of {', '.join(DURATIONS)}.")
        if DURATIONS[window] < DURATIONS[frequency]:
            raise bad_request("The windowSize must be greater than or equal to the evaluationFrequency.")
        criteria = props.get("criteria") or {}
        if not criteria.get("odata.type"):
            raise bad_request("The criteria odata.type is required.")
        for criterion in criteria.get("allOf") or []:
            if (
                criterion.get("operator") not in OPERATORS
                and criterion.get("criterionType") == "StaticThresholdCriterion"
            ):
                raise bad_request(f"The operator '{criterion.get('operator')}' is invalid.")
            if criterion.get("timeAggregation") not in AGGREGATIONS:
                raise bad_request(f"The timeAggregation '{criterion.get('timeAggregation')}' is invalid.")
            if not criterion.get("metricName"):
                raise bad_request("Every criterion needs a metricName.")
        for action in props.get("actions") or []:
            if not self.store.exists(action.get("actionGroupId", "")):
                raise bad_request(f"The action group '{action.get('actionGroupId')}' does not exist.")
        return {
            "description": props.get("description", ""),
            "severity": severity,
            "enabled": props["enabled"],
            "scopes": scopes,
            "evaluationFrequency": frequency,
            "windowSize": window,
            "criteria": criteria,
            "autoMitigate": props.get("autoMitigate", True),
            "targetResourceType": props.get("targetResourceType"),
            "targetResourceRegion": props.get("targetResourceRegion"),
            "actions": [
                {"actionGroupId": a["actionGroupId"], "webHookProperties": a.get("webHookProperties") or {}}
                for a in props.get("actions") or []
            ],
            "lastUpdatedTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "isMigrated": False,
        }

    # --- Application Insights --------------------------------------------------------------------------
    def component(self, body: dict[str, Any], existing: dict[str, Any] | None) -> dict[str, Any]:
        props = body.get("properties") or {}
        if not body.get("kind"):
            raise bad_request("The kind of the component is required (web, other).")
        if props.get("Application_Type") not in ("web", "other"):
            raise bad_request(
                f"The Application_Type '{props.get('Application_Type')}' is invalid: use web or other."
            )
        workspace = props.get("WorkspaceResourceId")
        if workspace and not self.store.exists(workspace):
            raise bad_request(f"The workspace '{workspace}' does not exist.")
        retention = props.get("RetentionInDays", 90)
        if retention not in (30, 60, 90, 120, 180, 270, 365, 550, 730):
            raise bad_request(f"The RetentionInDays '{retention}' is invalid.")
        kept = (existing or {}).get("properties") or {}
        # Ids Azure assigns once, at creation.
        app_id = kept.get("AppId") or str(uuid.uuid4())
        key = kept.get("InstrumentationKey") or str(uuid.uuid4())
        location = (body.get("location") or "").replace(" ", "").lower()
        return {
            "AppId": app_id,
            "Application_Type": props["Application_Type"],
            "Flow_Type": props.get("Flow_Type"),
            "Request_Source": props.get("Request_Source"),
            "InstrumentationKey": key,
            "ConnectionString": f"InstrumentationKey={key};IngestionEndpoint=https://{location}-0.in."
            f"applicationinsights.azure.com/;ApplicationId={app_id}",
            "CreationDate": kept.get("CreationDate")
            or time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "TenantId": self.double.subscription_id,
            "RetentionInDays": retention,
            "WorkspaceResourceId": workspace,
            "IngestionMode": "LogAnalytics" if workspace else "ApplicationInsights",
            "publicNetworkAccessForIngestion": props.get("publicNetworkAccessForIngestion", "Enabled"),
            "publicNetworkAccessForQuery": props.get("publicNetworkAccessForQuery", "Enabled"),
            "provisioningState": "Succeeded",
        }

    def web_test(self, body: dict[str, Any], existing: dict[str, Any] | None) -> dict[str, Any]:
        props = body.get("properties") or {}
        links = [key.split(":", 1)[1] for key in body.get("tags") or {} if key.startswith("hidden-link:")]
        if not links or not all(self.store.exists(link) for link in links):
            raise bad_request(
                "A web test needs a 'hidden-link:<component id>' tag naming an existing component."
            )
        if not props.get("SyncTestName"):
            raise bad_request("The SyncTestName of the web test is required.")
        if props.get("Kind") not in ("ping", "multistep", "standard"):
            raise bad_request(f"The Kind '{props.get('Kind')}' is invalid: use ping, multistep or standard.")
        frequency, timeout = props.get("Frequency", 300), props.get("Timeout", 30)
        if frequency not in (300, 600, 900):
            raise bad_request(f"The Frequency '{frequency}' is invalid: use 300, 600 or 900 seconds.")
        if not isinstance(timeout, int) or not 30 <= timeout <= min(120, frequency):
            raise bad_request(f"The Timeout '{timeout}' is invalid: 30 to 120 seconds.")
        locations = props.get("Locations") or []
        if not 1 <= len(locations) <= 16 or not all(
            isinstance(spot, dict) and spot.get("Id") for spot in locations
        ):
            raise bad_request("A web test needs 1 to 16 Locations, each with an Id.")
        request = props.get("Request") or {}
        if props["Kind"] == "standard":
            if not re.match(r"^https?://[^/\s]+", str(request.get("RequestUrl", ""))):
                raise bad_request(f"The RequestUrl '{request.get('RequestUrl')}' is not an http(s) URL.")
            if request.get("HttpVerb", "GET") not in (
                "GET",
                "POST",
                "PUT",
                "PATCH",
                "DELETE",
                "HEAD",
                "OPTIONS",
            ):
                raise bad_request(f"The HttpVerb '{request.get('HttpVerb')}' is invalid.")
        rules = props.get("ValidationRules") or {}
        remaining = rules.get("SSLCertRemainingLifetimeCheck")
        if remaining is not None and (not rules.get("SSLCheck") or not 1 <= remaining <= 100):
            raise bad_request("SSLCertRemainingLifetimeCheck (1-100 days) needs SSLCheck.")
        return {
            "SyncTestName": props["SyncTestName"],
            "Name": props.get("Name") or props["SyncTestName"],
            "Description": props.get("Description", ""),
            "Enabled": bool(props.get("Enabled", True)),
            "Frequency": frequency,
            "Timeout": timeout,
            "Kind": props["Kind"],
            "RetryEnabled": bool(props.get("RetryEnabled", False)),
            "Locations": [{"Id": location["Id"]} for location in locations],
            "Request": request or None,
            "ValidationRules": rules or None,
            "Configuration": props.get("Configuration"),
            "provisioningState": "Succeeded",
        }


def register(double: AzureDouble) -> None:
    insights = InsightsProvider(double)
    insights.routes(
        SyncType(
            "actionGroups",
            "Microsoft.Insights/ActionGroups",
            "microsoft.insights",
            insights.action_group,
            "Global",
            201,
        )
    )
    insights.routes(
        SyncType("metricAlerts", "Microsoft.Insights/metricAlerts", NS, insights.metric_alert, "global", 200)
    )
    insights.routes(
        SyncType(
            "components",
            "microsoft.insights/components",
            "microsoft.insights",
            insights.component,
            "westeurope",
            201,
            True,
        )
    )
    insights.routes(
        SyncType(
            "webtests",
            "microsoft.insights/webtests",
            "microsoft.insights",
            insights.web_test,
            "westeurope",
            201,
        )
    )
