"""papr.memory.virtual_network, network_security_group, private_dns_zone and role_assignment against the
Azure double: create, rerun without writes, check mode, drift restored, refusals before any write."""

from __future__ import annotations

import uuid

import pytest

from tests.azure_modules.conftest import failures_of, make_resource_group, resource_id, sent

GROUP = "papr-net"
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
PRINCIPAL = "11111111-2222-3333-4444-555555555555"
RULES = [
    {
        "name": "apps-to-temporal",
        "priority": 100,
        "source_address_prefixes": ["10.20.1.0/24"],
        "destination_address_prefixes": ["10.20.2.0/24"],
        "destination_ports": ["7233"],
    },
    {"name": "deny-other-inbound", "priority": 4096, "access": "Deny", "protocol": "*"},
]
SUBNETS = [
    {"name": "apps", "address_prefix": "10.20.1.0/24", "delegation": "Microsoft.Web/serverFarms"},
    {
        "name": "temporal",
        "address_prefix": "10.20.2.0/24",
        "delegation": "Microsoft.ContainerInstance/containerGroups",
        "network_security_group": "temporal",
    },
    {"name": "aks", "address_prefix": "10.20.8.0/21"},
]


def nsg_task(**options):
    return {
        "papr.memory.network_security_group": {
            "name": "temporal",
            "resource_group": GROUP,
            "rules": RULES,
            **options,
        }
    }


def vnet_task(**options):
    return {
        "papr.memory.virtual_network": {
            "name": "vnet",
            "resource_group": GROUP,
            "address_prefixes": ["10.20.0.0/16"],
            "subnets": SUBNETS,
            **options,
        }
    }


def zone_task():
    """A private DNS zone linked to the VNet, with Temporal's A record."""
    return {
        "papr.memory.private_dns_zone": {
            "name": "papr.internal",
            "resource_group": GROUP,
            "links": [{"name": "vnet", "virtual_network": "vnet"}],
            "a_records": [{"name": "temporal", "addresses": ["10.20.2.4"]}],
        }
    }


def vnet_id(double):
    return resource_id(double, GROUP, "Microsoft.Network/virtualNetworks/vnet")


def test_network_and_nsg_converge_and_rerun_writes_nothing(run_tasks, azure_double):
    make_resource_group(azure_double, GROUP)
    checked = run_tasks([nsg_task(), vnet_task()], check=True)
    assert checked.writes == 0
    assert [r["changed"] for r in checked.results()] == [True, True]
    assert checked.result(0)["operations"][0]["action"] == "create"

    created = run_tasks([nsg_task(), vnet_task()])
    assert created.writes == 2
    network = created.result(1)["virtual_network"]
    assert network["subnets"]["apps"]["delegation"] == "Microsoft.Web/serverFarms"
    assert network["subnets"]["temporal"]["id"].endswith("/subnets/temporal")
    assert network["subnets"]["temporal"]["network_security_group"].endswith(
        "/networksecuritygroups/temporal"
    )
    stored = azure_double.resource(
        resource_id(azure_double, GROUP, "Microsoft.Network/networkSecurityGroups/temporal")
    )
    assert [(r["name"], r["properties"]["priority"]) for r in stored["properties"]["securityRules"]] == [
        ("apps-to-temporal", 100),
        ("deny-other-inbound", 4096),
    ]

    rerun = run_tasks([nsg_task(), vnet_task()])
    assert rerun.writes == 0
    assert [r["changed"] for r in rerun.results()] == [False, False]
    assert rerun.result(0)["operations"] == []
    assert run_tasks([nsg_task(), vnet_task()], check=True).writes == 0


def test_drifted_delegation_and_rule_are_restored(run_tasks, azure_double):
    make_resource_group(azure_double, GROUP)
    run_tasks.setup([nsg_task(), vnet_task()])

    def drop_delegation(state):
        apps = next(s for s in state["properties"]["subnets"] if s["name"] == "apps")
        apps["properties"]["delegations"] = []

    azure_double.drift(vnet_id(azure_double), drop_delegation)
    nsg_id = resource_id(azure_double, GROUP, "Microsoft.Network/networkSecurityGroups/temporal")

    def open_rule(state):
        state["properties"]["securityRules"][0]["properties"]["sourceAddressPrefix"] = "Internet"

    azure_double.drift(nsg_id, open_rule)

    checked = run_tasks([nsg_task(), vnet_task()], check=True, diff=True)
    assert checked.writes == 0
    assert checked.result(0)["operations"][0]["changes"] == ["rules.apps-to-temporal"]
    assert checked.result(1)["operations"][0]["changes"] == ["subnets.apps"]
    assert checked.result(1)["diff"]["before"]["subnets"]["apps"]["delegation"] is None

    restored = run_tasks([nsg_task(), vnet_task()])
    assert restored.writes == 2
    apps = next(
        s
        for s in azure_double.resource(vnet_id(azure_double))["properties"]["subnets"]
        if s["name"] == "apps"
    )
    assert apps["properties"]["delegations"][0]["serviceName"] == "Microsoft.Web/serverFarms"
    assert azure_double.resource(nsg_id)["properties"]["securityRules"][0]["properties"][
        "sourceAddressPrefix"
    ] == ("10.20.1.0/24")
    assert run_tasks([nsg_task(), vnet_task()]).writes == 0


def test_bad_input_fails_before_any_request(run_tasks, azure_double):
    make_resource_group(azure_double, GROUP)
    outside = [{"name": "x", "address_prefix": "10.99.0.0/24"}]
    overlap = [
        {"name": "a", "address_prefix": "10.20.1.0/24"},
        {"name": "b", "address_prefix": "10.20.1.128/25"},
    ]
    twice = [dict(RULES[0]), dict(RULES[0], name="again")]
    run, messages = failures_of(
        run_tasks,
        [
            vnet_task(subnets=outside),
            vnet_task(subnets=overlap),
            nsg_task(rules=twice),
            {"papr.memory.private_dns_zone": {"name": "z.internal", "resource_group": GROUP,
                                              "a_records": [{"name": "t", "addresses": ["10.1.2"]}]}},
            {"papr.memory.role_assignment": {"scope": "g", "role": "AcrPull", "principal_id": PRINCIPAL}},
        ],
    )  # fmt: skip
    assert "subnets[x].address_prefix 10.99.0.0/24 is outside address_prefixes" in messages[0]
    assert "overlaps subnet 'a'" in messages[1]
    assert "share priority 100" in messages[2]
    assert "a_records[t].addresses: '10.1.2' is not an IPv4 address" in messages[3]
    assert "scope must be an id" in messages[4]
    assert run.writes == 0
    assert [r for r in run.requests if r[1].lower().startswith("/subscriptions")] == []  # not even a read


def test_private_dns_zone_with_link_and_record(run_tasks, azure_double):
    make_resource_group(azure_double, GROUP)
    run_tasks.setup([vnet_task(subnets=[])])
    zone = zone_task()
    checked = run_tasks([zone], check=True)
    assert checked.writes == 0
    assert [op["action"] for op in checked.result()["operations"]] == ["create", "create", "create"]
    created = run_tasks([zone])
    assert created.writes == 3
    assert created.result()["private_dns_zone"]["a_records"]["temporal"]["fqdn"] == "temporal.papr.internal."
    zone_id = resource_id(azure_double, GROUP, "Microsoft.Network/privateDnsZones/papr.internal")
    assert azure_double.resource(zone_id + "/A/temporal")["properties"]["aRecords"] == [
        {"ipv4Address": "10.20.2.4"}
    ]
    assert run_tasks([zone]).writes == 0

    # Temporal moved: the record follows; an extra record added by hand goes
    azure_double.drift(
        zone_id + "/A/temporal", lambda s: s["properties"].update(aRecords=[{"ipv4Address": "10.9.9.9"}])
    )
    moved = {"papr.memory.private_dns_zone": dict(zone["papr.memory.private_dns_zone"], a_records=[
        {"name": "temporal", "addresses": ["10.20.2.5"]}])}  # fmt: skip
    updated = run_tasks([moved])
    assert [op["action"] for op in updated.result()["operations"]] == ["update"]
    assert updated.result()["operations"][0]["changes"] == ["addresses"]
    assert azure_double.resource(zone_id + "/A/temporal")["properties"]["aRecords"] == [
        {"ipv4Address": "10.20.2.5"}
    ]

    absent = {
        "papr.memory.private_dns_zone": {"name": "papr.internal", "resource_group": GROUP, "state": "absent"}
    }
    removed = run_tasks([absent])
    assert [op["action"] for op in removed.result()["operations"]] == [
        "delete",
        "delete",
    ]  # the link, the zone
    assert azure_double.resource(zone_id) is None
    assert run_tasks([absent]).writes == 0


def test_role_assignment_is_found_by_principal_role_and_scope(run_tasks, azure_double):
    make_resource_group(azure_double, GROUP)
    scope = resource_id(azure_double, GROUP)
    principal = str(uuid.uuid4())
    task = {"papr.memory.role_assignment": {"scope": scope, "role": "AcrPull", "principal_id": principal}}

    assert run_tasks([task], check=True).writes == 0
    created = run_tasks([task])
    assert created.writes == 1
    assignment = created.result()["role_assignment"]
    assert assignment["role_definition_id"].endswith(ACR_PULL) and assignment["principal_id"] == principal

    rerun = run_tasks([task])
    assert rerun.writes == 0 and rerun.result()["changed"] is False
    by_id = {"papr.memory.role_assignment": dict(task["papr.memory.role_assignment"], role=ACR_PULL)}
    assert run_tasks([by_id]).writes == 0  # the same assignment, named by GUID

    gone = {"papr.memory.role_assignment": dict(task["papr.memory.role_assignment"], state="absent")}
    assert run_tasks([gone]).writes == 1
    assert run_tasks([gone]).writes == 0

    unknown = {"papr.memory.role_assignment": dict(task["papr.memory.role_assignment"], role="NoSuchRole")}
    run, messages = failures_of(run_tasks, [unknown])
    assert "role 'NoSuchRole' matches 0 role definitions" in messages[0]
    assert run.writes == 0


def test_role_assignment_refused_create_or_delete_changes_nothing(run_tasks, azure_double):
    """A role assignment is one synchronous PUT or DELETE and has no provisioning or stopped state: a
    refused write landed nothing, so the task reports unchanged and the rerun sends it again."""
    make_resource_group(azure_double, GROUP)
    scope = resource_id(azure_double, GROUP)
    options = {"scope": scope, "role": "AcrPull", "principal_id": str(uuid.uuid4())}
    task = {"papr.memory.role_assignment": options}
    no_retries = {"PAPR_AZURE_MAX_RETRIES": "0"}

    def assignments():
        return [key for key in azure_double.snapshot() if "/roleassignments/" in key]

    azure_double.inject_status(
        r"/roleAssignments/", 403, method="PUT", code="AuthorizationFailed", message="No write access."
    )
    refused = run_tasks([task], env=no_retries, expect_rc=2).result()
    assert refused["changed"] is False and sent(refused) == [("create", True)]
    assert "No write access" in refused["msg"] and assignments() == []
    created = run_tasks([task])
    assert created.result()["changed"] is True and created.writes == 1 and len(assignments()) == 1

    azure_double.inject_status(r"/roleAssignments/", 500, method="DELETE", times=None)
    gone = {"papr.memory.role_assignment": {**options, "state": "absent"}}
    kept = run_tasks([gone], env=no_retries, expect_rc=2).result()
    assert kept["changed"] is False and sent(kept) == [("delete", True)] and "HTTP 500" in kept["msg"]
    assert len(assignments()) == 1
    azure_double.clear_faults()
    assert run_tasks([gone]).writes == 1 and assignments() == []


# --- a write sent, then a failure (tests/azure_modules/test_runner.py has the other modules') -------
@pytest.mark.parametrize(
    "make_task, path",
    [
        (lambda: vnet_task(subnets=SUBNETS[:1]), r"/virtualNetworks/vnet$"),  # no NSG to refer to
        (nsg_task, r"/networkSecurityGroups/temporal$"),
    ],
    ids=["virtual_network", "network_security_group"],
)
def test_create_accepted_then_failed_reports_changed(run_tasks, azure_double, make_task, path):
    make_resource_group(azure_double, GROUP)
    azure_double.fail_operations(path, "InternalServerError", "Allocation failed.", method="PUT")
    failed = run_tasks([make_task()], expect_rc=2)
    result = failed.result()
    assert result["failed"] is True and result["changed"] is True  # Azure accepted the create
    assert sent(result) == [("create", True)] and failed.writes == 1
    assert "Allocation failed" in result["msg"]


def test_dns_record_refused_after_the_zone_and_link_were_written_reports_changed(run_tasks, azure_double):
    make_resource_group(azure_double, GROUP)
    run_tasks.setup([vnet_task(subnets=[])])
    zone = zone_task()
    azure_double.inject_status(r"/A/temporal$", 500, method="PUT", times=None)
    failed = run_tasks([zone], env={"PAPR_AZURE_MAX_RETRIES": "0"}, expect_rc=2)
    result = failed.result()
    assert result["changed"] is True
    assert sent(result) == [("create", False), ("create", False), ("create", True)]
    assert "temporal" in result["operations"][2]["target"]
    zone_id = resource_id(azure_double, GROUP, "Microsoft.Network/privateDnsZones/papr.internal")
    assert (
        azure_double.resource(zone_id) is not None and azure_double.resource(zone_id + "/A/temporal") is None
    )

    azure_double.clear_faults()
    completed = run_tasks([zone])  # the rerun sends only what is missing
    assert sent(completed.result()) == [("create", False)] and completed.writes == 1
