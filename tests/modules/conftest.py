"""Fixtures to run the health modules for real against real servers.

- ``run_module``: one module run (the module host, or a throw-away playbook), its task result.
- ``http_service`` / ``https_service``: a small threaded HTTP(S) server with scripted endpoints.
- ``temporal_server``: the Temporal CLI dev server; ``start_worker``: a real temporalio worker in a
  subprocess (tests/modules/temporal_worker.py).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from tests.module_host import module_host  # noqa: F401
from tests.playbook_env import json_callback_env
from tests.ports import free_ports

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
# The health modules' tests use ports 57000-57399: HTTP servers the first half, Temporal the second,
# so a Temporal port that is bound a moment after start-up is never taken by an HTTP server.
HTTP_PORTS = range(57000, 57200)
TEMPORAL_PORTS = range(57200, 57400)
# Debian's own Python (3.11, no extra packages): proves health_check needs nothing beyond stdlib.
SYSTEM_PYTHON = "/usr/bin/python3"

sys.path.insert(0, str(REPO / "collections"))  # makes ansible_collections.papr.memory importable


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


# ---------------------------------------------------------------- running modules


@dataclass
class PlaybookRun:
    rc: int
    stdout: str
    stderr: str
    data: dict

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def task_results(self, host: str = "localhost") -> dict[str, dict]:
        """Results by task name without its role prefix (the last one wins), from the json callback."""
        return {
            task["task"]["name"].split(" : ", 1)[-1]: task["hosts"][host]
            for play in self.data["plays"]
            for task in play["tasks"]
            if host in task["hosts"]
        }

    @property
    def result(self) -> dict:
        """The result of the first task (run_module plays have one)."""
        return self.data["plays"][0]["tasks"][0]["hosts"]["localhost"]


def run_playbook(playbook, *, extra_vars=None, check=False, verbosity=0, timeout=600) -> PlaybookRun:
    """ansible-playbook on localhost with the repository's ansible.cfg; output from the json callback."""
    command = [str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", str(playbook)]
    command += ["-e", json.dumps(extra_vars)] if extra_vars else []
    command += ["--check"] if check else []
    command += ["-" + "v" * verbosity] if verbosity else []
    env = json_callback_env(os.environ)
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    start = done.stdout.find("{")
    assert start >= 0, f"no JSON output, rc={done.returncode}\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    return PlaybookRun(done.returncode, done.stdout, done.stderr, json.loads(done.stdout[start:]))


@pytest.fixture
def run_module(module_host, tmp_path):  # noqa: F811 - the fixture imported above
    """run_module(name, args, *, check=False, python=sys.executable, verbosity=0) -> PlaybookRun.

    In the module host (tests/module_host.py), unless the test reads -v output or asks for another
    interpreter: then one task in a throw-away playbook. Either way `result` is what the json
    callback shows."""
    counter = iter(range(1000))

    def through_playbook(name, args, *, check, python, verbosity) -> PlaybookRun:
        play = {
            "hosts": "localhost",
            "gather_facts": False,
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": python},
            "tasks": [{"name": "under test", name: args}],
        }
        playbook = tmp_path / f"play-{next(counter)}.yml"
        playbook.write_text(yaml.safe_dump([play], sort_keys=False))
        return run_playbook(playbook, check=check, verbosity=verbosity, timeout=300)

    def through_module_host(name, args, *, check) -> PlaybookRun:
        exit_, result = module_host.run_task(
            name, args, check=check, diff=False, env=dict(os.environ), work_dir=tmp_path
        )
        data = {"plays": [{"tasks": [{"task": {"name": "under test"}, "hosts": {"localhost": result}}]}]}
        return PlaybookRun(2 if result.get("failed") else 0, exit_.stdout, exit_.stderr, data)

    def run(name, args, *, check=False, python=sys.executable, verbosity=0, expect_failed=None):
        if verbosity or python != sys.executable:
            run = through_playbook(name, args, check=check, python=python, verbosity=verbosity)
        else:
            run = through_module_host(name, args, check=check)
        if expect_failed is not None:
            assert bool(run.result.get("failed")) == expect_failed, run.output[-4000:]
        return run

    return run


# ---------------------------------------------------------------- HTTP(S) service


class ScriptedService:
    """What the scripted endpoints answer, and what they were asked (per path)."""

    API_KEY = "test-api-key-5f1c9e"

    def __init__(self):
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str, dict]] = []
        self.healthy_after = 3

    def count(self, path: str, method: str = "GET") -> int:
        with self.lock:
            return sum(1 for m, p, _ in self.requests if p == path and m == method)

    def answer(self, method: str, path: str, headers: dict) -> tuple[int, object]:
        with self.lock:
            self.requests.append((method, path, headers))
            seen = sum(1 for _, p, _ in self.requests if p == path)
        if path == "/health":
            return 200, {"status": "ok", "checks": {"database": {"status": "ok", "latency_ms": 1.5}}}
        if path == "/flaky":  # unhealthy until the Nth request
            if seen < self.healthy_after:
                return 503, {"status": "degraded", "attempt": seen}
            return 200, {"status": "ok", "attempt": seen}
        if path == "/never":
            return 503, {"status": "degraded", "checks": {"database": {"status": "down"}}, "pad": "x" * 5000}
        if path == "/degraded":
            return 200, {"status": "degraded", "task_queues": {"papr-memory": {"pollers": []}}}
        if path == "/secret":
            if headers.get("x-api-key") == self.API_KEY:
                return 200, {"status": "ok"}
            return 401, {"error": {"code": "unauthorized"}}
        if path == "/write":
            return 201, {"id": "m-1"}
        return 404, {"error": {"code": "not_found"}}


def _handler(service: ScriptedService):
    class Handler(BaseHTTPRequestHandler):
        def _reply(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, body = service.answer(self.command, self.path, headers)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_DELETE = _reply

        def log_message(self, *args):  # keep pytest output quiet
            pass

    return Handler


@dataclass
class RunningService:
    url: str
    service: ScriptedService
    ca_path: str | None = None


def _serve(service: ScriptedService, tls_context=None):
    server = ThreadingHTTPServer(("127.0.0.1", free_ports(1, HTTP_PORTS)[0]), _handler(service))
    if tls_context is not None:
        server.socket = tls_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


@pytest.fixture
def http_service():
    service = ScriptedService()
    server = _serve(service)
    yield RunningService(f"http://127.0.0.1:{server.server_address[1]}", service)
    server.shutdown()
    server.server_close()


@pytest.fixture
def https_service(tmp_path):
    """HTTPS with a certificate from a throw-away CA (trustme) that no system bundle trusts."""
    import ssl

    import trustme

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    ca_path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    service = ScriptedService()
    server = _serve(service, context)
    yield RunningService(f"https://127.0.0.1:{server.server_address[1]}", service, str(ca_path))
    server.shutdown()
    server.server_close()


# ---------------------------------------------------------------- Temporal


@dataclass
class TemporalServer:
    address: str
    namespace: str = "default"


def _stop(process: subprocess.Popen, timeout: float = 20) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture(scope="session")
def temporal_server(tmp_path_factory):
    """The Temporal CLI's dev server, every port in our range, state in a temp SQLite file."""
    state = tmp_path_factory.mktemp("temporal")
    port, ui, http, metrics = free_ports(4, TEMPORAL_PORTS)
    command = [
        str(VENV_BIN / "temporal"), "server", "start-dev", "--ip", "127.0.0.1",
        "--port", str(port), "--ui-port", str(ui), "--http-port", str(http), "--metrics-port", str(metrics),
        "--db-filename", str(state / "temporal.db"), "--log-level", "error",
    ]  # fmt: skip
    log = open(state / "server.log", "w")  # noqa: SIM115 - closed at teardown
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, 60)
        yield TemporalServer(f"127.0.0.1:{port}")
    finally:
        _stop(process)
        log.close()


@pytest.fixture
def start_worker(temporal_server, tmp_path):
    """start_worker(queue) -> (process, identity): a real temporalio worker polling ``queue``."""
    started = []

    def start(queue: str):
        ready = tmp_path / f"worker-{queue}.ready"
        identity = f"test-worker-{queue}-{len(started)}@{os.getpid()}-{time.monotonic_ns()}"
        command = [
            sys.executable, "-m", "tests.modules.temporal_worker",
            "--address", temporal_server.address, "--queue", queue,
            "--identity", identity, "--ready-file", str(ready),
        ]  # fmt: skip
        process = subprocess.Popen(command, cwd=REPO)
        started.append(process)
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert process.poll() is None, f"worker for {queue} exited with {process.returncode}"
            assert time.monotonic() < deadline, f"worker for {queue} not ready after 60s"
            time.sleep(0.1)
        return process, identity

    yield start
    for process in started:
        _stop(process)


def stop_worker(process: subprocess.Popen) -> None:
    _stop(process)
