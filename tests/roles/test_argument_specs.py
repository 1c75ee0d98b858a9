"""Each role's meta/argument_specs.yml rejects a bad variable before the role changes anything.

The play targets a host whose Python does not exist: argument validation runs on the controller,
so the run can only fail at validation (the behaviour under test) or, were validation to let the
bad value through, at the role's first real task - which the assertions tell apart.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")

sys.path.insert(0, str(REPO_ROOT / "collections"))  # makes ansible_collections.papr.memory importable
from ansible_collections.papr.memory.plugins.filter.deployment import deployment_model  # noqa: E402

# The roles render the deployment model: a real one, for a single host running everything.
MODEL = deployment_model(
    {
        "papr_platform": "hosts",
        "papr_option": 1,
        "papr_database_password": "Role-test-1",
        "papr_api_keys": ["role-test-key"],
    },
    {"host": "target", "groups": {group: ["target"] for group in ("postgres", "temporal", "web", "workers")}},
)

CASES = {
    "postgres": ({"postgres_port": "five-four-three-two"}, "postgres_port"),
    "temporal": ({"temporal_log_level": "loud"}, "temporal_log_level"),
    "web": ({"web_port": "http"}, "web_port"),
    "workers": ({"workers_azure_plan_sku": "Huge"}, "workers_azure_plan_sku"),
}


def _run_role(tmp_path: Path, role: str, role_vars: dict) -> subprocess.CompletedProcess:
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("target ansible_connection=local ansible_python_interpreter=/nonexistent/python3\n")
    playbook = tmp_path / "play.yml"
    play = [
        {
            "name": f"Apply {role} with a bad variable",
            "hosts": "target",
            "gather_facts": False,
            "vars": {"papr_deployment": MODEL, **role_vars},
            "roles": [f"papr.memory.{role}"],
        }
    ]
    playbook.write_text(json.dumps(play))
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",
        "ANSIBLE_CALLBACKS_ENABLED": "ansible.builtin.junit",
        "JUNIT_OUTPUT_DIR": str(tmp_path / "junit"),
        "ANSIBLE_NOCOLOR": "1",
    }
    return subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", str(inventory), str(playbook)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("role", sorted(CASES))
def test_bad_variable_fails_before_any_change(tmp_path: Path, role: str) -> None:
    role_vars, bad_name = CASES[role]
    result = _run_role(tmp_path, role, role_vars)

    assert result.returncode == 2, result.stdout + result.stderr
    report = json.loads(result.stdout)
    tasks = report["plays"][0]["tasks"]
    ran = [task["task"]["name"] for task in tasks]
    # The only task that ran is the argument validation, and it failed naming the variable.
    assert len(ran) == 1 and "Validating arguments against arg spec" in ran[0], ran
    outcome = tasks[0]["hosts"]["target"]
    assert outcome["failed"] is True
    assert bad_name in outcome["msg"], outcome["msg"]
    assert report["stats"]["target"]["changed"] == 0
    assert report["stats"]["target"]["failures"] == 1


def test_a_good_variable_set_passes_validation(tmp_path: Path) -> None:
    """The same harness with valid values gets past validation (so the failures above are real)."""
    result = _run_role(tmp_path, "temporal", {"temporal_log_level": "info"})
    report = json.loads(result.stdout)
    ran = [task["task"]["name"] for task in report["plays"][0]["tasks"]]
    assert "Validating arguments against arg spec" in ran[0]
    assert report["plays"][0]["tasks"][0]["hosts"]["target"].get("failed") is not True
    assert len(ran) > 1, ran
    assert report["stats"]["target"]["changed"] == 0
