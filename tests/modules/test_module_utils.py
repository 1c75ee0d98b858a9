"""The shared module_utils used directly: the backoff schedule, the wait loops, the HTTP helpers."""

from __future__ import annotations

import asyncio
import time

import pytest
from ansible_collections.papr.memory.plugins.module_utils.http_probe import http_request, json_path, truncate
from ansible_collections.papr.memory.plugins.module_utils.polling import (
    Backoff,
    Deadline,
    async_wait_until,
    wait_until,
)

from tests.modules.conftest import HTTP_PORTS
from tests.ports import free_ports


def test_backoff_doubles_up_to_max_delay_and_stops_at_the_deadline():
    deadline = Deadline(3600)
    backoff = Backoff(delay=1, max_delay=5)
    assert [backoff.next_sleep(deadline) for _ in range(5)] == [1, 2, 4, 5, 5]
    assert Backoff(delay=1).next_sleep(Deadline(0)) is None


def test_a_sleep_never_passes_the_deadline():
    assert Backoff(delay=100).next_sleep(Deadline(0.5)) <= 0.5


def test_bad_schedules_are_refused():
    for bad in (dict(delay=-1), dict(max_delay=-1), dict(factor=0.5)):
        with pytest.raises(ValueError):
            Backoff(**bad)
    with pytest.raises(ValueError):
        Deadline(-1)


def test_wait_until_returns_when_the_predicate_holds():
    calls = []
    result = wait_until(lambda: calls.append(1) or len(calls) >= 3, timeout=30, delay=0.01)
    assert result.ok and result.attempts == 3 and result.value is True


def test_wait_until_gives_up_at_the_deadline_with_the_last_value():
    started = time.monotonic()
    result = wait_until(lambda: [], timeout=0.5, delay=0.1, max_delay=0.2)
    assert not result.ok and result.value == [] and result.attempts >= 3
    assert 0.5 <= time.monotonic() - started < 5


def test_timeout_zero_checks_once():
    assert wait_until(lambda: False, timeout=0).attempts == 1


async def test_async_wait_until_runs_the_same_schedule():
    calls = []

    async def ready():
        calls.append(1)
        await asyncio.sleep(0)
        return len(calls) >= 2

    result = await async_wait_until(ready, timeout=30, delay=0.01)
    assert result.ok and result.attempts == 2


def test_json_path_follows_keys_and_list_indexes():
    document = {"task_queues": {"papr-memory": {"pollers": [{"identity": "w1"}]}}, "status": "ok"}
    assert json_path(document, "status") == (True, "ok")
    assert json_path(document, "task_queues.papr-memory.pollers.0.identity") == (True, "w1")
    assert json_path(document, "task_queues.papr-memory.pollers.1") == (False, None)
    assert json_path(document, "status.deeper") == (False, None)


def test_truncate_says_how_much_was_dropped():
    assert truncate("abc", 5) == "abc"
    assert truncate("abcdefgh", 3) == "abc... [5 more characters]"


def test_http_request_reports_statuses_and_errors_as_data(http_service, https_service):
    ok = http_request(f"{http_service.url}/health")
    assert ok.status == 200 and '"status": "ok"' in ok.body and ok.error is None

    unavailable = http_request(f"{http_service.url}/never")
    assert unavailable.status == 503 and "degraded" in unavailable.body

    (closed,) = free_ports(1, HTTP_PORTS)
    refused = http_request(f"http://127.0.0.1:{closed}/health", timeout=5)
    assert refused.status is None and refused.retryable and "refused" in refused.error.lower()

    untrusted = http_request(f"{https_service.url}/health", timeout=5)
    assert untrusted.status is None and not untrusted.retryable
    assert untrusted.error.startswith("TLS certificate verification failed")

    trusted = http_request(f"{https_service.url}/health", ca_path=https_service.ca_path)
    assert trusted.status == 200
