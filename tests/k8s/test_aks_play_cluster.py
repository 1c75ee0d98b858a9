"""playbooks/aks.yml's cluster part against the Azure double: check mode predicts the resource
group, the cluster and the kubeconfig file from the deployment model, and writes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.azure_double.pytest_plugin import azure_double, azure_double_server  # noqa: F401
from tests.k8s.inventory_secrets import SECRETS
from tests.playbook_env import json_callback_env

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
FOREIGN = ("AZURE_", "ARM_", "MSI_", "IDENTITY_", "PAPR_AZURE_", "PAPR_AKS_")


def test_check_mode_predicts_the_cluster_and_writes_nothing(azure_double, tmp_path):  # noqa: F811
    kubeconfig = tmp_path / "aks.kubeconfig"
    env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN)}
    env.update(azure_double.env, PAPR_AZURE_POLLING_INTERVAL="0", PAPR_AZURE_CACHE_DIR=str(tmp_path))
    env.update(SECRETS)
    env["PAPR_AKS_KUBECONFIG"] = str(kubeconfig)
    completed = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "playbooks/aks.yml", "-i", "inventories/aks", "--check"],
        cwd=REPO, env=json_callback_env(env), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]
    data = json.loads(completed.stdout[completed.stdout.index("{") :])
    tasks = {
        task["task"]["name"]: next(iter(task["hosts"].values()), {})
        for play in data["plays"]
        for task in play["tasks"]
    }
    cluster = tasks["The AKS cluster (created, updated or upgraded in place)"]
    assert [(op["action"], op["target"]) for op in cluster["operations"]] == [
        ("create", "AKS cluster 'papr-memory-aks' in resource group 'papr-memory-aks'"),
        ("write", f"kubeconfig file {kubeconfig}"),
    ]
    assert tasks["Resource group of the cluster"]["changed"] is True
    # Check mode stops before the workloads: there is no cluster to compare them with yet.
    assert "Namespace and its NetworkPolicies" not in tasks
    assert azure_double.write_count() == 0 and not kubeconfig.exists()
