"""Long-running operations in the three styles ARM providers use.

- Azure-AsyncOperation: a status URL answering {"status": ...}; the SDK then GETs the resource.
- Location: a URL answering 202 until done, then the final result (200 with body, or 204).
- provisioningState: no header, the resource itself shows a non-terminal provisioningState.

"Time" in the double is counted in polls: an operation finishes after `polls` reads of its status URL,
its Location URL or its target resource (whichever a client does), and optionally `min_seconds`.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from .http import DoubleError, Response, arm_error


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1e6) % 1000000:06d}Z"


@dataclass
class Operation:
    op_id: str
    target_id: str
    polls_needed: int
    min_seconds: float
    on_success: Callable[[], None]
    on_failure: Callable[[str, str], None]
    status_body: Callable[[Operation], dict[str, Any]]
    final_result: Callable[[], Response]  # what a Location URL answers once done
    pending_label: str = "InProgress"
    # Non-terminal statuses a provider walks through (AKS: "ProvisioningControlPlane", ...), over the polls.
    progress: tuple[str, ...] = ()
    failure: tuple[str, str] | None = None
    polls: int = 0
    status: str = ""
    start_time: str = field(default_factory=utc_now)
    end_time: str | None = None
    started: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.status = self.pending_label

    @property
    def done(self) -> bool:
        return self.status in ("Succeeded", "Failed", "Canceled")

    def error_body(self) -> dict[str, str]:
        code, message = self.failure or ("", "")
        return {"code": code, "message": message}


class Operations:
    def __init__(self, default_polls: int = 1, default_seconds: float = 0.0) -> None:
        self._lock = threading.RLock()
        self._ops: dict[str, Operation] = {}
        self.default_polls = default_polls
        self.default_seconds = default_seconds

    def start(
        self,
        *,
        target_id: str,
        on_success: Callable[[], None],
        on_failure: Callable[[str, str], None],
        status_body: Callable[[Operation], dict[str, Any]],
        final_result: Callable[[], Response] | None = None,
        pending_label: str = "InProgress",
        progress: tuple[str, ...] = (),
        polls: int | None = None,
        failure: tuple[str, str] | None = None,
    ) -> Operation:
        op = Operation(
            op_id=str(uuid.uuid4()),
            target_id=target_id.lower(),
            polls_needed=self.default_polls if polls is None else polls,
            min_seconds=self.default_seconds,
            on_success=on_success,
            on_failure=on_failure,
            status_body=status_body,
            final_result=final_result or (lambda: Response(204)),
            pending_label=pending_label,
            progress=progress,
            failure=failure,
        )
        with self._lock:
            self._ops[op.op_id] = op
        if op.polls_needed <= 0 and op.min_seconds <= 0:
            self._finish(op)
        return op

    def get(self, op_id: str) -> Operation:
        with self._lock:
            op = self._ops.get(op_id.lower())
        if op is None:
            raise arm_error(
                404, "OperationNotFound", f"The operation '{op_id}' could not be found."
            )  # *unverified*
        return op

    def advance(self, op: Operation) -> None:
        with self._lock:
            if op.done:
                return
            op.polls += 1
            if op.polls >= op.polls_needed and time.monotonic() - op.started >= op.min_seconds:
                self._finish(op)
            elif op.progress:
                pending_polls = max(op.polls_needed - 1, 1)
                step = round((op.polls - 1) * (len(op.progress) - 1) / max(pending_polls - 1, 1))
                op.status = op.progress[min(step, len(op.progress) - 1)]

    def advance_target(self, target_id: str) -> None:
        """A read of a resource counts as time passing for the operations running on it."""
        key = target_id.lower()
        with self._lock:
            running = [op for op in self._ops.values() if op.target_id == key and not op.done]
        for op in running:
            self.advance(op)

    def running_on(self, target_id: str) -> bool:
        key = target_id.lower()
        with self._lock:
            return any(op.target_id == key and not op.done for op in self._ops.values())

    def _finish(self, op: Operation) -> None:
        if op.failure:
            op.status = "Failed"
            op.on_failure(*op.failure)
        else:
            op.status = "Succeeded"
            op.on_success()
        op.end_time = utc_now()

    # --- what the polling URLs answer -------------------------------------------------------------
    def status_response(self, op_id: str) -> Response:
        op = self.get(op_id)
        self.advance(op)
        return Response(200, op.status_body(op))

    def location_response(self, op_id: str, own_url: str) -> Response:
        op = self.get(op_id)
        self.advance(op)
        if not op.done:
            return Response(202, None, {"location": own_url})
        if op.status == "Failed":
            raise DoubleError(
                400, {"error": op.error_body()}
            )  # *unverified* status for a failed Location poll
        return op.final_result()

    def clear(self) -> None:
        with self._lock:
            self._ops.clear()


def arm_status_body(op: Operation) -> dict[str, Any]:
    """The common Azure-AsyncOperation status document: {id?, name, status, startTime, endTime, error}."""
    body: dict[str, Any] = {"name": op.op_id, "status": op.status, "startTime": op.start_time}
    if op.end_time:
        body["endTime"] = op.end_time
    if op.status == "Failed":
        body["error"] = op.error_body()
    return body


def operation_headers(
    base_url: str,
    subscription: str,
    namespace: str,
    location: str,
    op: Operation,
    api_version: str,
    *,
    status_segment: str | None = "operations",
    location_header: bool = False,
) -> dict[str, str]:
    """Azure-AsyncOperation and/or Location headers pointing at the generic operation routes."""
    scope = f"{base_url}/subscriptions/{subscription}/providers/{namespace}/locations/{quote(location)}"
    headers = {}
    if status_segment:
        headers["azure-asyncoperation"] = f"{scope}/{status_segment}/{op.op_id}?api-version={api_version}"
    if location_header:
        headers["location"] = f"{scope}/operationResults/{op.op_id}?api-version={api_version}"
    return headers
