"""Microsoft.ContainerService through the real azure-mgmt-containerservice client."""

from __future__ import annotations

import base64

import pytest
import yaml
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.containerservice import models as m


@pytest.fixture
def aks(azure_double):
    return azure_double.client(ContainerServiceClient)


def cluster(version=None, dns_prefix="papr", local_accounts=True, vm_size="Standard_D4ds_v5"):
    return m.ManagedCluster(
        location="westus2",
        dns_prefix=dns_prefix,
        kubernetes_version=version,
        identity=m.ManagedClusterIdentity(type="SystemAssigned"),
        disable_local_accounts=not local_accounts,
        # AKS disables local accounts only on a cluster with AKS-managed Entra ID.
        aad_profile=None
        if local_accounts
        else m.ManagedClusterAADProfile(managed=True, enable_azure_rbac=True),
        agent_pool_profiles=[
            m.ManagedClusterAgentPoolProfile(
                name="system", count=2, mode="System", vm_size=vm_size, os_type="Linux"
            )
        ],
    )


def test_cluster_lifecycle_and_defaults(azure_double, resource_group, aks):
    poller = aks.managed_clusters.begin_create_or_update("rg", "papr-aks", cluster())
    assert azure_double.requests("PUT")[-1].status == 201
    created = poller.result()
    assert (
        created.provisioning_state == "Succeeded"
        and created.type == "Microsoft.ContainerService/ManagedClusters"
    )
    assert created.kubernetes_version == "1.32" and created.current_kubernetes_version == "1.32.7"
    assert created.node_resource_group == "MC_rg_papr-aks_westus2"
    assert created.fqdn.startswith("papr-") and created.fqdn.endswith(".hcp.westus2.azmk8s.io")
    assert (created.network_profile.network_plugin, created.network_profile.network_plugin_mode) == (
        "azure",
        "overlay",
    )
    pool = created.agent_pool_profiles[0]
    assert (pool.name, pool.count, pool.vm_size, pool.max_pods, pool.os_disk_size_gb) == (
        "system",
        2,
        "Standard_D4ds_v5",
        250,
        200,
    )
    assert created.identity.principal_id

    upgraded = aks.managed_clusters.begin_create_or_update("rg", "papr-aks", cluster(version="1.33")).result()
    assert upgraded.current_kubernetes_version == "1.33.3"
    assert azure_double.requests("PUT")[-1].status == 200
    assert [c.name for c in aks.managed_clusters.list_by_resource_group("rg")] == ["papr-aks"]
    aks.managed_clusters.begin_delete("rg", "papr-aks").result()
    assert azure_double.requests("DELETE")[-1].status == 202
    with pytest.raises(ResourceNotFoundError):
        aks.managed_clusters.get("rg", "papr-aks")


def test_create_walks_through_the_real_statuses(azure_double, resource_group, aks):
    azure_double.slow_operations("/managedClusters/papr-aks$", polls=8, method="PUT")
    aks.managed_clusters.begin_create_or_update("rg", "papr-aks", cluster()).result()
    assert len(azure_double.requests("GET", "/operations/")) == 8


def test_agent_pools(azure_double, resource_group, aks):
    aks.managed_clusters.begin_create_or_update("rg", "papr-aks", cluster()).result()
    pool = aks.agent_pools.begin_create_or_update(
        "rg",
        "papr-aks",
        "work",
        m.AgentPool(count=3, vm_size="Standard_D8ds_v5", mode="User", node_labels={"role": "worker"}),
    ).result()
    assert (pool.count, pool.provisioning_state, pool.node_labels) == (3, "Succeeded", {"role": "worker"})
    assert [p.name for p in aks.agent_pools.list("rg", "papr-aks")] == ["system", "work"]
    assert len(aks.managed_clusters.get("rg", "papr-aks").agent_pool_profiles) == 2
    scaled = aks.agent_pools.begin_create_or_update("rg", "papr-aks", "work", m.AgentPool(count=5)).result()
    assert scaled.count == 5 and scaled.vm_size == "Standard_D8ds_v5"
    with pytest.raises(HttpResponseError) as change:
        aks.agent_pools.begin_create_or_update(
            "rg", "papr-aks", "work", m.AgentPool(vm_size="Standard_D2ds_v5")
        ).result()
    assert change.value.status_code == 400
    with pytest.raises(HttpResponseError) as last_system:
        aks.agent_pools.begin_delete("rg", "papr-aks", "system").result()
    assert last_system.value.status_code == 400
    aks.agent_pools.begin_delete("rg", "papr-aks", "work").result()
    assert [p.name for p in aks.agent_pools.list("rg", "papr-aks")] == ["system"]


def test_user_and_admin_kubeconfigs(azure_double, resource_group, aks):
    created = aks.managed_clusters.begin_create_or_update("rg", "papr-aks", cluster()).result()
    azure_double.clear_log()
    for method, expected in (
        (aks.managed_clusters.list_cluster_user_credentials, "clusterUser"),
        (aks.managed_clusters.list_cluster_admin_credentials, "clusterAdmin"),
    ):
        result = method("rg", "papr-aks").kubeconfigs[0]
        assert result.name == expected
        raw = result.value if isinstance(result.value, bytes) else base64.b64decode(result.value)
        config = yaml.safe_load(raw)
        assert config["kind"] == "Config"
        assert config["clusters"][0]["cluster"]["server"] == f"https://{created.fqdn}:443"
        assert config["users"][0]["name"].startswith(f"{expected}_rg_papr-aks")
    assert azure_double.write_count() == 0  # the credential POSTs are reads

    aks.managed_clusters.begin_create_or_update(
        "rg", "local-off", cluster(dns_prefix="off", local_accounts=False)
    ).result()
    with pytest.raises(HttpResponseError) as refused:
        aks.managed_clusters.list_cluster_admin_credentials("rg", "local-off")
    assert refused.value.status_code == 400
    assert aks.managed_clusters.list_cluster_user_credentials("rg", "local-off").kubeconfigs


def test_bad_and_immutable_input(azure_double, resource_group, aks):
    for definition in (cluster(version="1.20"), cluster(dns_prefix="-bad-")):
        with pytest.raises(HttpResponseError) as bad:
            aks.managed_clusters.begin_create_or_update("rg", "papr-aks", definition).result()
        assert bad.value.status_code == 400
    aks.managed_clusters.begin_create_or_update("rg", "papr-aks", cluster()).result()
    with pytest.raises(HttpResponseError) as immutable:
        aks.managed_clusters.begin_create_or_update("rg", "papr-aks", cluster(dns_prefix="other")).result()
    assert immutable.value.error.code == "PropertyChangeNotAllowed"


def test_settings_aks_refuses_together(azure_double, resource_group, aks):
    no_entra = cluster(local_accounts=True)
    no_entra.disable_local_accounts = True
    with pytest.raises(HttpResponseError) as refused:
        aks.managed_clusters.begin_create_or_update("rg", "papr-aks", no_entra)
    assert refused.value.status_code == 400 and "AKS-managed Azure AD" in str(refused.value)
    no_issuer = cluster()
    no_issuer.security_profile = m.ManagedClusterSecurityProfile(
        workload_identity=m.ManagedClusterSecurityProfileWorkloadIdentity(enabled=True)
    )
    with pytest.raises(HttpResponseError) as refused:
        aks.managed_clusters.begin_create_or_update("rg", "papr-aks", no_issuer)
    assert refused.value.error.code == "InvalidParameter" and "OIDC issuer" in str(refused.value)
    with pytest.raises(ResourceNotFoundError):  # nothing was created
        aks.managed_clusters.get("rg", "papr-aks")


def test_stop_and_start(azure_double, resource_group, aks):
    aks.managed_clusters.begin_create_or_update("rg", "papr-aks", cluster()).result()
    aks.managed_clusters.begin_stop("rg", "papr-aks").result()
    assert aks.managed_clusters.get("rg", "papr-aks").power_state.code == "Stopped"
    aks.managed_clusters.begin_start("rg", "papr-aks").result()
    assert aks.managed_clusters.get("rg", "papr-aks").power_state.code == "Running"
    assert azure_double.requests("POST", "/start$")[-1].status == 202
