"""Response shapes recorded from real Azure (see extract.py): every key, real defaults, real nulls."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any


@cache
def _load(name: str) -> dict[str, Any]:
    return json.loads((Path(__file__).parent / f"{name}.json").read_text())


def shape(shape_name: str, /, **placeholders: str) -> dict[str, Any]:
    """A fresh copy of the shape with `{placeholder}` texts filled in."""
    return _fill(copy.deepcopy(_load(shape_name)), {f"{{{k}}}": v for k, v in placeholders.items()})


def _fill(value: Any, mapping: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, mapping) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, mapping) for v in value]
    if isinstance(value, str) and "{" in value:
        for placeholder, text in mapping.items():
            value = value.replace(placeholder, text)
    return value
