# Copyright: PAPR Memory engineers
# Apache-2.0
"""Microsoft.DBforPostgreSQL flexible servers: a server and its databases, firewall rules and parameters."""

from __future__ import annotations

from ansible_collections.papr.memory.plugins.module_utils.azure_service import AzureService


class PostgresServers(AzureService):
    """One flexible server (the postgres_flexible_server module's service)."""

    client_kind = "postgres"

    def _at(self, operation):
        """Leading arguments of every call on this server."""
        return operation, self.resource_group, self.name

    # the server
    def get_server(self):
        return self.get(*self._at(self.client.servers.get))

    def create(self, body):
        return self.write("create", *self._at(self.client.servers.begin_create_or_update), body)

    def update(self, body):
        return self.write("update", *self._at(self.client.servers.begin_update), body)

    def start(self):
        return self.write("start", *self._at(self.client.servers.begin_start))

    def delete(self):
        return self.write("delete", *self._at(self.client.servers.begin_delete))

    # databases
    def list_databases(self):
        return self.read_list("list the databases of", *self._at(self.client.databases.list_by_server))

    def create_database(self, name, body):
        return self.write(
            f"create database {name!r} on", *self._at(self.client.databases.begin_create), name, body
        )

    # firewall rules
    def list_firewall_rules(self):
        return self.read_list(
            "list the firewall rules of", *self._at(self.client.firewall_rules.list_by_server)
        )

    def set_firewall_rule(self, name, body):
        operation = self.client.firewall_rules.begin_create_or_update
        return self.write(f"set firewall rule {name!r} of", *self._at(operation), name, body)

    def delete_firewall_rule(self, name):
        return self.write(
            f"delete firewall rule {name!r} of", *self._at(self.client.firewall_rules.begin_delete), name
        )

    # server parameters
    def get_parameter(self, name):
        return self.get(*self._at(self.client.configurations.get), name)

    def set_parameter(self, name, body):
        operation = self.client.configurations.begin_put
        return self.write(f"set server parameter {name!r} of", *self._at(operation), name, body)
