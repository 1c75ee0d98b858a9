"""roles/network (papr_platform=azure) against the Azure double: the VNet, its delegated subnets, NSGs
with exactly the needed flows, the private DNS zones; rerun and check mode write nothing; drift restored."""

from __future__ import annotations

from tests.azure_modules.conftest import make_resource_group, resource_id

GROUP = "papr-memory-prod"
PREFIX = "papr-memory-prod"
ROLE_VARS = {
    "papr_platform": "azure",
    "papr_azure_resource_group": GROUP,
    "papr_azure_location": "westeurope",
    "papr_azure_name_prefix": PREFIX,
}


def role_task(**extra_vars):
    return {
        "ansible.builtin.include_role": {"name": "papr.memory.network"},
        "vars": {**ROLE_VARS, **extra_vars},
    }


def network_id(double, path):
    return resource_id(double, GROUP, f"Microsoft.Network/{path}")


def inbound_flows(double, subnet):
    """(sources, destinations, ports, access, priority) of every rule on a subnet's NSG."""
    nsg = double.resource(network_id(double, f"networkSecurityGroups/{PREFIX}-{subnet}"))
    flows = []
    for rule in nsg["properties"]["securityRules"]:
        props = rule["properties"]
        assert props["direction"] == "Inbound"
        flows.append(
            (
                sorted(props.get("sourceAddressPrefixes") or [props.get("sourceAddressPrefix")]),
                props.get("destinationPortRange") or props.get("destinationPortRanges"),
                props["access"],
                props["priority"],
            )
        )
    return sorted(flows, key=lambda flow: flow[3])


def test_network_role_builds_exactly_the_needed_flows(run_tasks, azure_double):
    make_resource_group(azure_double, GROUP)
    checked = run_tasks([role_task()], check=True)
    assert checked.writes == 0

    first = run_tasks([role_task()])
    vnet = azure_double.resource(network_id(azure_double, f"virtualNetworks/{PREFIX}-vnet"))
    subnets = {s["name"]: s["properties"] for s in vnet["properties"]["subnets"]}
    assert vnet["properties"]["addressSpace"]["addressPrefixes"] == ["10.20.0.0/16"]
    assert {name: props["addressPrefix"] for name, props in subnets.items()} == {
        "apps": "10.20.0.0/20",
        "temporal": "10.20.16.0/20",
        "postgres": "10.20.32.0/20",
        "aks": "10.20.128.0/17",
    }
    assert {name: [d["serviceName"] for d in props["delegations"]] for name, props in subnets.items()} == {
        "apps": ["Microsoft.Web/serverFarms"],
        "temporal": ["Microsoft.ContainerInstance/containerGroups"],
        "postgres": ["Microsoft.DBforPostgreSQL/flexibleServers"],
        "aks": [],
    }
    # apps -> Temporal 7233; apps and Temporal -> PostgreSQL 5432; nothing else inbound (the deny at 4096
    # comes before Azure's own AllowVnetInBound / AllowAzureLoadBalancerInBound at 65000+)
    assert inbound_flows(azure_double, "apps") == [(["*"], "*", "Deny", 4096)]
    assert inbound_flows(azure_double, "temporal") == [
        (["10.20.0.0/20"], "7233", "Allow", 100),
        (["*"], "*", "Deny", 4096),
    ]
    assert inbound_flows(azure_double, "postgres") == [
        (["10.20.0.0/20", "10.20.16.0/20"], "5432", "Allow", 100),
        (["*"], "*", "Deny", 4096),
    ]
    for zone in ("privatelink.postgres.database.azure.com", f"{PREFIX}.papr.internal"):
        link = azure_double.resource(
            network_id(azure_double, f"privateDnsZones/{zone}/virtualNetworkLinks/{PREFIX}-vnet")
        )
        assert link["properties"]["virtualNetwork"]["id"].lower() == vnet["id"].lower()
    assert first.writes == 8  # 3 NSGs, the VNet, 2 zones and their links

    rerun = run_tasks([role_task()])
    assert rerun.writes == 0
    assert [r for r in rerun.results() if r.get("changed")] == []


def test_drift_of_a_delegation_and_a_rule_is_restored(run_tasks, azure_double):
    make_resource_group(azure_double, GROUP)
    run_tasks([role_task()])
    vnet_id = network_id(azure_double, f"virtualNetworks/{PREFIX}-vnet")

    def undelegate_postgres(state):
        next(s for s in state["properties"]["subnets"] if s["name"] == "postgres")["properties"][
            "delegations"
        ] = []

    def open_temporal_to_everyone(state):
        state["properties"]["securityRules"][0]["properties"]["sourceAddressPrefix"] = "*"
        state["properties"]["securityRules"][0]["properties"]["sourceAddressPrefixes"] = []

    azure_double.drift(vnet_id, undelegate_postgres)
    azure_double.drift(
        network_id(azure_double, f"networkSecurityGroups/{PREFIX}-temporal"), open_temporal_to_everyone
    )

    restored = run_tasks([role_task()])
    assert restored.writes == 2
    subnets = {s["name"]: s for s in azure_double.resource(vnet_id)["properties"]["subnets"]}
    assert (
        subnets["postgres"]["properties"]["delegations"][0]["serviceName"]
        == "Microsoft.DBforPostgreSQL/flexibleServers"
    )
    assert inbound_flows(azure_double, "temporal")[0] == (["10.20.0.0/20"], "7233", "Allow", 100)
    assert run_tasks([role_task()]).writes == 0


def test_a_bad_address_space_fails_before_any_request(run_tasks, azure_double):
    # One run per input, each ending at the role's input check.
    for address_space, complaint in (
        ("10.20.0.0/24", "is too small"),
        ("8.8.0.0/16", "is not a private address range"),
    ):
        run = run_tasks([role_task(network_azure_address_space=address_space)], expect_rc=2)
        failure = next(result["msg"] for result in run.results() if result.get("failed"))
        assert f"network_azure_address_space='{address_space}' {complaint}" in failure
        assert [r for r in run.requests if r[1].lower().startswith("/subscriptions")] == []
