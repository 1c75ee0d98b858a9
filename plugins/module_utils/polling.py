# Copyright: PAPR Memory engineers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Deadline and backoff loops for modules that wait for something to become true.

One schedule (:class:`Backoff`) drives both the blocking loop (:func:`wait_until`) and the
asyncio one (:func:`async_wait_until`), so every module waits the same way: try at once, then
sleep ``delay``, ``delay * factor``, ... capped at ``max_delay``, never past the deadline, and
always make at least one attempt (``timeout: 0`` means "check once").
"""

from __future__ import annotations

import asyncio
import time
from collections import namedtuple

# The `delay` / `max_delay` options of the polling modules (documented in doc fragment papr.memory.polling).
BACKOFF_ARGUMENT_SPEC = dict(delay=dict(type="float", default=1), max_delay=dict(type="float", default=10))

WaitResult = namedtuple("WaitResult", ["ok", "attempts", "elapsed", "value"])
"""How a wait ended: ``ok`` when the predicate held, the number of attempts, seconds spent and
the predicate's last return value."""


class Deadline:
    """A point in time to give up at, on the monotonic clock (wall-clock jumps do not matter)."""

    def __init__(self, timeout, clock=time.monotonic):
        if timeout < 0:
            raise ValueError(f"timeout must be >= 0, got {timeout!r}")
        self._clock = clock
        self.started = clock()
        self.timeout = float(timeout)

    def elapsed(self):
        return self._clock() - self.started

    def remaining(self):
        return max(0.0, self.timeout - self.elapsed())

    def expired(self):
        return self.remaining() <= 0.0

    def bound(self, seconds, floor=0.5):
        """``seconds`` cut to what is left, but at least ``floor``: a single request near the
        deadline still gets a fair chance instead of a zero timeout."""
        return max(floor, min(float(seconds), self.remaining()))


class Backoff:
    """The sleeps between attempts: exponential from ``delay`` up to ``max_delay``."""

    def __init__(self, delay=1.0, max_delay=10.0, factor=2.0):
        if delay < 0 or max_delay < 0:
            raise ValueError("delay and max_delay must be >= 0")
        if factor < 1:
            raise ValueError(f"factor must be >= 1, got {factor!r}")
        self._next = float(delay)
        self._max = max(float(max_delay), float(delay))
        self._factor = float(factor)

    def next_sleep(self, deadline):
        """Seconds to sleep before the next attempt, or None when no attempt fits any more."""
        if deadline.expired():
            return None
        sleep = min(self._next, deadline.remaining())
        self._next = min(self._next * self._factor, self._max)
        return sleep


def _as_deadline(timeout):
    return timeout if isinstance(timeout, Deadline) else Deadline(timeout)


def wait_until(predicate, timeout, delay=1.0, max_delay=10.0, factor=2.0, sleep=time.sleep):
    """Call ``predicate()`` until it returns something truthy or ``timeout`` (seconds or a
    :class:`Deadline`) passes. Exceptions from the predicate propagate: a predicate decides
    itself which failures are worth another attempt."""
    deadline = _as_deadline(timeout)
    backoff = Backoff(delay, max_delay, factor)
    attempts = 0
    while True:
        attempts += 1
        value = predicate()
        if value:
            return WaitResult(True, attempts, deadline.elapsed(), value)
        pause = backoff.next_sleep(deadline)
        if pause is None:
            return WaitResult(False, attempts, deadline.elapsed(), value)
        sleep(pause)


async def async_wait_until(predicate, timeout, delay=1.0, max_delay=10.0, factor=2.0):
    """:func:`wait_until` for a coroutine function ``predicate``."""
    deadline = _as_deadline(timeout)
    backoff = Backoff(delay, max_delay, factor)
    attempts = 0
    while True:
        attempts += 1
        value = await predicate()
        if value:
            return WaitResult(True, attempts, deadline.elapsed(), value)
        pause = backoff.next_sleep(deadline)
        if pause is None:
            return WaitResult(False, attempts, deadline.elapsed(), value)
        await asyncio.sleep(pause)
