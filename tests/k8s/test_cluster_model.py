"""Option 3's cluster in the deployment model: what papr.memory.aks_cluster is given, and the inputs
the pre-flight refuses before anything is created, each naming its variable."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "collections"))

from ansible_collections.papr.memory.plugins.filter.deployment import (  # noqa: E402
    deployment_model,
    deployment_problems,
)

SIZING = yaml.safe_load((REPO / "group_vars" / "all" / "sizing.yml").read_text())["papr_sizing"]
AKS = {
    "papr_platform": "aks",
    "papr_database_password": "Hard-Pa55word-42",
    "papr_database_admin_password": "Admin-Pa55word",
    "papr_temporal_database_password": "Tmp-Pa55word-42",
    "papr_api_keys": ["key-one"],
    "papr_aks_database_host": "pg.private",
    "papr_aks_image": "paprmemory.azurecr.io/memory:0.1.0",
    "papr_azure_resource_group": "papr-aks",
    "papr_azure_location": "westeurope",
    "papr_aks_authorized_ip_ranges": ["203.0.113.0/24"],
    "papr_sizing": SIZING,
}


def test_the_cluster_follows_the_sizing_data_and_the_inventory():
    assert deployment_problems(AKS) == []
    aks = deployment_model(AKS)["aks"]
    cluster = aks["cluster"]
    assert (cluster["name"], cluster["resource_group"], cluster["location"]) == (
        "papr-memory-aks",
        "papr-aks",
        "westeurope",
    )
    # The plan's option 3 (sizing data): a system pool of 1 x D2s_v3, a user pool from 3 x D4s_v3.
    plan = {r["resource"]: r for r in SIZING["plans"]["aks"]["3"]["resources"]}
    system = plan["AKS system node pool (CoreDNS, metrics, add-ons)"]
    user = plan["AKS user node pool (the workloads; cluster autoscaler minimum)"]
    pools = {pool["name"]: pool for pool in cluster["node_pools"]}
    assert (pools["system"]["vm_size"], pools["system"]["count"]) == (system["sku"], system["count"])
    assert (pools["user"]["vm_size"], pools["user"]["min_count"]) == (user["sku"], user["count"])
    assert pools["user"]["max_count"] > pools["user"]["min_count"]
    assert cluster["entra_id"]["enabled"] and cluster["local_accounts"] is False
    assert aks["node"] == {
        "name": "Standard_D4s_v3",
        "variable": "papr_aks_node_vm_size",
        "vcpu": 4,
        "memory_gb": 16,
    }
    assert aks["kubeconfig"].endswith("/.kube/papr-memory-aks.yml")

    existing = deployment_model(dict(AKS, papr_aks_manage_cluster=False, papr_aks_kubeconfig="/k/config"))[
        "aks"
    ]
    assert existing["cluster"] is None and existing["kubeconfig"] == "/k/config"


@pytest.mark.parametrize(
    ("change", "variable"),
    [
        ({"papr_aks_node_max_count": 2}, "papr_aks_node_max_count=2 is below papr_aks_node_min_count=3"),
        ({"papr_aks_node_min_count": 0}, "papr_aks_node_min_count must be"),
        ({"papr_aks_system_node_count": 0}, "papr_aks_system_node_count must be"),
        ({"papr_aks_authorized_ip_ranges": []}, "papr_aks_authorized_ip_ranges is empty"),
        ({"papr_aks_private_cluster": True}, "papr_aks_authorized_ip_ranges apply to a public API server"),
        ({"papr_aks_kubernetes_version": "latest"}, "papr_aks_kubernetes_version='latest'"),
        ({"papr_aks_cluster_name": "-bad-"}, "papr_aks_cluster_name: Invalid AKS cluster name"),
        ({"papr_aks_node_vm_size": "Standard_Z99"}, "papr_aks_node_vm_size='Standard_Z99' has no vcpu"),
        ({"papr_azure_resource_group": None}, "papr_aks_resource_group (or papr_azure_resource_group)"),
        ({"papr_azure_location": "west europe"}, "papr_azure_location: 'west europe' is written"),
    ],
)
def test_bad_cluster_input_is_refused_naming_the_variable(change, variable):
    problems = deployment_problems(dict(AKS, **change))
    assert any(problem.startswith(variable) for problem in problems), problems


def test_an_existing_cluster_needs_no_azure_settings():
    given = {k: v for k, v in AKS.items() if not k.startswith(("papr_azure_", "papr_aks_authorized"))}
    assert deployment_problems(dict(given, papr_aks_manage_cluster=False)) == []
