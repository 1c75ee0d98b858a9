"""The service's one retry loop: wait for a dependency (PostgreSQL, Temporal) that may start
after us, with a fixed interval, an optional deadline, and a warning per failed attempt."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Retry:
    what: str
    retry_on: tuple[type[BaseException], ...]
    interval_seconds: float = 2.0
    # None: forever (a web server that must come up and report itself degraded meanwhile).
    deadline_seconds: float | None = None

    def _may_retry(self, error: BaseException, deadline: float | None) -> bool:
        if deadline is not None and time.monotonic() > deadline:
            return False
        log.warning(f"{self.what} not possible yet, retrying", extra={"error": str(error)})
        return True

    def _deadline(self) -> float | None:
        return None if self.deadline_seconds is None else time.monotonic() + self.deadline_seconds

    def call(self, operation: Callable[[], T]) -> T:
        deadline = self._deadline()
        while True:
            try:
                return operation()
            except self.retry_on as error:
                if not self._may_retry(error, deadline):
                    raise
            time.sleep(self.interval_seconds)

    async def call_async(self, operation: Callable[[], Awaitable[T]]) -> T:
        deadline = self._deadline()
        while True:
            try:
                return await operation()
            except self.retry_on as error:
                if not self._may_retry(error, deadline):
                    raise
            await asyncio.sleep(self.interval_seconds)
