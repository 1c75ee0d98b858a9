"""A hosts inventory: the systemd units the web and workers roles install, the ones a release
restarts, the ones migrate.yml and teardown.yml stop and remove - all are the deployment model's
(papr_deployment.hosts.systemd, or the deployment_systemd filter where a play has no model). One
ansible-playbook run on the controller (the pre-flight, the model, the roles' variables, the
plays' variables); nothing is changed."""

from __future__ import annotations

import pytest

from tests.roles.model_consumers import REPO, play, seen

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
    # The production defaults behind the waits the Molecule option-2 scenario shortens (its
    # inventory sets temporal_dynamic_config and web_poller_liveness_seconds).
    "web_environment": "{{ papr_deployment.units.web.environment }}",
    "temporal_unit": "{{ lookup('ansible.builtin.template', temporal_unit_template) }}",
}
TEMPLATE_VARS = {
    "temporal_unit_template": str(REPO / "roles/temporal/templates/temporal.service.j2"),
    "wheelhouse_venv_key": "a-build",
}
RELEASE_INSTALL_PLAY = "Install the build on every host and try its web server, before any host is switched"


@pytest.fixture(scope="module")
def used(tmp_path_factory):
    # The release sets its units as a fact (the rollback reads them across hosts): its expression.
    release_facts = next(
        task["ansible.builtin.set_fact"]
        for block in play("hosts_release.yml", RELEASE_INSTALL_PLAY)["tasks"]
        for task in block.get("block", [])
        if "release_units" in task.get("ansible.builtin.set_fact", {})
    )
    consumers = {
        **play("teardown.yml", "Tear down the service on the hosts")["vars"],
        **play("migrate.yml", "Stop the workers of option 1 on hosts that no longer run workers")["vars"],
        "release_units_expression": release_facts["release_units"],
    }
    children = {group: {"hosts": {"localhost": None}} for group in GROUPS}
    inventory = {"vars": INVENTORY_VARS, "children": children}
    results = seen(
        tmp_path_factory.mktemp("model-units"),
        inventory,
        consumers,
        ("temporal", "web", "workers"),
        [{"name": "Units used", "ansible.builtin.debug": {"msg": USED}, "vars": TEMPLATE_VARS}],
    )
    return results["Units used"]["msg"]


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


def test_production_keeps_temporals_long_polls_and_the_minute_and_a_half_liveness_window(used):
    # An idle worker's poll is renewed when Temporal ends its long poll (a minute by default): the
    # web server counts a poller as live for 90 s. Only a test inventory shortens both.
    assert used["web_environment"]["PAPR_POLLER_LIVENESS_SECONDS"] == "90"
    assert "server start-dev" in used["temporal_unit"]
    assert "--dynamic-config-value" not in used["temporal_unit"]
