"""The workers' own GET /health (workers/health.py), which App Service pings on WEBSITES_PORT."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx

from scripts.stack import LocalStack
from tests.ports import free_ports
from tests.service.conftest import service_process, wait_until
from workers.supervisor import ChildrenHealth

# Ports 55500-55599 belong to these tests.
PORT_RANGE = range(55500, 55600)
QUEUES = {"papr-memory", "papr-documents"}


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=5):
        return True
    return False


def _listening_ports_of(pid: int) -> set[int]:
    """The TCP ports a process listens on: its socket inodes matched against /proc/net/tcp*."""
    fd_dir = f"/proc/{pid}/fd"
    inodes = set()
    for fd in os.listdir(fd_dir):
        with contextlib.suppress(OSError):
            if (target := os.readlink(f"{fd_dir}/{fd}")).startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name: [1] parent pid, [16] niceness."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _niceness(pid: int) -> int:
    return int(_stat_fields(pid)[16])


def _worker_children(pid: int) -> dict[str, int]:
    """The worker module each child process of `pid` runs, with that child's pid."""
    children = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            if int(_stat_fields(int(entry))[1]) == pid:
                command = Path(f"/proc/{entry}/cmdline").read_text().split("\0")
                children[command[command.index("-m") + 1]] = int(entry)
    return children


def _health(port: int, method: str = "GET", path: str = "/health") -> httpx.Response | None:
    try:
        return httpx.request(method, f"http://127.0.0.1:{port}{path}", timeout=30)
    except httpx.TransportError:
        return None


@contextlib.contextmanager
def _workers(stack: LocalStack, command: list[str], **env: str | None) -> Iterator[subprocess.Popen]:
    """A workers process with the stack's settings plus `env` (None removes a variable)."""
    environment = {
        **stack.service_environment(),
        "PAPR_WORKERS_HEALTH_HOST": "127.0.0.1",
        "PAPR_MIGRATE_ON_START": "false",  # the stack migrated already
    }
    environment.pop("PAPR_WORKERS_HEALTH_PORT", None)
    environment.pop("WEBSITES_PORT", None)
    for name, value in env.items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    with service_process(command, environment) as process:
        yield process


def test_health_port_answers_while_both_workers_run_and_closes_on_sigterm(stack: LocalStack) -> None:
    port, websites_port = free_ports(2, PORT_RANGE)
    identity = f"health-test-{os.getpid()}"
    command = [sys.executable, "workers/start_all_workers.py"]
    # The explicit port wins over App Service's WEBSITES_PORT.
    with _workers(
        stack,
        command,
        PAPR_WORKERS_HEALTH_PORT=str(port),
        WEBSITES_PORT=str(websites_port),
        PAPR_WORKER_IDENTITY=identity,
    ) as process:
        ok = wait_until(
            lambda: (answer := _health(port)) is not None and answer.status_code == 200 and answer,
            90,
            "the workers' /health never answered 200",
        )
        assert ok.headers["content-type"] == "application/json"
        assert ok.json() == {
            "status": "ok",
            "workers": {queue: {"identity": identity, "running": True} for queue in QUEUES},
            "temporal": {"connected": True},
        }
        head = _health(port, "HEAD")
        assert head.status_code == 200 and head.content == b""
        assert _health(port, path="/").status_code == 404
        assert _health(port, path="/health/workers").status_code == 404
        assert _health(port, "POST").status_code == 405
        assert _listening_ports_of(process.pid) == {port}
        # Each worker in a process of its own; the document worker yields the CPU (niceness
        # raised by PAPR_DOCUMENT_WORKER_NICE, 10 by default, at most 19).
        children = _worker_children(process.pid)
        assert set(children) == {"workers.memory_worker", "workers.document_worker"}
        assert _niceness(children["workers.memory_worker"]) == _niceness(process.pid)
        assert _niceness(children["workers.document_worker"]) == min(19, _niceness(process.pid) + 10)
        # Each child answers the supervisor on a loopback port of its own (handed to it bound).
        child_ports = [_listening_ports_of(child) for child in children.values()]
        assert all(len(ports) == 1 for ports in child_ports), child_ports
        assert child_ports[0] != child_ports[1] and port not in child_ports[0] | child_ports[1]

        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert output.count('"message": "workers stopped"') == 2
    assert '"max_activities_per_second": 2.0' in output
    assert not _listening(port)
    assert stack.api_key not in output


def test_websites_port_is_the_fallback_and_answers_503_until_the_workers_poll(stack: LocalStack) -> None:
    (port,) = free_ports(1, PORT_RANGE)
    closed_temporal = "127.0.0.1:9"  # discard port: nothing listens, the workers keep retrying
    command = [sys.executable, "-m", "workers.memory_worker"]
    with _workers(stack, command, WEBSITES_PORT=str(port), TEMPORAL_ADDRESS=closed_temporal) as process:
        starting = wait_until(lambda: _health(port), 60, "the workers' /health never answered")
        assert starting.status_code == 503
        assert starting.json() == {"status": "starting", "workers": {}, "failing": ["startup"]}
        # Still retrying Temporal, so still alive and not yet healthy.
        assert process.poll() is None
        assert _health(port).status_code == 503


def test_without_a_health_port_nothing_listens(stack: LocalStack, anonymous: httpx.Client) -> None:
    (port,) = free_ports(1, PORT_RANGE)
    identity = f"health-off-test-{os.getpid()}"
    command = [sys.executable, "-m", "workers.document_worker"]
    with _workers(stack, command, PAPR_WORKER_IDENTITY=identity) as process:

        def polling() -> bool:
            queues = anonymous.get("/health/workers").json().get("task_queues", {})
            pollers = queues.get("papr-documents", {}).get("pollers", [])
            return identity in {poller["identity"] for poller in pollers}

        wait_until(polling, 60, f"{identity} never polled papr-documents")
        # The port it would have used, and the web server aside, this process listens nowhere.
        assert not _listening(port)
        assert _listening_ports_of(process.pid) == set()
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output


def test_the_supervisors_health_names_a_worker_process_that_stopped_answering() -> None:
    """ChildrenHealth merges the children's reports; one that answered before and is now silent
    makes the whole 503 under its name (no stack needed: two canned children)."""

    async def scenario() -> list[tuple[int, dict]]:
        ok = {
            "status": "ok",
            "workers": {"papr-memory": {"identity": "m", "running": True}},
            "temporal": {"connected": True},
        }
        payload = json.dumps(ok).encode()

        async def child(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + payload)
            await writer.drain()
            writer.close()

        memory = await asyncio.start_server(child, "127.0.0.1", 0)
        documents = await asyncio.start_server(child, "127.0.0.1", 0)
        ports = {
            name: server.sockets[0].getsockname()[1]
            for name, server in (("memory-worker", memory), ("document-worker", documents))
        }
        health = ChildrenHealth(ports, timeout_seconds=5)
        reports = [await health.report()]
        documents.close()
        await documents.wait_closed()
        reports.append(await health.report())
        memory.close()
        return reports

    (first_status, first), (second_status, second) = asyncio.run(scenario())
    assert first_status == 200 and first["status"] == "ok" and "failing" not in first
    assert second_status == 503
    assert second["status"] == "unavailable" and second["failing"] == ["document-worker"]
