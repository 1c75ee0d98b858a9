"""Idempotency-Key (the IETF httpapi draft header) for POST /v1/memories and /v1/documents.

The id of the memory or document, and so its workflow id, is derived from the key and the API
key that presented it: a retry of the same request, whatever became of the first attempt (503,
timeout, a web server that died mid-request), lands on the same id and the same workflow, and
is stored once. The request's fingerprint (app.contracts.request_fingerprint) is kept with the
write, so the same key with another body is refused with 409. Keys are kept at least
PAPR_IDEMPOTENCY_KEY_HOURS (24 h)."""

from __future__ import annotations

import hashlib
import re
import uuid

from app.errors import ApiError

HEADER = "Idempotency-Key"
# Any fixed namespace works, as long as it never changes: ids derived from keys depend on it.
_NAMESPACE = uuid.UUID("6f1c5d4e-2b7a-4c1e-9a53-7d0e8f1b2c3d")
# The draft makes the value a structured-field string ("..."); a bare token is accepted too.
KEY_PATTERN = r'^"?[\x21\x23-\x7e]{1,255}"?$'
_KEY = re.compile(r'^"?([\x21\x23-\x7e]{1,255})"?$')


def parse_key(raw: str | None) -> str | None:
    if raw is None:
        return None
    match = _KEY.match(raw.strip())
    if not match:
        raise ApiError(422, f"{HEADER}: must be 1-255 visible ASCII characters (a quoted string)")
    return match.group(1)


def derived_id(kind: str, api_key: str, key: str) -> uuid.UUID:
    """The id a keyed request always gets: per kind, per API key, per Idempotency-Key."""
    client = hashlib.sha256(api_key.encode()).hexdigest()[:32]
    return uuid.uuid5(_NAMESPACE, f"{kind}:{client}:{key}")


def conflict(key: str) -> ApiError:
    return ApiError(409, f"{HEADER} {key!r} was already used with a different request body", code="conflict")
