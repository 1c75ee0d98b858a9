"""GET /health (dependencies) and GET /health/workers (live pollers per task queue). No auth."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from app import __version__
from app.config import DOCUMENT_TASK_QUEUE, MEMORY_TASK_QUEUE
from app.models import HealthReport, WorkersReport, error_responses
from app.services import Services

router = APIRouter()

TASK_QUEUES = (MEMORY_TASK_QUEUE, DOCUMENT_TASK_QUEUE)
_TASK_TYPES = {
    "workflow": TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    "activity": TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
}


async def _timed(check: Awaitable[Any], timeout: float) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        detail = await asyncio.wait_for(check, timeout)
        result: dict[str, Any] = {"status": "ok"}
        if isinstance(detail, dict):
            result.update(detail)
    except TimeoutError:
        result = {"status": "error", "error": f"no answer within {timeout:g} s"}
    except Exception as error:  # noqa: BLE001 - any failure is what the check reports
        result = {"status": "error", "error": f"{type(error).__name__}: {error}".strip()}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


async def _database(services: Services) -> dict[str, Any]:
    timeout = services.settings.health_timeout_seconds
    async with services.pool.connection(timeout=timeout) as conn:
        cur = await conn.execute("SELECT max(version) FROM schema_migrations")
        row = await cur.fetchone()
    return {"schema_version": row[0] if row else None}


async def _temporal(services: Services) -> None:
    timeout = services.settings.health_timeout_seconds
    client = await services.temporal.client(timeout=timeout)
    if not await client.service_client.check_health(timeout=timedelta(seconds=timeout)):
        raise RuntimeError("the frontend service reports not serving")


@router.get(
    "/health",
    response_model=HealthReport,
    responses={
        503: {"model": HealthReport, "description": "a dependency is failing"},
        **error_responses(405),
    },
)
async def health(request: Request) -> JSONResponse:
    services: Services = request.app.state.services
    # Twice the per-call timeout: connecting and asking are bounded separately inside a check.
    timeout = services.settings.health_timeout_seconds * 2
    database, temporal = await asyncio.gather(
        _timed(_database(services), timeout), _timed(_temporal(services), timeout)
    )
    checks = {"database": database, "temporal": temporal}
    failing = [name for name, check in checks.items() if check["status"] != "ok"]
    body: dict[str, Any] = {
        "status": "degraded" if failing else "ok",
        "version": __version__,
        "checks": checks,
    }
    if failing:
        body["failing"] = failing
    return JSONResponse(body, status_code=503 if failing else 200)


async def _describe_queue(services: Services, name: str) -> dict[str, Any]:
    """Live pollers (last access within the liveness window) and backlog of one task queue."""
    settings = services.settings
    client = await services.temporal.client(timeout=settings.health_timeout_seconds)
    now = datetime.now(UTC)
    pollers: dict[str, datetime] = {}
    backlog = 0
    for task_type in _TASK_TYPES.values():
        response = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=settings.temporal_namespace,
                task_queue=TaskQueue(name=name),
                task_queue_type=task_type,
                report_stats=True,
            ),
            timeout=timedelta(seconds=settings.health_timeout_seconds),
        )
        backlog += response.stats.approximate_backlog_count
        for poller in response.pollers:
            seen = poller.last_access_time.ToDatetime(tzinfo=UTC)
            if (now - seen).total_seconds() <= settings.poller_liveness_seconds:
                pollers[poller.identity] = max(seen, pollers.get(poller.identity, seen))
    return {
        "status": "ok" if pollers else "no_live_worker",
        "pollers": [
            {"identity": identity, "last_access_time": seen.isoformat()}
            for identity, seen in sorted(pollers.items())
        ],
        "backlog": backlog,
    }


@router.get(
    "/health/workers",
    response_model=WorkersReport,
    responses={
        503: {"model": WorkersReport, "description": "a task queue has no live worker"},
        **error_responses(405),
    },
)
async def health_workers(request: Request) -> JSONResponse:
    services: Services = request.app.state.services
    timeout = services.settings.health_timeout_seconds * 3
    try:
        described = await asyncio.wait_for(
            asyncio.gather(*(_describe_queue(services, name) for name in TASK_QUEUES)), timeout
        )
    except Exception as error:  # noqa: BLE001 - Temporal down or slow: report it, as /health does
        message = "no answer" if isinstance(error, TimeoutError) else f"{type(error).__name__}: {error}"
        body = {"status": "degraded", "error": f"temporal: {message}", "task_queues": {}}
        return JSONResponse(body, status_code=503)
    queues = dict(zip(TASK_QUEUES, described, strict=True))
    failing = [name for name, queue in queues.items() if queue["status"] != "ok"]
    body: dict[str, Any] = {
        "status": "degraded" if failing else "ok",
        "liveness_seconds": services.settings.poller_liveness_seconds,
        "task_queues": queues,
    }
    if failing:
        body["failing"] = failing
    return JSONResponse(body, status_code=503 if failing else 200)
