"""Podman systemd hosts for the Molecule tests and benchmarks: the environment podman and Molecule
need, commands on a host, and Molecule's steps run one by one on hosts that outlive a step."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def missing_tools() -> list[str]:
    return [tool for tool in ("podman", "runc", "iptables") if shutil.which(tool) is None]


def podman_environment() -> dict[str, str]:
    """The environment for podman and Molecule; builds the host image and the wheelhouses once
    (then they are cached)."""
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


def podman(env, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["podman", *args], env=env, check=check, capture_output=True, text=True, timeout=300
    )


def on_host(env, host: str, command: str) -> str:
    return podman(env, "exec", host, "sh", "-c", command).stdout.strip()


def runs_from(env, host: str, unit: str) -> str:
    """The memory maps of a unit's main process (its venv's compiled modules show which build it
    runs), read as the service's user: root in the container may not read another user's maps."""
    pid = on_host(env, host, f"systemctl show --property=MainPID --value {unit}")
    return on_host(
        env, host, f"setpriv --reuid=papr-memory --regid=papr-memory --clear-groups cat /proc/{pid}/maps"
    )


def scenario_vars(scenario: str) -> dict:
    """The scenario's inventory variables (molecule/<scenario>/molecule.yml)."""
    config = yaml.safe_load((REPO_ROOT / "molecule" / scenario / "molecule.yml").read_text())
    return config["provisioner"]["inventory"]["group_vars"]["all"]


def scenario_host(scenario: str, group: str) -> str:
    """The name of the scenario's (first) host in an inventory group (molecule/<scenario>/molecule.yml)."""
    config = yaml.safe_load((REPO_ROOT / "molecule" / scenario / "molecule.yml").read_text())
    return next(platform["name"] for platform in config["platforms"] if group in platform.get("groups", []))


def molecule(env: dict[str, str], step: str, scenario: str, check: bool = True) -> str:
    """One Molecule step (create, prepare, check, converge, idempotence, verify, cleanup, destroy);
    with MOLECULE_EPHEMERAL_DIRECTORY set in env, its inventory is in <that directory>/inventory."""
    done = subprocess.run(
        [str(VENV_BIN / "molecule"), step, "--scenario-name", scenario],
        cwd=REPO_ROOT,
        env={**env, "NO_COLOR": "1", "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"},
        capture_output=True,
        text=True,
        timeout=1500,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0 or not check, f"molecule {step} -s {scenario} failed:\n{output[-12000:]}"
    return output
