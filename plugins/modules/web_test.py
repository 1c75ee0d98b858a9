#!/usr/bin/python
# Copyright: PAPR Memory engineers
# Apache-2.0
"""Application Insights standard web test: an availability test that requests a URL from several
places on a schedule (the deployment's /health)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: web_test
short_description: An Application Insights standard web test (availability test) of one URL
description:
  - Ensures the standard web test (C(Microsoft.Insights/webtests), kind C(standard)) exists, linked to its
    Application Insights component, requesting O(url) from O(locations) every O(frequency) seconds and
    expecting O(expected_status), or is absent.
  - Its results are the component's C(availabilityResults/availabilityPercentage) metric, which a
    papr.memory.metric_alert on the component can alert on.
  - Idempotent - a second run sends no write. Check mode sends no write; diff mode shows the managed view.
version_added: 0.2.0
author:
  - PAPR Memory engineers (@papr-memory)
options:
  name:
    description: Name of the web test.
    type: str
    required: true
  resource_group:
    description: Resource group of the web test.
    type: str
    required: true
  location:
    description: Azure region (the component's). Required to create the test; a test cannot move.
    type: str
  component:
    description: Resource id of the Application Insights component the results go to.
    type: str
    required: true
  url:
    description: The http(s) URL requested (GET).
    type: str
  expected_status:
    description: The HTTP status a healthy answer has.
    type: int
    default: 200
  frequency:
    description: Seconds between two tests from one location.
    type: int
    choices: [300, 600, 900]
    default: 300
  timeout:
    description: Seconds one request may take (30-120).
    type: int
    default: 30
  locations:
    description: Test location ids (1-16); Azure recommends at least five.
    type: list
    elements: str
    default: [emea-nl-ams-azr, emea-gb-db3-azr, emea-fr-pra-edge, us-va-ash-azr, us-ca-sjc-azr]
  retry:
    description: Retry a failed test once before it counts as failed.
    type: bool
    default: true
  ssl_lifetime_days:
    description: For an https URL, fail when the certificate expires within this many days (1-100).
    type: int
    default: 7
  enabled:
    description: Whether the test runs.
    type: bool
    default: true
  state:
    description: Whether the web test should exist.
extends_documentation_fragment:
  - papr.memory.azure
  - papr.memory.azure.tags
  - papr.memory.azure.state
requirements:
  - azure-mgmt-resource >= 23
"""

EXAMPLES = r"""
- name: Availability test of the web app's /health
  papr.memory.web_test:
    name: papr-memory-prod-health
    resource_group: papr-memory-prod
    location: westeurope
    component: "{{ insights.id }}"
    url: https://papr-memory-prod-web.azurewebsites.net/health
"""

RETURN = r"""
extends_documentation_fragment:
  - papr.memory.azure.result
id:
  description: Resource id of the web test.
  returned: always
  type: str
resource:
  description: The web test after the task (empty when absent).
  returned: always
  type: dict
  contains:
    name: {description: Name., type: str}
    url: {description: The URL requested., type: str}
    frequency: {description: Seconds between tests., type: int}
    locations: {description: Test location ids., type: list, elements: str}
    enabled: {description: Whether the test runs., type: bool}
"""

import re

from ansible_collections.papr.memory.plugins.module_utils.azure_arm_resource import (
    ArmResourceType,
    fixed_location,
    properties_of,
    tracked_body,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_diff import (
    TAGS_ARGUMENT_SPEC,
    normalise_location,
)
from ansible_collections.papr.memory.plugins.module_utils.azure_errors import AzureModuleError
from ansible_collections.papr.memory.plugins.module_utils.azure_module import STATE_ARGUMENT_SPEC
from ansible_collections.papr.memory.plugins.module_utils.azure_runner import run_module

API_VERSION = "2022-06-15"
URL = re.compile(r"^https?://[^/\s]+")
COMPONENT = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Insights/components/[^/]+$", re.I
)
# How Application Insights ties a web test to its component (the portal lists it there by this tag).
LINK_PREFIX = "hidden-link:"


class WebTest(ArmResourceType):
    kind = "web test"
    resource_type = "Microsoft.Insights/webtests"
    api_version = API_VERSION

    def validate(self):
        params = self.params
        if params["state"] == "absent":
            return
        if not COMPONENT.match(params["component"]):
            raise AzureModuleError(
                f"component {params['component']!r} is not the resource id of an Application Insights "
                "component."
            )
        if not URL.match(params["url"] or ""):
            raise AzureModuleError(f"url {params['url']!r} must be an http(s) URL.")
        if not 30 <= params["timeout"] <= 120:
            raise AzureModuleError(f"timeout {params['timeout']} must be 30 to 120 seconds.")
        if not 1 <= len(params["locations"]) <= 16:
            raise AzureModuleError(f"locations: {len(params['locations'])} given, 1 to 16 allowed.")
        if not 1 <= params["ssl_lifetime_days"] <= 100:
            raise AzureModuleError(f"ssl_lifetime_days {params['ssl_lifetime_days']} must be 1 to 100.")

    def desired_body(self, current):
        params = self.params
        https = params["url"].lower().startswith("https://")
        rules = {"ExpectedHttpStatusCode": params["expected_status"], "SSLCheck": https}
        if https:
            rules["SSLCertRemainingLifetimeCheck"] = params["ssl_lifetime_days"]
        properties = {
            "SyncTestName": params["name"],
            "Name": params["name"],
            "Kind": "standard",
            "Enabled": params["enabled"],
            "Frequency": params["frequency"],
            "Timeout": params["timeout"],
            "RetryEnabled": params["retry"],
            "Locations": [{"Id": spot} for spot in sorted(set(params["locations"]))],
            "Request": {"RequestUrl": params["url"], "HttpVerb": "GET", "ParseDependentRequests": False},
            "ValidationRules": rules,
        }
        body = tracked_body(self.module, current, fixed_location(self.module, self, current), properties)
        # The link to the component is a tag, kept whatever `purge_tags` says.
        tags = {key: value for key, value in body["tags"].items() if not key.startswith(LINK_PREFIX)}
        link = next(
            (
                key
                for key in (current or {}).get("tags") or {}
                if key.lower() == (LINK_PREFIX + params["component"]).lower()
            ),
            LINK_PREFIX + params["component"],
        )
        body["tags"] = {**tags, link: "Resource"}
        return body

    def view(self, body):
        properties = properties_of(body)
        request = properties.get("Request") or {}
        rules = properties.get("ValidationRules") or {}
        return {
            "location": normalise_location(body.get("location")),
            "kind": properties.get("Kind"),
            "url": request.get("RequestUrl"),
            "verb": request.get("HttpVerb"),
            "expected_status": rules.get("ExpectedHttpStatusCode"),
            "ssl_check": bool(rules.get("SSLCheck")),
            "ssl_lifetime_days": rules.get("SSLCertRemainingLifetimeCheck"),
            "frequency": properties.get("Frequency"),
            "timeout": properties.get("Timeout"),
            "locations": sorted(spot.get("Id", "") for spot in properties.get("Locations") or []),
            "retry": bool(properties.get("RetryEnabled")),
            "enabled": bool(properties.get("Enabled")),
            # Tag names compare without case: Azure may answer the component id in its own spelling.
            "tags": {
                key.lower() if key.startswith(LINK_PREFIX) else key: value
                for key, value in (body.get("tags") or {}).items()
            },  # fmt: skip
        }

    def describe_body(self, body):
        shown = self.view(body)
        return {
            "name": body.get("name"),
            "url": shown["url"],
            "frequency": shown["frequency"],
            "locations": shown["locations"],
            "enabled": shown["enabled"],
        }


def main():
    run_module(
        WebTest,
        dict(
            name=dict(type="str", required=True),
            resource_group=dict(type="str", required=True),
            location=dict(type="str"),
            component=dict(type="str", required=True),
            url=dict(type="str"),
            expected_status=dict(type="int", default=200),
            frequency=dict(type="int", choices=[300, 600, 900], default=300),
            timeout=dict(type="int", default=30),
            locations=dict(
                type="list",
                elements="str",
                default=[
                    "emea-nl-ams-azr",
                    "emea-gb-db3-azr",
                    "emea-fr-pra-edge",
                    "us-va-ash-azr",
                    "us-ca-sjc-azr",
                ],
            ),
            retry=dict(type="bool", default=True),
            ssl_lifetime_days=dict(type="int", default=7),
            enabled=dict(type="bool", default=True),
            **TAGS_ARGUMENT_SPEC,
            **STATE_ARGUMENT_SPEC,
        ),
        required_if=[("state", "present", ("url",))],
    )


if __name__ == "__main__":
    main()
