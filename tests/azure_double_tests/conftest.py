"""Fixtures for the double's own tests (pytest_plugins only works in the root conftest, so import)."""

from __future__ import annotations

import pytest
from azure.mgmt.resource.resources import ResourceManagementClient

from tests.azure_double.pytest_plugin import azure_double, azure_double_server  # noqa: F401


@pytest.fixture
def resource_group(azure_double):  # noqa: F811 - the fixture imported above
    """A resource group "rg" in westus2 for tests that need one."""
    client = azure_double.client(ResourceManagementClient)
    client.resource_groups.create_or_update("rg", {"location": "westus2"})
    azure_double.clear_log()
    return "rg"


def pytest_terminal_summary(terminalreporter):
    """The fidelity numbers per recording (status / LRO / shape / keys, percent), whenever they ran."""
    from tests.azure_double.fidelity import HEADER, RESULTS, total

    if not RESULTS:
        return
    terminalreporter.section("Azure double fidelity against real recorded Azure traffic (percent)")
    terminalreporter.write_line(HEADER)
    for name in sorted(RESULTS):
        terminalreporter.write_line(RESULTS[name].line())
    terminalreporter.write_line(total(list(RESULTS.values())).line())
