"""`make demo` end to end: a local systemd host, site.yml on it, and the curl lines it prints work.

Runs scripts/demo.sh (what `make demo` and `make demo-down` call) and then the exact curl lines
from its output.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO = REPO_ROOT / "scripts/demo.sh"
DEMO_PORT = "57501"

pytestmark = [pytest.mark.molecule, pytest.mark.slow]


def _demo(command: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PAPR_DEMO_PORT": DEMO_PORT,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    return subprocess.run(
        [str(DEMO), command], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1500
    )


def _printed_curl_lines(output: str) -> list[str]:
    """The shell commands after 'Try:' (a trailing backslash continues a command)."""
    block = output.split("Try:", 1)[1].split("Remove:", 1)[0]
    commands = re.sub(r"\\\n\s*", "", block).strip().splitlines()
    return [line.strip() for line in commands if line.strip().startswith("curl ")]


def _as_typed(command_line: str) -> str:
    """Runs a printed command line the way a user pasting it into bash would."""
    return subprocess.run(["bash", "-c", command_line], check=True, capture_output=True, text=True).stdout


@pytest.mark.timeout(1800)
def test_make_demo_prints_a_working_curl() -> None:
    if shutil.which("podman") is None:
        pytest.skip("make demo needs podman (.ci/run installs it)")
    existing = subprocess.run(["podman", "container", "exists", "papr-demo"], check=False)
    if existing.returncode == 0:
        pytest.skip("a papr-demo host already exists: not touching someone's demo")
    try:
        up = _demo("up")
        assert up.returncode == 0, up.stdout[-8000:] + up.stderr[-4000:]
        for phase in range(1, 6):
            assert f"==> [{phase}/5]" in up.stdout
        assert re.search(r"PAPR Memory is healthy after \d+ s\.", up.stdout)
        assert f"http://127.0.0.1:{DEMO_PORT}" in up.stdout

        write, search = _printed_curl_lines(up.stdout)
        stored = json.loads(_as_typed(write))
        assert stored["status"] == "stored"
        assert stored["content"] == "hello from the demo"
        found = json.loads(_as_typed(search))
        assert stored["id"] in [result["id"] for result in found["results"]]
    finally:
        down = _demo("down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert subprocess.run(["podman", "container", "exists", "papr-demo"], check=False).returncode == 1
    assert not (REPO_ROOT / ".state/local").exists()
