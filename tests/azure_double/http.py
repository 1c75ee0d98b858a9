"""The double's request/response values and the ARM / Web RP error shapes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit


@dataclass
class Request:
    method: str
    path: str  # percent-decoded path, no query string
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""

    @classmethod
    def parse(cls, method: str, raw_target: str, headers: dict[str, str], body: bytes) -> Request:
        parts = urlsplit(raw_target)
        query = {k.lower(): v for k, v in parse_qsl(parts.query, keep_blank_values=True)}
        return cls(
            method.upper(), unquote(parts.path), query, {k.lower(): v for k, v in headers.items()}, body
        )

    @property
    def api_version(self) -> str | None:
        return self.query.get("api-version")

    def json(self) -> Any:
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise arm_error(400, "InvalidRequestContent", f"The request content was invalid: {exc}.") from exc

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object (ARM refuses anything else for resource writes)."""
        data = self.json()
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise arm_error(400, "InvalidRequestContent", "The request content must be a JSON object.")
        return data


@dataclass
class Response:
    status: int
    body: Any = None  # dict/list -> JSON; str -> text; None -> empty
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str]:
        if self.body is None:
            return b"", "application/json"
        if isinstance(self.body, (bytes, str)):
            raw = self.body.encode() if isinstance(self.body, str) else self.body
            return raw, self.headers.get("content-type", "text/plain")
        return json.dumps(self.body).encode(), "application/json; charset=utf-8"


class DoubleError(Exception):
    """Raised anywhere in a handler; becomes the HTTP answer as is."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None):
        super().__init__(f"{status}: {body}")
        self.response = Response(status, body, headers or {})


def arm_error(status: int, code: str, message: str, target: str | None = None) -> DoubleError:
    """ARM's error shape, the only one azure-core parses: {"error": {"code", "message"}}."""
    error: dict[str, Any] = {"code": code, "message": message}
    if target is not None:
        error["target"] = target
    return DoubleError(status, {"error": error})


# The Web RP's ExtendedCode numbers, as seen in real answers (see azure-arm-notes.md).
WEB_EXTENDED_CODES = {
    "Conflict": "54001",
    "NotFound": "51004",
    "QuotaExceeded": "52039",
    "BadRequest": "51021",
}


def web_error(
    status: int,
    code: str,
    message: str,
    template: str,
    parameters: list[str],
    extended_code: str | None = None,
) -> DoubleError:
    """Microsoft.Web's own error shape ({"Code","Message",...}), which azure-core cannot parse."""
    extended = extended_code or WEB_EXTENDED_CODES.get(code, "01001")
    return DoubleError(
        status,
        {
            "Code": code,
            "Message": message,
            "Target": None,
            "Details": [
                {"Message": message},
                {"Code": code},
                {
                    "ErrorEntity": {
                        "ExtendedCode": extended,
                        "MessageTemplate": template,
                        "Parameters": parameters,
                        "Code": code,
                        "Message": message,
                    }
                },
            ],
            "Innererror": None,
        },
    )
