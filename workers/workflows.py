"""Workflows: deterministic orchestration only; every side effect is an activity.

Workflows in flight are replayed against this code after a deploy: a change to the sequence of
activities needs `workflow.patched()` (or a new workflow name), or running workflows fail with a
nondeterminism error."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from app.config import MEMORY_TASK_QUEUE
    from app.contracts import (
        DELETE_MEMORY_ACTIVITY,
        DELETE_MEMORY_WORKFLOW,
        DOCUMENT_NOT_FOUND,
        EXTRACT_AND_STORE_DOCUMENT_ACTIVITY,
        EXTRACT_DOCUMENT_ACTIVITY,
        EXTRACT_STORE_AND_FINISH_DOCUMENT_ACTIVITY,
        EXTRACTION_ERROR,
        FAIL_DOCUMENT_ACTIVITY,
        FINISH_DOCUMENT_ACTIVITY,
        PATCH_DOCUMENT_DONE_IN_ONE_ACTIVITY,
        PATCH_DOCUMENT_IN_ONE_WORKFLOW_TASK,
        PATCH_DOCUMENT_WORKER_STORES_CHUNKS,
        PROCESS_DOCUMENT_WORKFLOW,
        STORE_CHUNK_MEMORIES_ACTIVITY,
        STORE_MEMORY_ACTIVITY,
        STORE_MEMORY_WORKFLOW,
        UNSTORABLE_INPUT,
        ChunkRange,
        NewMemory,
    )

# Retry until it works (a database restart, a killed worker), except for errors no retry fixes.
RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=20),
    non_retryable_error_types=[EXTRACTION_ERROR, DOCUMENT_NOT_FOUND, UNSTORABLE_INPUT],
)
SHORT = timedelta(seconds=30)
DOCUMENT_TIMEOUT = timedelta(minutes=15)
CHUNKS_PER_ACTIVITY = 50
PARALLEL_CHUNK_ACTIVITIES = 4


# Single writes run as local activities, inside the memory worker's workflow task: one round trip
# to Temporal instead of three, which roughly triples memory writes per second on the dev server.
@workflow.defn(name=STORE_MEMORY_WORKFLOW)
class StoreMemoryWorkflow:
    @workflow.run
    async def run(self, memory: NewMemory) -> dict[str, Any]:
        return await workflow.execute_local_activity(
            STORE_MEMORY_ACTIVITY, memory, start_to_close_timeout=SHORT, retry_policy=RETRY
        )


@workflow.defn(name=DELETE_MEMORY_WORKFLOW)
class DeleteMemoryWorkflow:
    @workflow.run
    async def run(self, memory_id: str) -> bool:
        return await workflow.execute_local_activity(
            DELETE_MEMORY_ACTIVITY, memory_id, start_to_close_timeout=SHORT, retry_policy=RETRY
        )


@workflow.defn(name=PROCESS_DOCUMENT_WORKFLOW)
class ProcessDocumentWorkflow:
    """Extract, chunk, store the chunk memories and mark the document done, in one local activity
    on the document worker, or mark it failed with the reason. The document worker writes its own
    chunks on papr-documents, so user writes on papr-memory never wait behind them. A local
    activity runs inside the workflow task that started it: a document costs Temporal one
    workflow task instead of two plus an activity task, so the server (whose CPU user writes
    need) does about half the work per document. A worker that dies meanwhile loses its workflow
    task; Temporal hands it to a worker again after the workflow task timeout and the (idempotent)
    activity runs again.

    Older workflows replay their own path (workflow.patched): before the local activity, the same
    work ran as one activity task; before that, the chunks were stored, then the document marked
    done by a second activity; before that, the chunks were stored through papr-memory in
    batches (the memory worker keeps that activity)."""

    @workflow.run
    async def run(self, document_id: str) -> int:
        in_one_task = workflow.patched(PATCH_DOCUMENT_IN_ONE_WORKFLOW_TASK)
        try:
            if in_one_task:
                return await workflow.execute_local_activity(
                    EXTRACT_STORE_AND_FINISH_DOCUMENT_ACTIVITY,
                    document_id,
                    start_to_close_timeout=DOCUMENT_TIMEOUT,
                    retry_policy=RETRY,
                )
            if workflow.patched(PATCH_DOCUMENT_DONE_IN_ONE_ACTIVITY):
                return await workflow.execute_activity(
                    EXTRACT_STORE_AND_FINISH_DOCUMENT_ACTIVITY,
                    document_id,
                    start_to_close_timeout=DOCUMENT_TIMEOUT,
                    heartbeat_timeout=timedelta(seconds=30),
                    retry_policy=RETRY,
                )
            if workflow.patched(PATCH_DOCUMENT_WORKER_STORES_CHUNKS):
                chunk_count: int = await workflow.execute_activity(
                    EXTRACT_AND_STORE_DOCUMENT_ACTIVITY,
                    document_id,
                    start_to_close_timeout=DOCUMENT_TIMEOUT,
                    heartbeat_timeout=timedelta(seconds=30),
                    retry_policy=RETRY,
                )
            else:
                chunk_count = await self._extract_then_store_on_memory_queue(document_id)
            await workflow.execute_activity(
                FINISH_DOCUMENT_ACTIVITY, document_id, start_to_close_timeout=SHORT, retry_policy=RETRY
            )
            return chunk_count
        except (ActivityError, ApplicationError) as error:
            # A failed activity task arrives as an ActivityError, a failed local activity as the
            # activity's own ApplicationError.
            failure = error.cause if isinstance(error, ActivityError) else error
            cause = failure if isinstance(failure, ApplicationError) else None
            reason = cause.message if cause else str(error)
            error_type = (cause.type if cause else None) or EXTRACTION_ERROR
            if in_one_task:
                await workflow.execute_local_activity(
                    FAIL_DOCUMENT_ACTIVITY,
                    args=[document_id, reason],
                    start_to_close_timeout=SHORT,
                    retry_policy=RETRY,
                )
            else:
                await workflow.execute_activity(
                    FAIL_DOCUMENT_ACTIVITY,
                    args=[document_id, reason],
                    start_to_close_timeout=SHORT,
                    retry_policy=RETRY,
                )
            raise ApplicationError(reason, type=error_type, non_retryable=True) from error

    async def _extract_then_store_on_memory_queue(self, document_id: str) -> int:
        chunk_count: int = await workflow.execute_activity(
            EXTRACT_DOCUMENT_ACTIVITY,
            document_id,
            start_to_close_timeout=DOCUMENT_TIMEOUT,
            heartbeat_timeout=timedelta(seconds=30),
            retry_policy=RETRY,
        )
        ranges = [
            ChunkRange(document_id, start, min(start + CHUNKS_PER_ACTIVITY, chunk_count))
            for start in range(0, chunk_count, CHUNKS_PER_ACTIVITY)
        ]
        for first in range(0, len(ranges), PARALLEL_CHUNK_ACTIVITIES):
            await asyncio.gather(
                *(
                    workflow.execute_activity(
                        STORE_CHUNK_MEMORIES_ACTIVITY,
                        chunk_range,
                        task_queue=MEMORY_TASK_QUEUE,
                        start_to_close_timeout=SHORT,
                        retry_policy=RETRY,
                    )
                    for chunk_range in ranges[first : first + PARALLEL_CHUNK_ACTIVITIES]
                )
            )
        return chunk_count
