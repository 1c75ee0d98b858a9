"""Case-insensitive route table: ARM treats path segments (resourcegroups, providers) case-insensitively."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .http import Request, Response, arm_error

Handler = Callable[[Request, dict[str, str]], Response]

# Placeholders match one path segment; `{name*}` matches one or more (an ARM scope: role assignments).
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_SCOPE_PLACEHOLDER = re.compile(r"\{(\w+)\*\}")


@dataclass
class Route:
    method: str
    regex: re.Pattern[str]
    handler: Handler


class Router:
    def __init__(self) -> None:
        self._routes: list[Route] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        unescaped = re.escape(pattern).replace(r"\{", "{").replace(r"\}", "}").replace(r"\*", "*")
        regex = "^" + _PLACEHOLDER.sub(r"(?P<\1>[^/]+)", _SCOPE_PLACEHOLDER.sub(r"(?P<\1>/.+?)", unescaped))
        self._routes.append(Route(method.upper(), re.compile(regex + "/?$", re.IGNORECASE), handler))

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            self.add(method, pattern, handler)
            return handler

        return decorate

    def dispatch(self, request: Request) -> Response:
        path_known = False
        for route in self._routes:
            match = route.regex.match(request.path)
            if not match:
                continue
            path_known = True
            # HEAD falls back to GET (ARM answers HEAD on resource groups/resources as an existence check).
            if route.method == request.method:
                return route.handler(request, match.groupdict())
        if request.method == "HEAD":
            for route in self._routes:
                match = route.regex.match(request.path)
                if match and route.method == "GET":
                    answer = route.handler(request, match.groupdict())
                    return Response(204 if answer.status == 200 else answer.status, None, answer.headers)
        if path_known:
            raise arm_error(
                405,
                "MethodNotAllowed",
                f"The requested resource does not support http method '{request.method}'.",
            )
        raise arm_error(
            404,
            "InvalidResourceType",  # *unverified* wording for paths the double does not model
            f"The resource type could not be found for path '{request.path}' and api version "
            f"'{request.api_version}'.",
        )
