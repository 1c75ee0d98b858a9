"""The deployment model (plugins/filter/deployment.py): one DATABASE_URL that carries any password,
inventory values over defaults, the option decided once, worker concurrency wherever the workers
run, and a pre-flight that names the variable."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "collections"))  # makes ansible_collections.papr.memory importable
from ansible_collections.papr.memory.plugins.filter.deployment import (  # noqa: E402
    deployment_model,
    deployment_problems,
    deployment_systemd,
    systemd_environment_file,
)

HARD_PASSWORD = "Pa55/ :@%?#&+ word"
AZURE = {
    "papr_platform": "azure",
    "papr_option": 1,
    "papr_database_password": HARD_PASSWORD,
    "papr_database_admin_password": "Admin-Pa55word",
    "papr_temporal_database_password": "Tmp-Pa55word-42",
    "papr_api_keys": ["key-one", "key-two"],
    "papr_azure_resource_group": "papr-rg",
    "papr_azure_location": "westeurope",
    "papr_azure_image": "paprmemory.azurecr.io/memory:0.1.0",
}
ONE_HOST = {"host": "h1", "groups": {group: ["h1"] for group in ("postgres", "temporal", "web", "workers")}}
SPLIT = {
    "groups": {"postgres": ["db"], "temporal": ["tm"], "web": ["w1"], "workers": ["wk"]},
    "addresses": {"db": "10.0.0.5"},
    "ipv4": {"db": "10.0.0.5", "tm": "10.0.0.6", "w1": "10.0.0.7", "wk": "10.0.0.8"},
}
HOSTS = {"papr_platform": "hosts", "papr_database_password": HARD_PASSWORD, "papr_api_keys": ["key-one"]}


@pytest.mark.parametrize("password", [HARD_PASSWORD, "Plain-1234", "100%/sure? #1 & +more: @home"])
@pytest.mark.parametrize("platform", ["azure", "hosts"])
def test_database_url_carries_the_password_exactly_as_libpq_reads_it(platform, password):
    inputs = dict(
        AZURE if platform == "azure" else {**HOSTS, "papr_option": 1}, papr_database_password=password
    )
    model = deployment_model(inputs, ONE_HOST)
    url = model["units"]["web"]["secret_environment"]["DATABASE_URL"]
    parsed = conninfo_to_dict(url)
    assert parsed["password"] == password
    assert parsed["user"] == "papr_memory" and parsed["dbname"] == "papr_memory"
    assert ("sslmode" in parsed) == (platform == "azure")


def test_inventory_values_win_over_the_defaults():
    overrides = {
        "papr_database_name": "memdb",
        "papr_database_user": "memuser",
        "papr_temporal_namespace": "mem-ns",
    }
    for inputs in (dict(AZURE, **overrides), dict(HOSTS, papr_option=1, **overrides)):
        model = deployment_model(inputs, ONE_HOST)
        for unit in model["units"].values():
            parsed = conninfo_to_dict(unit["secret_environment"]["DATABASE_URL"])
            assert (parsed["dbname"], parsed["user"]) == ("memdb", "memuser")
            assert unit["environment"]["TEMPORAL_NAMESPACE"] == "mem-ns"
        assert model["database"]["name"] == "memdb" and model["temporal"]["namespace"] == "mem-ns"


def test_option_1_on_azure_runs_the_workers_in_the_web_app_with_their_concurrency():
    inputs = dict(AZURE, workers_memory_concurrency=7, workers_document_concurrency="3")
    inputs.update(workers_document_activities_per_second="0.5", workers_document_nice=5)
    model = deployment_model(inputs)
    assert list(model["units"]) == ["web"]
    web = model["units"]["web"]
    assert web["processes"] == ["web", "memory-worker", "document-worker"]
    assert web["command_line"] == "python -m app.all_in_one --port 5001"
    assert web["environment"]["PAPR_MEMORY_WORKER_CONCURRENCY"] == "7"
    assert web["environment"]["PAPR_DOCUMENT_WORKER_CONCURRENCY"] == "3"
    assert web["environment"]["PAPR_DOCUMENT_WORKER_ACTIVITIES_PER_SECOND"] == "0.5"
    assert web["environment"]["PAPR_DOCUMENT_WORKER_NICE"] == "5"
    assert set(web["secret_environment"]) == {"DATABASE_URL", "PAPR_API_KEYS"}
    assert web["secret_environment"]["PAPR_API_KEYS"] == "key-one,key-two"


def test_option_2_on_azure_splits_web_and_workers():
    model = deployment_model(dict(AZURE, papr_option="2", web_uvicorn_processes=2))
    web, workers = model["units"]["web"], model["units"]["workers"]
    assert (
        web["command_line"] == "uvicorn app.main:app --host 0.0.0.0 --port 5001 --no-access-log --workers 2"
    )
    assert "PAPR_MEMORY_WORKER_CONCURRENCY" not in web["environment"]
    assert "PAPR_API_KEYS" not in workers["secret_environment"]
    assert workers["environment"]["PAPR_MEMORY_WORKER_CONCURRENCY"] == "20"
    assert workers["port"] == 8080 and workers["command_line"] == "python start_all_workers.py"
    # papr_network: private by default - Temporal by its name in the network's private zone.
    assert model["temporal"]["address"] == "temporal.papr-memory.papr.internal:7233"
    assert model["database"]["host"] == "papr-memory-pg.postgres.database.azure.com"
    public = deployment_model(dict(AZURE, papr_option=2, papr_network="public"))
    assert public["temporal"]["address"] == "papr-memory-temporal.westeurope.azurecontainer.io:7233"
    assert public["network"] == {"mode": "public"}


def test_the_private_network_plan_is_part_of_the_model():
    model = deployment_model(
        dict(AZURE, papr_network_address_space="10.40.0.0/16", papr_azure_name_prefix="mem")
    )
    assert model["network"] == {
        "mode": "private",
        "address_space": "10.40.0.0/16",
        "subnets": {
            "apps": "10.40.0.0/20",
            "temporal": "10.40.16.0/20",
            "postgres": "10.40.32.0/20",
            "aks": "10.40.128.0/17",
        },
        "vnet": "mem-vnet",
        "postgres_zone": "privatelink.postgres.database.azure.com",
        "temporal_zone": "mem.papr.internal",
        "temporal_record": "temporal",
    }
    # A private group has no public IP, so no DNS label.
    assert model["azure"]["names"]["temporal_dns_label"] is None
    assert model["units"]["web"]["environment"]["TEMPORAL_ADDRESS"] == "temporal.mem.papr.internal:7233"


def test_hosts_reach_each_other_on_loopback_or_by_address():
    one = deployment_model(dict(HOSTS, papr_option=1), ONE_HOST)
    assert one["database"]["host"] == "127.0.0.1" and one["temporal"]["address"] == "127.0.0.1:7233"
    assert one["units"]["workers"]["command"] == {"all": ["papr-memory-workers"]}
    assert one["hosts"]["postgres"] == {
        "listen_addresses": ["localhost"],
        "client_networks": ["127.0.0.1/32"],
    }
    assert one["hosts"]["temporal"]["listen_address"] == "127.0.0.1"

    workers = deployment_model(dict(HOSTS, papr_option=2), dict(SPLIT, host="wk"))
    assert workers["database"]["host"] == "10.0.0.5" and workers["temporal"]["address"] == "tm:7233"
    assert sorted(workers["units"]["workers"]["command"]) == ["documents", "memory"]
    assert list(workers["units"]) == ["workers"]
    database = deployment_model(dict(HOSTS, papr_option=2), dict(SPLIT, host="db"))
    assert database["units"] == {}
    assert database["hosts"]["postgres"]["listen_addresses"] == ["localhost", "10.0.0.5"]
    assert database["hosts"]["postgres"]["client_networks"] == [
        "127.0.0.1/32",
        "10.0.0.6/32",
        "10.0.0.7/32",
        "10.0.0.8/32",
    ]
    # Temporal serves other hosts on its address on their network, never on every address.
    temporal = deployment_model(dict(HOSTS, papr_option=2), dict(SPLIT, host="tm"))
    assert temporal["hosts"]["temporal"]["listen_address"] == "10.0.0.6"


# Each host also has an address on an outside network (192.168.50.0/24); the hosts share 10.1.0.0/24.
TWO_NETWORKS = dict(
    SPLIT,
    addresses={},
    ipv4={"db": "192.168.50.5", "tm": "192.168.50.6", "w1": "192.168.50.7", "wk": "192.168.50.8"},
    ipv4_all={
        "db": ["192.168.50.5", "10.1.0.5"],
        "tm": ["10.1.0.6", "192.168.50.6"],
        "w1": ["192.168.50.7", "10.1.0.7"],
        "wk": ["10.1.0.8", "192.168.50.8"],
    },
)


def test_hosts_listen_and_meet_only_on_the_network_they_share():
    inputs = dict(HOSTS, papr_option=2, papr_hosts_network="10.1.0.0/24")
    web = deployment_model(inputs, dict(TWO_NETWORKS, host="w1"))
    # The clients reach the servers at their shared addresses, not by a name that may resolve outside.
    assert web["database"]["host"] == "10.1.0.5" and web["temporal"]["address"] == "10.1.0.6:7233"
    database = deployment_model(inputs, dict(TWO_NETWORKS, host="db"))
    assert database["hosts"]["postgres"] == {
        "listen_addresses": ["localhost", "10.1.0.5"],
        "client_networks": ["127.0.0.1/32", "10.1.0.6/32", "10.1.0.7/32", "10.1.0.8/32"],
    }
    temporal = deployment_model(inputs, dict(TWO_NETWORKS, host="tm"))
    assert temporal["hosts"]["temporal"]["listen_address"] == "10.1.0.6"
    # A papr_address still wins.
    given = dict(TWO_NETWORKS, host="w1", addresses={"db": "db.internal"})
    assert deployment_model(inputs, given)["database"]["host"] == "db.internal"


@pytest.mark.parametrize(
    ("network", "context", "expected"),
    [
        ("10.9.0.0/24", TWO_NETWORKS, "none of its addresses is in papr_hosts_network='10.9.0.0/24'"),
        (None, dict(SPLIT, ipv4={"w1": "10.0.0.7"}), "no default IPv4 address: set papr_hosts_network"),
        ("10.1.0.0/33", TWO_NETWORKS, "papr_hosts_network='10.1.0.0/33': must be an IPv4 network"),
    ],
)
def test_a_server_with_no_address_on_the_shared_network_stops_the_preflight(network, context, expected):
    problems = deployment_problems(dict(HOSTS, papr_option=2, papr_hosts_network=network), context)
    assert problems and all(expected in problem for problem in problems), problems
    with pytest.raises(Exception, match=re.escape(expected)):
        deployment_model(dict(HOSTS, papr_option=2, papr_hosts_network=network), dict(context, host="w1"))


@pytest.mark.parametrize(
    ("change", "variable"),
    [
        ({"papr_platform": "aks"}, "papr_aks_"),
        ({"papr_platform": "gcp"}, "papr_platform"),
        ({"papr_option": 0}, "papr_option"),
        ({"papr_api_keys": " , "}, "papr_api_keys"),
        ({"papr_api_keys": ["ok", " key"]}, "papr_api_keys"),
        ({"papr_database_password": "short1A"}, "papr_database_password"),
        ({"papr_database_password": "Pa55-papr_memory"}, "papr_database_password"),
        ({"papr_database_user": "azure_superuser"}, "papr_database_user"),
        ({"papr_database_name": "9lives"}, "papr_database_name"),
        ({"papr_temporal_namespace": "bad namespace"}, "papr_temporal_namespace"),
        ({"workers_memory_concurrency": -1}, "workers_memory_concurrency"),
        ({"workers_document_activities_per_second": 0}, "workers_document_activities_per_second"),
        ({"workers_document_activities_per_second": "nan"}, "workers_document_activities_per_second"),
        ({"workers_document_nice": 20}, "workers_document_nice"),
        ({"web_port": 70000}, "web_port"),
        ({"web_log_level": "LOUD"}, "web_log_level"),
        ({"papr_azure_location": "West Europe"}, "papr_azure_location"),
        ({"temporal_azure_dns_label": "1papr-temporal"}, "temporal_azure_dns_label"),
        ({"papr_azure_image": "paprmemory.azurcr.io/memory:1"}, "papr_azure_image"),
        ({"postgres_azure_backup_retention_days": 6}, "postgres_azure_backup_retention_days"),
        ({"papr_network": "open"}, "papr_network"),
        ({"papr_network_address_space": "10.20.0.0/24"}, "papr_network_address_space"),
        ({"papr_network_address_space": "8.8.0.0/16"}, "papr_network_address_space"),
        ({"papr_network_postgres_zone": "pg.internal"}, "papr_network_postgres_zone"),
        ({"papr_database_admin_password": ""}, "papr_database_admin_password"),
        ({"papr_temporal_database_password": "weakpassword"}, "papr_temporal_database_password"),
        ({"papr_database_admin_user": "azure_pg_admin"}, "papr_database_admin_user"),
        ({"papr_temporal_database_user": "papr_memory"}, "papr_database_user, papr_database_admin_user"),
        ({"papr_database_admin_password": HARD_PASSWORD}, "papr_database_password, papr_database_admin"),
    ],
)
def test_each_bad_input_is_named(change, variable):
    problems = deployment_problems(dict(AZURE, **change))
    assert problems and all(problem.startswith(variable) for problem in problems), problems
    assert not any(HARD_PASSWORD in problem for problem in problems)


def test_azure_gives_the_service_its_own_login_and_keeps_the_others_out_of_the_units():
    model = deployment_model(AZURE)
    assert (model["database"]["admin_user"], model["database"]["temporal_user"]) == ("papr_admin", "temporal")
    assert model["secrets"]["database_admin_password"] == "Admin-Pa55word"
    assert model["secrets"]["temporal_database_password"] == "Tmp-Pa55word-42"
    for unit in model["units"].values():
        values = " ".join([*unit["environment"].values(), *unit["secret_environment"].values()])
        assert (
            "Admin-Pa55word" not in values and "Tmp-Pa55word-42" not in values and "papr_admin" not in values
        )


def test_option_3_on_aks_gives_each_deployment_its_contract():
    inputs = dict(AZURE, papr_platform="aks", papr_option=3, papr_aks_database_host="pg.private")
    inputs.update(papr_aks_image="paprmemory.azurecr.io/memory:0.1.0", papr_aks_namespace="mem")
    inputs.update(papr_aks_authorized_ip_ranges=["203.0.113.0/24"])
    assert deployment_problems(inputs) == []
    model = deployment_model(inputs)
    assert model["option"] == 3 and sorted(model["units"]) == ["web", "workers"]
    assert model["temporal"]["address"] == "temporal-frontend.mem.svc:7233"
    parsed = conninfo_to_dict(model["units"]["workers"]["secret_environment"]["DATABASE_URL"])
    assert (parsed["host"], parsed["sslmode"], parsed["password"]) == ("pg.private", "require", HARD_PASSWORD)
    # ConfigMap and Secret data: flat maps of strings.
    for unit in model["units"].values():
        for data in (unit["environment"], unit["secret_environment"]):
            assert all(isinstance(key, str) and isinstance(value, str) for key, value in data.items())


AKS = dict(
    AZURE, papr_platform="aks", papr_option=3, papr_aks_database_host="pg.private",
    papr_aks_image="paprmemory.azurecr.io/memory:0.1.0", papr_aks_authorized_ip_ranges=["203.0.113.0/24"],
)  # fmt: skip


def test_aks_probe_periods_keep_the_production_windows():
    """Production's probes by default; a shorter period (the busy test node) asks more often
    within the same windows (300 s to start, 30 s unanswered before leaving the Service)."""
    assert deployment_model(AKS)["aks"]["probes"] == {
        "startup": {"periodSeconds": 5, "failureThreshold": 60},
        "readiness": {"periodSeconds": 10, "failureThreshold": 3},
    }
    assert deployment_model(AKS)["aks"]["wait_poll_seconds"] == 5
    fast = dict(AKS, papr_aks_probe_period_seconds={"startup": 1}, papr_aks_wait_poll_seconds=1)
    assert deployment_problems(fast) == []
    assert deployment_model(fast)["aks"]["probes"] == {
        "startup": {"periodSeconds": 1, "failureThreshold": 300},
        "readiness": {"periodSeconds": 10, "failureThreshold": 3},
    }
    assert deployment_model(fast)["aks"]["wait_poll_seconds"] == 1
    bad = dict(
        AKS, papr_aks_probe_period_seconds={"startup": 0, "readiness": 31}, papr_aks_wait_poll_seconds=0
    )
    assert deployment_problems(bad) == [
        "papr_aks_probe_period_seconds.startup=0: must be a whole number of seconds, 1-300",
        "papr_aks_probe_period_seconds.readiness=31: must be a whole number of seconds, 1-30",
        "papr_aks_wait_poll_seconds=0: must be a whole number of at least 1",
    ]
    assert "must be a mapping" in deployment_problems(dict(AKS, papr_aks_probe_period_seconds=2))[0]


def test_good_inputs_pass_and_azure_stack_regions_can_be_added():
    assert deployment_problems(AZURE) == []
    assert (
        deployment_problems(dict(AZURE, papr_azure_location="local", papr_azure_extra_locations=["local"]))
        == []
    )
    assert deployment_problems(dict(HOSTS, papr_option=1), {"groups": {"web": ["h"]}}) == [
        f"inventory group {group!r} has no host: every component needs one (docs/hosts.md)"
        for group in ("postgres", "temporal", "workers")
    ]


def test_environment_file_quotes_every_value_so_systemd_keeps_it_whole():
    content = systemd_environment_file({"B": "it's $HOME", "A": "x y #z", "C": 'a"b\\c'})
    assert content.splitlines() == ["A='x y #z'", 'B="it\'s \\$HOME"', "C='a\"b\\c'"]


@pytest.mark.parametrize(
    ("option", "units"),
    [
        # The workers first, the web server last: a release restarts it once new workers poll.
        (1, ["papr-memory-workers.service", "papr-memory-web.service"]),
        (
            2,
            [
                "papr-memory-worker@memory.service",
                "papr-memory-worker@documents.service",
                "papr-memory-web.service",
            ],
        ),
    ],
)
def test_hosts_publish_their_systemd_units_in_restart_order(option, units):
    systemd = deployment_model(dict(HOSTS, papr_option=option), ONE_HOST)["hosts"]["systemd"]
    assert systemd["units"] == units
    assert systemd["unit_files"] == [
        "papr-memory-workers.service",
        "papr-memory-worker@.service",
        "papr-memory-web.socket",
        "papr-memory-web.service",
    ]
    # Without the model (teardown has no secrets), the same answer.
    assert deployment_systemd(ONE_HOST, option) == systemd


def test_each_host_runs_only_its_components_units_and_teardown_takes_every_one():
    inputs = dict(HOSTS, papr_option=2)
    web = deployment_model(inputs, dict(SPLIT, host="w1"))["hosts"]["systemd"]
    workers = deployment_model(inputs, dict(SPLIT, host="wk"))["hosts"]["systemd"]
    database = deployment_model(inputs, dict(SPLIT, host="db"))["hosts"]["systemd"]
    assert web["units"] == ["papr-memory-web.service"]
    assert web["unit_files"] == ["papr-memory-web.socket", "papr-memory-web.service"]
    assert workers["units"] == ["papr-memory-worker@memory.service", "papr-memory-worker@documents.service"]
    assert workers["unit_files"] == ["papr-memory-workers.service", "papr-memory-worker@.service"]
    assert database["units"] == database["unit_files"] == database["teardown_units"] == []
    # Teardown: every unit of the service on a web or workers host (one moved between groups or
    # options keeps the old ones), the socket first, else a waiting connection restarts the server.
    every_unit = [
        "papr-memory-web.socket",
        "papr-memory-web.service",
        "papr-memory-workers.service",
        "papr-memory-worker@memory.service",
        "papr-memory-worker@documents.service",
    ]
    assert web["teardown_units"] == workers["teardown_units"] == every_unit
    assert sorted(web["teardown_unit_files"]) == sorted(web["unit_files"] + workers["unit_files"])
    # Every component's names, also on a host that does not run it (migrate.yml reads them there).
    assert web["names"]["workers"]["units"]["all"] == "papr-memory-workers.service"
    assert web["names"]["web"] == {
        "socket": "papr-memory-web.socket",
        "service": "papr-memory-web.service",
        "unit_files": ["papr-memory-web.socket", "papr-memory-web.service"],
    }
    with pytest.raises(Exception, match=re.escape("papr_option=3: must be 1 (single) or 2 (split)")):
        deployment_systemd(dict(SPLIT, host="w1"), 3)
