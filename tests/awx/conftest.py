"""Fixtures of the execution-environment tests: the EE image (built once, cached by its inputs),
one Azure double and one stand-in service (as tests/azure_site uses them)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.awx.awx_config import REPO
from tests.azure_double.pytest_plugin import azure_double, azure_double_server  # noqa: F401
from tests.azure_site.site_runner import running_stand_in

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
    with running_stand_in("papr-awx-", STACK_PORT_BASES) as service:
        yield service
