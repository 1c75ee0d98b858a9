"""Run one or both workers: connect, migrate, poll, and shut down gracefully on SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from datetime import timedelta

from psycopg_pool import AsyncConnectionPool
from temporalio.client import Client
from temporalio.worker import Worker

from app.config import DOCUMENT_TASK_QUEUE, MEMORY_TASK_QUEUE, Settings, get_settings
from app.db import create_pool, migrate_with_retry
from app.logs import configure_logging, exit_process
from app.retry import Retry
from workers.activities import DocumentActivities, MemoryActivities
from workers.health import WorkersHealth, start_workers_health_server, stop_health_server
from workers.workflows import DeleteMemoryWorkflow, ProcessDocumentWorkflow, StoreMemoryWorkflow

log = logging.getLogger("workers")

MEMORY = "memory"
DOCUMENTS = "documents"
COMPONENTS = (MEMORY, DOCUMENTS)
STARTUP_DEADLINE_SECONDS = 120


def build_worker(component: str, client: Client, pool: AsyncConnectionPool, settings: Settings) -> Worker:
    if component == MEMORY:
        memory = MemoryActivities(pool)
        task_queue, identity, concurrency = (
            MEMORY_TASK_QUEUE,
            settings.identity_for("memory-worker"),
            settings.memory_worker_concurrency,
        )
        workflows = [StoreMemoryWorkflow, DeleteMemoryWorkflow]
        activities = [memory.store_memory, memory.delete_memory, memory.store_chunk_memories]
        rate = None
        # Workflow tasks and local activities (the memory writes): the SDK's defaults.
        workflow_tasks = local_activities = None
    else:
        documents = DocumentActivities(pool, settings)
        task_queue, identity, concurrency = (
            DOCUMENT_TASK_QUEUE,
            settings.identity_for("document-worker"),
            settings.document_worker_concurrency,
        )
        # Each document is one activity: the rate bounds how fast a burst of uploads turns into
        # Temporal and PostgreSQL writes competing with the users' memory writes (a local
        # activity paces itself at the same rate, see DocumentActivities).
        rate = settings.document_worker_activities_per_second
        # A document's local activity holds its workflow task: take on only as many documents as
        # run at once (the SDK needs at least two slots); a document waiting for a local-activity
        # slot would make its workflow task heartbeat, which is Temporal work for nothing.
        workflow_tasks, local_activities = max(2, concurrency), concurrency
        workflows = [ProcessDocumentWorkflow]
        activities = [
            documents.extract_store_and_finish_document,
            documents.extract_and_store_document,
            documents.extract_document,
            documents.finish_document,
            documents.fail_document,
        ]
    log.info(
        "worker configured",
        extra={
            "task_queue": task_queue,
            "identity": identity,
            "max_concurrent_activities": concurrency,
            "max_activities_per_second": rate,
        },
    )
    return Worker(
        client,
        task_queue=task_queue,
        workflows=workflows,
        activities=activities,
        identity=identity,
        max_concurrent_activities=concurrency,
        max_concurrent_local_activities=local_activities,
        max_concurrent_workflow_tasks=workflow_tasks,
        max_activities_per_second=rate,
        graceful_shutdown_timeout=timedelta(seconds=settings.worker_shutdown_seconds),
    )


async def _connect_temporal(settings: Settings) -> Client:
    """Connect, waiting for a Temporal server that may start after us."""
    # temporalio reports connection failures as RuntimeError.
    retry = Retry("temporal connection", (RuntimeError,), deadline_seconds=STARTUP_DEADLINE_SECONDS)
    return await retry.call_async(
        lambda: Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
    )


async def run_workers(components: list[str]) -> None:
    settings = get_settings()
    health = WorkersHealth(temporal_timeout_seconds=settings.health_timeout_seconds)
    # Listening from the first moment (503 until the workers poll): App Service's start pings
    # must get an answer while migrations run and Temporal is still being reached.
    server = await start_workers_health_server(health, settings)
    try:
        await _run_until_stopped(components, settings, health)
    finally:
        if server is not None:
            await stop_health_server(server)


async def _run_until_stopped(components: list[str], settings: Settings, health: WorkersHealth) -> None:
    if settings.migrate_on_start:
        database_url = settings.database_url.get_secret_value()
        await asyncio.to_thread(migrate_with_retry, database_url, deadline_seconds=STARTUP_DEADLINE_SECONDS)
    client = await _connect_temporal(settings)
    # One pool per worker: a document's chunk writes never hold the connections user writes need.
    pools = {component: create_pool(settings) for component in components}
    for pool in pools.values():
        await pool.open(wait=False)
    workers = [build_worker(component, client, pools[component], settings) for component in components]

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    runs = [asyncio.create_task(worker.run()) for worker in workers]
    stopper = asyncio.create_task(stop.wait())
    health.client, health.workers = client, workers
    log.info("workers polling", extra={"task_queues": [worker.task_queue for worker in workers]})
    await asyncio.wait([stopper, *runs], return_when=asyncio.FIRST_COMPLETED)
    health.stopping = True
    failed = [run for run in runs if run.done() and run.exception()]
    log.info("shutting down workers", extra={"grace_seconds": settings.worker_shutdown_seconds})
    # shutdown() stops polling, lets running activities finish within the grace period, then
    # cancels them; Temporal retries whatever did not finish on another worker.
    await asyncio.gather(*(worker.shutdown() for worker in workers if not worker.is_shutdown))
    await asyncio.gather(*runs, return_exceptions=True)
    stopper.cancel()
    for pool in pools.values():
        await pool.close()
    if failed:
        raise RuntimeError(f"a worker stopped unexpectedly: {failed[0].exception()!r}")
    log.info("workers stopped")


def run(components: list[str]) -> None:
    """Process entry point; ends with exit_process."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.secret_values())
    if components == [DOCUMENTS] and settings.document_worker_nice:
        # Alone in its process: yield the CPU to the memory worker and the web server, so a
        # burst of documents slows documents, not user writes. Raising one's own niceness needs
        # no privilege, on hosts and in containers alike.
        niceness = os.nice(settings.document_worker_nice)
        log.info("document worker at lower CPU priority", extra={"nice": niceness})
    code = 0
    try:
        asyncio.run(run_workers(components))
    except Exception:  # noqa: BLE001 - logged, then reported through the exit code
        log.exception("workers failed")
        code = 1
    exit_process(code)


def main() -> None:
    """`papr-memory-worker {memory|documents}`: run one worker."""
    if len(sys.argv) != 2 or sys.argv[1] not in COMPONENTS:
        sys.exit(f"usage: papr-memory-worker {{{'|'.join(COMPONENTS)}}}")
    run([sys.argv[1]])
