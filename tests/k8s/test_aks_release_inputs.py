"""playbooks/aks_release.yml refuses bad input before it reads or changes anything in a cluster
(tests/k8s/test_site_aks.py runs releases, the undo and a failed release on the real cluster)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.k8s.inventory_secrets import SECRETS
from tests.playbook_env import json_callback_env

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "-e papr_image=<registry/repository:tag>"),
        (["-e", json.dumps({"papr_image": "Not An Image!"})], "papr_image"),
    ],
    ids=["no image", "bad image"],
)
def test_a_release_without_a_valid_image_fails_before_the_cluster_is_asked(tmp_path, extra, message):
    # A kubeconfig naming no reachable server: any cluster request would fail differently.
    kubeconfig = tmp_path / "none.kubeconfig"
    env = json_callback_env(dict(os.environ, **SECRETS))
    result = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "playbooks/aks_release.yml", "-i", "inventories/aks",
         "-e", f"papr_aks_kubeconfig={kubeconfig}", *extra],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode != 0
    assert message in result.stdout, result.stdout[-3000:]
    assert "Check the release inputs before any change" in result.stdout
    assert "Read the Deployments" not in result.stdout
