"""Podman systemd hosts for the Molecule tests and benchmarks: the environment podman and Molecule
need, commands on a host, and Molecule's steps run one by one on hosts that outlive a step."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
# What ssh_environment sets for Ansible.
SSH_VARIABLES = (
    "ANSIBLE_PRIVATE_KEY_FILE",
    "ANSIBLE_REMOTE_USER",
    "ANSIBLE_SSH_COMMON_ARGS",
    "ANSIBLE_SSH_CONTROL_PATH_DIR",
    "ANSIBLE_SSH_RETRIES",
)
# The hosts are made again with new host keys each time: none is checked or kept.
SSH_OPTIONS = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"


def missing_tools() -> list[str]:
    return [tool for tool in ("podman", "runc", "iptables", "ssh") if shutil.which(tool) is None]


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
    env.update(ssh_environment())
    return env


def ssh_environment() -> dict[str, str]:
    """How Ansible reaches the test hosts over SSH (their inventories name only the connection and
    the address): as root, with a key made once per checkout under .state/test-ssh (0700), whose
    public half (PAPR_TEST_SSH_KEY + ".pub") each host mounts as root's authorized_keys; no host key
    checked (SSH_OPTIONS); and a control-socket folder of this session's own: connections persist
    60 s after a run, and a host made again at the same address must not be reached through a
    connection to the one that was removed."""
    folder = REPO_ROOT / ".state" / "test-ssh"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = folder / "id_ed25519"
    if not key.exists():  # made aside and moved in: two sessions may start at once
        with tempfile.TemporaryDirectory(dir=folder) as scratch:
            made = Path(scratch, key.name)
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "papr-memory test hosts",
                            "-f", str(made)], check=True)  # fmt: skip
            os.replace(f"{made}.pub", f"{key}.pub")
            os.replace(made, key)
    control = tempfile.mkdtemp(prefix="papr-ssh-")  # short: a socket's path holds 107 bytes
    # Gone with the session (a connection still open then ends on its own, unreachable).
    atexit.register(shutil.rmtree, control, ignore_errors=True)
    return {
        "PAPR_TEST_SSH_KEY": str(key),
        "ANSIBLE_PRIVATE_KEY_FILE": str(key),
        "ANSIBLE_REMOTE_USER": "root",
        "ANSIBLE_SSH_COMMON_ARGS": SSH_OPTIONS,
        "ANSIBLE_SSH_CONTROL_PATH_DIR": control,
        # A connection that fails (ssh exits 255) is made again, as for real hosts on a real network:
        # seen once, with no message, while another test changed podman's networks.
        "ANSIBLE_SSH_RETRIES": "3",
    }


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


def scenario_config(scenario: str) -> dict:
    """molecule/<scenario>/molecule.yml, as written (no environment variables put in)."""
    return yaml.safe_load((REPO_ROOT / "molecule" / scenario / "molecule.yml").read_text())


def scenario_vars(scenario: str) -> dict:
    """The scenario's inventory variables (molecule/<scenario>/molecule.yml)."""
    return scenario_config(scenario)["provisioner"]["inventory"]["group_vars"]["all"]


def scenario_host(scenario: str, group: str) -> str:
    """The name of the scenario's (first) host in an inventory group (molecule/<scenario>/molecule.yml)."""
    platforms = scenario_config(scenario)["platforms"]
    return next(platform["name"] for platform in platforms if group in platform.get("groups", []))


def create_outside_network(env: dict[str, str], scenario: str) -> None:
    """The scenario's platform network with the subnet its fixed addresses are in
    (molecule_outside_subnet), unless it exists: Molecule's schema takes no subnet, and the network
    it would make gets the next free one."""
    subnet = scenario_vars(scenario).get("molecule_outside_subnet")
    network = scenario_config(scenario)["platforms"][0]["network"]
    if subnet and podman(env, "network", "exists", network, check=False).returncode != 0:
        podman(env, "network", "create", "--subnet", subnet, network)


def molecule(env: dict[str, str], step: str, scenario: str, check: bool = True) -> str:
    """One Molecule step (create, prepare, check, converge, idempotence, verify, cleanup, destroy);
    with MOLECULE_EPHEMERAL_DIRECTORY set in env, its inventory is in <that directory>/inventory."""
    if step == "create":
        create_outside_network(env, scenario)
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
