"""A hosts inventory: the systemd units the web and workers roles install, the ones a release
restarts, the ones migrate.yml and teardown.yml stop and remove - all are the deployment model's
(papr_deployment.hosts.systemd, or the deployment_systemd filter where a play has no model). One
ansible-playbook run on the controller (the pre-flight, the model, the roles' variables, the
plays' variables); nothing is changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.playbook_env import json_callback_env

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
INVENTORY_VARS = {
    "papr_platform": "hosts",
    "papr_option": 2,
    "papr_database_password": "Db-Pa55word-for-units",
    "papr_api_keys": ["key-for-the-units-test"],
}
GROUPS = ("postgres", "temporal", "web", "workers")
USED = {
    "model": "{{ papr_deployment.hosts.systemd }}",
    "web_role": "{{ [web_socket_unit, web_unit] }}",
    "workers_role": "{{ workers_units }}",
    "workers_role_files": "{{ workers_unit_files }}",
    "teardown": "{{ [teardown_app_units, teardown_app_unit_files] }}",
    "migrate": "{{ migrate_workers_systemd }}",
    "release": "{{ release_units_expression }}",
}


def play(playbook: str, name: str) -> dict:
    """A play of a playbook, by name, as written."""
    plays = yaml.safe_load((REPO / "playbooks" / playbook).read_text())
    return next(found for found in plays if found.get("name") == name)


@pytest.fixture(scope="module")
def used(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("model-units")
    inventory = tmp / "inventory.yml"
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    groups = {group: {"hosts": {"localhost": None}} for group in GROUPS}
    inventory.write_text(
        yaml.safe_dump({"all": {"hosts": {"localhost": host}, "vars": INVENTORY_VARS, "children": groups}})
    )
    release_install = play(
        "hosts_release.yml",
        "Install the build on every host and try its web server, before any host is switched",
    )
    release_facts = next(
        task["ansible.builtin.set_fact"]
        for block in release_install["tasks"]
        for task in block.get("block", [])
        if "ansible.builtin.set_fact" in task and "release_units" in task["ansible.builtin.set_fact"]
    )
    consumers = {
        **play("teardown.yml", "Tear down the service on the hosts")["vars"],
        **play("migrate.yml", "Stop the workers of option 1 on hosts that no longer run workers")["vars"],
        "release_units_expression": release_facts["release_units"],
    }
    include = [
        {
            "name": f"The {role} role's variables",
            "ansible.builtin.include_role": {"name": f"papr.memory.{role}", "public": True},
            "vars": {"papr_preflight_only": True},
        }
        for role in ("web", "workers")
    ]
    playbook = tmp / "units.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {"ansible.builtin.import_playbook": str(REPO / "playbooks" / "deployment.yml")},
                {
                    "name": "What each consumer names",
                    "hosts": "localhost",
                    "gather_facts": False,
                    "vars": consumers,
                    "tasks": [*include, {"name": "Units used", "ansible.builtin.debug": {"msg": USED}}],
                },
            ],
            sort_keys=False,
        )
    )
    env = json_callback_env({k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "PAPR_"))})
    completed = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", str(inventory), str(playbook)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, (completed.stdout + completed.stderr)[-6000:]
    tasks = [task for play in json.loads(completed.stdout)["plays"] for task in play["tasks"]]
    return next(task["hosts"]["localhost"]["msg"] for task in tasks if task["task"]["name"] == "Units used")


def test_roles_and_plays_use_the_models_units(used):
    model = used["model"]
    names = model["names"]
    # Option 2 on one host: the two workers, then the web server (the restart order).
    assert model["units"] == [
        "papr-memory-worker@memory.service",
        "papr-memory-worker@documents.service",
        "papr-memory-web.service",
    ]
    assert used["release"] == model["units"]
    assert used["web_role"] == [names["web"]["socket"], names["web"]["service"]]
    assert used["workers_role"] == model["units"][:2]
    assert used["workers_role_files"] == names["workers"]["unit_files"]
    assert used["teardown"] == [model["teardown_units"], model["teardown_unit_files"]]
    assert used["migrate"] == names["workers"]
