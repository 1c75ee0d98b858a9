"""The one validation boundary: what PostgreSQL (text, jsonb) and Temporal cannot store is refused
here, at the API, naming the field, so an accepted write can always be stored.

The workers keep a last line of defence (workers/activities.py): input that still fails to store
is a permanent failure, never an endless retry."""

from __future__ import annotations

import json
import math
from typing import Any

# PostgreSQL rejects NUL in text and in jsonb strings; lone surrogates cannot be encoded as UTF-8.
NUL = "\x00"
# The same rules as JSON Schema patterns, for the OpenAPI document.
NO_NUL = r"^[^\x00]*$"
HAS_TEXT = r"^[^\x00]*\S[^\x00]*$"
# Metadata: any JSON object whose strings and keys hold no NUL (recursive, for the document).
METADATA_SCHEMAS = {
    "MetadataValue": {
        "anyOf": [
            {"type": "string", "pattern": NO_NUL},
            {"type": "number"},
            {"type": "boolean"},
            {"type": "null"},
            {"type": "array", "items": {"$ref": "#/components/schemas/MetadataValue"}},
            {"$ref": "#/components/schemas/Metadata"},
        ]
    },
    "Metadata": {
        "type": "object",
        "propertyNames": {"pattern": NO_NUL},
        "additionalProperties": {"$ref": "#/components/schemas/MetadataValue"},
    },
}


class UnstorableValue(ValueError):
    """A value PostgreSQL cannot store; the message names where it is."""


def text_problem(value: str) -> str | None:
    """Why a string cannot be stored in a PostgreSQL text column, or None."""
    if NUL in value:
        return "contains a NUL character (\\u0000), which cannot be stored"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (invalid Unicode), which cannot be stored"
    return None


def check_text(value: str, where: str) -> str:
    problem = text_problem(value)
    if problem:
        raise UnstorableValue(f"{where} {problem}")
    return value


def check_json(value: Any, where: str, max_depth: int) -> None:
    """Walk a decoded JSON value: storable strings and keys, finite numbers, bounded nesting.

    Iterative, so nesting far deeper than the limit cannot exhaust the interpreter's stack."""
    pending: list[tuple[Any, str, int]] = [(value, where, 0)]
    while pending:
        item, path, depth = pending.pop()
        if isinstance(item, dict | list) and depth >= max_depth:
            raise UnstorableValue(f"{path} is nested deeper than {max_depth} levels")
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    raise UnstorableValue(f"{path} has a key that is not a string")
                check_text(key, f"{path} key {key[:40]!r}")
                pending.append((child, f"{path}.{key[:40]}", depth + 1))
        elif isinstance(item, list):
            pending.extend((child, f"{path}[{index}]", depth + 1) for index, child in enumerate(item))
        elif isinstance(item, str):
            check_text(item, path)
        elif isinstance(item, float) and not math.isfinite(item):
            raise UnstorableValue(f"{path} is not a finite number (NaN and Infinity cannot be stored)")


def json_size(value: Any) -> int:
    """Bytes of the compact UTF-8 JSON form: what PostgreSQL and Temporal will carry."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
