"""The AWX configuration (awx/) against the files it points at. Every expectation is derived from
the playbooks, inventories and argument specs, so the test stays true as they change."""

from __future__ import annotations

import pytest
import yaml

from tests.awx import awx_config
from tests.awx.awx_config import REPO

TEMPLATES = awx_config.templates()


def test_the_configuration_has_every_object_kind():
    config = awx_config.load()
    for kind in (
        "aap_organizations",
        "controller_execution_environments",
        "controller_projects",
        "controller_inventories",
        "controller_inventory_sources",
        "controller_credential_types",
        "controller_credentials",
        "controller_templates",
        "controller_workflows",
    ):
        assert config.get(kind), kind


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_each_template_runs_a_playbook_of_the_project(name):
    template = TEMPLATES[name]
    assert (REPO / template["playbook"]).is_file(), template["playbook"]
    assert template["project"] in awx_config.by_name("controller_projects")
    assert template["inventory"] in awx_config.by_name("controller_inventories")
    assert template["execution_environment"] in awx_config.by_name("controller_execution_environments")
    for credential in template["credentials"]:
        assert credential in awx_config.by_name("controller_credentials"), credential


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_survey_and_extra_variable_is_one_the_playbook_reads(name):
    template = TEMPLATES[name]
    reads = awx_config.playbook_reads(REPO / template["playbook"])
    asked = {question["variable"] for question in awx_config.survey_questions(template)}
    given = set(template.get("extra_vars") or {})
    assert asked | given <= reads, f"{template['playbook']} never reads {sorted((asked | given) - reads)}"


@pytest.mark.parametrize("name", sorted(n for n, t in TEMPLATES.items() if t.get("extra_vars")))
def test_extra_variables_evaluated_at_job_time_read_variables_that_exist(name):
    """An extra variable's Jinja (AWX stores it, the job evaluates it) reads only the inventory's
    variables, the deployment model's inputs and what the project's playbooks read: a renamed
    inventory variable fails here, not in a job."""
    template = TEMPLATES[name]
    source = next(
        s
        for s in awx_config.load()["controller_inventory_sources"]
        if s["inventory"] == template["inventory"]
    )
    known = (
        awx_config.inventory_variables((REPO / source["source_path"]).parent)
        | awx_config.deployment_model_inputs()
        | awx_config.playbook_reads(REPO / "site.yml")
        | set(template["extra_vars"])
    )
    for variable, value in template["extra_vars"].items():
        if isinstance(value, str):
            assert awx_config.jinja_names(value) <= known, (
                variable,
                sorted(awx_config.jinja_names(value) - known),
            )


def test_the_variable_finder_sees_role_argument_specs_and_playbook_jinja():
    """The check above can fail: a name no playbook reads is not found."""
    reads = awx_config.playbook_reads(REPO / "site.yml")
    assert "papr_platform" in reads  # site.yml's own `when`
    assert "verify_web_url" in reads  # the verify role's argument spec, through import_playbook
    assert "web_azure_plan_sku" not in awx_config.playbook_reads(REPO / "playbooks" / "plan.yml") - reads
    assert "papr_no_such_variable" not in reads
    dev = awx_config.inventory_variables(REPO / "inventories" / "dev")
    assert {"papr_option", "papr_api_keys"} <= dev and "papr_no_such_variable" not in dev


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_survey_questions_are_well_formed(name):
    for question in awx_config.survey_questions(TEMPLATES[name]):
        assert question["type"] in {"text", "textarea", "password", "integer", "float", "multiplechoice"}
        assert question["question_name"] and isinstance(question["required"], bool)
        if question["type"] == "multiplechoice":
            assert (
                question["choices"] and question.get("default", question["choices"][0]) in question["choices"]
            )


def test_the_deployment_credential_injects_exactly_what_the_inventories_read():
    inventories = {source["source_path"] for source in awx_config.load()["controller_inventory_sources"]}
    read = set().union(*(awx_config.inventory_env_reads((REPO / path).parent) for path in inventories))
    custom = awx_config.credential_types()["PAPR Memory deployment"]
    injected = set(custom["injectors"]["env"])
    assert injected == {name for name in read if name.startswith("PAPR_")}
    # Everything else an inventory reads comes from the Azure credential.
    assert read - injected <= set(awx_config.AZURE_RM_INJECTION.values())
    # Every injector renders a field of the type, and every required field exists.
    fields = {field["id"] for field in custom["inputs"]["fields"]}
    for template in custom["injectors"]["env"].values():
        assert awx_config.jinja_names(template) <= fields, template
    assert set(custom["inputs"]["required"]) <= fields


def test_the_azure_credential_injects_what_the_azure_modules_read():
    assert set(awx_config.AZURE_RM_INJECTION.values()) <= awx_config.azure_auth_env_reads()


def test_the_ca_credential_hands_the_azure_sdk_a_file():
    ca = awx_config.credential_types()["Azure CA bundle"]
    assert ca["injectors"]["env"] == {"REQUESTS_CA_BUNDLE": "{{ tower.filename.ca_bundle }}"}
    assert set(ca["injectors"]["file"]) == {"template.ca_bundle"}


def test_every_azure_inventory_is_an_awx_inventory():
    sources = {source["source_path"]: source for source in awx_config.load()["controller_inventory_sources"]}
    azure = set()
    for group_vars in (REPO / "inventories").glob("*/group_vars/all.yml"):
        if (yaml.safe_load(group_vars.read_text()) or {}).get("papr_platform") == "azure":
            azure.add(str(group_vars.parent.parent.relative_to(REPO) / "hosts.yml"))
    assert azure and azure == set(sources)
    for path, source in sources.items():
        assert (REPO / path).is_file()
        assert source["inventory"] in awx_config.by_name("controller_inventories")


def test_each_environment_has_the_same_templates_bound_to_its_own_inventory_and_credentials():
    by_environment: dict[str, dict[str, dict]] = {}
    for name, template in TEMPLATES.items():
        environment, _, job = name.removeprefix("PAPR Memory ").partition(" - ")
        by_environment.setdefault(environment, {})[job] = template
    assert set(by_environment) == {"dev", "prod"}
    assert set(by_environment["dev"]) == set(by_environment["prod"])
    for environment, jobs in by_environment.items():
        for job, template in jobs.items():
            assert template["inventory"] == f"PAPR Memory {environment}"
            assert all(f" {environment} " in credential for credential in template["credentials"])
            other = by_environment["prod" if environment == "dev" else "dev"][job]
            same = {k: v for k, v in template.items() if k not in ("name", "inventory", "credentials")}
            assert same == {k: v for k, v in other.items() if k not in ("name", "inventory", "credentials")}


@pytest.mark.parametrize("workflow", awx_config.load()["controller_workflows"], ids=lambda w: w["name"])
def test_the_workflow_plans_waits_for_approval_deploys_then_verifies(workflow):
    nodes = {node["identifier"]: node for node in workflow["workflow_nodes"]}
    order, current = [], "plan"
    while current:
        node = nodes[current]
        order.append(node["unified_job_template"])
        following = (node.get("related") or {}).get("success_nodes") or []
        assert len(following) <= 1
        current = following[0]["identifier"] if following else None
    assert len(order) == len(nodes)
    kinds = [TEMPLATES[j["name"]]["playbook"] if j["type"] == "job_template" else j["type"] for j in order]
    assert kinds == ["playbooks/plan.yml", "workflow_approval", "site.yml", "playbooks/verify.yml"]
    inventories = {TEMPLATES[j["name"]]["inventory"] for j in order if j["type"] == "job_template"}
    assert inventories == {workflow["inventory"]}
