"""The pre-flight (playbooks/deployment.yml, plugins/filter/deployment.py): each bad input stops
site.yml before the first Azure request of any kind, with a message naming the variable to fix
and never quoting a secret. Bad plain inventory values of one inventory share a run (their
problems are reported together); the rest run alone."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

UNSET = None
WEAK_PASSWORD = "password"

# (inventory, extra vars, environment changes, the variable the message must name, words it must say)
CASES = {
    "web plan capacity 0": (
        "prod",
        {"web_azure_plan_capacity": 0},
        {},
        "web_azure_plan_capacity",
        "at least 1",
    ),
    "workers plan capacity 0": (
        "prod",
        {"workers_azure_plan_capacity": 0},
        {},
        "workers_azure_plan_capacity",
        "at least 1",
    ),
    "memory worker concurrency 0": (
        "dev",
        {"workers_memory_concurrency": 0},
        {},
        "workers_memory_concurrency",
        "at least 1",
    ),
    "document worker concurrency 0": (
        "prod",
        {"workers_document_concurrency": "0"},
        {},
        "workers_document_concurrency",
        "at least 1",
    ),
    "uvicorn processes 0": ("prod", {"web_uvicorn_processes": 0}, {}, "web_uvicorn_processes", "at least 1"),
    "blank API keys": ("prod", {}, {"PAPR_API_KEYS": " , "}, "papr_api_keys", "blank"),
    "weak database password": (
        "prod",
        {},
        {"PAPR_DATABASE_PASSWORD": WEAK_PASSWORD},
        "papr_database_password",
        "weak",
    ),
    "missing database password": (
        "prod",
        {},
        {"PAPR_DATABASE_PASSWORD": UNSET},
        "papr_database_password",
        "not set",
    ),
    "missing API keys": ("dev", {}, {"PAPR_API_KEYS": UNSET}, "papr_api_keys", "not set"),
    "missing administrator password": (
        "prod",
        {},
        {"PAPR_DATABASE_ADMIN_PASSWORD": UNSET},
        "papr_database_admin_password",
        "not set",
    ),
    "one password for the service and Temporal": (
        "dev",
        {"papr_temporal_database_password": "{{ papr_database_password }}"},
        {},
        "papr_temporal_database_password",
        "must differ",
    ),
    "backup retention 90 days": (
        "prod",
        {"postgres_azure_backup_retention_days": 90},
        {},
        "postgres_azure_backup_retention_days",
        "7-35",
    ),
    "region typo": ("prod", {"papr_azure_location": "westeurop"}, {}, "papr_azure_location", "westeurope"),
    "registry host typo": (
        "prod",
        {"papr_azure_image": "paprmemory.azurecr.oi/memory:0.1.0"},
        {},
        "papr_azure_image",
        "paprmemory.azurecr.io",
    ),
    "DNS label starting with a digit": (
        "prod",
        {"temporal_azure_dns_label": "1papr-temporal"},
        {},
        "temporal_azure_dns_label",
        "starting with a letter",
    ),
    "name prefix giving a bad DNS label": (
        "dev",
        {"papr_azure_name_prefix": "1papr"},
        {},
        "papr_azure_name_prefix",
        "'1papr-temporal'",
    ),
    "bad web app name": (
        "prod",
        {"web_azure_site_name": "-papr_memory-"},
        {},
        "web_azure_site_name",
        "web app",
    ),
    "bad container group name": (
        "prod",
        {"temporal_azure_group_name": "Papr--Temporal"},
        {},
        "temporal_azure_group_name",
        "container group",
    ),
    "bad image reference": (
        "prod",
        {"papr_azure_image": "Memory Image:latest"},
        {},
        "papr_azure_image",
        "image",
    ),
    "bad Temporal image tag": (
        "prod",
        {"temporal_azure_server_image": "temporalio/server:bad tag"},
        {},
        "temporal_azure_server_image",
        "tag",
    ),
    # The roles' argument specs are checked in the same pre-flight.
    "unknown web plan SKU": ("prod", {"web_azure_plan_sku": "P9v9"}, {}, "web_azure_plan_sku", "P1v3"),
    "unknown workers plan SKU": (
        "prod",
        {"workers_azure_plan_sku": "Huge"},
        {},
        "workers_azure_plan_sku",
        "P2v3",
    ),
    "unknown PostgreSQL SKU": (
        "prod",
        {"postgres_azure_sku": "Standard_X99"},
        {},
        "postgres_azure_sku",
        "B1ms",
    ),
    "option 3 on Azure": ("prod", {"papr_option": 3}, {}, "papr_option", "1 (single) or 2 (split)"),
    "AKS without its database host": (
        "prod",
        {"papr_platform": "aks"},
        {},
        "papr_aks_database_host",
        "is not set",
    ),
}


# Checks that stop the run on their own: the roles' argument specs (the first role whose spec fails
# stops the pre-flight), another platform or option (other checks apply), and the image reference's
# (two cases of one variable; the registry typo's "did you mean" hint follows a "; " of its own).
ALONE = {
    "unknown web plan SKU",
    "unknown workers plan SKU",
    "unknown PostgreSQL SKU",
    "option 3 on Azure",
    "AKS without its database host",
    "bad image reference",
    "registry host typo",
}


def runs() -> dict[str, list[str]]:
    """Cases by the site run that shows them: the model's checks of plain inventory values are
    independent and reported together, so one run per inventory shows all of those (a site run
    costs a second of CPU even when it stops in the pre-flight); every other case runs alone."""
    grouped: dict[str, list[str]] = {}
    for case in sorted(CASES):
        inventory, _, env, _, _ = CASES[case]
        key = case if env or case in ALONE else f"{inventory}: inventory values"
        grouped.setdefault(key, []).append(case)
    return grouped


RUNS = runs()


@pytest.mark.parametrize("run_name", sorted(RUNS))
def test_a_bad_input_fails_before_any_azure_request_naming_the_variable(site, azure_double, run_name):
    cases = [CASES[case] for case in RUNS[run_name]]
    inventory, env = cases[0][0], cases[0][2]
    extra_vars = {name: value for case in cases for name, value in case[1].items()}
    run = site.run(inventory, extra_vars=extra_vars or None, env=env)
    assert run.rc != 0, run.output[-3000:]
    assert run.requests == []  # not one request of any kind, reads included
    failure = run.output[run.output.index("fatal: ") :] if "fatal: " in run.output else run.output
    # Each case's variable and words in one problem of the message (problems are joined by "; ").
    problems = failure.split("; ")
    for case, (_, _, _, variable, words) in zip(RUNS[run_name], cases, strict=True):
        assert any(variable in problem and words in problem for problem in problems), (case, failure[-3000:])
    for secret in [*site.secret_values, WEAK_PASSWORD]:
        assert f"'{secret}'" not in run.output and f"={secret}" not in run.output
