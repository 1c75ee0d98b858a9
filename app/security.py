"""API key check for /v1/*: `Authorization: Bearer <key>` or `X-API-Key: <key>`."""

from __future__ import annotations

import hmac

from fastapi import Request

from app.errors import ApiError


def _presented_key(request: Request) -> str | None:
    header = request.headers.get("x-api-key")
    if header:
        return header.strip()
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


async def require_api_key(request: Request) -> None:
    """Fails closed: with no key configured, nothing under /v1 is reachable."""
    presented = _presented_key(request)
    accepted = request.app.state.services.settings.api_keys
    # Compare against every key without stopping early, so timing tells nothing about which matched.
    matched = False
    if presented:
        for key in accepted:
            matched |= hmac.compare_digest(presented.encode(), key.get_secret_value().encode())
    if not matched:
        raise ApiError(
            401,
            "a valid API key is required (Authorization: Bearer <key> or X-API-Key)",
            headers={"WWW-Authenticate": "Bearer"},
        )
