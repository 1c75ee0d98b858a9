"""API key check for /v1/*: `Authorization: Bearer <key>` or `X-API-Key: <key>`."""

from __future__ import annotations

import hmac

from fastapi import Request, Security
from fastapi.security import APIKeyHeader, HTTPBearer

from app.errors import ApiError


def _presented_key(request: Request) -> str | None:
    header = request.headers.get("x-api-key")
    if header:
        return header.strip()
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


# Declared so that the OpenAPI document names both ways to authenticate; the check is below.
_X_API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False)
_BEARER = HTTPBearer(auto_error=False)


async def require_api_key(
    request: Request, _x_api_key: object = Security(_X_API_KEY), _bearer: object = Security(_BEARER)
) -> None:
    """Fails closed: with no key configured, nothing under /v1 is reachable."""
    presented = _presented_key(request)
    accepted = request.app.state.services.settings.api_keys
    # Compare against every key without stopping early, so timing tells nothing about which matched.
    matched = False
    if presented:
        for key in accepted:
            matched |= hmac.compare_digest(presented.encode(), key.get_secret_value().encode())
    if matched:
        # Idempotency-Keys are scoped per API key (app/idempotency.py).
        request.state.api_key = presented
    if not matched:
        raise ApiError(
            401,
            "a valid API key is required (Authorization: Bearer <key> or X-API-Key)",
            headers={"WWW-Authenticate": "Bearer"},
        )
