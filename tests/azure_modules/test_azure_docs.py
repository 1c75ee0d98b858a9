"""Every Azure module's DOCUMENTATION/EXAMPLES/RETURN parse and render with ansible-doc."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
MODULES = [
    "resource_group",
    "app_service_plan",
    "app_service_container",
    "container_group",
    "postgres_flexible_server",
    "aks_cluster",
    "virtual_network",
    "network_security_group",
    "private_dns_zone",
    "role_assignment",
    "log_analytics_workspace",
    "diagnostic_setting",
    "action_group",
    "metric_alert",
    "application_insights",
    "web_test",
]


@pytest.fixture(scope="module")
def docs():
    """ansible-doc --json of every Azure module, in one run."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")}
    ansible_doc = Path(sys.executable).parent / "ansible-doc"
    names = [f"papr.memory.{module}" for module in MODULES]
    completed = subprocess.run(
        [str(ansible_doc), "--json", *names], env=env, capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr
    assert "WARNING" not in completed.stderr, completed.stderr
    return json.loads(completed.stdout)


@pytest.mark.parametrize("module", MODULES)
def test_ansible_doc_renders(docs, module):
    doc = docs[f"papr.memory.{module}"]
    options = doc["doc"]["options"]
    assert {"subscription_id", "client_id", "secret", "tenant", "cloud_environment", "timeout"} <= set(
        options
    )
    assert doc["return"] and yaml.safe_load(doc["examples"])


@pytest.mark.parametrize("module", MODULES)
def test_runner_return_values_come_from_the_shared_fragment(docs, module):
    """The RETURN of every module the runner drives extends doc fragment papr.memory.azure.result
    (and .lifecycle_result where the module has start_stopped); ansible-doc shows them merged."""
    doc = docs[f"papr.memory.{module}"]
    returned = doc["return"]
    assert returned["operations"]["returned"] == "always"
    assert ("start_stopped" in doc["doc"]["options"]) == ({"resource_state", "started"} <= set(returned))


def test_action_group_lists_the_azure_modules():
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    assert set(MODULES) <= set(runtime["action_groups"]["azure"])
