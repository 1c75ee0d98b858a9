"""`site.yml -i inventories/aks` end to end on the real single-node cluster: the service's own
image as real pods (web x3, memory worker x2, document worker x3), Temporal in the cluster (the dev
server image built here: temporalio images cannot be pulled), PostgreSQL from the local stack
standing in for Azure's (reached from the pods at the pod bridge's address). Then: verify's API
round trip through the web Service, a PDF processed by the worker pods, a second run that changes
nothing, drift put back, bad input refused before any write."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fpdf import FPDF

from scripts.k8s.node import BRIDGE_ADDRESS, SingleNode
from scripts.stack import DATABASE, DATABASE_USER, LocalStack, StackPorts
from tests.azure_site.site_runner import SiteRun
from tests.k8s.conftest import kubectl
from tests.ports import free_port_block

pytestmark = [pytest.mark.k8s, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
NAMESPACE = "papr-memory"
TEMPORAL_NAMESPACE = "papr-memory"
EXPECTED_READY = {"papr-memory-web": 3, "papr-memory-memory-worker": 2, "papr-memory-document-worker": 3, "temporal": 1}
# Small requests: the test node has 2 CPUs shared with everything else on this machine.
SMALL = {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}


@dataclass
class AksSite:
    node: SingleNode
    overrides: Path
    env: dict[str, str]
    api_key: str

    def run(self, *extra: str, timeout: float = 1500) -> SiteRun:
        started = time.monotonic()
        result = subprocess.run(
            [str(ANSIBLE_PLAYBOOK), "site.yml", "-i", "inventories/aks", "-e", f"@{self.overrides}", *extra],
            cwd=REPO, env=self.env, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        return SiteRun(result.returncode, result.stdout + result.stderr, time.monotonic() - started)

    def kubectl_json(self, *args: str) -> dict:
        return json.loads(kubectl(self.node, "-n", NAMESPACE, *args, "-o", "json").stdout)

    def web_url(self) -> str:
        return f"http://{self.kubectl_json('get', 'service', 'papr-memory-web')['spec']['clusterIP']}"

    def resource_versions(self) -> dict[str, str]:
        kinds = "deployments,services,configmaps,secrets,horizontalpodautoscalers,poddisruptionbudgets,networkpolicies,jobs,ingresses"
        items = self.kubectl_json("get", kinds)["items"]
        return {f"{item['kind']}/{item['metadata']['name']}": item["metadata"]["resourceVersion"] for item in items}


@pytest.fixture(scope="module")
def aks_site(single_node: SingleNode, cluster_images: dict[str, str]) -> Iterator[AksSite]:
    state_dir = Path(tempfile.mkdtemp(prefix="papr-k8s-stack-", dir="/tmp"))
    stack = LocalStack(
        state_dir=state_dir, ports=StackPorts.from_base(free_port_block(6, range(59000, 59500, 6))), say=lambda line: None
    )
    forward = None
    try:
        stack.start_postgres()
        # PostgreSQL listens on the host's loopback; pods reach the host at the pod bridge's address.
        forward = subprocess.Popen(
            ["socat", f"TCP-LISTEN:{stack.ports.postgres},bind={BRIDGE_ADDRESS},fork,reuseaddr",
             f"TCP:127.0.0.1:{stack.ports.postgres}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        overrides = {
            "papr_aks_kubeconfig": str(single_node.kubeconfig),
            "papr_aks_image": cluster_images["service"],
            "papr_aks_ingress_host": "memory.test.invalid",
            "papr_aks_database_host": BRIDGE_ADDRESS,
            "papr_aks_database_port": stack.ports.postgres,
            "papr_aks_database_cidr": f"{BRIDGE_ADDRESS}/32",
            "papr_database_sslmode": "disable",
            "papr_database_name": DATABASE,
            "papr_database_user": DATABASE_USER,
            "papr_temporal_namespace": TEMPORAL_NAMESPACE,
            "papr_aks_verify_via": "service",
            "temporal_aks_mode": "dev",
            "temporal_aks_dev_image": cluster_images["temporal_dev"],
            "web_aks_resources": SMALL,
            "workers_aks_memory_resources": SMALL,
            "workers_aks_document_resources": SMALL,
            "temporal_aks_resources": SMALL,
            "verify_timeout": 300,
        }
        overrides_file = state_dir / "overrides.json"
        overrides_file.write_text(json.dumps(overrides))
        env = dict(
            os.environ,
            ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
            ANSIBLE_NOCOLOR="1",
            PAPR_DATABASE_PASSWORD=urlsplit(stack.database_url).password,
            PAPR_API_KEYS=stack.api_key,
        )
        yield AksSite(single_node, overrides_file, env, stack.api_key)
    finally:
        if forward is not None:
            forward.terminate()
            forward.wait(timeout=10)
        stack.down()
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def first_run(aks_site: AksSite) -> SiteRun:
    run = aks_site.run()
    print(f"first run: {run.seconds:.0f} s, {run.recap()}")
    assert run.rc == 0, run.output[-6000:]
    return run


def _pdf(text: str) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    for line in range(30):
        pdf.cell(0, 7, f"{text} line {line}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def test_first_run_deploys_every_pod_from_the_service_image(aks_site: AksSite, first_run: SiteRun):
    deployments = {item["metadata"]["name"]: item for item in aks_site.kubectl_json("get", "deployments")["items"]}
    for name, count in EXPECTED_READY.items():
        assert deployments[name]["status"].get("readyReplicas") == count, (name, deployments[name]["status"])
    pods = aks_site.kubectl_json("get", "pods", "-l", "app.kubernetes.io/name=papr-memory")["items"]
    images = {container["image"] for pod in pods for container in pod["spec"]["containers"]}
    assert images == {"localhost/papr-memory:k8s-test"}
    assert len([pod for pod in pods if pod["status"]["phase"] == "Running"]) == 8
    # verify (site.yml's last play) went through the web Service: health, pollers, API round trip.
    assert "The API stores a memory and finds it by search" in first_run.output
    assert first_run.recap()["failed"] == 0


def test_a_pdf_is_processed_by_the_worker_pods(aks_site: AksSite, first_run: SiteRun):
    word = f"k8sword{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=aks_site.web_url(), headers={"X-API-Key": aks_site.api_key}, timeout=30) as api:
        queued = api.post("/v1/documents", content=_pdf(word), headers={"Content-Type": "application/pdf"})
        assert queued.status_code == 202, queued.text
        deadline = time.monotonic() + 240
        while (document := api.get(f"/v1/documents/{queued.json()['id']}").json())["status"] in ("queued", "processing"):
            assert time.monotonic() < deadline, document
            time.sleep(1)
        assert document["status"] == "done", document
        assert document["chunk_count"] >= 1 and document["memory_count"] == document["chunk_count"]
        assert api.get("/v1/memories/search", params={"q": word}).json()["count"] >= 1


def test_second_run_changes_nothing(aks_site: AksSite, first_run: SiteRun):
    before = aks_site.resource_versions()
    run = aks_site.run()
    assert run.rc == 0, run.output[-6000:]
    assert run.recap()["changed"] == 0, run.changed_tasks()
    assert aks_site.resource_versions() == before


def test_drift_is_put_back(aks_site: AksSite, first_run: SiteRun):
    kubectl(aks_site.node, "-n", NAMESPACE, "scale", "deployment/papr-memory-web", "--replicas=1")
    kubectl(aks_site.node, "-n", NAMESPACE, "delete", "secret", "papr-memory-workers")
    kubectl(aks_site.node, "-n", NAMESPACE, "patch", "hpa", "papr-memory-document-worker", "--type=merge",
            "-p", '{"spec": {"maxReplicas": 4}}')  # fmt: skip
    run = aks_site.run()
    assert run.rc == 0, run.output[-6000:]
    assert run.recap()["changed"] >= 3, run.changed_tasks()
    assert aks_site.kubectl_json("get", "deployment", "papr-memory-web")["status"]["readyReplicas"] == 3
    assert aks_site.kubectl_json("get", "secret", "papr-memory-workers")["data"]["DATABASE_URL"]
    assert aks_site.kubectl_json("get", "hpa", "papr-memory-document-worker")["spec"]["maxReplicas"] == 10


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"web_aks_replicas": 0}, "web_aks_replicas=0 must be a whole number of at least 1"),
        ({"workers_aks_memory_max_replicas": 1}, "workers_aks_memory_max_replicas=1 must be a whole number not below"),
        ({"web_aks_resources": {"requests": {"cpu": "8", "memory": "1Gi"}, "limits": {"cpu": "8", "memory": "1Gi"}}},
         "web_aks_resources.requests.cpu=8 is larger than a node"),
    ],
)  # fmt: skip
def test_bad_input_fails_before_any_write(aks_site: AksSite, first_run: SiteRun, extra: dict, message: str):
    before = aks_site.resource_versions()
    run = aks_site.run("-e", json.dumps(extra))
    assert run.rc != 0
    assert message in run.output, run.output[-4000:]
    assert aks_site.resource_versions() == before
