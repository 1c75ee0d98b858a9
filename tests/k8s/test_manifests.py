"""Every manifest the aks face renders (the real roles, through playbooks/aks.yml with
papr_aks_render_dir) is valid for the Kubernetes versions AKS runs, checked offline and strictly
with kubernetes-validate, and says what option 3 promises (counts, autoscaling, security)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.k8s.inventory_secrets import SECRETS as INVENTORY_SECRETS
from tests.playbook_env import json_callback_env

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
# AKS's generally available minors (its release calendar; update with it). The two newest that
# kubernetes-validate also has schemas for are the ones validated.
AKS_MINORS = ["1.31", "1.32", "1.33", "1.34"]
# A service password and API keys the rendered files must not show.
SECRETS = dict(INVENTORY_SECRETS, PAPR_DATABASE_PASSWORD="s3cret/pass word", PAPR_API_KEYS="key-one,key-two")


def validated_versions() -> list[str]:
    supported = set(kubernetes_validate.utils.all_versions())
    both = [minor for minor in AKS_MINORS if any(version.startswith(minor + ".") for version in supported)]
    assert len(both) >= 2, f"kubernetes-validate knows none of {AKS_MINORS} (it has {sorted(supported)})"
    return [
        max((v for v in supported if v.startswith(minor + ".")), key=lambda v: int(v.split(".")[2]))
        for minor in both[-2:]
    ]


def render(folder: Path, *extra: str) -> subprocess.CompletedProcess:
    folder.mkdir(parents=True, exist_ok=True)
    env = json_callback_env(dict(os.environ, **SECRETS))
    return subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "playbooks/aks.yml", "-i", "inventories/aks",
         "-e", f"papr_aks_render_dir={folder}", *extra],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def documents(folder: Path) -> list[dict]:
    found = []
    for path in sorted(folder.glob("*.yml")):
        found += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return found


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[Path, list[dict]]:
    folder = tmp_path_factory.mktemp("aks-manifests")
    result = render(folder)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    return folder, documents(folder)


def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def test_every_manifest_is_valid_for_the_two_newest_aks_versions(rendered):
    _, docs = rendered
    versions = validated_versions()
    for version in versions:
        for doc in docs:
            kubernetes_validate.validate(doc, version, strict=True)
    kinds = sorted({doc["kind"] for doc in docs})
    assert kinds == sorted(
        ["ConfigMap", "Deployment", "HorizontalPodAutoscaler", "Ingress", "Job", "Namespace", "NetworkPolicy",
         "PodDisruptionBudget", "Secret", "Service"]
    ), kinds  # fmt: skip


def test_option_3_counts_and_autoscalers(rendered):
    _, docs = rendered
    deployments, autoscalers = by_kind(docs, "Deployment"), by_kind(docs, "HorizontalPodAutoscaler")
    expected = {"papr-memory-web": 3, "papr-memory-memory-worker": 2, "papr-memory-document-worker": 3}
    for name, count in expected.items():
        assert deployments[name]["spec"]["replicas"] == count
        assert autoscalers[name]["spec"]["minReplicas"] == count
        assert autoscalers[name]["spec"]["maxReplicas"] > count
        assert autoscalers[name]["apiVersion"] == "autoscaling/v2"
        assert deployments[name]["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert {doc["apiVersion"] for doc in by_kind(docs, "PodDisruptionBudget").values()} == {"policy/v1"}
    commands = {
        name: deployments[name]["spec"]["template"]["spec"]["containers"][0]["command"] for name in expected
    }
    assert commands["papr-memory-memory-worker"] == ["papr-memory-worker", "memory"]
    assert commands["papr-memory-document-worker"] == ["papr-memory-worker", "documents"]
    images = {deployments[name]["spec"]["template"]["spec"]["containers"][0]["image"] for name in expected}
    assert images == {"paprmemory.azurecr.io/memory:0.1.0"}, "one image for the web server and both workers"
    # Temporal in the cluster on PostgreSQL: schema Job, server, namespace Job, UI not public.
    assert {"temporal", "temporal-ui"} <= set(deployments)
    jobs = by_kind(docs, "Job")
    assert sorted(name.rsplit("-", 1)[0] for name in jobs) == [
        "temporal-database-roles",
        "temporal-namespace",
        "temporal-schema",
    ]
    assert {service["spec"]["type"] for service in by_kind(docs, "Service").values()} == {"ClusterIP"}


def test_pods_are_locked_down_and_sized_from_the_sizing_data(rendered):
    _, docs = rendered
    sizing = yaml.safe_load((REPO / "group_vars/all/sizing.yml").read_text())["papr_sizing"]["workloads"]
    deployments = by_kind(docs, "Deployment")
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        if name != "temporal-ui":
            assert len(pod["topologySpreadConstraints"]) == 2
        for container in pod["containers"]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
            if name.startswith("papr-memory"):
                assert container["securityContext"]["readOnlyRootFilesystem"] is True
                assert container["startupProbe"]["httpGet"]["path"] == "/health"
                assert container["readinessProbe"]["httpGet"]["path"] == "/health"
            # Production's probes (the e2e's test inventory asks more often): 5 s x 60 to start,
            # 10 s x 3 unanswered before leaving the Service.
            for name_of_probe, expected in {"startupProbe": (5, 60), "readinessProbe": (10, 3)}.items():
                probe = container.get(name_of_probe)
                if probe:
                    assert (probe["periodSeconds"], probe["failureThreshold"]) == expected
    web = deployments["papr-memory-web"]["spec"]["template"]["spec"]["containers"][0]
    assert web["resources"] == sizing["web"]["resources"]
    worker = deployments["papr-memory-document-worker"]["spec"]["template"]
    assert worker["spec"]["containers"][0]["resources"] == sizing["document_worker"]["resources"]
    config = by_kind(docs, "ConfigMap")["papr-memory-workers"]["data"]
    assert worker["spec"]["terminationGracePeriodSeconds"] > int(config["PAPR_WORKER_SHUTDOWN_SECONDS"])


def test_network_policies_admit_only_the_clients(rendered):
    _, docs = rendered
    policies = by_kind(docs, "NetworkPolicy")
    assert policies["default-deny"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    clients = {"papr.memory/temporal-client": "true", "papr.memory/postgres-client": "true"}
    deployments = by_kind(docs, "Deployment")
    for name in ("papr-memory-web", "papr-memory-memory-worker", "papr-memory-document-worker"):
        assert clients.items() <= deployments[name]["spec"]["template"]["metadata"]["labels"].items()
    assert (
        "papr.memory/postgres-client"
        not in deployments["temporal-ui"]["spec"]["template"]["metadata"]["labels"]
    )
    postgres = policies["postgres-egress"]["spec"]["egress"][0]
    assert postgres["to"] == [{"ipBlock": {"cidr": "10.20.2.0/24"}}]


def env_of(pod: dict) -> dict[str, object]:
    return {
        item["name"]: item.get("value", item.get("valueFrom"))
        for container in pod["containers"]
        for item in container.get("env", [])
    }


def pod_name(doc: dict) -> str:
    """Kind/name, a Job's name without its hash."""
    name = doc["metadata"]["name"]
    return f"{doc['kind']}/{name.rsplit('-', 1)[0] if doc['kind'] == 'Job' else name}"


def test_three_logins_temporal_its_own_and_the_administrator_only_in_the_roles_job(rendered):
    _, docs = rendered
    pods = {
        pod_name(doc): doc["spec"]["template"]["spec"] for doc in docs if doc["kind"] in ("Deployment", "Job")
    }
    roles = pods["Job/temporal-database-roles"]
    assert env_of(roles)["PGUSER"] == "papr_admin"
    assert env_of(roles)["SERVICE_USER"] == "papr_memory" and env_of(roles)["TEMPORAL_USER"] == "temporal"
    assert env_of(pods["Deployment/temporal"])["POSTGRES_USER"] == "temporal"
    assert env_of(pods["Job/temporal-schema"])["SQL_USER"] == "temporal"
    # The administrator's login and the three passwords: a Secret volume of the roles Job only.
    mounting = [
        name
        for name, pod in pods.items()
        if "temporal-database-roles"
        in [volume.get("secret", {}).get("secretName") for volume in pod.get("volumes", [])]
    ]
    assert mounting == ["Job/temporal-database-roles"]
    assert [name for name, pod in pods.items() if "papr_admin" in json.dumps(env_of(pod))] == mounting
    assert set(by_kind(docs, "Secret")["temporal-database-roles"]["data"]) == {
        "admin-password", "service-password", "temporal-password"
    }  # fmt: skip
    assert (
        "papr.memory/postgres-client"
        in by_kind(docs, "Job")[
            next(name for name in by_kind(docs, "Job") if name.startswith("temporal-database-roles"))
        ]["spec"]["template"]["metadata"]["labels"]
    )


def test_secrets_never_in_the_output_or_the_rendered_files(rendered, tmp_path):
    folder, docs = rendered
    text = "".join(path.read_text() for path in folder.glob("*.yml"))
    for secret in ("s3cret", "key-one", "key-two", "Admin-Pa55word", "Tmp-Pa55word-42"):
        assert secret not in text
    assert all(oct(path.stat().st_mode)[-3:] == "600" for path in folder.glob("*.yml"))


def test_kubernetes_1_20_gets_the_beta_api_versions(tmp_path):
    result = render(
        tmp_path,
        "-e",
        json.dumps({"papr_aks_api_versions": ["autoscaling/v2beta2", "policy/v1beta1", "apps/v1"]}),
    )
    assert result.returncode == 0, result.stdout[-3000:]
    docs = documents(tmp_path)
    assert {doc["apiVersion"] for doc in docs if doc["kind"] == "HorizontalPodAutoscaler"} == {
        "autoscaling/v2beta2"
    }
    assert {doc["apiVersion"] for doc in docs if doc["kind"] == "PodDisruptionBudget"} == {"policy/v1beta1"}


# One run per role that checks them (a role reports all of its problems at once; the play stops
# at the first role with any).
BAD_WEB = {
    "web_aks_replicas": 0,
    "web_aks_resources": {
        "requests": {"cpu": "lots", "memory": "1Gi"},
        "limits": {"cpu": "1", "memory": "1Gi"},
    },
}
BAD_WORKERS = {
    "workers_aks_document_max_replicas": 2,
    "workers_aks_termination_grace_seconds": 10,
    "workers_aks_memory_resources": {
        "requests": {"cpu": "250m", "memory": "64Gi"},
        "limits": {"cpu": "1", "memory": "64Gi"},
    },
}


@pytest.mark.parametrize(
    ("extra", "messages"),
    [
        (
            BAD_WEB,
            [
                "web_aks_replicas=0 must be a whole number of at least 1",
                "web_aks_resources.requests.cpu='lots' is not a Kubernetes quantity",
            ],
        ),
        (
            BAD_WORKERS,
            [
                "workers_aks_document_max_replicas=2 must be a whole number not below "
                "workers_aks_document_replicas=3",
                "workers_aks_memory_resources.requests.memory=64Gi is larger than a node "
                "(papr_aks_node_vm_size=Standard_D4s_v3",
                "workers_aks_termination_grace_seconds=10 must be above workers_aks_shutdown_seconds=20",
            ],
        ),
    ],
    ids=["web", "workers"],
)
def test_bad_input_fails_before_anything_is_rendered_naming_the_variable(tmp_path, extra, messages):
    result = render(tmp_path, "-e", json.dumps(extra))
    assert result.returncode != 0
    for message in messages:
        assert message in result.stdout, result.stdout[-3000:]
    assert not list(tmp_path.glob("*.yml")), "nothing may be written after a failed check"
