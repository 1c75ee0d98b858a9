"""The memory worker and the document worker as two child processes of one supervisor (see
workers/start_all_workers.py for why), with the workers' GET /health merged from both."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import sys
from http import HTTPStatus

import workers
from app.config import WORKERS_HEALTH_SOCKET_VARIABLE, Settings, get_settings
from app.logs import configure_logging, exit_process
from workers.health import start_health_server, stop_health_server

log = logging.getLogger("workers.supervisor")

# Each worker process: its name (in logs and /health) and the module it runs.
WORKER_PROCESSES = {"memory-worker": "workers.memory_worker", "document-worker": "workers.document_worker"}
# How long a child may take to exit beyond the workers' own grace period before it is killed.
STOP_MARGIN_SECONDS = 15
STARTING = {"status": "starting", "workers": {}, "failing": ["startup"]}


def _loopback_socket() -> socket.socket:
    """A loopback port for one child's health server, bound here and handed to the child.

    Probing a free port and letting the child bind it later left a window in which the port
    could go to the other child or another process (a CI run once got a 200 that named only
    the document worker: what one child answering on both ports gives). A socket bound here is
    the child's alone; bound without listening, it refuses connections until the child
    listens, so a ping while the child starts gets its 503 at once. Ephemeral ports lie
    outside the ranges the project reserves for tests and services."""
    bound = socket.socket()
    bound.bind(("127.0.0.1", 0))
    return bound


class ChildrenHealth:
    """GET /health of the supervisor: each child's own report (on its loopback port), merged
    into the same shape one process with both workers would answer."""

    def __init__(self, ports: dict[str, int], timeout_seconds: float) -> None:
        self._ports = ports
        self._timeout = timeout_seconds
        self._answered: set[str] = set()

    async def _ask(self, name: str, port: int) -> dict[str, object]:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), self._timeout)
            try:
                writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                answer = await asyncio.wait_for(reader.read(), self._timeout)
            finally:
                writer.close()
            body = json.loads(answer.partition(b"\r\n\r\n")[2])
        except (OSError, TimeoutError, ValueError):
            # Not listening yet while it starts; afterwards a child that does not answer is failing.
            return STARTING if name not in self._answered else {"workers": {}, "failing": [name]}
        self._answered.add(name)
        return body

    async def report(self) -> tuple[int, dict[str, object]]:
        bodies = await asyncio.gather(*(self._ask(name, port) for name, port in self._ports.items()))
        workers_state: dict[str, object] = {}
        failing: list[str] = []
        temporal: dict[str, object] | None = None
        for body in bodies:
            workers_state.update(body.get("workers") or {})
            failing += [item for item in body.get("failing") or [] if item not in failing]
            reported = body.get("temporal")
            if reported is not None and (temporal is None or temporal.get("connected")):
                temporal = reported
        status = "ok" if not failing else "starting" if failing == ["startup"] else "unavailable"
        merged: dict[str, object] = {"status": status, "workers": workers_state}
        if temporal is not None:
            merged["temporal"] = temporal
        if failing:
            merged["failing"] = failing
        return (HTTPStatus.SERVICE_UNAVAILABLE if failing else HTTPStatus.OK), merged


def _child_environment(health_socket: socket.socket | None) -> dict[str, str]:
    environment = dict(os.environ)
    environment.pop("WEBSITES_PORT", None)
    environment["PAPR_WORKERS_HEALTH_PORT"] = ""  # empty: no port of its own
    environment.pop(WORKERS_HEALTH_SOCKET_VARIABLE, None)
    if health_socket is not None:
        environment[WORKERS_HEALTH_SOCKET_VARIABLE] = str(health_socket.fileno())
    # The children import the same `workers` package as this process, also when it was started
    # as a script from outside an installed environment.
    source_root = os.path.dirname(os.path.dirname(os.path.abspath(workers.__file__)))
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [source_root, environment.get("PYTHONPATH")]))
    return environment


async def _supervise(settings: Settings) -> int:
    serve_health = settings.workers_health_port is not None
    sockets = {name: _loopback_socket() for name in WORKER_PROCESSES} if serve_health else {}
    ports = {name: bound.getsockname()[1] for name, bound in sockets.items()}
    # Handlers first: a stop that comes while the children start must reach them, not kill the
    # supervisor and leave them running.
    received: list[int] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, lambda signum=signum: (received.append(signum), stop.set()))
    children = {}
    for name, module in WORKER_PROCESSES.items():
        health_socket = sockets.get(name)
        children[name] = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            module,
            env=_child_environment(health_socket),
            pass_fds=() if health_socket is None else (health_socket.fileno(),),
        )
        if health_socket is not None:
            health_socket.close()  # the child's copy is the one that listens
    log.info(
        "worker processes started", extra={"pids": {name: child.pid for name, child in children.items()}}
    )
    server = None
    if serve_health:
        health = ChildrenHealth(ports, settings.health_timeout_seconds + 1)
        server = await start_health_server(health, settings.workers_health_host, settings.workers_health_port)

    exits = {asyncio.create_task(child.wait()): name for name, child in children.items()}
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([stopper, *exits], return_when=asyncio.FIRST_COMPLETED)
    first_exit = next(((exits[task], task.result()) for task in done if task in exits), None)
    if first_exit is not None and not received:
        log.error(
            "a worker process exited; stopping the other",
            extra={"process": first_exit[0], "code": first_exit[1]},
        )
    for child in children.values():
        if child.returncode is None:
            child.send_signal(received[0] if received else signal.SIGTERM)
    try:
        await asyncio.wait_for(asyncio.gather(*exits), settings.worker_shutdown_seconds + STOP_MARGIN_SECONDS)
    except TimeoutError:
        for child in children.values():
            if child.returncode is None:
                child.kill()
        await asyncio.gather(*exits)
    stopper.cancel()
    if server is not None:
        await stop_health_server(server)
    codes = {name: child.returncode for name, child in children.items()}
    if first_exit is not None and not received:
        return first_exit[1] or 1
    # A child the forwarded signal ended before it installed its handler (still starting, so it
    # had no work) stopped as asked, as systemd counts a SIGTERM death of a service a clean stop.
    return 0 if all(code in (0, -received[0]) for code in codes.values()) else 1


def supervise_workers() -> None:
    """Process entry point: exit code 0 after a requested stop that both workers completed."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.secret_values())
    code = 1
    try:
        code = asyncio.run(_supervise(settings))
    except Exception:  # noqa: BLE001 - logged, then reported through the exit code
        log.exception("workers supervisor failed")
    exit_process(code)
