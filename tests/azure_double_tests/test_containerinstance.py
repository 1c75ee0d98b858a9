"""Microsoft.ContainerInstance through the real azure-mgmt-containerinstance client."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.containerinstance import ContainerInstanceManagementClient
from azure.mgmt.containerinstance.models import (
    Container,
    ContainerGroup,
    ContainerPort,
    EnvironmentVariable,
    ImageRegistryCredential,
    InitContainerDefinition,
    IpAddress,
    Port,
    ResourceRequests,
    ResourceRequirements,
    Volume,
    VolumeMount,
)


@pytest.fixture
def aci(azure_double):
    return azure_double.client(ContainerInstanceManagementClient)


def group(image="ghcr.io/papr/worker:1", cpu=1.0, restart="Always", label="papr-worker"):
    return ContainerGroup(
        location="westus2",
        os_type="Linux",
        restart_policy=restart,
        containers=[
            Container(
                name="worker",
                image=image,
                ports=[ContainerPort(port=8080)],
                resources=ResourceRequirements(requests=ResourceRequests(cpu=cpu, memory_in_gb=1.5)),
                environment_variables=[
                    EnvironmentVariable(name="MODE", value="worker"),
                    EnvironmentVariable(name="DB_PASSWORD", secure_value="s3cret"),
                ],
                volume_mounts=[VolumeMount(name="secrets", mount_path="/secrets")],
            )
        ],
        init_containers=[
            InitContainerDefinition(name="migrate", image="ghcr.io/papr/migrate:1", command=["migrate"])
        ],
        ip_address=IpAddress(type="Public", ports=[Port(port=8080)], dns_name_label=label),
        image_registry_credentials=[
            ImageRegistryCredential(server="ghcr.io", username="bot", password="token")
        ],
        volumes=[Volume(name="secrets", secret={"key": "c2VjcmV0"})],
    )


def test_create_read_list_logs_delete(azure_double, resource_group, aci):
    poller = aci.container_groups.begin_create_or_update("rg", "papr-worker", group())
    put = azure_double.requests("PUT")[-1]
    assert put.status == 201
    created = poller.result()
    assert created.provisioning_state == "Succeeded"
    assert created.ip_address.fqdn == "papr-worker.westus2.azurecontainer.io" and created.ip_address.ip
    assert created.instance_view.state == "Running"
    assert created.containers[0].instance_view.current_state.state == "Running"
    assert created.init_containers[0].instance_view.current_state.state == "Terminated"
    env = {e.name: (e.value, e.secure_value) for e in created.containers[0].environment_variables}
    assert env == {"MODE": ("worker", None), "DB_PASSWORD": (None, None)}  # the secure value never comes back
    assert created.image_registry_credentials[0].password is None
    assert created.volumes[0].secret == {}
    stored = azure_double.resource(created.id)  # the double keeps what was set, for assertions
    assert (
        stored["properties"]["containers"][0]["properties"]["environmentVariables"][1]["secureValue"]
        == "s3cret"
    )

    listed = list(aci.container_groups.list_by_resource_group("rg"))
    assert [g.name for g in listed] == ["papr-worker"] and listed[0].instance_view is None
    azure_double.drift(created.id, {"logs": {"worker": "one\ntwo\n"}})
    assert aci.containers.list_logs("rg", "papr-worker", "worker").content == "one\ntwo\n"
    assert aci.containers.list_logs("rg", "papr-worker", "worker", tail=1).content == "two\n"
    aci.container_groups.begin_delete("rg", "papr-worker").result()
    with pytest.raises(ResourceNotFoundError):
        aci.container_groups.get("rg", "papr-worker")


def test_operation_status_is_pending_then_succeeded(azure_double, resource_group, aci):
    azure_double.slow_operations("/containerGroups/", polls=3)
    aci.container_groups.begin_create_or_update("rg", "papr-worker", group()).result()
    polls = azure_double.requests("GET", "/locations/westus2/operations/")
    assert len(polls) == 3 and all(p.api_version == "2018-06-01" for p in polls)


def test_image_changes_in_place_but_cpu_and_restart_policy_do_not(azure_double, resource_group, aci):
    aci.container_groups.begin_create_or_update("rg", "papr-worker", group()).result()
    updated = aci.container_groups.begin_create_or_update(
        "rg", "papr-worker", group(image="ghcr.io/papr/worker:2")
    )
    assert updated.result().containers[0].image == "ghcr.io/papr/worker:2"
    assert azure_double.requests("PUT")[-1].status == 200
    for change in (group(cpu=2.0), group(restart="Never")):
        with pytest.raises(HttpResponseError) as refused:
            aci.container_groups.begin_create_or_update("rg", "papr-worker", change).result()
        assert refused.value.status_code == 409
        assert refused.value.error.code == "InvalidContainerGroupUpdate"
        assert "you must delete it first and then create a new one" in refused.value.error.message


def test_bad_input_is_refused(azure_double, resource_group, aci):
    cases = [
        ("Bad_Name", group()),
        ("papr-worker", group(cpu=8.0)),
        ("papr-worker", group(restart="Sometimes")),
    ]
    for name, definition in cases:
        with pytest.raises(HttpResponseError) as bad:
            aci.container_groups.begin_create_or_update("rg", name, definition).result()
        assert bad.value.status_code == 400
    aci.container_groups.begin_create_or_update("rg", "first", group(label="shared")).result()
    with pytest.raises(HttpResponseError) as clash:
        aci.container_groups.begin_create_or_update("rg", "second", group(label="shared")).result()
    assert clash.value.status_code == 409
    assert [g.name for g in aci.container_groups.list_by_resource_group("rg")] == ["first"]


def test_stop_and_start(azure_double, resource_group, aci):
    aci.container_groups.begin_create_or_update("rg", "papr-worker", group()).result()
    aci.container_groups.stop("rg", "papr-worker")
    stopped = aci.container_groups.get("rg", "papr-worker")
    assert stopped.instance_view.state == "Stopped"
    assert stopped.containers[0].instance_view.current_state.state == "Terminated"
    aci.container_groups.begin_start("rg", "papr-worker").result()
    assert aci.container_groups.get("rg", "papr-worker").instance_view.state == "Running"
    assert azure_double.write_count("/(stop|start)$") == 2
