"""Fixtures of the execution-environment tests: the EE image (built once, cached by its inputs),
one Azure double and one stand-in service (as tests/azure_site uses them)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.awx.awx_config import REPO
from tests.azure_double.pytest_plugin import azure_double, azure_double_server  # noqa: F401
from tests.azure_site.site_runner import StandInService
from tests.ports import free_port_block

# This folder's share of the port range 59500-59999: the stand-in stack's six consecutive ports.
STACK_PORT_BASES = range(59500, 59990, 10)


@pytest.fixture(scope="session")
def ee_image() -> str:
    """scripts/ee.py: builds the image the first time (minutes), later finds it unchanged."""
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "ee.py")], capture_output=True, text=True, timeout=3600
    )
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout)
    print(f"\nEE image {report['image']}: {report['size_mb']} MB, build {report['build_seconds']} s")
    return report["image"]


@pytest.fixture(scope="session")
def stand_in_service():
    # Not pytest's tmp_path: the postgres account must be able to reach its data folder.
    state_dir = Path(tempfile.mkdtemp(prefix="papr-awx-", dir="/tmp"))
    service = StandInService(state_dir, free_port_block(6, STACK_PORT_BASES))
    try:
        service.start()
        yield service
    finally:
        service.stop()
        shutil.rmtree(state_dir, ignore_errors=True)
