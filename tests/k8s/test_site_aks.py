"""`site.yml -i inventories/aks` end to end on the real single-node cluster: the service's own
image as real pods (web x3, memory worker x2, document worker x3), Temporal in the cluster (the dev
server image built here: temporalio images cannot be pulled), PostgreSQL from the local stack
standing in for Azure's (reached from the pods at the pod bridge's address). Then: verify's API
round trip through the web Service, a PDF processed by the worker pods, a second run that changes
nothing, drift put back, bad input refused before any write."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from fpdf import FPDF

from app.config import Settings
from scripts.k8s.node import SingleNode, wait_until
from scripts.stack import DATABASE, DATABASE_USER
from tests.azure_site.site_runner import SiteRun
from tests.k8s.aks_site import (
    ADMIN_USER,
    NAMESPACE,
    TEMPORAL_DATABASES,
    TEMPORAL_USER,
    AksSite,
    changed_objects,
    kubectl,
    started_aks_site,
)
from workers.extraction import chunk_text

# The first test sets the module up: a cold image build and the first site run can take long here.
pytestmark = [pytest.mark.k8s, pytest.mark.slow, pytest.mark.timeout(1800)]

# Runs when PAPR_K8S_E2E=1 (make test and make test-k8s set it), so that a bare `pytest` in the
# inner loop does not start a Kubernetes node. This module takes about 11 minutes on 2 busy cores
# with the Kubernetes build cached (about 3 of them setting up the node, the images and the first
# site run), plus the cold Kubernetes build (5.5-15 minutes) on a fresh machine (docs/aks.md).
if os.environ.get("PAPR_K8S_E2E") != "1":
    pytest.skip(
        "AKS end-to-end suite (~11 min on 2 cores with the Kubernetes build cached, needs root):"
        " make test and make test-k8s run it (PAPR_K8S_E2E=1)",
        allow_module_level=True,
    )

EXPECTED_READY = {
    "papr-memory-web": 3,
    "papr-memory-memory-worker": 2,
    "papr-memory-document-worker": 3,
    "temporal": 1,
}


@pytest.fixture(scope="module")
def aks_site(single_node: SingleNode, cluster_images: dict[str, str]) -> Iterator[AksSite]:
    with started_aks_site(single_node, cluster_images) as site:
        yield site


@pytest.fixture(scope="module")
def first_run(aks_site: AksSite) -> SiteRun:
    run = aks_site.run()
    print(f"first run: {run.seconds:.0f} s, {run.recap()}")
    assert run.rc == 0, run.output[-6000:]
    # The cluster was created in the Azure double, and its user kubeconfig never shown.
    assert aks_site.double.write_count("/managedClusters/") >= 1
    assert "client-key-data" not in run.output and "client-certificate-data" not in run.output
    return run


def _pdf(text: str) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    for line in range(30):
        pdf.cell(0, 7, f"{text} line {line}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def test_first_run_deploys_every_pod_from_the_service_image(aks_site: AksSite, first_run: SiteRun):
    deployments = {
        item["metadata"]["name"]: item for item in aks_site.kubectl_json("get", "deployments")["items"]
    }
    for name, count in EXPECTED_READY.items():
        assert deployments[name]["status"].get("readyReplicas") == count, (name, deployments[name]["status"])
    pods = aks_site.kubectl_json("get", "pods", "-l", "app.kubernetes.io/name=papr-memory")["items"]
    images = {container["image"] for pod in pods for container in pod["spec"]["containers"]}
    assert images == {"localhost/papr-memory:k8s-test"}
    assert len([pod for pod in pods if pod["status"]["phase"] == "Running"]) == 8
    # verify (site.yml's last play) went through the web Service: health, pollers, API round trip.
    assert "The API stores a memory and finds it by search" in first_run.output
    assert first_run.recap()["failed"] == 0


def test_the_service_and_temporal_each_reach_only_their_own_databases(aks_site: AksSite, first_run: SiteRun):
    """The database-roles Job ran (as the administrator, from inside the cluster): each login owns
    its databases, has no server-wide rights, and is refused on the other's."""
    (job,) = [
        job
        for job in aks_site.kubectl_json("get", "jobs")["items"]
        if job["metadata"]["name"].startswith("temporal-database-roles-")
    ]
    assert job["status"].get("succeeded") == 1, job["status"]
    with aks_site.connect(ADMIN_USER, "postgres") as admin:
        owners = dict(admin.execute("SELECT datname, pg_get_userbyid(datdba) FROM pg_database").fetchall())
        rights = admin.execute(
            "SELECT rolname, rolsuper OR rolcreatedb OR rolcreaterole FROM pg_roles WHERE rolname = ANY(%s)",
            ([DATABASE_USER, TEMPORAL_USER],),
        ).fetchall()
    assert {name: owners[name] for name in (DATABASE, *TEMPORAL_DATABASES)} == {
        DATABASE: DATABASE_USER, **dict.fromkeys(TEMPORAL_DATABASES, TEMPORAL_USER)
    }  # fmt: skip
    assert sorted(rights) == sorted([(DATABASE_USER, False), (TEMPORAL_USER, False)])
    for user, own, others in (
        (TEMPORAL_USER, TEMPORAL_DATABASES, (DATABASE,)),
        (DATABASE_USER, (DATABASE,), TEMPORAL_DATABASES),
    ):
        for database in own:
            with aks_site.connect(user, database) as conn:
                assert conn.execute("SELECT current_user").fetchone() == (user,)
        for database in others:
            with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
                aks_site.connect(user, database).close()
    # The administrator's password is in the roles Job's Secret only, not in the service's.
    admin_password = aks_site.env["PAPR_DATABASE_ADMIN_PASSWORD"]
    secrets = {
        item["metadata"]["name"]: json.dumps(item.get("data", {}))
        for item in aks_site.kubectl_json("get", "secrets")["items"]
    }
    encoded = base64.b64encode(admin_password.encode()).decode()
    assert [name for name, data in secrets.items() if encoded in data] == ["temporal-database-roles"]


def test_a_pdf_is_processed_by_the_worker_pods(aks_site: AksSite, first_run: SiteRun):
    word = f"k8sword{uuid.uuid4().hex[:8]}"
    with httpx.Client(
        base_url=aks_site.web_url(), headers={"X-API-Key": aks_site.api_key}, timeout=30
    ) as api:
        queued = api.post("/v1/documents", content=_pdf(word), headers={"Content-Type": "application/pdf"})
        assert queued.status_code == 202, queued.text
        deadline = time.monotonic() + 240
        while (document := api.get(f"/v1/documents/{queued.json()['id']}").json())["status"] in (
            "queued",
            "processing",
        ):
            assert time.monotonic() < deadline, document
            time.sleep(1)
        assert document["status"] == "done", document
        assert document["chunk_count"] >= 1 and document["memory_count"] == document["chunk_count"]
        assert api.get("/v1/memories/search", params={"q": word}).json()["count"] >= 1


def test_second_run_changes_nothing(aks_site: AksSite, first_run: SiteRun):
    before = aks_site.object_states()
    aks_site.double.clear_log()
    run = aks_site.run()
    assert run.rc == 0, run.output[-6000:]
    assert run.recap()["changed"] == 0, run.changed_tasks()
    assert aks_site.double.write_count() == 0
    assert not (changed := changed_objects(before, aks_site.object_states())), json.dumps(changed, indent=1)


def test_drift_is_put_back(aks_site: AksSite, first_run: SiteRun):
    kubectl(aks_site.node, "-n", NAMESPACE, "scale", "deployment/papr-memory-web", "--replicas=1")
    kubectl(aks_site.node, "-n", NAMESPACE, "delete", "secret", "papr-memory-workers")
    kubectl(aks_site.node, "-n", NAMESPACE, "patch", "hpa", "papr-memory-document-worker", "--type=merge",
            "-p", '{"spec": {"maxReplicas": 4}}')  # fmt: skip
    run = aks_site.run()
    assert run.rc == 0, run.output[-6000:]
    # The secret and the HPA are the play's to put back. The web Deployment below its autoscaler's
    # minimum is too, unless the autoscaler got there first (it syncs every 15 s): either way it
    # is back at 3.
    assert {"papr.memory.workers : Workers secret",
            "papr.memory.workers : Workers ConfigMap, Deployments, autoscalers and disruption budgets",
            } <= set(run.changed_tasks())  # fmt: skip

    def web_ready() -> bool:
        return (
            aks_site.kubectl_json("get", "deployment", "papr-memory-web")["status"].get("readyReplicas") == 3
        )

    wait_until("web back at 3 ready replicas", web_ready, 180)
    assert aks_site.kubectl_json("get", "secret", "papr-memory-workers")["data"]["DATABASE_URL"]
    assert aks_site.kubectl_json("get", "hpa", "papr-memory-document-worker")["spec"]["maxReplicas"] == 10


TOO_BIG = {"requests": {"cpu": "8", "memory": "1Gi"}, "limits": {"cpu": "8", "memory": "1Gi"}}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"web_aks_replicas": 0}, "web_aks_replicas=0 must be a whole number of at least 1"),
        (
            {"workers_aks_memory_max_replicas": 1},
            "workers_aks_memory_max_replicas=1 must be a whole number not",
        ),
        ({"web_aks_resources": TOO_BIG}, "web_aks_resources.requests.cpu=8 is larger than a node"),
    ],
)
def test_bad_input_fails_before_any_write(aks_site: AksSite, first_run: SiteRun, extra: dict, message: str):
    before = aks_site.object_states()
    run = aks_site.run("-e", json.dumps(extra))
    assert run.rc != 0
    assert message in run.output, run.output[-4000:]
    assert not (changed := changed_objects(before, aks_site.object_states())), json.dumps(changed, indent=1)


# Release and undo (playbooks/aks_release.yml). They run last: they change the image.
SERVICE_IMAGE = "localhost/papr-memory:k8s-test"
# The same image under a second name: a new pod template, so a real rolling update.
NEXT_IMAGE = "localhost/papr-memory:k8s-test-next"
# Not in containerd and no registry to pull it from: its pods never become Ready.
NEVER_READY_IMAGE = "localhost/papr-memory:k8s-test-never-ready"
RELEASED = ("papr-memory-web", "papr-memory-memory-worker", "papr-memory-document-worker")


class SteadyLoad:
    """Requests to the web Service's /health, about 10 a second, each on a new connection (as
    separate clients would come), until stopped: what a client sees during a release."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.statuses: list[int] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SteadyLoad:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, headers={"Connection": "close"}, timeout=10) as client:
            while not self._stop.is_set():
                try:
                    status = client.get("/health").status_code
                    self.statuses.append(status)
                    if status != 200:
                        self.errors.append(f"HTTP {status}")
                except httpx.HTTPError as error:
                    self.errors.append(repr(error))
                self._stop.wait(0.1)


def release(aks_site: AksSite, *extra: str) -> SiteRun:
    return aks_site.run(*extra, playbook="playbooks/aks_release.yml")


def images_and_ready(aks_site: AksSite) -> dict[str, tuple[str, int | None]]:
    deployments = {
        item["metadata"]["name"]: item for item in aks_site.kubectl_json("get", "deployments")["items"]
    }
    return {
        name: (
            deployments[name]["spec"]["template"]["spec"]["containers"][0]["image"],
            deployments[name]["status"].get("readyReplicas"),
        )
        for name in RELEASED
    }


def running_pod_images(aks_site: AksSite) -> set[str]:
    pods = aks_site.kubectl_json("get", "pods", "-l", "app.kubernetes.io/name=papr-memory")["items"]
    return {container["image"] for pod in pods for container in pod["spec"]["containers"]}


def expect(image: str) -> dict[str, tuple[str, int]]:
    return {name: (image, EXPECTED_READY[name]) for name in RELEASED}


def test_a_release_rolls_every_pod_to_the_new_image_with_no_failed_request(
    aks_site: AksSite, first_run: SiteRun
):
    aks_site.node.tag_image(SERVICE_IMAGE, NEXT_IMAGE)
    with SteadyLoad(aks_site.web_url()) as load:
        run = release(aks_site, "-e", f"papr_image={NEXT_IMAGE}")
    print(f"release: {run.seconds:.0f} s, {len(load.statuses)} requests, {len(load.errors)} failed")
    assert run.rc == 0, run.output[-6000:]
    assert images_and_ready(aks_site) == expect(NEXT_IMAGE)
    assert load.errors == [] and len(load.statuses) >= 20, (load.errors[:10], len(load.statuses))
    # verify's round trip went through the web Service on the new pods.
    assert "The API stores a memory and finds it by search" in run.output

    again = release(aks_site, "-e", f"papr_image={NEXT_IMAGE}")
    assert again.rc == 0, again.output[-6000:]
    assert again.recap()["changed"] == 0, again.changed_tasks()


def test_an_undo_goes_back_to_the_previous_release(aks_site: AksSite, first_run: SiteRun):
    with SteadyLoad(aks_site.web_url()) as load:
        run = release(aks_site, "-e", "papr_aks_rollback=true")
    print(f"undo: {run.seconds:.0f} s, {len(load.statuses)} requests, {len(load.errors)} failed")
    assert run.rc == 0, run.output[-6000:]
    assert images_and_ready(aks_site) == expect(SERVICE_IMAGE)
    assert load.errors == [], load.errors[:10]

    again = release(aks_site, "-e", "papr_aks_rollback=true")
    assert again.rc == 0, again.output[-6000:]
    assert again.recap()["changed"] == 0, again.changed_tasks()


def web_revision(aks_site: AksSite) -> str:
    deployment = aks_site.kubectl_json("get", "deployment", "papr-memory-web")
    return deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"]


def test_a_release_whose_pods_never_become_ready_is_rolled_back(aks_site: AksSite, first_run: SiteRun):
    web_before = web_revision(aks_site)
    with SteadyLoad(aks_site.web_url()) as load:
        # 15 s: the memory worker's new pod cannot start at all (its image is nowhere); the rollback
        # waits on the same timeout, but its old pods never stopped (maxUnavailable 0).
        run = release(aks_site, "-e", f"papr_image={NEVER_READY_IMAGE}", "-e", "papr_aks_release_timeout=15")
    print(f"failed release: {run.seconds:.0f} s, {len(load.statuses)} requests, {len(load.errors)} failed")
    assert run.rc != 0
    assert f"The release of {NEVER_READY_IMAGE} failed at" in run.output, run.output[-4000:]
    assert "Rolled back:" in run.output and SERVICE_IMAGE in run.output
    assert images_and_ready(aks_site) == expect(SERVICE_IMAGE)
    # The release stopped at the first Deployment that failed: the web server was never rolled.
    assert web_revision(aks_site) == web_before
    wait_until(
        "no pod of the failed image left", lambda: NEVER_READY_IMAGE not in running_pod_images(aks_site), 120
    )
    assert load.errors == [], load.errors[:10]


KILLED_DOCUMENTS = 24


def _document_text(number: int) -> str:
    # ~56 KB of words unique to this document: about 70 chunks.
    return " ".join(f"k8skill{number}word{word}" for word in range(4000))


def _cluster_report(aks_site: AksSite, statuses: dict[str, int]) -> str:
    """What a failed wait needs to be understood: the documents' statuses and the pods."""
    pods = kubectl(aks_site.node, "-n", NAMESPACE, "get", "pods", "-o", "wide", check=False).stdout
    return f"documents: {statuses}\npods:\n{pods}"


def _document_worker_containers(aks_site: AksSite) -> dict[str, tuple[str, int]]:
    """Each document worker pod's container: its containerd id and its restart count."""
    pods = aks_site.kubectl_json("get", "pods", "-l", "app.kubernetes.io/component=document-worker")
    return {
        pod["metadata"]["name"]: (status["containerID"].split("://", 1)[1], status["restartCount"])
        for pod in pods["items"]
        for status in pod["status"].get("containerStatuses", [])
        if status.get("containerID")
    }


# Processing a document takes tens of milliseconds here, too short to be caught by polling (the
# version that waited for a document seen `processing` failed when none ever was). The test holds
# a SHARE lock on the memories table instead: every document a worker takes stays `processing`,
# its activity waiting on its first chunk memory insert, until the lock is let go, after the kill.
def test_document_worker_containers_killed_mid_document_lose_and_duplicate_nothing(
    aks_site: AksSite, first_run: SiteRun
):
    """Documents being processed when every document worker container is killed with SIGKILL (a
    crash: no graceful shutdown, as on a node failure) all end done, each with exactly its chunk
    count of memories: the killed workers' workflow tasks time out and Temporal runs the documents
    again on the restarted containers; the chunk memories' deterministic ids make the rerun and
    the dead workers' last inserts land once."""
    config = aks_site.kubectl_json("get", "configmap", "papr-memory-workers")["data"]
    size = int(config.get("PAPR_CHUNK_SIZE", Settings.model_fields["chunk_size"].default))
    overlap = int(config.get("PAPR_CHUNK_OVERLAP", Settings.model_fields["chunk_overlap"].default))
    texts = [_document_text(number) for number in range(KILLED_DOCUMENTS)]
    expected = [len(chunk_text(text, size, overlap)) for text in texts]
    containers = _document_worker_containers(aks_site)
    assert len(containers) == EXPECTED_READY["papr-memory-document-worker"], containers

    with (
        aks_site.connect(DATABASE_USER, DATABASE) as lock,
        aks_site.connect(DATABASE_USER, DATABASE) as db,
        httpx.Client(base_url=aks_site.web_url(), headers={"X-API-Key": aks_site.api_key}, timeout=30) as api,
    ):
        db.autocommit = True
        lock.execute("LOCK TABLE memories IN SHARE MODE")
        ids = []
        for number, text in enumerate(texts):
            queued = api.post(
                "/v1/documents",
                params={"filename": f"killed-{number}.txt"},
                content=text.encode(),
                headers={"Content-Type": "text/plain"},
            )
            assert queued.status_code == 202, queued.text
            ids.append(queued.json()["id"])

        def statuses() -> dict[str, int]:
            rows = db.execute(
                "SELECT status, count(*) FROM documents WHERE id = ANY(%s::uuid[]) GROUP BY status", (ids,)
            ).fetchall()
            return dict(rows)

        # One document per pod at least (each takes up to its concurrency).
        in_flight = len(containers)
        try:
            wait_until("documents being processed", lambda: statuses().get("processing", 0) >= in_flight, 120)
        except TimeoutError as error:
            raise TimeoutError(f"{error}\n{_cluster_report(aks_site, statuses())}") from None
        at_kill = statuses()
        for container_id, _ in containers.values():
            aks_site.node.kill_container(container_id)

        def all_restarted() -> bool:
            now = _document_worker_containers(aks_site)
            return all(pod in now and now[pod][1] > restarts for pod, (_, restarts) in containers.items())

        wait_until("every document worker container restarted after the kill", all_restarted, 120)
        lock.rollback()
    print(f"at the kill: {at_kill} of {KILLED_DOCUMENTS}")
    assert at_kill.get("done", 0) == 0 and at_kill.get("processing", 0) >= in_flight

    deadline = time.monotonic() + 600
    with httpx.Client(
        base_url=aks_site.web_url(), headers={"X-API-Key": aks_site.api_key}, timeout=30
    ) as api:
        for document_id, chunks in zip(ids, expected, strict=True):
            while (document := api.get(f"/v1/documents/{document_id}").json())["status"] in (
                "queued",
                "processing",
            ):
                assert time.monotonic() < deadline, document
                time.sleep(1)
            assert (document["status"], document["chunk_count"], document["memory_count"]) == (
                "done",
                chunks,
                chunks,
            )
