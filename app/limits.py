"""Request body limits enforced before the body is read: from Content-Length at once, and while
streaming for chunked bodies, so a 100 MB body costs neither memory nor time (and is refused
before authentication, which reads no body)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import MULTIPART_OVERHEAD_BYTES, Settings
from app.errors import error_response

# Routes that take no body still get a small allowance (a stray `{}`), never an unbounded one.
_NO_BODY_LIMIT = 64 * 1024


def body_limits(settings: Settings) -> Callable[[str, str], int]:
    """The byte limit for a request, by method and path."""
    upload = settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES
    json_body = settings.max_json_body_bytes

    def limit(method: str, path: str) -> int:
        if method == "POST" and path.rstrip("/") == "/v1/documents":
            return upload
        if method == "POST" and path.rstrip("/") == "/v1/memories":
            return json_body
        return _NO_BODY_LIMIT

    return limit


def too_large(limit: int) -> HTTPException:
    return HTTPException(413, f"the request body is larger than {limit} bytes")


class BodyLimitMiddleware:
    """Pure ASGI (no body buffering): refuses by Content-Length, and counts streamed bytes."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str, str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            response = error_response(413, "payload_too_large", too_large(limit).detail)
            response.headers["Connection"] = "close"
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Raised inside the body read: FastAPI and the upload code let HTTPException
                    # through, and the error handler turns it into the one error shape.
                    raise too_large(limit)
            return message

        await self.app(scope, limited_receive, send)
