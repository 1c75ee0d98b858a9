# Copyright: PAPR Memory engineers
# Apache-2.0
"""Turn Azure failures into messages that name the resource and say what to do.

azure-core only understands ARM's ``{"error": {"code", "message"}}`` body. The Web RP
(Microsoft.Web) answers in its own shape (``{"Code", "Message", "Details": [{"ErrorEntity": ...}]}``)
and azure-core then reports only "Operation returned an invalid status 'Conflict'", so the body is
read and parsed here, whatever shape it has.
"""

from __future__ import annotations

import json

try:
    from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError, ServiceResponseError
except ImportError:  # reported by AzureModule with missing_required_lib
    ClientAuthenticationError = ServiceRequestError = ServiceResponseError = None


class AzureModuleError(Exception):
    """A failure already phrased for the operator: the module fails with exactly this message."""


class AzureErrorDetail:
    """What Azure said: HTTP status, service error code, message and (Web RP) extended code."""

    def __init__(self, status=None, code=None, message=None, extended_code=None):
        self.status = status
        self.code = code
        self.message = message
        self.extended_code = extended_code

    def __str__(self):
        parts = []
        if self.status and self.status >= 400:  # a failed long-running operation is read with a 200
            parts.append(f"HTTP {self.status}")
        if self.code:
            parts.append(self.code if not self.extended_code else f"{self.code} ({self.extended_code})")
        head = " ".join(parts)
        return f"{head}: {self.message}" if head and self.message else head or (self.message or "")


def _response_body(exc):
    response = getattr(exc, "response", None)
    if response is None:
        return None
    try:
        text = response.text()
    except Exception:  # noqa: BLE001 - a body we cannot read is just absent
        return None
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text.strip()[:500] or None


def _from_arm_error(error, status):
    message = error.get("message")
    # Deployment-style errors put the useful reason in details.
    details = [d.get("message") for d in error.get("details") or [] if isinstance(d, dict)]
    details = [message for message in details if message]
    if details and details[0] != message:
        message = f"{message} ({'; '.join(details)})" if message else "; ".join(details)
    return AzureErrorDetail(status, error.get("code"), message)


def _from_web_rp_error(body, status):
    code, message, extended = body.get("Code"), body.get("Message"), None
    for detail in body.get("Details") or []:
        entity = detail.get("ErrorEntity") if isinstance(detail, dict) else None
        if isinstance(entity, dict):
            extended = entity.get("ExtendedCode") or extended
            message = message or entity.get("Message")
            code = code or entity.get("Code")
    return AzureErrorDetail(status, code, message, extended)


def parse_error(exc):
    """AzureErrorDetail for any exception raised by an Azure SDK call."""
    status = getattr(getattr(exc, "response", None), "status_code", None) or getattr(exc, "status_code", None)
    body = _response_body(exc)
    if isinstance(body, dict):
        if isinstance(body.get("error"), dict):
            return _from_arm_error(body["error"], status)
        if "Code" in body or "Message" in body:
            return _from_web_rp_error(body, status)
        if "code" in body and "message" in body:
            return _from_arm_error(body, status)
    sdk_error = getattr(exc, "error", None)
    if sdk_error is not None and getattr(sdk_error, "code", None):
        return AzureErrorDetail(status, sdk_error.code, sdk_error.message)
    message = body if isinstance(body, str) else getattr(exc, "message", None) or str(exc)
    return AzureErrorDetail(status, None, message)


def _hint(exc, detail):
    """What the operator should do next, from the error's class, status and code."""
    code = (detail.code or "").lower()
    if detail.status == 401 or (ClientAuthenticationError and isinstance(exc, ClientAuthenticationError)):
        return (
            "Check the credentials: AZURE_CLIENT_ID / AZURE_SECRET / AZURE_TENANT (or the client_id, secret "
            "and tenant options), that the secret has not expired, and that the cloud "
            "(AZURE_CLOUD_ENVIRONMENT) is the one the tenant lives in."
        )
    if ServiceRequestError is not None and isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return (
            "Azure Resource Manager could not be reached: check the network, AZURE_CLOUD_ENVIRONMENT and, "
            "behind a TLS-inspecting proxy or on a private cloud, the CA bundle "
            "(ca_path / REQUESTS_CA_BUNDLE)."
        )
    if code == "resourcegroupnotfound":
        return "Create the resource group first (papr.memory.resource_group) or fix resource_group."
    if detail.status == 403 or code.startswith("authorization"):
        return "Grant the identity a role that allows this (for example Contributor) on the resource group."
    if detail.extended_code == "54001" or "already exists" in (detail.message or "").lower():
        return "The name is taken (App Service names are global across Azure): choose another name."
    if detail.extended_code == "52039" or "quota" in code or "quota" in (detail.message or "").lower():
        return "A subscription quota was reached: request a quota increase or choose a smaller SKU / region."
    if detail.status == 429:
        return "Azure kept throttling after the bounded retries: run again later or raise max_retries."
    if detail.status and detail.status >= 500:
        return "Azure reported a server error after the bounded retries: run the task again."
    if detail.status == 400:
        return "Azure rejected the request: check the option values named in the message."
    return ""


def describe_failure(exc, action, resource):
    """One sentence naming what failed on which resource, what Azure said, and what to do."""
    if isinstance(exc, AzureModuleError):
        return str(exc)
    detail = parse_error(exc)
    hint = _hint(exc, detail)
    message = f"Could not {action} {resource}: {str(detail).rstrip('.')}."
    return f"{message} {hint}" if hint else message


def is_not_found(exc):
    return (
        getattr(getattr(exc, "response", None), "status_code", None) == 404
        or getattr(exc, "status_code", None) == 404
    )
