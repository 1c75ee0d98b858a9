"""Microsoft.Network (VNets, subnets, NSGs, private DNS), Microsoft.Authorization and the network blocks of
sites, container groups and PostgreSQL servers, through the real azure-mgmt-* clients."""

from __future__ import annotations

import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.containerinstance import ContainerInstanceManagementClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.postgresqlflexibleservers import PostgreSQLManagementClient
from azure.mgmt.privatedns import PrivateDnsManagementClient
from azure.mgmt.web import WebSiteManagementClient

WEB = "Microsoft.Web/serverFarms"
ACI = "Microsoft.ContainerInstance/containerGroups"
PG = "Microsoft.DBforPostgreSQL/flexibleServers"
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"


@pytest.fixture
def network(azure_double):
    return azure_double.client(NetworkManagementClient)


def vnet_body(delegations=None, nsg_id=None, subnets=None):
    delegations = delegations or {"apps": WEB, "temporal": ACI, "postgres": PG}
    prefixes = {
        "apps": "10.20.1.0/24",
        "temporal": "10.20.2.0/24",
        "postgres": "10.20.3.0/24",
        "aks": "10.20.8.0/21",
    }
    return {
        "location": "westus2",
        "properties": {
            "addressSpace": {"addressPrefixes": ["10.20.0.0/16"]},
            "subnets": subnets
            or [
                {
                    "name": name,
                    "properties": {
                        "addressPrefix": prefix,
                        "delegations": [{"name": "d", "properties": {"serviceName": delegations[name]}}]
                        if name in delegations
                        else [],
                        **({"networkSecurityGroup": {"id": nsg_id}} if nsg_id else {}),
                    },
                }
                for name, prefix in prefixes.items()
            ],
        },
    }


def make_vnet(network, **kwargs):
    return network.virtual_networks.begin_create_or_update("rg", "vnet", vnet_body(**kwargs)).result()


def subnet_id(azure_double, name):
    return (
        f"/subscriptions/{azure_double.subscription_id}/resourceGroups/rg/providers/Microsoft.Network/"
        f"virtualNetworks/vnet/subnets/{name}"
    )


def test_vnet_with_delegated_subnets_and_an_nsg(azure_double, resource_group, network):
    rule = {
        "name": "apps-to-temporal",
        "properties": {
            "protocol": "Tcp",
            "sourceAddressPrefix": "10.20.1.0/24",
            "sourcePortRange": "*",
            "destinationAddressPrefix": "10.20.2.0/24",
            "destinationPortRange": "7233",
            "access": "Allow",
            "priority": 100,
            "direction": "Inbound",
        },
    }
    nsg = network.network_security_groups.begin_create_or_update(
        "rg", "nsg", {"location": "westus2", "properties": {"securityRules": [rule]}}
    ).result()
    assert [r.name for r in nsg.security_rules] == ["apps-to-temporal"]
    assert {r.name for r in nsg.default_security_rules} >= {"DenyAllInBound", "AllowVnetInBound"}
    put = azure_double.requests("PUT")[-1]
    assert put.status == 201

    vnet = make_vnet(network, nsg_id=nsg.id)
    assert vnet.provisioning_state == "Succeeded"
    apps = next(s for s in vnet.subnets if s.name == "apps")
    assert apps.delegations[0].service_name == WEB
    assert apps.delegations[0].actions == ["Microsoft.Network/virtualNetworks/subnets/action"]
    assert apps.network_security_group.id == nsg.id
    aks = next(s for s in vnet.subnets if s.name == "aks")
    assert aks.delegations == []
    assert network.subnets.get("rg", "vnet", "postgres").delegations[0].service_name == PG
    # the NSG now lists the subnets it protects
    assert len(network.network_security_groups.get("rg", "nsg").subnets) == 4

    # second PUT: 200, a new etag
    etag = network.virtual_networks.get("rg", "vnet").etag
    make_vnet(network, nsg_id=nsg.id)
    assert azure_double.requests("PUT")[-1].status == 200
    assert network.virtual_networks.get("rg", "vnet").etag != etag


def test_network_refusals(azure_double, resource_group, network):
    body = vnet_body()
    body["properties"]["subnets"][0]["properties"]["addressPrefix"] = "10.99.0.0/24"
    with pytest.raises(HttpResponseError) as outside:
        network.virtual_networks.begin_create_or_update("rg", "vnet", body).result()
    assert outside.value.error.code == "NetcfgSubnetRangeOutsideVnet"
    body = vnet_body()
    body["properties"]["subnets"][1]["properties"]["addressPrefix"] = "10.20.1.128/25"
    with pytest.raises(HttpResponseError) as overlap:
        network.virtual_networks.begin_create_or_update("rg", "vnet", body).result()
    assert overlap.value.error.code == "NetcfgSubnetRangesOverlap"
    with pytest.raises(HttpResponseError) as missing_nsg:
        make_vnet(network, nsg_id=subnet_id(azure_double, "x").replace("virtualNetworks/vnet/subnets", "nsg"))
    assert missing_nsg.value.error.code == "InvalidResourceReference"
    with pytest.raises(HttpResponseError) as bad_delegation:
        make_vnet(network, delegations={"apps": "Microsoft.Nothing/things"})
    assert bad_delegation.value.error.code == "InvalidServiceNameOnDelegation"
    rules = [
        {
            "name": name,
            "properties": {
                "protocol": "Tcp",
                "sourceAddressPrefix": "*",
                "sourcePortRange": "*",
                "destinationAddressPrefix": "*",
                "destinationPortRange": "22",
                "access": "Deny",
                "priority": 200,
                "direction": "Inbound",
            },
        }
        for name in ("a", "b")
    ]
    with pytest.raises(HttpResponseError) as conflict:
        network.network_security_groups.begin_create_or_update(
            "rg", "nsg", {"location": "westus2", "properties": {"securityRules": rules}}
        ).result()
    assert conflict.value.error.code == "SecurityRuleConflict"
    assert azure_double.write_count() == 5  # refused writes are still writes sent


def test_sites_groups_and_servers_need_their_delegation(azure_double, resource_group, network):
    make_vnet(network)
    web = azure_double.client(WebSiteManagementClient)
    plan = web.app_service_plans.begin_create_or_update(
        "rg",
        "plan",
        {"location": "westus2", "kind": "linux", "properties": {"reserved": True}, "sku": {"name": "P1v3"}},
    ).result()
    site = {
        "location": "westus2",
        "identity": {"type": "SystemAssigned"},
        "properties": {
            "serverFarmId": plan.id,
            "virtualNetworkSubnetId": subnet_id(azure_double, "apps"),
            "vnetRouteAllEnabled": True,
            "publicNetworkAccess": "Disabled",
            "httpsOnly": True,
            "siteConfig": {"minTlsVersion": "1.2", "scmIpSecurityRestrictionsUseMain": True},
        },
    }
    created = web.web_apps.begin_create_or_update("rg", "papr-workers", site).result()
    assert created["identity"]["principalId"] and created["identity"]["tenantId"] == azure_double.tenant_id
    got = web.web_apps.get("rg", "papr-workers")["properties"]
    assert got["virtualNetworkSubnetId"] == subnet_id(azure_double, "apps")
    assert got["vnetRouteAllEnabled"] is True and got["publicNetworkAccess"] == "Disabled"
    config = web.web_apps.get_configuration("rg", "papr-workers")["properties"]
    assert config["vnetRouteAllEnabled"] is True and config["publicNetworkAccess"] == "Disabled"

    # access restrictions: the given rules, then an implicit "Deny all"
    web.web_apps.update_configuration(
        "rg",
        "papr-workers",
        {
            "properties": {
                "ipSecurityRestrictions": [
                    {"ipAddress": "203.0.113.0/24", "action": "Allow", "priority": 100, "name": "office"}
                ]
            }
        },
    )
    rules = web.web_apps.get_configuration("rg", "papr-workers")["properties"]["ipSecurityRestrictions"]
    assert [(r["name"], r["action"]) for r in rules] == [("office", "Allow"), ("Deny all", "Deny")]

    site["properties"]["virtualNetworkSubnetId"] = subnet_id(azure_double, "temporal")
    with pytest.raises(HttpResponseError) as wrong:
        web.web_apps.begin_create_or_update("rg", "papr-other", site).result()
    assert "Microsoft.Web/serverFarms" in str(wrong.value)

    aci = azure_double.client(ContainerInstanceManagementClient)
    group = {
        "location": "westus2",
        "properties": {
            "osType": "Linux",
            "containers": [
                {
                    "name": "temporal",
                    "properties": {
                        "image": "temporalio/server:1.27",
                        "ports": [{"port": 7233}],
                        "resources": {"requests": {"cpu": 2, "memoryInGB": 4}},
                    },
                }
            ],
            "ipAddress": {"type": "Private", "ports": [{"port": 7233}]},
            "subnetIds": [{"id": subnet_id(azure_double, "temporal")}],
        },
    }
    temporal = aci.container_groups.begin_create_or_update("rg", "temporal", group).result()
    assert temporal.ip_address.type == "Private"
    assert temporal.ip_address.ip == "10.20.2.4"  # the first address Azure hands out in a subnet
    assert temporal.ip_address.fqdn is None
    group["properties"]["ipAddress"]["dnsNameLabel"] = "papr-temporal"
    with pytest.raises(HttpResponseError) as labelled:
        aci.container_groups.begin_create_or_update("rg", "temporal2", group).result()
    assert labelled.value.error.code == "DnsNameLabelNotSupportedForPrivateIP"

    dns = azure_double.client(PrivateDnsManagementClient)
    zone = dns.private_zones.begin_create_or_update(
        "rg", "privatelink.postgres.database.azure.com", {"location": "global"}
    ).result()
    pg = azure_double.client(PostgreSQLManagementClient)
    server = {
        "location": "westus2",
        "sku": {"name": "Standard_B1ms", "tier": "Burstable"},
        "properties": {
            "administratorLogin": "papradmin",
            "administratorLoginPassword": "Str0ng!Passw0rd",
            "version": "16",
            "storage": {"storageSizeGB": 32},
            "network": {
                "delegatedSubnetResourceId": subnet_id(azure_double, "postgres"),
                "privateDnsZoneArmResourceId": zone.id,
            },
        },
    }
    created = pg.servers.begin_create_or_update("rg", "papr-pg", server).result()
    assert created.network.public_network_access == "Disabled"
    assert created.network.delegated_subnet_resource_id == subnet_id(azure_double, "postgres")
    with pytest.raises(HttpResponseError) as firewall:
        pg.firewall_rules.begin_create_or_update(
            "rg", "papr-pg", "anyone", {"startIpAddress": "0.0.0.0", "endIpAddress": "255.255.255.255"}
        ).result()
    assert firewall.value.error.code == "FirewallRuleNotSupportedWithoutPublicAccess"

    # a subnet in use cannot lose its delegation or go away
    with pytest.raises(HttpResponseError) as in_use:
        make_vnet(network, delegations={"apps": WEB, "temporal": ACI})
    assert in_use.value.error.code == "SubnetDelegationsCannotChangeWhenSubnetUsedByResource"
    with pytest.raises(HttpResponseError) as deleted:
        network.virtual_networks.begin_delete("rg", "vnet").result()
    assert deleted.value.error.code == "InUseSubnetCannotBeDeleted"


def test_private_dns_zone_link_and_a_record(azure_double, resource_group, network):
    make_vnet(network)
    dns = azure_double.client(PrivateDnsManagementClient)
    zone = dns.private_zones.begin_create_or_update("rg", "papr.internal", {"location": "global"}).result()
    put = azure_double.requests("PUT")[-1]
    assert put.status == 202
    assert zone.number_of_record_sets == 1  # the SOA record Azure makes
    vnet_id = network.virtual_networks.get("rg", "vnet").id
    link = dns.virtual_network_links.begin_create_or_update(
        "rg",
        "papr.internal",
        "vnet",
        {
            "location": "global",
            "properties": {"virtualNetwork": {"id": vnet_id}, "registrationEnabled": False},
        },
    ).result()
    assert link.virtual_network.id == vnet_id and link.virtual_network_link_state == "Completed"
    with pytest.raises(HttpResponseError):
        dns.virtual_network_links.begin_create_or_update(
            "rg",
            "papr.internal",
            "again",
            {"location": "global", "properties": {"virtualNetwork": {"id": vnet_id}}},
        ).result()
    record = dns.record_sets.create_or_update(
        "rg",
        "papr.internal",
        "A",
        "temporal",
        {"properties": {"ttl": 300, "aRecords": [{"ipv4Address": "10.20.2.4"}]}},
    )
    assert record.fqdn == "temporal.papr.internal."
    assert azure_double.requests("PUT")[-1].status == 201
    assert (
        dns.record_sets.get("rg", "papr.internal", "A", "temporal").a_records[0].ipv4_address == "10.20.2.4"
    )
    assert dns.private_zones.get("rg", "papr.internal").number_of_virtual_network_links == 1
    assert sorted(r.name for r in dns.record_sets.list("rg", "papr.internal")) == ["@", "temporal"]
    with pytest.raises(HttpResponseError):
        dns.private_zones.begin_delete("rg", "papr.internal").result()  # links first


def test_role_assignments_are_unique_by_principal_role_and_scope(azure_double, resource_group):
    auth = azure_double.client(AuthorizationManagementClient)
    scope = f"/subscriptions/{azure_double.subscription_id}/resourceGroups/rg"
    definitions = (
        f"/subscriptions/{azure_double.subscription_id}/providers/Microsoft.Authorization/roleDefinitions"
    )
    role = f"{definitions}/{ACR_PULL}"
    principal = str(uuid.uuid4())
    body = {"roleDefinitionId": role, "principalId": principal, "principalType": "ServicePrincipal"}
    name = str(uuid.uuid4())
    created = auth.role_assignments.create(scope, name, body)
    assert created.scope == scope and created.principal_id == principal
    assert auth.role_assignments.get(scope, name).role_definition_id.endswith(ACR_PULL)
    with pytest.raises(ResourceExistsError) as exists:
        auth.role_assignments.create(scope, str(uuid.uuid4()), body)
    assert exists.value.error.code == "RoleAssignmentExists"
    listed = list(auth.role_assignments.list_for_scope(scope, filter=f"principalId eq '{principal}'"))
    assert [a.name for a in listed] == [name]
    assert list(auth.role_assignments.list_for_scope(scope, filter="principalId eq 'nobody'")) == []
    definitions = list(auth.role_definitions.list(scope, filter="roleName eq 'AcrPull'"))
    assert [d.name for d in definitions] == [ACR_PULL]
    bad = dict(body, roleDefinitionId=role.replace(ACR_PULL, str(uuid.uuid4())))
    with pytest.raises(HttpResponseError) as unknown:
        auth.role_assignments.create(scope, str(uuid.uuid4()), bad)
    assert unknown.value.error.code == "RoleDefinitionDoesNotExist"
    auth.role_assignments.delete(scope, name)
    assert list(auth.role_assignments.list_for_scope(scope)) == []
