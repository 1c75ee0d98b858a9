"""The double's HTTP control API under /_double/ (for a CLI-started double; tests use the methods)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .http import DoubleError, Request, Response

if TYPE_CHECKING:
    from .server import AzureDouble


def handle(double: AzureDouble, request: Request) -> Response:
    """GET requests|snapshot; POST reset|faults|drift. No auth: the double only listens on loopback."""
    action = request.path.removeprefix("/_double/").strip("/")
    body = request.json_object() if request.method == "POST" else {}
    if request.method == "GET" and action == "requests":
        entries = [
            {
                "method": e.method,
                "path": e.path,
                "api_version": e.api_version,
                "status": e.status,
                "write": e.is_write,
            }
            for e in double.requests()
        ]
        return Response(200, {"requests": entries, "write_count": double.write_count()})
    if request.method == "GET" and action == "snapshot":
        return Response(200, double.snapshot())
    if request.method == "POST" and action == "reset":
        double.reset()
        return Response(204)
    if request.method == "POST" and action == "faults":
        kind = body.pop("kind", "status")
        if kind == "status":
            double.inject_status(**body)
        elif kind == "failed_operation":
            double.fail_operations(**body)
        elif kind == "slow_operation":
            double.slow_operations(**body)
        else:
            raise DoubleError(400, {"error": f"unknown fault kind {kind!r}"})
        return Response(204)
    if request.method == "POST" and action == "faults/clear":
        double.clear_faults()
        return Response(204)
    if request.method == "POST" and action == "drift":
        try:
            return Response(200, double.drift(body["id"], body["change"]))
        except KeyError as exc:
            raise DoubleError(404, {"error": str(exc)}) from exc
    raise DoubleError(404, {"error": f"no control action {request.method} {action}"})
