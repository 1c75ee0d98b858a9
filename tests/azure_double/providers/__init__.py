"""One module per resource provider; each registers its routes on the double's ARM router."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..http import Request, Response

if TYPE_CHECKING:
    from ..server import AzureDouble

# Path segments of status URLs (Azure-AsyncOperation) vs. result URLs (Location), as providers name them.
STATUS_SEGMENTS = {"operations", "azureasyncoperation", "operationstatuses", "asyncoperations"}


def register_all(double: AzureDouble) -> None:
    from . import (
        authorization,
        containerinstance,
        containerservice,
        insights,
        network,
        operationalinsights,
        postgresql,
        privatedns,
        resources,
        web,
    )

    _register_operation_routes(double)
    # network before privatedns: both live under Microsoft.Network.
    providers = (
        resources,
        web,
        containerinstance,
        postgresql,
        containerservice,
        insights,
        network,
        privatedns,
        operationalinsights,
    )
    for module in (*providers, authorization):
        module.register(double)


def _register_operation_routes(double: AzureDouble) -> None:
    """Every provider's operation URLs: /subscriptions/{s}/providers/{ns}/locations/{loc}/{segment}/{id}."""

    @double.arm.route(
        "GET", "/subscriptions/{subscription}/providers/{namespace}/locations/{location}/{segment}/{op_id}"
    )
    def operation(request: Request, params: dict[str, str]) -> Response:
        if params["segment"].lower() in STATUS_SEGMENTS:
            return double.operations.status_response(params["op_id"])
        return double.operations.location_response(
            params["op_id"], double.base_url + _path_and_query(request)
        )


def _path_and_query(request: Request) -> str:
    from urllib.parse import quote, urlencode

    return quote(request.path) + ("?" + urlencode(request.query) if request.query else "")
