"""The opt-out, papr_network: public, on inventories/dev (option 1): the old layout - Temporal on a
public IP with a DNS label, PostgreSQL public behind firewall rules, no virtual network - still
deploys, verifies and converges (a second run writes nothing)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

GROUP = "papr-memory-dev"
PREFIX = "papr-memory-dev"
PUBLIC = {"papr_network": "public"}


def test_public_network_deploys_the_old_way_and_converges(site, azure_double_server):
    double = azure_double_server
    double.reset()
    first = site.run("dev", extra_vars=PUBLIC)
    assert first.rc == 0, first.output[-6000:]
    assert "papr.memory.verify : The API stores a memory and finds it by search" in first.output

    def arm_id(path: str) -> str:
        return f"/subscriptions/{double.subscription_id}/resourceGroups/{GROUP}/providers/{path}"

    ids = double.snapshot()
    assert not any("/providers/microsoft.network/" in rid for rid in ids), "no network in public mode"
    group = double.resource(arm_id(f"Microsoft.ContainerInstance/containerGroups/{PREFIX}-temporal"))
    assert group["properties"]["ipAddress"]["type"] == "Public"
    assert group["properties"]["ipAddress"]["dnsNameLabel"] == f"{PREFIX}-temporal"
    assert [c["name"] for c in group["properties"]["containers"]] == ["temporal"]
    server = arm_id(f"Microsoft.DBforPostgreSQL/flexibleServers/{PREFIX}-pg")
    assert double.resource(server)["properties"]["network"]["publicNetworkAccess"] == "Enabled"
    rules = [rid for rid in ids if rid.startswith(server.lower() + "/firewallrules/")]
    assert rules, "the apps and Temporal get in through firewall rules"
    settings = double.resource(arm_id(f"Microsoft.Web/sites/{PREFIX}-web/config/appsettings"))["properties"]
    assert settings["TEMPORAL_ADDRESS"] == f"{PREFIX}-temporal.westeurope.azurecontainer.io:7233"
    assert not double.resource(arm_id(f"Microsoft.Web/sites/{PREFIX}-web"))["properties"].get(
        "virtualNetworkSubnetId"
    )

    second = site.run("dev", extra_vars=PUBLIC)
    assert second.rc == 0, second.output[-6000:]
    assert second.recap()["changed"] == 0, second.changed_tasks()
    assert second.writes == []
    double.reset()
