"""pytest fixtures for the Azure double.

Use from a conftest.py:  pytest_plugins = ["tests.azure_double.pytest_plugin"]

- `azure_double_server` (session): one running double for the whole test session.
- `azure_double` (function): the same double, reset before each test (no resources, faults or log).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .server import AzureDouble


@pytest.fixture(scope="session")
def azure_double_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzureDouble]:
    double = AzureDouble(state_dir=tmp_path_factory.mktemp("azure-double"))
    double.start()
    try:
        yield double
    finally:
        double.stop()


@pytest.fixture
def azure_double(azure_double_server: AzureDouble) -> Iterator[AzureDouble]:
    azure_double_server.reset()
    azure_double_server.operations.default_polls = 1
    yield azure_double_server
    azure_double_server.reset()
