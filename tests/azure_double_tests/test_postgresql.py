"""Microsoft.DBforPostgreSQL flexible servers through the real azure-mgmt-postgresqlflexibleservers client."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.postgresqlflexibleservers import PostgreSQLManagementClient
from azure.mgmt.postgresqlflexibleservers import models as m


@pytest.fixture
def pg(azure_double):
    return azure_double.client(PostgreSQLManagementClient)


def server(size=128, password="Sup3r-secret!", sku="Standard_D2ds_v5", tier="GeneralPurpose"):  # noqa: S107
    return m.Server(
        location="westus2",
        sku=m.Sku(name=sku, tier=tier),
        properties=m.ServerProperties(
            administrator_login="papradmin",
            administrator_login_password=password,
            version="16",
            storage=m.Storage(storage_size_gb=size),
            high_availability=m.HighAvailability(mode="Disabled"),
        ),
    )


def test_server_lifecycle(azure_double, resource_group, pg):
    poller = pg.servers.begin_create_or_update("rg", "papr-db", server())
    put = azure_double.requests("PUT")[-1]
    assert put.status == 202
    created = poller.result()
    props = created.properties
    assert (
        props.state == "Ready" and props.fully_qualified_domain_name == "papr-db.postgres.database.azure.com"
    )
    assert (props.storage.storage_size_gb, props.storage.tier, props.storage.iops) == (128, "P10", 500)
    assert props.administrator_login_password is None
    assert props.high_availability.state == "NotEnabled" and props.network.public_network_access == "Enabled"
    assert created.location == "West US 2"
    grown = pg.servers.begin_update(
        "rg",
        "papr-db",
        m.ServerForPatch(properties=m.ServerPropertiesForPatch(storage=m.Storage(storage_size_gb=256))),
    ).result()
    assert grown.properties.storage.storage_size_gb == 256
    assert [s.name for s in pg.servers.list_by_resource_group("rg")] == ["papr-db"]
    pg.servers.begin_delete("rg", "papr-db").result()
    with pytest.raises(ResourceNotFoundError):
        pg.servers.get("rg", "papr-db")


def test_bad_server_input_is_refused(azure_double, resource_group, pg):
    for definition in (
        server(size=100),
        server(password="short"),
        server(sku="Standard_Z1"),
        server(sku="Standard_B1ms", tier="GeneralPurpose"),
    ):
        with pytest.raises(HttpResponseError) as bad:
            pg.servers.begin_create_or_update("rg", "papr-db", definition).result()
        assert bad.value.status_code == 400 and bad.value.error.code
    pg.servers.begin_create_or_update("rg", "papr-db", server(size=256)).result()
    with pytest.raises(HttpResponseError) as shrink:
        pg.servers.begin_create_or_update("rg", "papr-db", server(size=128)).result()
    assert shrink.value.status_code == 400


def test_databases_firewall_rules_and_extensions(azure_double, resource_group, pg):
    pg.servers.begin_create_or_update("rg", "papr-db", server()).result()
    database = pg.databases.begin_create(
        "rg",
        "papr-db",
        "memory",
        m.Database(properties=m.DatabaseProperties(charset="utf8", collation="en_US.utf8")),
    ).result()
    assert database.properties.charset == "UTF8"
    assert [d.name for d in pg.databases.list_by_server("rg", "papr-db")] == [
        "azure_maintenance",
        "postgres",
        "azure_sys",
        "memory",
    ]

    rule = pg.firewall_rules.begin_create_or_update(
        "rg",
        "papr-db",
        "controller",
        m.FirewallRule(
            properties=m.FirewallRuleProperties(start_ip_address="10.0.0.1", end_ip_address="10.0.0.9")
        ),
    ).result()
    assert rule.properties.end_ip_address == "10.0.0.9"
    with pytest.raises(HttpResponseError):
        pg.firewall_rules.begin_create_or_update(
            "rg",
            "papr-db",
            "backwards",
            m.FirewallRule(
                properties=m.FirewallRuleProperties(start_ip_address="10.0.0.9", end_ip_address="10.0.0.1")
            ),
        ).result()

    extensions = pg.configurations.get("rg", "papr-db", "azure.extensions")
    assert (
        extensions.properties.source == "system-default"
        and "btree_gin" in extensions.properties.allowed_values.split(",")  # the real list is lower case
    )
    set_ = pg.configurations.begin_put(
        "rg",
        "papr-db",
        "azure.extensions",
        m.Configuration(
            properties=m.ConfigurationProperties(value="BTREE_GIN,PG_TRGM", source="user-override")
        ),
    ).result()
    assert (set_.properties.value, set_.properties.source) == ("BTREE_GIN,PG_TRGM", "user-override")
    with pytest.raises(HttpResponseError) as bad:
        pg.configurations.begin_put(
            "rg",
            "papr-db",
            "azure.extensions",
            m.Configuration(
                properties=m.ConfigurationProperties(value="NOT_AN_EXTENSION", source="user-override")
            ),
        ).result()
    assert bad.value.status_code == 400
    static = pg.configurations.begin_put(
        "rg",
        "papr-db",
        "shared_preload_libraries",
        m.Configuration(properties=m.ConfigurationProperties(value="pg_cron,pg_stat_statements,pgaudit")),
    ).result()
    assert static.properties.is_config_pending_restart is True
    pg.servers.begin_restart("rg", "papr-db").result()
    assert (
        pg.configurations.get(
            "rg", "papr-db", "shared_preload_libraries"
        ).properties.is_config_pending_restart
        is False
    )

    pg.databases.begin_delete("rg", "papr-db", "memory").result()
    pg.firewall_rules.begin_delete("rg", "papr-db", "controller").result()
    assert "memory" not in [d.name for d in pg.databases.list_by_server("rg", "papr-db")]
    assert list(pg.firewall_rules.list_by_server("rg", "papr-db")) == []


def test_deleting_the_group_deletes_the_server(azure_double, resource_group, pg):
    from azure.mgmt.resource.resources import ResourceManagementClient

    pg.servers.begin_create_or_update("rg", "papr-db", server()).result()
    azure_double.client(ResourceManagementClient).resource_groups.begin_delete("rg").result()
    assert azure_double.snapshot() == {}
