"""Scriptable faults: error answers, long-running operations that fail or take many polls.

Each rule matches a method (regex, default any) and a path (regex searched in the request path,
case-insensitive) and applies `times` times (None = until cleared).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from .http import Response

# ARM's codes for these statuses (*unverified* wording: no recording shows a throttled or failed call).
DEFAULT_CODES = {
    429: ("SubscriptionRequestsThrottled", "Number of requests for subscription exceeded the limit."),
    500: ("InternalServerError", "Encountered internal server error. Please try again."),
    502: ("BadGateway", "The gateway did not receive a response within the specified time period."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable. Please try again."),
}


@dataclass
class FaultRule:
    kind: str  # "status" | "operation"
    method: re.Pattern[str]
    path: re.Pattern[str]
    times: int | None
    status: int = 500
    retry_after: int | None = None
    code: str | None = None
    message: str | None = None
    polls: int | None = None  # operation: how many status polls until terminal
    fail: bool = False  # operation: end Failed with code/message
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        return bool(self.method.fullmatch(method) and self.path.search(path))


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def take(self, kind: str, method: str, path: str) -> FaultRule | None:
        """The first live rule of `kind` matching the request, consuming one of its `times`."""
        with self._lock:
            for rule in self._rules:
                if rule.kind != kind or not rule.matches(method, path):
                    continue
                if rule.times is not None and rule.hits >= rule.times:
                    continue
                rule.hits += 1
                return rule
        return None

    @staticmethod
    def status_response(rule: FaultRule) -> Response:
        code, message = DEFAULT_CODES.get(rule.status, ("Error", "Injected failure."))
        headers = {"retry-after": str(rule.retry_after)} if rule.retry_after is not None else {}
        body = {"error": {"code": rule.code or code, "message": rule.message or message}}
        return Response(rule.status, body, headers)


def rule(kind: str, method: str | None, path: str, times: int | None, **fields) -> FaultRule:
    return FaultRule(
        kind=kind,
        method=re.compile(method or ".*", re.IGNORECASE),
        path=re.compile(path, re.IGNORECASE),
        times=times,
        **fields,
    )
