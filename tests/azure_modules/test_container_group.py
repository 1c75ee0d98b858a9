"""papr.memory.container_group against the Azure double's Microsoft.ContainerInstance (Temporal on ACI)."""

from __future__ import annotations

import copy

import pytest

from tests.azure_modules.conftest import failures_of, make_resource_group, resource_id

GROUP = "papr-memory-aci-test"
NAME = "papr-memory-temporal"
DB_PASSWORD = "pg-secret-1a2b3c"
REGISTRY_PASSWORD = "acr-secret-4d5e6f"

TEMPORAL = {
    "name": NAME,
    "resource_group": GROUP,
    "dns_name_label": "papr-memory-temporal",
    "init_containers": [
        {
            "name": "schema",
            "image": "temporalio/admin-tools:1.27",
            "command": ["sh", "-c", "temporal-sql-tool setup-schema -v 0.0"],
            "environment": {"SQL_PLUGIN": "postgres12"},
            "secure_environment": {"SQL_PASSWORD": DB_PASSWORD},
        }
    ],
    "containers": [
        {
            "name": "temporal",
            "image": "paprmemory.azurecr.io/temporal-server:1.27",
            "cpu": 2,
            "memory_gb": 4,
            "ports": [7233],
            "environment": {"DB": "postgres12", "NUM_HISTORY_SHARDS": 512},
            "secure_environment": {"POSTGRES_PWD": DB_PASSWORD},
        }
    ],
    "registries": [
        {"server": "paprmemory.azurecr.io", "username": "paprmemory", "password": REGISTRY_PASSWORD}
    ],
    "tags": {"app": "papr-memory"},
}


def task(**changes):
    spec = copy.deepcopy(TEMPORAL)
    spec.update(changes)
    return {"papr.memory.container_group": spec}


def with_container(**changes):
    container = {**copy.deepcopy(TEMPORAL["containers"][0]), **changes}
    return task(containers=[container])


def group_id(double):
    return resource_id(double, GROUP, f"Microsoft.ContainerInstance/containerGroups/{NAME}")


@pytest.fixture
def resource_group(azure_double):
    make_resource_group(azure_double, GROUP)


def test_create_rerun_and_check_mode(run_tasks, azure_double, resource_group):
    checked = run_tasks([task()], check=True)
    assert checked.result()["changed"] is True and checked.writes == 0

    created = run_tasks([task()], diff=True, verbosity=3)
    result = created.result()
    assert result["changed"] is True and result["recreated"] is False
    assert created.writes == 1
    group = result["container_group"]
    assert group["fqdn"] == "papr-memory-temporal.westeurope.azurecontainer.io"
    assert group["provisioning_state"] == "Succeeded" and group["state"] == "Running"
    assert group["containers"] == [
        {"name": "temporal", "image": "paprmemory.azurecr.io/temporal-server:1.27", "state": "Running"}
    ]
    assert DB_PASSWORD not in created.output and REGISTRY_PASSWORD not in created.output
    stored = azure_double.resource(group_id(azure_double))
    assert stored["properties"]["containers"][0]["properties"]["environmentVariables"][-1] == {
        "name": "POSTGRES_PWD",
        "secureValue": DB_PASSWORD,
    }
    assert DB_PASSWORD not in stored["tags"]["papr-secrets-hash"]

    rerun = run_tasks([task()])
    assert rerun.result()["changed"] is False and rerun.writes == 0
    assert run_tasks([task()], check=True).result()["changed"] is False


def test_changed_secret_is_detected_through_the_hash_tag(run_tasks, azure_double, resource_group):
    run_tasks.setup([task()])
    rotated = with_container(secure_environment={"POSTGRES_PWD": "pg-secret-rotated"})

    checked = run_tasks([rotated], check=True, diff=True)
    assert checked.result()["changed"] is True and checked.writes == 0
    assert checked.result()["diff"]["before"]["secrets_hash"] == "********"
    assert "pg-secret-rotated" not in checked.output and DB_PASSWORD not in checked.output

    applied = run_tasks([rotated])
    assert applied.result()["changed"] is True and applied.result()["recreated"] is False
    env = azure_double.resource(group_id(azure_double))["properties"]["containers"][0]["properties"]
    assert env["environmentVariables"][-1]["secureValue"] == "pg-secret-rotated"
    assert run_tasks([rotated]).writes == 0


def test_secret_files_reach_only_their_container_and_converge(run_tasks, azure_double, resource_group):
    admin = "admin-secret-7g8h9i"
    init = {
        **copy.deepcopy(TEMPORAL["init_containers"][0]),
        "name": "database-roles",
        "secret_files": {"admin-password": admin},
        "secret_mount_path": "/mnt/database-roles",
    }
    spec = task(init_containers=[init, *copy.deepcopy(TEMPORAL["init_containers"])])

    checked = run_tasks([spec], check=True, diff=True)
    assert checked.result()["changed"] is True and checked.writes == 0
    created = run_tasks([spec], diff=True, verbosity=3)
    assert created.result()["changed"] is True and created.writes == 1
    assert admin not in created.output
    properties = azure_double.resource(group_id(azure_double))["properties"]
    assert properties["volumes"] == [
        {"name": "database-roles-secrets", "secret": {"admin-password": "YWRtaW4tc2VjcmV0LTdnOGg5aQ=="}}
    ]
    mounts = {c["name"]: c["properties"].get("volumeMounts") for c in properties["initContainers"]}
    assert mounts == {
        "database-roles": [
            {"name": "database-roles-secrets", "mountPath": "/mnt/database-roles", "readOnly": True}
        ],
        "schema": None,
    }
    # Not in any container's environment, and only the mounting container sees the volume.
    for container in properties["containers"] + properties["initContainers"]:
        assert admin not in str(container["properties"].get("environmentVariables"))
    assert properties["containers"][0]["properties"].get("volumeMounts") is None

    assert run_tasks([spec]).writes == 0
    assert run_tasks([spec], check=True).result()["changed"] is False
    init["secret_files"] = {"admin-password": "admin-secret-rotated"}
    rotated = task(init_containers=[init, *copy.deepcopy(TEMPORAL["init_containers"])])
    applied = run_tasks([rotated], diff=True)
    assert applied.result()["changed"] is True and applied.writes == 1
    assert "admin-secret-rotated" not in applied.output
    assert run_tasks([rotated]).writes == 0


def test_drift_restored_in_place(run_tasks, azure_double, resource_group):
    run_tasks.setup([task()])

    def change_image(state):
        state["properties"]["containers"][0]["properties"]["image"] = "temporalio/server:latest"
        state["tags"]["app"] = "hand-edited"

    azure_double.drift(group_id(azure_double), change_image)
    restored = run_tasks([task()], diff=True)
    assert restored.result()["changed"] is True and restored.writes == 1
    assert restored.result()["diff"]["before"]["containers"][0]["image"] == "temporalio/server:latest"
    stored = azure_double.resource(group_id(azure_double))
    assert (
        stored["properties"]["containers"][0]["properties"]["image"]
        == "paprmemory.azurecr.io/temporal-server:1.27"
    )
    assert stored["tags"]["app"] == "papr-memory"


def test_resource_change_needs_allow_recreate(run_tasks, azure_double, resource_group):
    run_tasks.setup([task()])
    bigger = with_container(cpu=3, memory_gb=6)

    refused = run_tasks([bigger], expect_rc=2)
    message = refused.result()["msg"]
    assert f"container group '{NAME}' in resource group '{GROUP}': changing resources" in message
    assert "allow_recreate: true" in message and refused.writes == 0

    recreated = run_tasks(
        [{"papr.memory.container_group": {**bigger["papr.memory.container_group"], "allow_recreate": True}}]
    )
    assert recreated.result()["changed"] is True and recreated.result()["recreated"] is True
    assert [entry[0] for entry in recreated.requests if entry[0] in ("PUT", "DELETE")] == ["DELETE", "PUT"]
    requests = azure_double.resource(group_id(azure_double))["properties"]["containers"][0]["properties"][
        "resources"
    ]
    assert requests["requests"] == {"cpu": 3.0, "memoryInGB": 6.0}


def test_operation_failure_and_timeout_name_the_group(run_tasks, azure_double, resource_group):
    azure_double.fail_operations(
        r"/containerGroups/papr-memory-temporal$", "ImagePullFailed", "Pull access denied."
    )
    failed = run_tasks([task()], expect_rc=2)
    message = failed.result()["msg"]
    assert f"Could not create or update container group '{NAME}' in resource group '{GROUP}'" in message
    assert "ImagePullFailed" in message and "Pull access denied." in message

    azure_double.slow_operations(r"/containerGroups/papr-memory-temporal$", polls=10**9)
    slow = run_tasks([task(timeout=2)], expect_rc=2)
    assert f"Timed out after 2s waiting to create or update container group '{NAME}'" in slow.result()["msg"]


def test_throttled_reads_and_writes_converge(run_tasks, azure_double, resource_group):
    azure_double.inject_status(r"/containerGroups/papr-memory-temporal$", 429, method="GET", times=2)
    azure_double.inject_status(r"/containerGroups/papr-memory-temporal$", 503, method="PUT", times=1)
    run = run_tasks([task()])
    assert run.result()["changed"] is True
    assert azure_double.resource(group_id(azure_double))["provisioningState"] == "Succeeded"


BAD_INPUT = [
    ({"name": "Temporal_Server"}, "Invalid container group name"),
    (
        {"containers": [{"name": "t", "image": "temporalio/server:bad tag", "ports": [7233]}]},
        "Invalid container image",
    ),
    (
        {"containers": [{"name": "t", "image": "temporalio/server:1", "cpu": 8, "ports": [7233]}]},
        "at most 4 CPU",
    ),
    ({"containers": [{"name": "t", "image": "temporalio/server:1"}]}, "ip_address=public needs"),
    ({"dns_name_label": "Bad_Label"}, "dns_name_label 'Bad_Label'"),
]


def test_bad_input_fails_before_any_request(run_tasks, azure_double):
    run, messages = failures_of(run_tasks, [task(**options) for options, _ in BAD_INPUT])
    for (_, expected), message in zip(BAD_INPUT, messages, strict=True):
        assert expected in message
    assert run.requests == []
    assert DB_PASSWORD not in run.output and REGISTRY_PASSWORD not in run.output


def test_delete(run_tasks, azure_double, resource_group):
    run_tasks.setup([task()])
    deleted = run_tasks([task(state="absent")])
    assert deleted.result()["changed"] is True and azure_double.resource(group_id(azure_double)) is None
    assert run_tasks([task(state="absent")]).result()["changed"] is False
