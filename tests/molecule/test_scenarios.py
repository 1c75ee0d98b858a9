"""Molecule scenarios on real systemd hosts (podman containers from the project's own image).

Each runs the scenario's full sequence: destroy, create, check (site.yml in check mode on the
fresh hosts), converge (site.yml), idempotence (the second converge must change nothing), verify
(through the API) and destroy.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent

pytestmark = [pytest.mark.molecule, pytest.mark.slow]


@pytest.fixture(scope="session")
def podman_env() -> dict[str, str]:
    """The environment for podman and Molecule; builds the host image once (then it is cached)."""
    missing = [tool for tool in ("podman", "runc", "iptables") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"podman hosts need {', '.join(missing)} (.ci/run installs them)")
    conf = subprocess.run(
        [str(REPO_ROOT / "scripts/podman-conf.sh")], check=True, capture_output=True, text=True
    ).stdout.strip()
    env = {**os.environ, "CONTAINERS_CONF": conf, "PATH": f"{VENV_BIN}:{os.environ['PATH']}"}
    env.pop("ANSIBLE_CONFIG", None)  # Molecule writes its own
    subprocess.run([str(REPO_ROOT / "scripts/host-image.sh")], check=True, env=env, timeout=900)
    # One build of the service for the whole session: converge and the idempotence run must
    # deploy the same wheels even if the working tree changes in between.
    for kind in ("service", "temporal"):
        subprocess.run(
            [sys.executable, str(REPO_ROOT / "scripts/wheelhouse.py"), kind],
            check=True,
            env=env,
            capture_output=True,
        )
    env["PAPR_WHEELHOUSE_FREEZE"] = "1"
    return env


def _run_scenario(env: dict[str, str], scenario: str) -> tuple[str, float]:
    started = time.monotonic()
    result = subprocess.run(
        [str(VENV_BIN / "molecule"), "test", "--scenario-name", scenario],
        cwd=REPO_ROOT,
        env={**env, "NO_COLOR": "1", "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"},
        capture_output=True,
        text=True,
        timeout=1500,
    )
    output = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, f"molecule test -s {scenario} failed:\n{output[-12000:]}"
    return output, elapsed


def _assert_steps_passed(output: str, scenario: str) -> None:
    for step in ("check", "converge", "idempotence", "verify"):
        # Molecule draws the arrow as ➜ on a terminal and as > otherwise.
        assert re.search(rf"{scenario} (?:➜|>) {step}: Executed: Successful", output), f"{step} did not pass"


@pytest.mark.timeout(1800)
def test_option1_single_host(podman_env: dict[str, str]) -> None:
    output, elapsed = _run_scenario(podman_env, "option1")
    _assert_steps_passed(output, "option1")
    print(f"molecule test -s option1: {elapsed:.0f} s")


@pytest.mark.timeout(1800)
def test_option2_split_hosts(podman_env: dict[str, str]) -> None:
    output, elapsed = _run_scenario(podman_env, "option2")
    _assert_steps_passed(output, "option2")
    # The verify step proved fault isolation: workers stopped, web /health 200, /health/workers 503.
    assert "The web server stays up and reports the missing workers" in output
    print(f"molecule test -s option2: {elapsed:.0f} s")
