"""What the roles and plays see of the deployment model: one ansible-playbook run on the
controller (localhost: playbooks/deployment.yml's pre-flight and model, then the given roles'
variables and plays' variables, then debug tasks); nothing is changed and no Azure request is sent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.playbook_env import json_callback_env

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"


def seen(tmp: Path, inventory: dict, consumers: dict, roles, tasks: list[dict]) -> dict:
    """{task name: its localhost result} of `tasks`, run after the model with the play variables
    `consumers` and each of `roles`' variables (included with papr_preflight_only). `inventory`:
    the `all` group of a YAML inventory whose host is localhost."""
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    inventory_file = tmp / "inventory.yml"
    inventory_file.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": host}, **inventory}}))
    include = [
        {
            "name": f"The {role} role's variables",
            "ansible.builtin.include_role": {"name": f"papr.memory.{role}", "public": True},
            "vars": {"papr_preflight_only": True},
        }
        for role in roles
    ]
    playbook = tmp / "consumers.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {"ansible.builtin.import_playbook": str(REPO / "playbooks" / "deployment.yml")},
                {
                    "name": "What each consumer sees",
                    "hosts": "localhost",
                    "gather_facts": False,
                    "vars": consumers,
                    "tasks": [*include, *tasks],
                },
            ],
            sort_keys=False,
        )
    )
    env = json_callback_env({k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "PAPR_"))})
    completed = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", str(inventory_file), str(playbook)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, (completed.stdout + completed.stderr)[-6000:]
    results = [task for play in json.loads(completed.stdout)["plays"] for task in play["tasks"]]
    return {task["task"]["name"]: task["hosts"].get("localhost") for task in results}


def play(playbook: str, name: str | None = None) -> dict:
    """A play of a playbook, exactly as written: the one named `name`, else the first."""
    plays = yaml.safe_load((REPO / "playbooks" / playbook).read_text())
    return next(found for found in plays if name is None or found.get("name") == name)
