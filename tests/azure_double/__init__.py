"""A local HTTPS double of Azure Resource Manager and Entra ID for the collection's tests.

    from tests.azure_double import AzureDouble
    with AzureDouble() as azure:
        client = azure.client(ResourceManagementClient)

See README.md for the fixture, the CLI and what is modelled.
"""

from .server import AzureDouble, LogEntry

__all__ = ["AzureDouble", "LogEntry"]
