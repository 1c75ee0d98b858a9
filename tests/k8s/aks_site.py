"""`site.yml -i inventories/aks` against the single-node cluster, with the test's overrides:
shared by tests/k8s and benchmarks/aks_nothing_to_ready.py."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import yaml

from scripts import image as image_builder
from scripts.k8s import images
from scripts.k8s.node import BRIDGE_ADDRESS, SingleNode
from scripts.stack import DATABASE, DATABASE_USER, LocalStack, StackPorts
from tests.azure_double.providers.containerservice import use_user_kubeconfig
from tests.azure_double.server import AzureDouble
from tests.azure_site.site_runner import SiteRun
from tests.ports import free_port_block

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
SERVICE_IMAGE = "localhost/papr-memory:k8s-test"
NAMESPACE = "papr-memory"
TEMPORAL_NAMESPACE = "papr-memory"
# The three logins of least privilege (inventories/aks): the administrator only creates the other two.
ADMIN_USER = "papr_admin"
TEMPORAL_USER = "temporal"
TEMPORAL_DATABASES = ("temporal", "temporal_visibility")
# Small requests: the test node has 2 CPUs shared with everything else on this machine.
SMALL = {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}


def kubectl(
    node: SingleNode, *args: str, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [node.binary("kubectl"), f"--kubeconfig={node.kubeconfig}", *args],
        check=check, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def import_cluster_images(node: SingleNode) -> dict[str, str]:
    """The service image (scripts/image.py, offline base; cached) and the Temporal dev server
    image, copied into the node's containerd."""
    image_builder.build_image(SERVICE_IMAGE, base=image_builder.LOCAL_BASE)
    temporal = images.temporal_dev_image(SERVICE_IMAGE)
    for image in (SERVICE_IMAGE, temporal):
        print(f"imported {image} in {node.import_image(image):.1f} s")
    return {"service": SERVICE_IMAGE, "temporal_dev": temporal}


def create_admin_login(stack: LocalStack, password: str) -> None:
    """The flexible server's administrator as Azure makes it: CREATEDB and CREATEROLE, no superuser."""
    socket = f"host={stack.pg_socket_dir} port={stack.ports.postgres} user=postgres dbname=postgres"
    with psycopg.connect(socket, autocommit=True) as conn:
        conn.execute(
            psycopg.sql.SQL("CREATE ROLE {} LOGIN CREATEDB CREATEROLE PASSWORD {}").format(
                psycopg.sql.Identifier(ADMIN_USER), psycopg.sql.Literal(password)
            )
        )


@dataclass
class AksSite:
    node: SingleNode
    double: AzureDouble
    overrides: Path
    env: dict[str, str]
    api_key: str
    database_port: int

    def connect(self, user: str, database: str) -> psycopg.Connection:
        """A login to the local PostgreSQL with the password the play was given for `user`."""
        passwords = {
            DATABASE_USER: self.env["PAPR_DATABASE_PASSWORD"],
            TEMPORAL_USER: self.env["PAPR_TEMPORAL_DATABASE_PASSWORD"],
            ADMIN_USER: self.env["PAPR_DATABASE_ADMIN_PASSWORD"],
        }
        return psycopg.connect(
            host="127.0.0.1", port=self.database_port, user=user, password=passwords[user],
            dbname=database, connect_timeout=10,
        )  # fmt: skip

    def run(self, *extra: str, timeout: float = 1500, playbook: str = "site.yml") -> SiteRun:
        started = time.monotonic()
        result = subprocess.run(
            [str(ANSIBLE_PLAYBOOK), playbook, "-i", "inventories/aks", "-e", f"@{self.overrides}", *extra],
            cwd=REPO, env=self.env, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        return SiteRun(result.returncode, result.stdout + result.stderr, time.monotonic() - started)

    def kubectl_json(self, *args: str) -> dict:
        return json.loads(kubectl(self.node, "-n", NAMESPACE, *args, "-o", "json").stdout)

    def web_url(self) -> str:
        return f"http://{self.kubectl_json('get', 'service', 'papr-memory-web')['spec']['clusterIP']}"

    def object_states(self) -> dict[str, str]:
        """Each object as written: everything but its status and the server's bookkeeping. Not the
        resourceVersion, which controllers bump when they update an object's status (an HPA every
        sync), so it changes with no write of ours."""
        kinds = (
            "deployments,services,configmaps,secrets,horizontalpodautoscalers,poddisruptionbudgets,"
            "networkpolicies,jobs,ingresses"
        )
        states = {}
        for item in self.kubectl_json("get", kinds)["items"]:
            item.pop("status", None)
            for bookkeeping in ("resourceVersion", "managedFields"):
                item["metadata"].pop(bookkeeping, None)
            # autoscaling/v1 (kubectl's default for HPAs) carries the v2 status in annotations.
            annotations = item["metadata"].get("annotations", {})
            for name in [name for name in annotations if name.startswith("autoscaling.alpha.kubernetes.io/")]:
                del annotations[name]
            # Before the autoscaler's first sync an HPA has no annotations at all, after it only
            # the status ones removed above: both are "none".
            if not annotations:
                item["metadata"].pop("annotations", None)
            states[f"{item['kind']}/{item['metadata']['name']}"] = json.dumps(item, sort_keys=True)
        return states


def changed_objects(before: dict[str, str], after: dict[str, str]) -> dict[str, list[str | None]]:
    """The objects of two AksSite.object_states() that differ, each [before, after] in full."""
    return {name: [before.get(name), after.get(name)] for name in sorted(before.keys() | after.keys())
            if before.get(name) != after.get(name)}  # fmt: skip


@contextlib.contextmanager
def started_aks_site(single_node: SingleNode, cluster_images: dict[str, str]) -> Iterator[AksSite]:
    """PostgreSQL of the local stack for the pods, the Azure double in which the play creates the
    AKS cluster (its user kubeconfig is the single node's), and the test overrides of inventories/aks."""
    state_dir = Path(tempfile.mkdtemp(prefix="papr-k8s-stack-", dir="/tmp"))
    double = AzureDouble().start()
    inventory = yaml.safe_load((REPO / "inventories/aks/group_vars/all.yml").read_text())
    cluster_id = (
        f"/subscriptions/{double.subscription_id}/resourceGroups/{inventory['papr_azure_resource_group']}"
        f"/providers/Microsoft.ContainerService/managedClusters/{inventory['papr_aks_cluster_name']}"
    )
    use_user_kubeconfig(double, cluster_id, Path(single_node.kubeconfig).read_text())
    stack = LocalStack(
        state_dir=state_dir,
        ports=StackPorts.from_base(free_port_block(6, range(58000, 58500, 6))),
        say=lambda line: None,
    )
    forward = None
    admin_password = f"Adm1n-{secrets.token_urlsafe(18)}"
    try:
        stack.start_postgres()
        create_admin_login(stack, admin_password)
        # PostgreSQL listens on the host's loopback; pods reach the host at the pod bridge's address.
        forward = subprocess.Popen(
            ["socat", f"TCP-LISTEN:{stack.ports.postgres},bind={BRIDGE_ADDRESS},fork,reuseaddr",
             f"TCP:127.0.0.1:{stack.ports.postgres}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        overrides = {
            # Where the cluster module writes the user kubeconfig the double answers.
            "papr_aks_kubeconfig": str(state_dir / "aks-user.kubeconfig"),
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
            # temporalio/admin-tools cannot be pulled: the dev image has psql for the database-roles Job.
            "temporal_aks_roles_image": cluster_images["temporal_dev"],
            "web_aks_resources": SMALL,
            "workers_aks_memory_resources": SMALL,
            "workers_aks_document_resources": SMALL,
            "temporal_aks_resources": SMALL,
            "verify_timeout": 300,
            # The node's 2 CPUs are shared: a pod there takes its time to start, and each step of
            # a rolling update waits for one. Asking more often (the windows stay production's:
            # docs/aks.md) and polling the rollouts and verify's checks more often takes the
            # waiting between a pod being ready and anyone noticing out of every step.
            "papr_aks_probe_period_seconds": {"startup": 1, "readiness": 2},
            "papr_aks_wait_poll_seconds": 1,
            "verify_max_delay": 2,
        }
        overrides_file = state_dir / "overrides.json"
        overrides_file.write_text(json.dumps(overrides))
        env = dict(
            os.environ,
            ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
            ANSIBLE_NOCOLOR="1",
            PAPR_DATABASE_PASSWORD=urlsplit(stack.database_url).password,
            PAPR_DATABASE_ADMIN_PASSWORD=admin_password,
            PAPR_TEMPORAL_DATABASE_PASSWORD=f"Tmp0-{secrets.token_urlsafe(18)}",
            PAPR_API_KEYS=stack.api_key,
            PAPR_AZURE_POLLING_INTERVAL="0",
            **double.env,
        )
        yield AksSite(single_node, double, overrides_file, env, stack.api_key, stack.ports.postgres)
    finally:
        if forward is not None:
            forward.terminate()
            forward.wait(timeout=10)
        stack.down()
        double.stop()
        shutil.rmtree(state_dir, ignore_errors=True)
