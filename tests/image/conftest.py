"""The service image under test: built with scripts/image.py FROM the offline Python base, then
run with its two startup commands (web, workers) against a real PostgreSQL and Temporal dev
server on this machine's loopback (scripts/stack.py's building blocks, on this suite's ports)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from scripts import image as image_builder
from scripts.stack import LocalStack, StackPorts
from tests.ports import free_port_block

# Ports 58500-58999 belong to this suite: the web container 58510; the stack takes six free ports
# from 58520 on (other tiers run beside it and may hold one).
PORT_BASES = range(58520, 59000, 6)
WEB_PORT = 58510
# The port App Service would set in WEBSITES_PORT: not the image's default, to prove it is read.
CONTAINER_WEB_PORT = 8080
IMAGE_TAG = "localhost/papr-memory:image-test"
# slirp4netns gives each container its own network namespace in which the host's loopback is
# 10.0.2.2: the containers reach PostgreSQL and Temporal there, and the host reaches the web
# container only through the port published on 127.0.0.1.
NETWORK = "slirp4netns:allow_host_loopback=true"
HOST_FROM_CONTAINER = "10.0.2.2"
WORKERS_COMMAND = ["python", "start_all_workers.py"]


def podman(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["podman", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
        env=image_builder.engine_environment(),
    )


@pytest.fixture(scope="session")
def service_image() -> dict:
    missing = [tool for tool in ("podman", "runc", "iptables", "slirp4netns") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"the image test needs {', '.join(missing)} (.ci/run installs them)")
    report = image_builder.build_image(IMAGE_TAG, base=image_builder.LOCAL_BASE)
    print(f"image build: {report}")
    return report


@pytest.fixture(scope="session")
def backends() -> Iterator[LocalStack]:
    # Not pytest's tmp_path: the postgres account must be able to reach its data folder.
    state_dir = Path(tempfile.mkdtemp(prefix="papr-image-stack-", dir="/tmp"))
    stack = LocalStack(state_dir=state_dir, ports=StackPorts.from_base(free_port_block(6, PORT_BASES)))
    try:
        stack.start_backends()
        yield stack
    finally:
        stack.down(graceful=False)
        shutil.rmtree(state_dir, ignore_errors=True)


@dataclass(frozen=True)
class Deployment:
    """The two containers of option 2, from one image."""

    web: str
    workers: str
    url: str
    api_key: str


def _container_environment(stack: LocalStack) -> str:
    """What App Service app settings would hold, as an env file (0600: it has secrets)."""
    database = urlsplit(stack.database_url)
    database = database._replace(netloc=database.netloc.replace("@127.0.0.1:", f"@{HOST_FROM_CONTAINER}:"))
    lines = {
        "DATABASE_URL": database.geturl(),
        "TEMPORAL_ADDRESS": f"{HOST_FROM_CONTAINER}:{stack.ports.temporal}",
        "PAPR_API_KEYS": stack.api_key,
        "WEBSITES_PORT": str(CONTAINER_WEB_PORT),
        # The dev server ends idle polls after 10 s (scripts/stack.py), so 30 s means gone.
        "PAPR_POLLER_LIVENESS_SECONDS": "30",
        "PAPR_WORKER_SHUTDOWN_SECONDS": "10",
    }
    env_file = stack.state_dir / "container.env"
    descriptor = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.writelines(f"{key}={value}\n" for key, value in lines.items())
    return str(env_file)


@pytest.fixture(scope="module")
def deployment(service_image: dict, backends: LocalStack) -> Iterator[Deployment]:
    suffix = os.getpid()
    web, workers = f"papr-image-test-web-{suffix}", f"papr-image-test-workers-{suffix}"
    env_file = _container_environment(backends)
    common = ["run", "--detach", "--network", NETWORK, "--env-file", env_file]
    try:
        # The image's default command is the web server (App Service 1).
        podman(*common, "--name", web, "--publish", f"127.0.0.1:{WEB_PORT}:{CONTAINER_WEB_PORT}", IMAGE_TAG)
        # App Service 2's startup command; it answers the image's HEALTHCHECK itself on
        # WEBSITES_PORT (workers/health.py).
        podman(*common, "--name", workers, IMAGE_TAG, *WORKERS_COMMAND)
        yield Deployment(web, workers, f"http://127.0.0.1:{WEB_PORT}", backends.api_key)
    finally:
        for name in (web, workers):
            output = podman("logs", name, check=False)
            if logs := output.stdout + output.stderr:
                print(f"--- {name} (last lines)\n" + "\n".join(logs.splitlines()[-20:]))
            podman("rm", "--force", "--time", "0", name, check=False)


def wait_for(client: httpx.Client, path: str, timeout: float) -> httpx.Response:
    """Poll until `path` answers 200; the last answer explains a timeout."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            response = client.get(path)
            if response.status_code == 200:
                return response
            last = f"{response.status_code} {response.text[:500]}"
        except httpx.TransportError as error:
            last = error
        time.sleep(1)
    pytest.fail(f"{path} did not answer 200 within {timeout:g} s; last answer: {last}")
