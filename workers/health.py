"""The workers' own `GET /health`: a tiny HTTP/1.1 server inside the workers' event loop.

App Service runs the workers (option 2) as a web app and pings WEBSITES_PORT at start and then
its health check path; a container that answers nothing there is restarted as "failed to
start". This server answers those pings with what the process knows about itself:

- 200 {"status":"ok","workers":{"papr-memory":{"identity","running":true},...},"temporal":{...}}
  while every worker of the process runs and the Temporal client reaches the server;
- 503 {"status":"starting"|"unavailable",...,"failing":[...]} naming what does not, also while
  the process starts (migrations, Temporal connection) and during the graceful shutdown.

No auth and no secrets: queue names, identities and a Temporal error message only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from datetime import timedelta
from http import HTTPStatus
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from temporalio.client import Client
    from temporalio.worker import Worker

    from app.config import Settings

log = logging.getLogger("workers.health")

HEALTH_PATH = "/health"
# A client that sends no complete request head within this time is dropped, so a stuck
# connection never holds the server (or the shutdown) up.
REQUEST_HEAD_SECONDS = 5
MAX_REQUEST_HEAD_BYTES = 8192
# At shutdown, how long a request still being answered may take before the server stops anyway.
CLOSE_SECONDS = 1


class HealthReport(Protocol):
    async def report(self) -> tuple[int, dict[str, object]]: ...


class WorkersHealth:
    """What the workers process reports: set by the runner as it starts, runs and stops."""

    def __init__(self, temporal_timeout_seconds: float) -> None:
        self.client: Client | None = None
        self.workers: list[Worker] = []
        self.stopping = False
        self._temporal_timeout = timedelta(seconds=temporal_timeout_seconds)

    async def _temporal(self) -> dict[str, object]:
        try:
            reachable = await self.client.service_client.check_health(timeout=self._temporal_timeout)
        except Exception as error:  # noqa: BLE001 - any failure means "not reachable", reported
            return {"connected": False, "error": str(error) or type(error).__name__}
        return {"connected": True} if reachable else {"connected": False, "error": "service not serving"}

    async def report(self) -> tuple[int, dict[str, object]]:
        """The HTTP status and body of GET /health."""
        if self.client is None or not self.workers:
            starting = {"status": "starting", "workers": {}, "failing": ["startup"]}
            return HTTPStatus.SERVICE_UNAVAILABLE, starting
        workers = {
            worker.task_queue: {"identity": worker.config().get("identity"), "running": self._runs(worker)}
            for worker in self.workers
        }
        temporal = await self._temporal()
        failing = [queue for queue, state in workers.items() if not state["running"]]
        if not temporal["connected"]:
            failing.append("temporal")
        body = {"status": "unavailable" if failing else "ok", "workers": workers, "temporal": temporal}
        if failing:
            body["failing"] = failing
            return HTTPStatus.SERVICE_UNAVAILABLE, body
        return HTTPStatus.OK, body

    def _runs(self, worker: Worker) -> bool:
        # is_running stays true while a worker drains its activities after shutdown() was called.
        return worker.is_running and not self.stopping


def _response(status: int, body: dict[str, object] | None = None, head_only: bool = False) -> bytes:
    payload = json.dumps(body if body is not None else {"error": HTTPStatus(status).phrase}).encode()
    head = (
        f"HTTP/1.1 {int(status)} {HTTPStatus(status).phrase}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n"
        "Cache-Control: no-store\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + (b"" if head_only else payload)


async def _answer(health: HealthReport, reader: asyncio.StreamReader) -> bytes:
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REQUEST_HEAD_SECONDS)
    except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        return _response(HTTPStatus.BAD_REQUEST)
    method, _, rest = head.decode("latin-1").partition(" ")
    path = rest.partition(" ")[0].partition("?")[0]
    if path != HEALTH_PATH:
        return _response(HTTPStatus.NOT_FOUND)
    if method not in ("GET", "HEAD"):
        return _response(HTTPStatus.METHOD_NOT_ALLOWED)
    status, body = await health.report()
    return _response(status, body, head_only=method == "HEAD")


async def start_health_server(
    health: HealthReport, host: str | None = None, port: int | None = None, sock: socket.socket | None = None
) -> asyncio.Server:
    """Listen on host:port, or on `sock` (a bound socket); one request per connection
    (Connection: close)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(await _answer(health, reader))
            await writer.drain()
        except ConnectionError:
            pass  # the client left, or the server closed the connection at shutdown
        except Exception:  # noqa: BLE001 - one bad request must not stop the server
            log.exception("health request failed")
        finally:
            writer.close()

    server = await asyncio.start_server(handle, host, port, sock=sock, limit=MAX_REQUEST_HEAD_BYTES)
    host, port = server.sockets[0].getsockname()[:2]
    log.info("workers health server listening", extra={"host": host, "port": port, "path": HEALTH_PATH})
    return server


async def start_workers_health_server(health: HealthReport, settings: Settings) -> asyncio.Server | None:
    """The worker process's own server: on the socket its supervisor handed it, else on the
    configured port, else none."""
    if settings.workers_health_socket_fd is not None:
        return await start_health_server(health, sock=socket.socket(fileno=settings.workers_health_socket_fd))
    if settings.workers_health_port is not None:
        return await start_health_server(health, settings.workers_health_host, settings.workers_health_port)
    return None


async def stop_health_server(server: asyncio.Server) -> None:
    """Stop listening at once; the shutdown must not wait on a slow client."""
    server.close()
    if hasattr(server, "close_clients"):  # Python 3.13+ (the image runs 3.11)
        server.close_clients()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(server.wait_closed(), CLOSE_SECONDS)
