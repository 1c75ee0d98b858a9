"""Catalogues taken from real Azure answers (see README.md here): regions, PostgreSQL capabilities and
server parameters. The double validates and answers from them instead of restating them in code."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


@cache
def load(name: str) -> Any:
    return json.loads((HERE / f"{name}.json").read_text())


def by_api_version(prefix: str, api_version: str | None) -> Any:
    """The catalogue recorded for the newest api-version not after the request's (else the oldest one)."""
    versions = sorted(p.stem[len(prefix) + 1 :] for p in HERE.glob(f"{prefix}_*.json"))
    chosen = versions[0]
    for version in versions:
        if api_version and version[:10] <= api_version[:10]:
            chosen = version
    return load(f"{prefix}_{chosen}")
