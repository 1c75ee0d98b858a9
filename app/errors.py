"""One error shape everywhere: {"error": {"code", "message"}}."""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    500: "internal_error",
    503: "service_unavailable",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, code: str | None = None, headers=None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or _CODES.get(status, "error")
        self.message = message
        self.headers = headers


def error_response(status: int, code: str, message: str, headers=None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _validation_message(error: RequestValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(part) for part in item.get("loc", ()) if part != "body") or "request"
        parts.append(f"{where}: {item.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


# Routes that only answer 405 (see app/api.py) carry this name; they are not in the OpenAPI
# document and allow nothing themselves.
NO_METHOD_ROUTE = "no_method"
_HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _method_table(app: FastAPI) -> list[tuple[re.Pattern[str], str]]:
    """(path pattern, Allow value) from the OpenAPI document, literal paths first, so
    /v1/memories/search is not taken for /v1/memories/{memory_id}."""
    rows = []
    for path, operations in app.openapi()["paths"].items():
        pattern = re.sub(r"\\\{[^/]*?\\\}", "[^/]+", re.escape(path))
        methods = ", ".join(sorted(method.upper() for method in operations if method in _HTTP_METHODS))
        rows.append((path.count("{"), re.compile(f"^{pattern}$"), methods))
    return [(pattern, methods) for _, pattern, methods in sorted(rows, key=lambda row: row[0])]


def allowed_methods(request: Request) -> str:
    """The Allow header of a 405: every method the contract declares for the path (Starlette's
    own 405 names only the methods of the first route that matched)."""
    table = getattr(request.app.state, "method_table", None)
    if table is None:
        table = request.app.state.method_table = _method_table(request.app)
    return next((methods for pattern, methods in table if pattern.match(request.url.path)), "")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, error: ApiError) -> JSONResponse:
        headers = error.headers
        if error.status == 405:
            headers = {**(headers or {}), "Allow": allowed_methods(request)}
        return error_response(error.status, error.code, error.message, headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = _CODES.get(error.status_code, "error")
        headers = getattr(error, "headers", None)
        if error.status_code == 405:
            headers = {**(headers or {}), "Allow": allowed_methods(request)}
        return error_response(error.status_code, code, str(error.detail), headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
        return error_response(422, "validation_error", _validation_message(error))
