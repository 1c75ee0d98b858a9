"""playbooks/plan.yml: the plan and its monthly total come from the sizing data
(group_vars/all/sizing.yml), reflect the inventory's own choices, change nothing, and refuse what
the data does not know."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = REPO / "playbooks" / "plan.yml"
SIZING = yaml.safe_load((REPO / "group_vars" / "all" / "sizing.yml").read_text())["papr_sizing"]
LOCAL_INVENTORY = REPO / "inventories" / "local"
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
TOTAL = re.compile(r"^Total monthly estimate: (\d+\.\d\d) (\w+)$", re.MULTILINE)


def run_plan(
    inventory: Path, *args: str, playbook: Path = PLAYBOOK, cwd: Path = REPO
) -> tuple[subprocess.CompletedProcess, dict]:
    """ansible-playbook with the repository's ansible.cfg; the results from the json callback."""
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_CALLBACKS_ENABLED="ansible.posix.json",  # not profile_tasks: it writes to stdout
        ANSIBLE_NOCOLOR="1",
    )
    command = [str(ANSIBLE_PLAYBOOK), "-i", str(inventory), str(playbook), *args]
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    start = done.stdout.find("{")
    assert start >= 0, f"no JSON output, rc={done.returncode}\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    return done, json.loads(done.stdout[start:])


def plan_message(data: dict) -> str:
    results = {task["task"]["name"]: task["hosts"]["localhost"] for task in data["plays"][0]["tasks"]}
    return results["Print the plan"]["msg"]


def expected_total(platform: str, option: str, skus: dict | None = None, counts: dict | None = None) -> float:
    """The sum of count x price over the option's resources, straight from the data file."""
    skus, counts = skus or {}, counts or {}
    total = 0.0
    for resource in SIZING["plans"][platform][option]["resources"]:
        sku = skus.get(resource.get("sku_variable"), resource["sku"])
        count = counts.get(resource.get("count_variable"), resource.get("count", 1))
        total += count * SIZING["skus"][sku]["monthly_cost"]
    return total


def assert_changed_nothing(data: dict) -> None:
    stats = data["stats"]["localhost"]
    assert stats["changed"] == 0 and stats["failures"] == 0 and stats["unreachable"] == 0, stats


# Each option once, one of them in check mode: the play reads data only, so check mode changes
# nothing option-specific (4 runs of ~4 s cut to 2).
@pytest.mark.parametrize(("option", "check"), [("1", False), ("2", True)], ids=["run-1", "check-mode-2"])
def test_plan_prints_the_resources_and_total_of_the_option(option: str, check: bool) -> None:
    args = ["-e", "papr_platform=azure", "-e", f"papr_option={option}"] + (["--check"] if check else [])
    done, data = run_plan(LOCAL_INVENTORY, *args)
    assert done.returncode == 0, done.stdout[-3000:]
    assert_changed_nothing(data)
    message = plan_message(data)
    assert TOTAL.findall(message) == [(f"{expected_total('azure', option):.2f}", SIZING["currency"])]
    plan = SIZING["plans"]["azure"][option]
    assert f"option {option}: {plan['name']}" in message
    for resource in plan["resources"]:
        price = SIZING["skus"][resource["sku"]]["monthly_cost"]
        row = next(line for line in message.splitlines() if line.startswith(resource["role"] + " "))
        assert resource["resource"] in row and resource["sku"] in row and row.endswith(f"{price:.2f}"), row
    # Option 2 runs the workers on their own plan; option 1 has no workers plan at all.
    assert ("P2v3" in message) == (option == "2")


def test_the_two_options_cost_what_the_data_says() -> None:
    # The architecture document's per-component estimates: P1v3 100, P2v3 200, ACI 40, PostgreSQL 30.
    assert expected_total("azure", "1") == 170
    assert expected_total("azure", "2") == 370


def test_inventory_choices_change_the_plan(tmp_path: Path) -> None:
    """An inventory that scales the web plan out, picks a bigger PostgreSQL and has its own price
    for P1v3 gets a plan (and total) that says so."""
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "hosts.yml").write_text("all:\n  hosts: {}\n")
    inventory_vars = {
        "papr_platform": "azure",
        "papr_option": 2,
        "web_azure_plan_capacity": 2,
        "postgres_azure_sku": "Standard_B2s",
        "papr_sizing_overrides": {"skus": {"P1v3": {"monthly_cost": 124.1, "basis": "our agreement"}}},
    }
    (tmp_path / "group_vars" / "all.yml").write_text(yaml.safe_dump(inventory_vars))
    done, data = run_plan(tmp_path)
    assert done.returncode == 0, done.stdout[-3000:]
    message = plan_message(data)
    prices = {**SIZING["skus"], "P1v3": {**SIZING["skus"]["P1v3"], "monthly_cost": 124.1}}
    expected = (
        2 * prices["P1v3"]["monthly_cost"]
        + prices["P2v3"]["monthly_cost"]
        + prices["aci-2vcpu-4gb"]["monthly_cost"]
        + prices["Standard_B2s"]["monthly_cost"]
    )
    assert TOTAL.findall(message) == [(f"{expected:.2f}", "USD")]
    web_row = next(line for line in message.splitlines() if line.startswith("web "))
    assert re.search(r"P1v3 .* 2 +248\.20$", web_row), web_row
    postgres_row = next(line for line in message.splitlines() if line.startswith("postgres "))
    assert " Standard_B2s " in postgres_row, postgres_row
    assert "Price of P1v3: 124.10 USD a month (basis: our agreement)." in message


def test_aks_and_hosts_plans() -> None:
    done, data = run_plan(LOCAL_INVENTORY, "-e", "papr_platform=aks")
    assert done.returncode == 0, done.stdout[-3000:]
    message = plan_message(data)
    assert TOTAL.findall(message) == [(f"{expected_total('aks', '3'):.2f}", "USD")]
    assert "On the nodes: web server Deployment, 3 replicas, HPA." in message

    # inventories/local is the hosts platform: no cloud resources, the hosts of each group.
    done, data = run_plan(LOCAL_INVENTORY)
    assert done.returncode == 0, done.stdout[-3000:]
    assert_changed_nothing(data)
    results = {task["task"]["name"]: task["hosts"]["localhost"] for task in data["plays"][0]["tasks"]}
    assert results["Print the plan"].get("skipped")
    hosts_plan = results["Print the plan for the hosts platform"]["msg"]
    assert "no cost estimate" in hosts_plan and "postgres  papr-demo" in hosts_plan


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["papr_option=5"], "No plan for papr_platform=azure papr_option=5. Known: hosts, azure option 1|2,"),
        (["papr_option=2", "workers_azure_plan_sku=P9v9"], "No sizing for workers_azure_plan_sku=P9v9:"),
        (["papr_option=1", "web_azure_plan_capacity=0"], "Instance counts must be at least 1."),
    ],
    ids=["unknown-option", "unknown-sku", "zero-instances"],
)
def test_bad_input_fails_clearly(extra: list[str], message: str) -> None:
    extra_vars = [arg for variable in ["papr_platform=azure", *extra] for arg in ("-e", variable)]
    done, data = run_plan(LOCAL_INVENTORY, *extra_vars)
    assert done.returncode != 0
    results = [task["hosts"]["localhost"] for task in data["plays"][0]["tasks"]]
    failed = [result for result in results if result.get("failed")]
    assert len(failed) == 1 and message in failed[0]["msg"], failed


def test_every_playbook_in_playbooks_sees_the_data_however_it_is_started(tmp_path: Path) -> None:
    """playbooks/group_vars/all/sizing.yml (a link to group_vars/all/sizing.yml) is loaded for the
    plays of playbooks/*.yml, also when a top-level playbook elsewhere imports them (site.yml,
    Molecule's converge): Ansible looks for playbook group_vars beside each imported playbook."""
    link = REPO / "playbooks" / "group_vars" / "all" / "sizing.yml"
    assert link.is_symlink() and link.resolve() == (REPO / "group_vars" / "all" / "sizing.yml")
    outer = tmp_path / "outer.yml"
    outer.write_text(f"- name: Imported from elsewhere\n  ansible.builtin.import_playbook: {PLAYBOOK}\n")
    args = ("-e", "papr_platform=azure", "-e", "papr_option=2")
    done, data = run_plan(LOCAL_INVENTORY, *args, playbook=outer, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:]
    message = plan_message(data)
    assert TOTAL.findall(message) == [(f"{expected_total('azure', '2'):.2f}", "USD")]


def test_sizing_data_matches_what_the_roles_deploy_by_default() -> None:
    """The plan's default SKUs are the roles' defaults, so the plan describes what site.yml makes;
    where the deployment model owns a variable (its INPUTS table), its default is the one that counts."""
    defaults = {}
    for role in ("postgres", "temporal", "web", "workers"):
        defaults.update(yaml.safe_load((REPO / "roles" / role / "defaults" / "main.yml").read_text()))
    sys.path.insert(0, str(REPO / "collections"))  # the filter imports papr.memory's module_utils
    model = importlib.import_module("ansible_collections.papr.memory.plugins.filter.deployment")
    defaults.update({name: value for name, value in model.INPUTS.items() if value is not None})
    for option in ("1", "2"):
        for resource in SIZING["plans"]["azure"][option]["resources"]:
            if "sku_variable" in resource:
                assert defaults[resource["sku_variable"]] == resource["sku"], resource
            if "count_variable" in resource:
                assert defaults[resource["count_variable"]] == resource.get("count", 1), resource
    temporal = SIZING["skus"]["aci-2vcpu-4gb"]
    assert (defaults["temporal_azure_cpu"], defaults["temporal_azure_memory_gb"]) == (
        temporal["vcpu"],
        temporal["memory_gb"],
    )
