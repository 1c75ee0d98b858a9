"""Entra ID as MSAL/azure-identity call it, App Service's managed-identity endpoint, the cloud metadata
endpoint, and ARM's token check."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from .http import DoubleError, Request, Response, arm_error

TOKEN_LIFETIME_S = 3600
# The only api-version MSAL and azure-identity send to App Service's IDENTITY_ENDPOINT.
MANAGED_IDENTITY_API_VERSION = "2019-08-01"
# Audiences a management token may be requested for (the public cloud's, as the SDKs default to them).
ARM_AUDIENCES = ("https://management.core.windows.net/", "https://management.azure.com/")


# api-versions of /metadata/endpoints that answer a list of clouds instead of one cloud object
LIST_METADATA_FROM = "2019-05-01"
OBJECT_METADATA_AGAIN_FROM = "2022-09-01"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def managed_identity_error(status: int, message: str) -> DoubleError:
    """App Service's identity endpoint error shape (*unverified* wording; MSAL reads statusCode/message)."""
    return DoubleError(status, {"statusCode": status, "message": message})


def aad_error(status: int, error: str, code: int, description: str) -> DoubleError:
    """Entra ID's OAuth error shape; `AADSTSnnnn` codes as the real service answers them."""
    return DoubleError(
        status,
        {
            "error": error,
            "error_description": f"AADSTS{code}: {description}",
            "error_codes": [code],
            "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
        },
    )


@dataclass
class Identity:
    base_url: str
    tenant_id: str
    client_id: str
    client_secret: str
    _signing_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    # What App Service puts in IDENTITY_HEADER: the caller proves with it that it runs in the app.
    identity_header: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    # --- token issuing and checking ----------------------------------------------------------------
    def issue_token(self, audience: str, lifetime_s: int = TOKEN_LIFETIME_S) -> str:
        now = int(time.time())
        claims = {
            "aud": audience,
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": now + lifetime_s,
            "appid": self.client_id,
            "oid": self.client_id,
            "tid": self.tenant_id,
            "idtyp": "app",
        }
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = _b64url(json.dumps(claims).encode())
        signature = hmac.new(self._signing_key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64url(signature)}"

    def check_bearer(self, request: Request) -> None:
        """ARM's 401s: missing header, a token it did not issue, an expired token."""
        auth = request.headers.get("authorization", "")
        challenge = {
            "www-authenticate": f'Bearer authorization_uri="{self.base_url}/{self.tenant_id}", '
            f'error="invalid_token", error_description="The authentication failed"'
        }
        if not auth:
            raise _with_headers(
                arm_error(
                    401,
                    "AuthenticationFailed",
                    "Authentication failed. The 'Authorization' header is missing.",
                ),
                challenge,
            )
        scheme, _, token = auth.partition(" ")
        parts = token.split(".")
        valid = scheme.lower() == "bearer" and len(parts) == 3
        if valid:
            expected = hmac.new(self._signing_key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
            valid = hmac.compare_digest(_b64url(expected), parts[2])
        if not valid:
            raise _with_headers(
                arm_error(401, "InvalidAuthenticationToken", "The access token is invalid."), challenge
            )
        claims = json.loads(_b64url_decode(parts[1]))
        if claims["exp"] < time.time():
            raise _with_headers(
                arm_error(
                    401,
                    "ExpiredAuthenticationToken",
                    "The access token expiry UTC time is earlier than current UTC time.",
                ),
                challenge,
            )

    # --- endpoints ------------------------------------------------------------------------------
    def openid_configuration(self, tenant: str) -> Response:
        self._require_tenant(tenant)
        authority = f"{self.base_url}/{tenant}"
        return Response(
            200,
            {
                "token_endpoint": f"{authority}/oauth2/v2.0/token",
                "authorization_endpoint": f"{authority}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{authority}/oauth2/v2.0/devicecode",
                "end_session_endpoint": f"{authority}/oauth2/v2.0/logout",
                "jwks_uri": f"{self.base_url}/{tenant}/discovery/v2.0/keys",
                "issuer": f"{authority}/v2.0",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "tenant_region_scope": "EU",
                "cloud_instance_name": "microsoftonline.com",
            },
        )

    def instance_discovery(self, request: Request) -> Response:
        """MSAL's instance discovery (only used when a client does not disable it)."""
        endpoint = request.query.get(
            "authorization_endpoint", f"{self.base_url}/{self.tenant_id}/oauth2/v2.0/authorize"
        )
        tenant = endpoint.removeprefix(self.base_url + "/").split("/")[0] or self.tenant_id
        host = self.base_url.split("://", 1)[1]
        return Response(
            200,
            {
                "tenant_discovery_endpoint": f"{self.base_url}/{tenant}/v2.0/.well-known/"
                "openid-configuration",
                "api-version": "1.1",
                "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
            },
        )

    def token(self, tenant: str, request: Request) -> Response:
        self._require_tenant(tenant)
        form = dict(parse_qsl(request.body.decode(), keep_blank_values=True))
        if form.get("grant_type") != "client_credentials":
            raise aad_error(
                400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type."
            )
        client_id = form.get("client_id", "")
        secret = form.get("client_secret")
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
        if client_id != self.client_id:
            raise aad_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory '{tenant}'.",
            )
        if not secret or not hmac.compare_digest(secret, self.client_secret):
            raise aad_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                "secret "
                f"value, not the client secret ID, for a secret added to app '{client_id}'.",
            )
        scopes = form.get("scope", "").split()
        audience = self._audience(scopes)
        return Response(
            200,
            {
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME_S,
                "ext_expires_in": TOKEN_LIFETIME_S,
                "access_token": self.issue_token(audience),
            },
        )

    def managed_identity_token(self, request: Request) -> Response:
        """App Service's IDENTITY_ENDPOINT: GET ?resource=&api-version=2019-08-01 with X-IDENTITY-HEADER.

        The managed identity is the double's own app: system-assigned, or user-assigned by its client id.
        """
        if not hmac.compare_digest(request.headers.get("x-identity-header", ""), self.identity_header):
            raise managed_identity_error(401, "The X-IDENTITY-HEADER header is missing or not valid.")
        if request.query.get("api-version") != MANAGED_IDENTITY_API_VERSION:
            raise managed_identity_error(400, f"Unsupported api-version; use {MANAGED_IDENTITY_API_VERSION}.")
        if "mi_res_id" in request.query or "object_id" in request.query:
            raise managed_identity_error(
                400, "The double knows the user-assigned identity by client_id only."
            )
        client_id = request.query.get("client_id")
        if client_id and client_id != self.client_id:
            raise managed_identity_error(
                400,
                f"No User Assigned or Delegated Managed Identity found for specified ClientId {client_id}.",
            )
        resource = request.query.get("resource", "")
        if self._known_audience(resource) is None:
            raise managed_identity_error(
                500, f"AADSTS500011: The resource principal named {resource} was not found."
            )
        return Response(
            200,
            {
                "access_token": self.issue_token(resource),
                "expires_on": str(int(time.time()) + TOKEN_LIFETIME_S),  # epoch seconds, as a string
                "resource": resource,
                "token_type": "Bearer",
                "client_id": self.client_id,
            },
        )

    def cloud_metadata(self, request: Request) -> Response:
        """ARM's /metadata/endpoints: a list of clouds or one cloud object, by api-version."""
        cloud = {
            "name": "AzureDouble",
            "portal": self.base_url,
            "resourceManager": f"{self.base_url}/",
            "authentication": {
                "loginEndpoint": f"{self.base_url}/",
                "audiences": [*ARM_AUDIENCES, f"{self.base_url}/"],
                "tenant": "common",
                "identityProvider": "AAD",
            },
            "graph": f"{self.base_url}/graph/",
            "graphAudience": f"{self.base_url}/graph/",
            "microsoftGraphResourceId": f"{self.base_url}/graph/",
            "media": f"{self.base_url}/media/",
            "sqlManagement": f"{self.base_url}/sql/",
            "batch": f"{self.base_url}/batch/",
            "gallery": f"{self.base_url}/gallery/",
            "activeDirectoryDataLake": f"{self.base_url}/datalake/",
            "vmImageAliasDoc": f"{self.base_url}/vmimagealiases.json",
            "suffixes": {
                "azureDataLakeStoreFileSystem": "azuredatalakestore.net",
                "acrLoginServer": "azurecr.io",
                "sqlServerHostname": "database.windows.net",
                "azureDataLakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.net",
                "keyVaultDns": "vault.azure.net",
                "storage": "core.windows.net",
                "azureFrontDoorEndpointSuffix": "azurefd.net",
            },
        }
        version = request.api_version or ""
        # A list for 2019-05-01 up to (not including) 2022-09-01, one object before and from 2022-09-01
        # (Azure/azure-powershell-common PR #374, Azure/azure-cli issue #29283).
        return Response(200, [cloud] if LIST_METADATA_FROM <= version < OBJECT_METADATA_AGAIN_FROM else cloud)

    def _known_audience(self, resource: str) -> str | None:
        """`resource` when a management token may be issued for it (with or without the trailing /)."""
        allowed = [*ARM_AUDIENCES, f"{self.base_url}/"]
        return resource if resource and (resource in allowed or resource + "/" in allowed) else None

    def _audience(self, scopes: list[str]) -> str:
        for scope in scopes:
            resource = self._known_audience(scope.removesuffix(".default"))
            if resource:
                return resource
        raise aad_error(
            400,
            "invalid_scope",
            70011,
            f"The provided request must include a 'scope' input parameter. The provided value for the input "
            f"parameter 'scope' is not valid: {' '.join(scopes)}.",
        )

    def _require_tenant(self, tenant: str) -> None:
        if tenant.lower() not in (self.tenant_id.lower(), "organizations", "common"):
            raise aad_error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")


def _with_headers(error: DoubleError, headers: dict[str, str]) -> DoubleError:
    error.response.headers.update(headers)
    return error
