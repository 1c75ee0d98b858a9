"""Fixtures: one Azure double and one stand-in service (local stack) for the whole folder."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.azure_double.pytest_plugin import azure_double, azure_double_server  # noqa: F401
from tests.azure_site.site_runner import SiteRunner, StandInService
from tests.ports import free_port_block

# This folder's share of the port range 59000-59499: the stand-in stack's six consecutive ports.
STACK_PORT_BASES = range(59010, 59490, 10)


@pytest.fixture(scope="session")
def stand_in_service():
    # Not pytest's tmp_path: the postgres account must be able to reach its data folder.
    state_dir = Path(tempfile.mkdtemp(prefix="papr-azure-site-", dir="/tmp"))
    service = StandInService(state_dir, free_port_block(6, STACK_PORT_BASES))
    try:
        service.start()
        yield service
    finally:
        service.stop()
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def site(azure_double_server, stand_in_service, tmp_path_factory):  # noqa: F811
    return SiteRunner(azure_double_server, stand_in_service, tmp_path_factory.mktemp("azure-site"))
