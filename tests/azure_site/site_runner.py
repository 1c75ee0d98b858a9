"""Run `site.yml -i inventories/<env>` for real against the Azure double, with the deployed service
stood in for by a local stack (scripts/stack.py): what the plays reach at "the web app's URL" and
"Temporal's frontend" is a real web server, real workers and a real Temporal dev server.

Shared by the tests in this folder and benchmarks/azure_site_run.py.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from scripts.stack import LocalStack, StackPorts  # noqa: E402
from tests.azure_double.deployed import LocalImage  # noqa: E402
from tests.ports import free_port_block  # noqa: E402

ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
TEMPORAL_CLI = Path(sys.executable).parent / "temporal"
NAMESPACE = "papr-memory"  # papr_temporal_namespace of inventories/dev and inventories/prod
# Environment a developer's shell may carry that would point the modules elsewhere.
FOREIGN_ENV = (
    "AZURE_",
    "ARM_",
    "MSI_",
    "IDENTITY_",
    "PAPR_AZURE_",
    "PAPR_IMAGE",
    "PAPR_DATABASE",
    "PAPR_API_",
)


class StandInService:
    """The local stack, started the way Azure would start the deployed service: PostgreSQL and
    Temporal first, the web server and workers only once the play has registered the namespace
    they use (so the play's namespace registration is what lets them start)."""

    def __init__(self, state_dir: Path, port_base: int):
        self.stack = LocalStack(
            state_dir=state_dir,
            ports=StackPorts.from_base(port_base),
            service_env={"TEMPORAL_NAMESPACE": NAMESPACE},
            say=lambda line: None,
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def start(self) -> None:
        self.start_backends()
        self._thread = threading.Thread(target=self._start_service_once_registered, daemon=True)
        self._thread.start()

    def start_backends(self) -> None:
        """PostgreSQL and Temporal only (enough when the double runs the deployed service)."""
        try:
            self.stack.start_backends()
        except RuntimeError:
            # LocalStack recognises its processes by their command line, which a process spawned
            # a moment ago may not show yet (before exec, on a loaded machine): it then reports
            # "temporal exited" although the server is starting. Give it the time it needs.
            if not self._temporal_listening(timeout=60):
                raise

    def _temporal_listening(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.stack.ports.temporal), 1),
            ):
                return True
            time.sleep(0.5)
        return False

    def namespace_registered(self, namespace: str = NAMESPACE) -> bool:
        command = [str(TEMPORAL_CLI), "operator", "namespace", "describe", "--namespace", namespace,
                   "--address", self.stack.temporal_address, "--command-timeout", "5s"]  # fmt: skip
        return subprocess.run(command, capture_output=True, timeout=30).returncode == 0

    def _start_service_once_registered(self) -> None:
        try:
            while not self._stop.is_set():
                if self.namespace_registered():
                    self.stack.start_web()
                    self.stack.start_workers()
                    return
                self._stop.wait(1)
        except (OSError, subprocess.SubprocessError) as error:  # reported by the test that needs it
            self.error = error

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=30)
        self.stack.down(graceful=False)  # a throwaway stack: nothing in flight matters
        # Whatever the stack could not recognise by its command line (see start) still goes.
        for child in self.stack._children.values():
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait(timeout=30)


@contextlib.contextmanager
def running_stand_in(prefix: str, port_bases: range, *, backends_only: bool = False):
    """A StandInService in a fresh state folder, stopped and removed afterwards (`backends_only`:
    PostgreSQL and Temporal, for tests where the double runs the deployed service)."""
    # Not pytest's tmp_path: the postgres account must be able to reach its data folder.
    state_dir = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    service = StandInService(state_dir, free_port_block(6, port_bases))
    try:
        service.start_backends() if backends_only else service.start()
        yield service
    finally:
        service.stop()
        shutil.rmtree(state_dir, ignore_errors=True)


def service_image(work_dir: Path) -> LocalImage:
    """The service image (Containerfile) as the double runs it: the working tree's code with the
    controller venv's Python, from a work dir laid out as the image's /app."""
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / "workers").symlink_to(REPO / "workers")
    (work_dir / "start_all_workers.py").symlink_to("workers/start_all_workers.py")
    environment = {"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1", "WEBSITES_PORT": "5001",
                   "PYTHONPATH": str(REPO)}  # fmt: skip
    return LocalImage(work_dir, Path(sys.executable).parent, environment)


@dataclass
class SiteRun:
    rc: int
    output: str
    seconds: float
    requests: list = field(default_factory=list)  # the double's LogEntry list for this run

    @property
    def writes(self) -> list:
        return [entry for entry in self.requests if entry.is_write]

    # The benchmarks' columns: exit code, wall time, the recap's changed count, ARM writes.
    SUMMARY_HEADER = f"{'rc':>3} {'seconds':>8} {'changed':>8} {'writes':>7}"

    def summary(self) -> str:
        changed = self.recap().get("changed", "?") if self.rc == 0 else "?"  # a failed run may lack a recap
        return f"{self.rc:>3} {self.seconds:>8.1f} {changed:>8} {len(self.writes):>7}"

    def verbs(self) -> dict[str, int]:
        return dict(sorted(Counter(entry.method for entry in self.requests).items()))

    def recap(self) -> dict[str, int]:
        match = re.search(r"localhost\s*:\s*((?:\w+=\d+\s*)+)", self.output)
        assert match, self.output[-3000:]
        return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(1))}

    def changed_tasks(self) -> list[str]:
        """Names of the tasks that reported changed, in order (default callback output)."""
        changed = []
        for block in re.split(r"\n(?=TASK \[)", self.output):
            header = re.match(r"TASK \[(.+?)\] \*", block)
            if header and re.search(r"^changed: \[localhost\]", block, re.M):
                changed.append(header.group(1))
        return changed


class SiteRunner:
    """site.yml against the double with test overrides: the double's credentials in the
    environment (as AWX injects them), the secrets in PAPR_DATABASE_PASSWORD / PAPR_API_KEYS, and
    the addresses of the stand-in service in a second (test) inventory. With `proxy_url` (the
    double runs the deployed service) the checks reach the web app at its own host name through
    the double's front door; only Temporal is still the local stack's address."""

    def __init__(self, double, service: StandInService, work_dir: Path, proxy_url: str | None = None):
        self.double = double
        self.proxy_url = proxy_url
        self.service = service
        self.work_dir = work_dir
        # Every character a URL gives a meaning to, and a space: DATABASE_URL must carry them.
        self.database_password = "Db/ :@%?#&+ " + secrets.token_urlsafe(18)
        # The administrator's and Temporal's own passwords (quotes: the role set-up's SQL must hold them).
        self.database_admin_password = "Admin'\"$ " + secrets.token_urlsafe(18)
        self.temporal_database_password = "Tmp-1 '" + secrets.token_urlsafe(18)
        self.other_api_key = "key-" + secrets.token_urlsafe(18)
        self.test_inventory = work_dir / "stand_in.yml"
        overrides = {
            "papr_azure_web_url": service.stack.url,
            "papr_azure_temporal_address": service.stack.temporal_address,
            "temporal_azure_frontend_wait_seconds": 120,
            "temporal_azure_namespace_poll_seconds": 2,
            "verify_timeout": 240,
            "verify_max_delay": 3,
        }
        if proxy_url:
            del overrides["papr_azure_web_url"]
        self.test_inventory.write_text(yaml.safe_dump({"all": {"vars": overrides}}))

    @property
    def secret_values(self) -> list[str]:
        return [
            self.database_password,
            self.database_admin_password,
            self.temporal_database_password,
            self.service.stack.api_key,
            self.other_api_key,
        ]

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN_ENV)}
        env.update(self.double.env)
        env.update(
            ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
            ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
            ANSIBLE_LOCALHOST_WARNING="false",
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
            PAPR_AZURE_POLLING_INTERVAL="0",
            PAPR_DATABASE_PASSWORD=self.database_password,
            PAPR_DATABASE_ADMIN_PASSWORD=self.database_admin_password,
            PAPR_TEMPORAL_DATABASE_PASSWORD=self.temporal_database_password,
            PAPR_API_KEYS=f"{self.service.stack.api_key},{self.other_api_key}",
        )
        if self.proxy_url:
            # urllib prefers the lower-case names: set both, whatever the shell had.
            no_proxy = "127.0.0.1,localhost"
            env.update(
                HTTPS_PROXY=self.proxy_url, https_proxy=self.proxy_url, NO_PROXY=no_proxy, no_proxy=no_proxy
            )
        return env

    def run(
        self,
        inventory: str,
        *args: str,
        extra_vars: dict | None = None,
        env: dict[str, str | None] | None = None,
        timeout: float = 900.0,
        playbook: str = "site.yml",
    ) -> SiteRun:
        """`playbook` against the double; `env` changes the environment (None removes a variable)."""
        command = [str(ANSIBLE_PLAYBOOK), playbook, "-i", f"inventories/{inventory}",
                   "-i", str(self.test_inventory), *args]  # fmt: skip
        if extra_vars:
            command += ["-e", yaml.safe_dump(extra_vars, default_flow_style=True, width=10_000).strip()]
        self.double.clear_log()
        started = time.monotonic()
        environment = self.environment()
        for name, value in (env or {}).items():
            environment.pop(name, None) if value is None else environment.update({name: value})
        completed = subprocess.run(
            command, cwd=REPO, env=environment, capture_output=True, text=True, timeout=timeout
        )
        seconds = time.monotonic() - started
        output = completed.stdout + completed.stderr
        return SiteRun(completed.returncode, output, seconds, self.double.requests())


@contextlib.contextmanager
def standalone_site(prefix: str, port_base: int) -> Iterator[SiteRunner]:
    """A SiteRunner on an Azure double and a stand-in service of its own, in a temporary folder
    removed afterwards: what the benchmarks run outside pytest's fixtures."""
    from tests.azure_double import AzureDouble

    work = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    double = AzureDouble(state_dir=work / "double")
    service = StandInService(work / "stack", port_base)
    double.start()
    try:
        service.start()
        yield SiteRunner(double, service, work)
    finally:
        service.stop()
        double.stop()
        shutil.rmtree(work, ignore_errors=True)
