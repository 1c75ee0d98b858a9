"""A real temporalio worker for the temporal_check tests: polls one task queue until SIGTERM.

python -m tests.modules.temporal_worker --address H:P --queue Q --identity I --ready-file F

Writes the ready file once the server lists this worker as a poller of the queue, so a test never
races the worker's first poll.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path

from temporalio import activity, workflow
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker


@activity.defn
async def echo(text: str) -> str:
    return text


@workflow.defn
class Echo:
    @workflow.run
    async def run(self, text: str) -> str:
        return text


async def polling(client: Client, queue: str, identity: str) -> bool:
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    response = await client.workflow_service.describe_task_queue(request)
    return any(p.identity == identity for p in response.pollers)


async def main(args: argparse.Namespace) -> None:
    client = await Client.connect(args.address, identity=args.identity)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    worker = Worker(
        client,
        task_queue=args.queue,
        workflows=[Echo],
        activities=[echo],
        workflow_runner=UnsandboxedWorkflowRunner(),  # the sandbox cannot re-import this __main__
    )
    async with worker:
        while not await polling(client, args.queue, args.identity):
            await asyncio.sleep(0.2)
        Path(args.ready_file).write_text("ready")
        await stop.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    for option in ("--address", "--queue", "--identity", "--ready-file"):
        parser.add_argument(option, required=True)
    asyncio.run(main(parser.parse_args()))
    sys.stdout.flush()
    os._exit(0)  # temporalio can abort at interpreter exit (sdk-python issue 300); we are done
