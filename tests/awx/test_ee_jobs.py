"""Each job template of the dev environment, launched as AWX launches it (tests/awx/awx_job.py), in
the execution environment image, against the Azure double and a stand-in service; and the same
inventory converging from ansible-playbook on the controller and from the EE alike."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.awx import awx_config
from tests.awx.awx_config import REPO
from tests.awx.awx_job import AwxJob, LaunchRefused, credential_environment, run_in_ee
from tests.azure_site.site_runner import FOREIGN_ENV

SECRETS_TAG = "papr-secrets-hash"  # plugins/module_utils/azure_diff.py

pytestmark = [
    pytest.mark.image,
    pytest.mark.timeout(3600),
    # Opt in (make ee-test): building the EE takes about 10 minutes from nothing, too long for
    # make test (docs/awx.md).
    pytest.mark.skipif(os.environ.get("PAPR_AWX_EE_JOBS") != "1", reason="opt in with PAPR_AWX_EE_JOBS=1"),
]

ENVIRONMENT = "dev"
TEMPLATES = {
    template["playbook"]: template
    for name, template in awx_config.templates().items()
    if name.startswith(f"PAPR Memory {ENVIRONMENT} - ")
}
INVENTORY_VARS = yaml.safe_load((REPO / "inventories" / ENVIRONMENT / "group_vars" / "all.yml").read_text())
RESOURCE_GROUP = INVENTORY_VARS["papr_azure_resource_group"]
# The inventory's option as AWX hands a survey answer: a string.
INVENTORY_OPTION = str(INVENTORY_VARS["papr_option"])


def test_every_template_is_launched_below():
    """A new template needs its launch here (the expectations are per playbook)."""
    launched = {"playbooks/plan.yml", "site.yml", "playbooks/verify.yml", "playbooks/release.yml",
                "playbooks/migrate.yml", "playbooks/drift.yml", "playbooks/teardown.yml"}  # fmt: skip
    assert set(TEMPLATES) <= launched


@pytest.fixture(scope="module")
def launch(ee_image, azure_double_server, stand_in_service, tmp_path_factory):
    """launch(playbook, **answers) -> JobResult, with what AWX hands the job."""
    double = azure_double_server
    stack = stand_in_service.stack
    api_keys = f"{stack.api_key},key-for-the-awx-test"

    def credential_inputs() -> dict:
        return {
            f"PAPR Memory {ENVIRONMENT} Azure": {
                "subscription": double.subscription_id,
                "client": double.client_id,
                "secret": double.client_secret,
                "tenant": double.tenant_id,
                "cloud_environment": double.metadata_url,
            },
            f"PAPR Memory {ENVIRONMENT} deployment": {
                "image": "paprmemory.azurecr.io/memory:0.1.0",
                "database_password": "Db-password-for-the-awx-test-1",
                "database_admin_password": "Admin-password-for-the-awx-test-1",
                "temporal_database_password": "Tm-password-for-the-awx-test-1",
                "api_keys": api_keys,
            },
        }

    # What an AWX admin sets on the inventory for this double: where the stand-in answers, and the
    # Azure modules' polling interval (the double answers at once).
    inventory_variables = {
        "papr_azure_web_url": stack.url,
        "papr_azure_temporal_address": stack.temporal_address,
        "papr_azure_module_defaults": {"polling_interval": 0},
        "temporal_azure_frontend_wait_seconds": 120,
        "temporal_azure_namespace_poll_seconds": 2,
        "verify_timeout": 240,
        "verify_max_delay": 3,
    }

    def run(playbook: str, **answers):
        job = AwxJob(
            image=ee_image,
            template=TEMPLATES[playbook],
            private_data_dir=tmp_path_factory.mktemp("awx-job"),
            inventory_variables=inventory_variables,
            extra_credentials={"Azure CA bundle": {"ca_bundle": Path(double.ca_path).read_text()}},
            credential_inputs=credential_inputs(),
            answers=answers,
        )
        double.clear_log()
        result = job.run()
        result.requests = double.requests()
        result.job = job
        return result

    run.double = double
    run.inventory_variables = inventory_variables
    run.credential_inputs = credential_inputs
    return run


def host_playbook(launch, tmp_path: Path):
    """ansible-playbook on the controller with the same inventory, variables and environment."""
    overlay = tmp_path / "inventory_variables.yml"
    overlay.write_text(yaml.safe_dump({"all": {"vars": launch.inventory_variables}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN_ENV)}
    for name, inputs in launch.credential_inputs().items():
        env.update(credential_environment(name, tmp_path, inputs))
    env.update(
        REQUESTS_CA_BUNDLE=launch.double.ca_path,
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCALHOST_WARNING="false",
    )
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "site.yml",
               "-i", f"inventories/{ENVIRONMENT}", "-i", str(overlay)]  # fmt: skip
    launch.double.clear_log()
    completed = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    return completed, launch.double.requests()


def writes(requests) -> list[tuple[str, str]]:
    return [(entry.method, entry.path.lower()) for entry in requests if entry.is_write]


_RECAP = re.compile(
    r"^localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)", re.M
)


def host_recap(stdout: str) -> dict[str, int]:
    """ansible-playbook's PLAY RECAP line for localhost, in ansible-runner's stats names."""
    found = _RECAP.findall(stdout)
    assert len(found) == 1, stdout[-2000:]
    return dict(zip(("ok", "changed", "dark", "failures", "skipped"), map(int, found[0]), strict=True))


def resources(double) -> dict[str, dict]:
    """What the double holds, by id: what a deployment decides (not ids, etags or timestamps the
    double makes up). The secrets' hash tag is salted afresh by each run that writes it: only
    whether it is there is compared."""
    found = {}
    for resource_id, resource in double.snapshot().items():
        kept = {key: resource.get(key) for key in ("location", "kind", "sku", "tags")}
        if SECRETS_TAG in (kept["tags"] or {}):
            kept["tags"] = {**kept["tags"], SECRETS_TAG: "present"}
        found[resource_id] = kept
    return found


def test_the_ee_holds_the_collections_and_none_of_the_hosts_venv(ee_image):
    listed = run_in_ee(ee_image, ["ansible-galaxy", "collection", "list", "--format", "json"])
    assert listed.returncode == 0, listed.stderr
    installed = json.loads(listed.stdout)["/usr/share/ansible/collections/ansible_collections"]
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    assert {"papr.memory", *(galaxy.get("dependencies") or {})} <= set(installed)
    tools = run_in_ee(ee_image, ["bash", "-c", "echo $PATH; command -v ansible-playbook; temporal --version"])
    assert tools.returncode == 0, tools.stderr
    assert str(REPO) not in tools.stdout and ".venv" not in tools.stdout
    assert "temporal version" in tools.stdout


def test_plan_reads_variables_only_and_takes_the_survey_answer(launch):
    kept = launch("playbooks/plan.yml")  # the question left empty: the inventory's option stands
    assert kept.rc == 0, kept.stdout[-3000:]
    assert f"platform azure, option {INVENTORY_OPTION}:" in kept.stdout
    assert kept.recap()["changed"] == 0 and kept.requests == []
    other = "2" if INVENTORY_OPTION == "1" else "1"
    answered = launch("playbooks/plan.yml", papr_option=other)  # AWX hands the answer as a string
    assert answered.rc == 0, answered.stdout[-3000:]
    assert f"platform azure, option {other}:" in answered.stdout
    assert answered.recap()["changed"] == 0 and answered.requests == []
    with pytest.raises(LaunchRefused, match="expected to be one of"):
        launch("playbooks/plan.yml", papr_option="3")


def test_deploy_converges_in_the_ee_and_from_the_controller_alike(launch, tmp_path):
    launch.double.reset()
    in_ee = launch("site.yml")  # ends with the verify play: the service answers through the web app
    assert in_ee.rc == 0, in_ee.stdout[-4000:]
    assert in_ee.recap()["changed"] > 0 and writes(in_ee.requests)
    ee_resources = resources(launch.double)
    assert ee_resources

    # The controller's ansible-playbook finds the EE's deployment converged: nothing to change.
    completed, requests = host_playbook(launch, tmp_path)
    assert completed.returncode == 0, (completed.stdout + completed.stderr)[-4000:]
    assert host_recap(completed.stdout)["changed"] == 0 and writes(requests) == []

    # From nothing (an empty subscription; the Temporal namespace, which the stand-in keeps, now
    # exists), the controller and the EE do the same: the same tasks change, the same writes, the
    # same resources.
    launch.double.reset()
    completed, host_requests = host_playbook(launch, tmp_path)
    assert completed.returncode == 0, (completed.stdout + completed.stderr)[-4000:]
    host_resources = resources(launch.double)
    assert writes(host_requests) == writes(in_ee.requests) and host_resources == ee_resources
    launch.double.reset()
    in_ee = launch("site.yml")
    assert in_ee.rc == 0, in_ee.stdout[-4000:]
    compared = ("ok", "changed", "failures", "skipped")
    assert {k: host_recap(completed.stdout)[k] for k in compared} == {k: in_ee.recap()[k] for k in compared}
    assert writes(in_ee.requests) == writes(host_requests)
    assert resources(launch.double) == host_resources

    # A second run in the EE changes nothing, with the survey answered as the inventory says.
    again = launch("site.yml", papr_option=INVENTORY_OPTION)
    assert again.rc == 0, again.stdout[-4000:]
    assert again.recap()["changed"] == 0 and writes(again.requests) == []
    assert resources(launch.double) == host_resources


def test_verify_checks_the_service_through_the_web_app(launch):
    result = launch("playbooks/verify.yml")
    assert result.rc == 0, result.stdout[-3000:]
    assert "failed=0" in result.stdout


@pytest.mark.skipif("playbooks/drift.yml" not in TEMPLATES, reason="no drift template")
# drift.yml runs <ansible_playbook_python's folder>/ansible-playbook: the EE links it there.
def test_drift_report_finds_nothing_after_a_deploy(launch):
    result = launch("playbooks/drift.yml")
    assert result.rc == 0, result.stdout[-3000:]
    assert writes(result.requests) == []


@pytest.mark.skipif("playbooks/release.yml" not in TEMPLATES, reason="no release template")
def test_release_is_not_launched_without_an_image(launch):
    with pytest.raises(LaunchRefused, match="'papr_image' value missing"):
        launch("playbooks/release.yml")
    assert writes(launch.double.requests()) == []


@pytest.mark.skipif("playbooks/migrate.yml" not in TEMPLATES, reason="no migrate template")
def test_migrate_refuses_while_the_inventory_says_option_1(launch):
    result = launch("playbooks/migrate.yml")
    assert result.rc != 0
    assert "set papr_option: 2 in the inventory first" in result.stdout
    assert writes(result.requests) == []


@pytest.mark.skipif("playbooks/teardown.yml" not in TEMPLATES, reason="no teardown template")
def test_teardown_needs_the_resource_groups_name_typed(launch):
    with pytest.raises(LaunchRefused, match="'papr_teardown_confirm' value missing"):
        launch("playbooks/teardown.yml")
    wrong = launch("playbooks/teardown.yml", papr_teardown_confirm="papr-memory-prod")
    assert wrong.rc != 0 and "Refusing to tear down" in wrong.stdout
    assert writes(wrong.requests) == []
    right = launch("playbooks/teardown.yml", papr_teardown_confirm=RESOURCE_GROUP)
    assert right.rc == 0, right.stdout[-3000:]
    assert [method for method, path in writes(right.requests)] == ["DELETE"]
    assert not [rid for rid in launch.double.snapshot() if f"/resourcegroups/{RESOURCE_GROUP}" in rid]
