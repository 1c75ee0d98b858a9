"""The built collection, installed into an empty collections path, deploys a systemd host to
healthy on its own: no source tree, no repository ansible.cfg. The service comes from its wheel in
a folder (papr_wheel_find_links), as it would from a package index (papr_wheel_index_url).

One podman systemd host (the project's offline-built image) runs all four components (option 1);
the installed collection's own site.yml deploys it and verifies it (its verify play), then the
test reads /health through the published port.
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

from tests.molecule.podman_hosts import podman
from tests.molecule.test_scenarios import podman_env  # noqa: F401 (the fixture)
from tests.plan.test_collection_package import build, install

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
HOST = "papr-pkg"
NETWORK = "papr-pkg-net"
PORT = 57530

pytestmark = [pytest.mark.molecule, pytest.mark.slow]


@pytest.fixture
def systemd_host(podman_env):  # noqa: F811
    podman(podman_env, "rm", "--force", HOST, check=False)
    podman(podman_env, "network", "exists", NETWORK, check=False).returncode == 0 or podman(
        podman_env, "network", "create", NETWORK
    )
    podman(podman_env, "run", "-d", "--name", HOST, "--hostname", HOST, "--network", NETWORK,
           "--systemd=always", "--publish", f"127.0.0.1:{PORT}:5001",
           "localhost/papr-host:bookworm", "/sbin/init")  # fmt: skip
    try:
        yield podman_env
    finally:
        podman(podman_env, "rm", "--force", "--time", "10", HOST, check=False)
        podman(podman_env, "network", "rm", NETWORK, check=False)


@pytest.mark.timeout(2400)
def test_the_installed_tarball_deploys_a_host_to_healthy(systemd_host, tmp_path):
    env = systemd_host
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
                        "ansible_connection": "containers.podman.podman",
                        "ansible_python_interpreter": "/usr/bin/python3",
                        "papr_platform": "hosts",
                        "papr_option": 1,
                        "papr_database_password": "Package-test-1",
                        "papr_api_keys": ["package-test-key"],
                        "papr_wheel_find_links": [str(wheels)],
                        "papr_wheel_cache_dir": str(tmp_path / "cache"),
                        "web_listen_address": "0.0.0.0",
                        "verify_web_url": "http://127.0.0.1:5001",
                        "verify_api_key": "package-test-key",
                        "verify_temporal_address": "127.0.0.1:7233",
                        "verify_temporal_python": "/opt/papr-memory/venv/bin/python",
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
        "ANSIBLE_CONFIG": str(config),
        "ANSIBLE_COLLECTIONS_PATH": str(tmp_path / "collections"),
        "ANSIBLE_NOCOLOR": "1",
        "PAPR_WHEELHOUSE_FREEZE": "0",
    }
    done = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), str(installed / "site.yml"), "-i", str(inventory)],
        cwd=tmp_path,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=2100,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-8000:]
    assert "papr.memory.verify : The API stores a memory and finds it by search" in output
    assert str(REPO) not in output  # nothing came from the checkout
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health", timeout=10) as answer:  # noqa: S310
        assert json.loads(answer.read())["status"] == "ok"
    # The wheelhouse came from the wheel folder, into the cache the inventory named.
    assert list((tmp_path / "cache" / "wheelhouse").glob("service-*.tar"))
    assert os.path.isdir(tmp_path / "cache")
