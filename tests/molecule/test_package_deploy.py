"""Option 1 on one systemd host, deployed by the built collection installed into an empty
collections path: no source tree, no repository ansible.cfg. The service comes from its wheel in a
folder (papr_wheel_find_links), as it would from a package index (papr_wheel_index_url).

One podman systemd host (the project's offline-built image) runs all four components. The
installed collection's site.yml runs in check mode on the fresh host (predicts, must not fail),
deploys it and verifies it (its verify play), then runs again and must change nothing; the API is
then verified from the controller through the published port (molecule/shared/verify_api.yml: a
memory written and found, a PDF processed to done). The inventory overrides the model's database
name, user and Temporal namespace, and the database password holds every character a URL gives a
meaning to.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.molecule.podman_hosts import SSH_VARIABLES, podman
from tests.molecule.release_load import recap_changed
from tests.molecule.test_scenarios import podman_env  # noqa: F401 (the fixture)
from tests.plan.test_collection_package import build, install

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
HOST = "papr-pkg"
NETWORK = "papr-pkg-net"
PORT = 57530
VERIFY_API = REPO / "molecule/shared/verify_api.yml"  # the Molecule scenarios' API check
WAIT_FOR_SSH = REPO / "molecule/shared/wait_for_ssh.yml"

pytestmark = [pytest.mark.molecule, pytest.mark.slow]


@pytest.fixture
def systemd_host(podman_env):  # noqa: F811
    podman(podman_env, "rm", "--force", HOST, check=False)
    podman(podman_env, "network", "exists", NETWORK, check=False).returncode == 0 or podman(
        podman_env, "network", "create", NETWORK
    )
    podman(podman_env, "run", "-d", "--name", HOST, "--hostname", HOST, "--network", NETWORK,
           "--systemd=always", "--publish", f"127.0.0.1:{PORT}:5001",
           "--volume", f"{podman_env['PAPR_TEST_SSH_KEY']}.pub:/root/.ssh/authorized_keys:ro",
           "localhost/papr-host:bookworm", "/sbin/init")  # fmt: skip
    addresses = "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"
    address = podman(podman_env, "inspect", "--format", addresses, HOST).stdout.strip()
    try:
        yield podman_env, address
    finally:
        podman(podman_env, "rm", "--force", "--time", "0", HOST, check=False)  # a throwaway host
        podman(podman_env, "network", "rm", NETWORK, check=False)


@pytest.mark.timeout(2400)
def test_the_installed_tarball_deploys_option_1_and_a_second_run_changes_nothing(systemd_host, tmp_path):
    env, address = systemd_host
    installed = install(build(tmp_path), tmp_path / "collections")
    assert not (installed / "pyproject.toml").exists() and not (installed / "app").exists()
    wheels = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--wheel-dir", str(wheels), str(REPO)],
        check=True,
        timeout=600,
    )
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "children": {
                        group: {"hosts": {HOST: None}}
                        for group in ("postgres", "temporal", "web", "workers", "verify")
                    },
                    "vars": {
                        # Over SSH, as a real host (user, key: podman_hosts.ssh_environment).
                        "ansible_connection": "ssh",
                        "ansible_host": address,
                        "ansible_python_interpreter": "/usr/bin/python3",
                        "papr_platform": "hosts",
                        "papr_option": 1,
                        # Test-only secrets of a throwaway host. DATABASE_URL must carry every
                        # character a URL gives a meaning to (and a space) through intact.
                        "papr_database_password": "Pa55/ :@%?#&+ word",
                        # Inventory values win over the model's defaults.
                        "papr_database_name": "papr_pkg_db",
                        "papr_database_user": "papr_pkg_user",
                        "papr_temporal_namespace": "papr-pkg",
                        "papr_api_keys": ["package-test-key"],
                        "papr_wheel_find_links": [str(wheels)],
                        "papr_wheel_cache_dir": str(tmp_path / "cache"),
                        "web_listen_address": "0.0.0.0",
                        "verify_web_url": "http://127.0.0.1:5001",
                        "verify_api_key": "package-test-key",
                        "verify_temporal_address": "127.0.0.1:7233",
                        "verify_temporal_python": "/opt/papr-memory/venv/bin/python",
                        # Read by molecule/shared/verify_api.yml, on the controller.
                        "molecule_web_url": f"http://127.0.0.1:{PORT}",
                    },
                }
            }
        )
    )
    # Nothing of the checkout: an empty ansible.cfg, the installed collection only (and the ones
    # the `ansible` package bundles: community.postgresql, containers.podman, ansible.posix).
    config = tmp_path / "ansible.cfg"
    config.write_text("[defaults]\nhost_key_checking = false\n[connection]\npipelining = true\n")
    run_env = {
        **{key: value for key, value in env.items() if not key.startswith("ANSIBLE_")},
        **{key: env[key] for key in SSH_VARIABLES},  # how to reach the host over SSH
        "ANSIBLE_CONFIG": str(config),
        "ANSIBLE_COLLECTIONS_PATH": str(tmp_path / "collections"),
        "ANSIBLE_NOCOLOR": "1",
        "PAPR_WHEELHOUSE_FREEZE": "0",
    }

    def playbook(path: Path, *args: str, **more_env: str) -> str:
        """ansible-playbook `path` on the inventory, with the installed collection; must pass."""
        done = subprocess.run(
            [str(VENV_BIN / "ansible-playbook"), str(path), "-i", str(inventory), *args],
            cwd=tmp_path,
            env={**run_env, **more_env},
            capture_output=True,
            text=True,
            timeout=2100,
        )
        output = done.stdout + done.stderr
        assert done.returncode == 0, f"{path.name} {' '.join(args)}:\n{output[-8000:]}"
        return output

    site = installed / "site.yml"
    playbook(WAIT_FOR_SSH)  # sshd starts with the host's systemd
    checked = playbook(site, "--check")  # the fresh host: must not fail
    first = playbook(site)
    again = playbook(site)
    for output in (checked, first, again):
        assert str(REPO) not in output  # nothing came from the checkout
    assert "papr.memory.verify : The API stores a memory and finds it by search" in first
    assert recap_changed(first) > 0
    assert recap_changed(again) == 0, again[-6000:]
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health", timeout=10) as answer:  # noqa: S310
        assert json.loads(answer.read())["status"] == "ok"
    playbook(VERIFY_API, MOLECULE_EPHEMERAL_DIRECTORY=str(tmp_path))  # its PDF goes there
    # The wheelhouse came from the wheel folder, into the cache the inventory named.
    assert list((tmp_path / "cache" / "wheelhouse").glob("service-*.tar"))
    assert os.path.isdir(tmp_path / "cache")
