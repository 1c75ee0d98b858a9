"""Health endpoints, and their answers while PostgreSQL or the workers are down and after they
come back (no restart of the web server in between)."""

from __future__ import annotations

import httpx
import psycopg

from scripts.stack import LocalStack
from tests.service.conftest import wait_until


def _health(client: httpx.Client, path: str) -> httpx.Response | None:
    try:
        return client.get(path)
    except httpx.TransportError:
        return None


def _degraded(client: httpx.Client, check: str):
    """A condition: /health answers 503 naming exactly `check` as failing."""

    def condition() -> dict | None:
        response = _health(client, "/health")
        if response is None or response.status_code != 503:
            return None
        body = response.json()
        return body if body.get("failing") == [check] else None

    return condition


def test_health_reports_each_check_with_latency(anonymous: httpx.Client) -> None:
    response = anonymous.get("/health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok" and body["version"]
    for name in ("database", "temporal"):
        assert body["checks"][name]["status"] == "ok"
        assert body["checks"][name]["latency_ms"] >= 0


def test_health_workers_lists_live_pollers(anonymous: httpx.Client) -> None:
    response = anonymous.get("/health/workers")
    assert response.status_code == 200, response.text
    queues = response.json()["task_queues"]
    assert set(queues) == {"papr-memory", "papr-documents"}
    for queue, component in (("papr-memory", "memory-worker@"), ("papr-documents", "document-worker@")):
        assert queues[queue]["status"] == "ok"
        assert any(poller["identity"].startswith(component) for poller in queues[queue]["pollers"])
        assert all(poller["last_access_time"] for poller in queues[queue]["pollers"])
        assert queues[queue]["backlog"] >= 0


def test_health_is_503_while_postgres_is_down_and_recovers(
    stack: LocalStack, anonymous: httpx.Client
) -> None:
    stack.stop_postgres()
    try:
        body = wait_until(
            _degraded(anonymous, "database"), 60, "/health did not turn 503 with PostgreSQL stopped"
        )
        assert body["status"] == "degraded"
        assert body["failing"] == ["database"]
        assert body["checks"]["database"]["status"] == "error" and body["checks"]["database"]["error"]
        assert body["checks"]["temporal"]["status"] == "ok"
        # The API says why it cannot serve, in the usual error shape.
        search = anonymous.get("/v1/memories/search?q=x", headers={"X-API-Key": stack.api_key})
        assert search.status_code == 503 and search.json()["error"]["code"] == "service_unavailable"
    finally:
        stack.start_postgres()

    def healthy() -> dict | None:
        response = _health(anonymous, "/health")
        return response.json() if response is not None and response.status_code == 200 else None

    body = wait_until(healthy, 90, "/health did not return to 200 after PostgreSQL restarted")
    assert body["checks"]["database"]["status"] == "ok"


def test_health_workers_is_503_without_workers_and_recovers(
    stack: LocalStack, anonymous: httpx.Client
) -> None:
    stack.stop("workers")
    try:

        def no_workers() -> dict | None:
            response = anonymous.get("/health/workers")
            body = response.json()
            return body if response.status_code == 503 and len(body.get("failing", [])) == 2 else None

        # Pollers go stale after PAPR_POLLER_LIVENESS_SECONDS (30 s in the stack).
        body = wait_until(no_workers, 90, "/health/workers did not turn 503 with the workers stopped", 1)
        assert body["status"] == "degraded"
        for queue in body["task_queues"].values():
            assert queue["status"] == "no_live_worker" and queue["pollers"] == []
        assert anonymous.get("/health").status_code == 200  # the web server itself is fine
    finally:
        stack.start_workers()
    wait_until(
        lambda: anonymous.get("/health/workers").status_code == 200,
        90,
        "/health/workers did not return to 200 after the workers restarted",
    )


def test_health_is_503_while_temporal_is_down_and_recovers(stack: LocalStack, anonymous: httpx.Client):
    stack.stop("temporal")
    try:
        body = wait_until(
            _degraded(anonymous, "temporal"), 60, "/health did not turn 503 with Temporal stopped"
        )
        assert body["failing"] == ["temporal"]
        assert body["checks"]["database"]["status"] == "ok"
        assert anonymous.get("/health/workers").status_code == 503
        # Writes are refused with a clear 503, and no orphan document row stays behind.
        key = {"X-API-Key": stack.api_key}
        memory = anonymous.post("/v1/memories", json={"content": "x"}, headers=key)
        assert memory.status_code == 503 and memory.json()["error"]["code"] == "service_unavailable"
        with psycopg.connect(stack.admin_conninfo, autocommit=True) as conn:
            before = conn.execute("SELECT count(*) FROM documents").fetchone()[0]
            document = anonymous.post(
                "/v1/documents", content=b"abc", headers={**key, "Content-Type": "text/plain"}
            )
            assert document.status_code == 503, document.text
            assert conn.execute("SELECT count(*) FROM documents").fetchone()[0] == before
    finally:
        stack.start_temporal()
    wait_until(
        lambda: anonymous.get("/health").status_code == 200,
        90,
        "/health did not return to 200 after Temporal",
    )
    # The workers reconnect by themselves too.
    wait_until(
        lambda: anonymous.get("/health/workers").status_code == 200,
        120,
        "/health/workers did not return to 200 after Temporal restarted",
        1,
    )
