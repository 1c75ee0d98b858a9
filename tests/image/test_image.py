"""The one service image, run the way App Services 1 and 2 run it (option 2): the default command
(web) and `python start_all_workers.py` (workers), in two containers, through the API."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from scripts.image import version
from tests.image.conftest import CONTAINER_WEB_PORT, IMAGE_TAG, Deployment, podman, wait_for

pytestmark = [pytest.mark.image, pytest.mark.slow, pytest.mark.timeout(900)]

QUEUES = ("papr-memory", "papr-documents")
# Longer than the workers' grace period (PAPR_WORKER_SHUTDOWN_SECONDS=10) plus a busy machine.
STOP_TIMEOUT_SECONDS = 60


@pytest.fixture(scope="module")
def api(deployment: Deployment) -> Iterator[httpx.Client]:
    headers = {"X-API-Key": deployment.api_key}
    with httpx.Client(base_url=deployment.url, headers=headers, timeout=60) as client:
        yield client


def _inspect(name: str) -> dict:
    return json.loads(podman("inspect", name).stdout)[0]


def test_image_config_has_no_secrets_and_runs_as_non_root(service_image: dict) -> None:
    image = json.loads(podman("image", "inspect", IMAGE_TAG).stdout)[0]
    config = image["Config"]
    assert config["User"] == "10001:10001"
    baked = {entry.split("=", 1)[0] for entry in config["Env"]}
    assert not baked & {"DATABASE_URL", "PAPR_API_KEYS", "TEMPORAL_ADDRESS"}
    assert image["Healthcheck"]["Test"][:2] == ["CMD", "python"]
    assert config["Labels"]["org.opencontainers.image.title"] == "papr-memory"
    assert config["Labels"]["org.opencontainers.image.version"] == version()
    # Both spellings of the workers' startup command (the App Service's and the roles') resolve
    # to the installed module, not a copy.
    resolved = podman(
        "run", "--rm", "--no-healthcheck", IMAGE_TAG, "python", "-c",
        "import os, workers.start_all_workers as m; print(os.path.realpath('start_all_workers.py'), "
        "os.path.realpath('workers/start_all_workers.py'), os.path.realpath(m.__file__))",
    ).stdout.split()  # fmt: skip
    assert len(resolved) == 3 and len(set(resolved)) == 1, resolved


def test_web_and_workers_from_the_image_serve_the_api(deployment: Deployment, api: httpx.Client) -> None:
    health = wait_for(api, "/health", timeout=240).json()
    assert health["status"] == "ok"
    assert health["checks"]["database"]["status"] == "ok" and health["checks"]["temporal"]["status"] == "ok"

    # The pollers of both queues are the workers container's (identity <component>@<hostname>:<pid>).
    hostname = _inspect(deployment.workers)["Config"]["Hostname"]
    queues = wait_for(api, "/health/workers", timeout=180).json()["task_queues"]
    for queue in QUEUES:
        identities = [poller["identity"] for poller in queues[queue]["pollers"]]
        assert any(f"@{hostname}:" in identity for identity in identities), (queue, identities)

    tag = uuid.uuid4().hex[:12]
    created = api.post("/v1/memories?wait=true", json={"content": f"{tag} written through the image"})
    assert created.status_code == 201, created.text
    found = api.get("/v1/memories/search", params={"q": tag}).json()
    assert [result["id"] for result in found["results"]] == [created.json()["id"]]

    text = f"{tag} a plain text document processed by the document worker in its container.\n" * 5
    queued = api.post("/v1/documents", content=text.encode(), headers={"Content-Type": "text/plain"})
    assert queued.status_code == 202, queued.text
    document_id = queued.json()["id"]
    deadline = time.monotonic() + 180
    while (document := api.get(f"/v1/documents/{document_id}").json())["status"] in ("queued", "processing"):
        assert time.monotonic() < deadline, f"document still {document['status']} after 180 s"
        time.sleep(0.5)
    assert document["status"] == "done", document
    assert document["chunk_count"] >= 1 and document["memory_count"] >= 1
    assert api.get("/v1/memories/search", params={"q": tag, "limit": 50}).json()["count"] >= 2


def test_containers_run_as_non_root(deployment: Deployment) -> None:
    for name in (deployment.web, deployment.workers):
        assert podman("exec", name, "id", "-u").stdout.strip() == "10001"
        # PID 1 is the service itself (uvicorn or start_all_workers.py), as that user.
        status = podman("exec", name, "cat", "/proc/1/status").stdout
        uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
        assert set(uids) == {"10001"}, uids


@pytest.mark.parametrize("role", ["web", "workers"])
def test_healthcheck_passes(deployment: Deployment, api: httpx.Client, role: str) -> None:
    # The workers answer it with their own /health server once both of them poll.
    wait_for(api, "/health/workers" if role == "workers" else "/health", timeout=240)
    name = getattr(deployment, role)
    result = podman("healthcheck", "run", name, check=False, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    # It probes the port the container was told (WEBSITES_PORT), not the image default.
    env = _inspect(name)["Config"]["Env"]
    assert f"WEBSITES_PORT={CONTAINER_WEB_PORT}" in env


@pytest.mark.parametrize("role", ["workers", "web"])
def test_sigterm_stops_the_container_cleanly(deployment: Deployment, api: httpx.Client, role: str) -> None:
    name = getattr(deployment, role)
    wait_for(api, "/health/workers" if role == "workers" else "/health", timeout=180)
    started = time.monotonic()
    podman("kill", "--signal", "TERM", name)
    try:
        exit_code = int(podman("wait", name, timeout=STOP_TIMEOUT_SECONDS).stdout.strip())
    except subprocess.TimeoutExpired:
        pytest.fail(f"{name} still running {STOP_TIMEOUT_SECONDS} s after SIGTERM")
    elapsed = time.monotonic() - started
    output = podman("logs", name)
    logs = output.stdout + output.stderr
    assert exit_code == 0, logs[-4000:]
    if role == "workers":
        assert '"message": "workers stopped"' in logs, logs[-4000:]
    assert deployment.api_key not in logs
    print(f"{role} container stopped {elapsed:.1f} s after SIGTERM")
