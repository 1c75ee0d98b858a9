"""papr.memory.aks_cluster against the Azure double's Microsoft.ContainerService (option 3's cluster)."""

from __future__ import annotations

import base64
import copy
import stat

import pytest
from azure.mgmt.containerservice import ContainerServiceClient

from tests.azure_double.providers.containerservice import use_user_kubeconfig
from tests.azure_modules.conftest import failures_of, make_resource_group, resource_id, sent

GROUP = "papr-memory-aks-test"
NAME = "papr-memory-aks"
SUBNET = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/papr-memory-net/providers/"
    "Microsoft.Network/virtualNetworks/papr-memory/subnets/aks"
)
ADMINS = "00000000-0000-0000-0000-00000000cafe"

CLUSTER = {
    "name": NAME,
    "resource_group": GROUP,
    "kubernetes_version": "1.32",
    "node_pools": [
        {"name": "system", "mode": "System", "vm_size": "Standard_D2s_v3", "count": 2, "zones": ["1", "2"]},
        {"name": "user", "vm_size": "Standard_D4s_v3", "min_count": 3, "max_count": 6, "zones": ["1", "2"]},
    ],
    "subnet_id": SUBNET,
    "network": {"policy": "azure"},
    "entra_id": {"admin_group_object_ids": [ADMINS]},
    "authorized_ip_ranges": ["203.0.113.0/24"],
    "tags": {"app": "papr-memory"},
}


def task(**changes):
    spec = copy.deepcopy(CLUSTER)
    spec.update(changes)
    return {"papr.memory.aks_cluster": spec}


def with_pool(name, **changes):
    pools = copy.deepcopy(CLUSTER["node_pools"])
    for pool in pools:
        if pool["name"] == name:
            pool.update(changes)
    return task(node_pools=pools)


def cluster_id(double):
    return resource_id(double, GROUP, f"Microsoft.ContainerService/managedClusters/{NAME}")


@pytest.fixture
def resource_group(azure_double):
    make_resource_group(azure_double, GROUP)


@pytest.fixture
def aks(azure_double):
    return azure_double.client(ContainerServiceClient)


def user_kubeconfig(aks):
    answer = aks.managed_clusters.list_cluster_user_credentials(GROUP, NAME)
    return base64.b64decode(answer["kubeconfigs"][0]["value"]).decode()


def test_create_rerun_check_mode_and_kubeconfig(run_tasks, azure_double, resource_group, aks, tmp_path):
    kubeconfig = tmp_path / "kube" / "config"
    checked = run_tasks([task(kubeconfig_path=str(kubeconfig))], check=True)
    assert checked.result()["changed"] is True and checked.writes == 0
    assert [op["action"] for op in checked.result()["operations"]] == ["create", "write"]
    assert not kubeconfig.exists()

    created = run_tasks([task(kubeconfig_path=str(kubeconfig))], diff=True, verbosity=3)
    result = created.result()
    assert created.writes == 1 and [op["action"] for op in result["operations"]] == ["create", "write"]
    cluster = result["cluster"]
    assert cluster["provisioning_state"] == "Succeeded" and cluster["current_kubernetes_version"] == "1.32.7"
    assert cluster["oidc_issuer_url"].startswith("https://")
    assert {p["name"]: (p["autoscaling"], p["min_count"], p["max_count"]) for p in cluster["node_pools"]} == {
        "system": (False, None, None),
        "user": (True, 3, 6),
    }
    assert result["diff"]["after"]["network"]["plugin_mode"] == "overlay"

    stored = aks.managed_clusters.get(GROUP, NAME).as_dict()  # REST keys
    properties = stored["properties"]
    network = properties["networkProfile"]
    assert (network["networkPlugin"], network["networkPluginMode"], network["networkPolicy"]) == (
        "azure",
        "overlay",
        "azure",
    )
    assert {p["name"]: p["vnetSubnetID"] for p in properties["agentPoolProfiles"]} == {
        "system": SUBNET,
        "user": SUBNET,
    }
    assert properties["oidcIssuerProfile"]["enabled"] is True
    assert properties["securityProfile"]["workloadIdentity"] == {"enabled": True}
    assert properties["aadProfile"] == {
        "managed": True,
        "enableAzureRBAC": True,
        "adminGroupObjectIDs": [ADMINS],
    }
    assert properties["disableLocalAccounts"] is True
    assert properties["apiServerAccessProfile"]["authorizedIPRanges"] == ["203.0.113.0/24"]
    assert stored["tags"] == {"app": "papr-memory"} and stored["sku"]["tier"] == "Free"

    # The user kubeconfig: in a 0600 file, identical to what Azure answers, never in the output.
    text = user_kubeconfig(aks)
    assert kubeconfig.read_text() == text
    assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600
    token = [line for line in text.splitlines() if "token:" in line][0].split("token:")[1].strip()
    assert token not in created.output and "certificate-authority-data" not in created.output

    again = run_tasks([task(kubeconfig_path=str(kubeconfig))], verbosity=3)
    assert again.result()["changed"] is False and again.writes == 0 and again.result()["operations"] == []
    assert token not in again.output
    rechecked = run_tasks([task(kubeconfig_path=str(kubeconfig))], check=True)
    assert rechecked.result()["changed"] is False and rechecked.writes == 0


def test_kubeconfig_rewritten_when_azure_answers_another(run_tasks, azure_double, resource_group, tmp_path):
    kubeconfig = tmp_path / "config"
    run_tasks([task(kubeconfig_path=str(kubeconfig))])
    secret = "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    token: rotated-token-5f6e7d\n"
    use_user_kubeconfig(azure_double, cluster_id(azure_double), secret)
    rotated = run_tasks([task(kubeconfig_path=str(kubeconfig))], diff=True, verbosity=3)
    assert rotated.writes == 0 and [op["action"] for op in rotated.result()["operations"]] == ["write"]
    assert kubeconfig.read_text() == secret and "rotated-token-5f6e7d" not in rotated.output


def test_upgrade_in_place_one_minor_at_a_time(run_tasks, azure_double, resource_group, aks):
    run_tasks([task(kubernetes_version="1.31")])
    skipped, messages = failures_of(run_tasks, [task(kubernetes_version="1.33")])
    assert skipped.writes == 0 and "one minor version at a time" in messages[0] and "'1.32'" in messages[0]

    upgraded = run_tasks([task(kubernetes_version="1.32")])
    operation = upgraded.result()["operations"][0]
    assert operation["action"] == "upgrade" and "kubernetes_version" in operation["changes"]
    assert upgraded.writes == 1
    stored = aks.managed_clusters.get(GROUP, NAME)
    assert stored.current_kubernetes_version == "1.32.7"
    assert {p.name: p.current_orchestrator_version for p in stored.agent_pool_profiles} == {
        "system": "1.32.7",
        "user": "1.32.7",
    }
    assert run_tasks([task(kubernetes_version="1.32")]).writes == 0

    downgrade, messages = failures_of(run_tasks, [task(kubernetes_version="1.31")])
    assert downgrade.writes == 0 and "downgrading" in messages[0]


def test_autoscaler_bounds_and_drift(run_tasks, azure_double, resource_group, aks):
    run_tasks([task()])
    pool_id = cluster_id(azure_double) + "/agentPools/user"
    azure_double.drift(pool_id, {"properties": {"maxCount": 20, "count": 5}})
    restored = run_tasks([task()], diff=True)
    assert restored.writes == 1 and restored.result()["operations"][0]["changes"] == ["node_pools"]
    pool = aks.agent_pools.get(GROUP, NAME, "user")
    # The bounds come back; the node count the autoscaler chose stays (it is inside them).
    assert (pool.max_count, pool.min_count, pool.count) == (6, 3, 5)

    resized = run_tasks([with_pool("user", min_count=2, max_count=4)])
    assert resized.writes == 1
    pool = aks.agent_pools.get(GROUP, NAME, "user")
    assert (pool.min_count, pool.max_count, pool.count) == (2, 4, 4)


def test_what_aks_cannot_change_fails_before_any_write(run_tasks, azure_double, resource_group):
    run_tasks([task()])
    run, messages = failures_of(
        run_tasks,
        [
            with_pool("user", vm_size="Standard_D8s_v3"),
            task(network={"pod_cidr": "10.100.0.0/16"}),
            task(private_cluster=True, authorized_ip_ranges=[]),
            task(oidc_issuer=False, workload_identity=False),
        ],
    )
    assert run.writes == 0
    assert "node_pools[user].vm_size" in messages[0]
    assert "network.pod_cidr" in messages[1]
    assert "private_cluster" in messages[2]
    assert "oidc_issuer" in messages[3]


def test_bad_input_fails_before_any_request(run_tasks, azure_double, resource_group):
    run, messages = failures_of(
        run_tasks,
        [
            with_pool("user", min_count=4, max_count=2),
            with_pool("user", min_count=None, max_count=None, count=None),
            task(node_pools=[{"name": "user", "vm_size": "Standard_D4s_v3", "count": 1}]),
            task(authorized_ip_ranges=[]),
            task(workload_identity=True, oidc_issuer=False),
            task(entra_id={"enabled": False}),
            task(kubernetes_version="latest"),
            task(subnet_id="aks-subnet"),
            task(network={"service_cidr": "10.0.0.0/16", "dns_service_ip": "10.1.0.10"}),
        ],
    )
    assert "node_pools[user].max_count 2 is below min_count 4" in messages[0]
    assert "node_pools[user]: give count" in messages[1]
    assert "mode: System" in messages[2]
    assert "authorized_ip_ranges" in messages[3]
    assert "workload_identity needs oidc_issuer" in messages[4]
    assert "local_accounts: false needs entra_id.enabled" in messages[5]
    assert "kubernetes_version 'latest'" in messages[6]
    assert "subnet_id 'aks-subnet'" in messages[7]
    assert "network.dns_service_ip" in messages[8]
    # Only the pool without a count reached Azure (the read that tells it the pool is new).
    assert [entry for entry in run.requests if entry[0] != "GET" and "/subscriptions/" in entry[1]] == []


def test_entra_id_opt_out_keeps_local_accounts(run_tasks, azure_double, resource_group, aks):
    run_tasks([task(entra_id={"enabled": False}, local_accounts=True)])
    stored = aks.managed_clusters.get(GROUP, NAME)
    assert stored.aad_profile is None and stored.disable_local_accounts is False
    assert run_tasks([task(entra_id={"enabled": False}, local_accounts=True)]).writes == 0


def test_stopped_cluster_is_started_and_delete(run_tasks, azure_double, resource_group, aks):
    run_tasks([task()])
    aks.managed_clusters.begin_stop(GROUP, NAME).result()
    started = run_tasks([task()])
    assert started.result()["started"] is True and started.result()["resource_state"] == "Stopped"
    assert [op["action"] for op in started.result()["operations"]] == ["start"]
    assert aks.managed_clusters.get(GROUP, NAME).power_state.code == "Running"

    deleted = run_tasks([task(state="absent")])
    assert deleted.result()["changed"] is True and deleted.writes == 1
    again = run_tasks([task(state="absent")])
    assert again.result()["changed"] is False and again.writes == 0


# --- a write sent, then a failure (tests/azure_modules/test_runner.py has the other modules') -------
NO_RETRIES = {"PAPR_AZURE_MAX_RETRIES": "0"}


def test_create_accepted_then_failed_reports_changed_and_is_repaired(run_tasks, azure_double, resource_group):
    azure_double.fail_operations(
        rf"/managedClusters/{NAME}$", "VMExtensionProvisioningError", "A node failed to join.", method="PUT"
    )
    failed = run_tasks([task()], expect_rc=2)
    result = failed.result()
    assert result["failed"] is True and result["changed"] is True  # Azure accepted the create
    assert sent(result) == [("create", True)]
    assert result["resource_state"] is None  # it did not exist when the task started
    assert "A node failed to join" in result["msg"]

    repaired = run_tasks([task()])  # AKS reconciles a failed cluster by the same PUT
    assert repaired.result()["resource_state"] == "Failed"
    assert sent(repaired.result()) == [("update", False)] and repaired.writes == 1


def test_cluster_written_then_kubeconfig_read_fails_reports_changed(
    run_tasks, azure_double, resource_group, tmp_path
):
    kubeconfig = tmp_path / "config"
    azure_double.inject_status(r"/listClusterUserCredential$", 500, method="POST", times=None)
    failed = run_tasks([task(kubeconfig_path=str(kubeconfig))], env=NO_RETRIES, expect_rc=2)
    result = failed.result()
    assert result["changed"] is True and failed.writes == 1  # the cluster was created
    assert sent(result) == [("create", False), ("write", True)]
    assert not kubeconfig.exists()


def test_started_then_update_refused_reports_changed_and_the_stopped_state(
    run_tasks, azure_double, resource_group, aks
):
    run_tasks([task()])
    aks.managed_clusters.begin_stop(GROUP, NAME).result()
    azure_double.inject_status(rf"/managedClusters/{NAME}$", 500, method="PUT", times=None)
    failed = run_tasks([task(tags={"app": "papr-memory", "owner": "ops"})], env=NO_RETRIES, expect_rc=2)
    result = failed.result()
    assert result["changed"] is True  # the start landed before the update was refused
    assert sent(result) == [("start", False), ("update", True)]
    assert result["resource_state"] == "Stopped" and result["started"] is True
    stored = aks.managed_clusters.get(GROUP, NAME)
    assert stored.power_state.code == "Running" and stored.tags == {"app": "papr-memory"}
