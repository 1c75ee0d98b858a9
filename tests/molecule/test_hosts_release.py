"""playbooks/hosts_release.yml on a podman systemd host (option 1: all components on one host).

site.yml deploys the host; then a new build (the deployed wheelhouse with a changed service wheel)
is released while a load thread writes memories and reads /health (about 20 requests a second),
and the same build again changes nothing. A bad build (its /health always answers 503) fails its
trial beside the running server: nothing switches and the load sees no error. The same bad build
without the trial is switched to, fails the checks and is rolled back: the play fails naming the
rollback and the host serves from the previous build again. Every memory the load wrote is stored
in the end. The load's errors while the one web server restarts (the good release, the rollback)
are counted and printed, not required to be 0 (see docs/operations.md).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.molecule.test_scenarios import podman_env  # noqa: F401 (the fixture)
from tests.ports import free_ports

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
HOST = "papr-rel"
NETWORK = "papr-rel-net"
PORTS = range(57600, 57700)  # this test's own
API_KEY = "release-test-key"

pytestmark = [pytest.mark.molecule, pytest.mark.slow]


def podman(env, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["podman", *args], env=env, check=check, capture_output=True, text=True, timeout=300
    )


def on_host(env, command: str) -> str:
    return podman(env, "exec", HOST, "sh", "-c", command).stdout.strip()


def rebuilt_wheelhouse(tarball: Path, dest: Path, patch) -> Path:
    """A copy of a service wheelhouse whose papr-memory wheel has its files passed through
    ``patch(name, bytes) -> bytes`` (RECORD rewritten to match): a new build of the same sources."""
    out = io.BytesIO()
    with tarfile.open(tarball) as source, tarfile.open(fileobj=out, mode="w") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read() if member.isfile() else None
            if member.isfile() and re.match(r"(.*/)?papr_memory-.*\.whl$", member.name):
                data = _patched_wheel(data, patch)
                member.size = len(data)
            target.addfile(member, io.BytesIO(data) if data is not None else None)
    key = hashlib.sha256(out.getvalue()).hexdigest()[:16]
    path = dest / f"service-release-{key}.tar"
    path.write_bytes(out.getvalue())
    return path


def _patched_wheel(data: bytes, patch) -> bytes:
    files: dict[str, bytes] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as wheel:
        for name in wheel.namelist():
            files[name] = patch(name, wheel.read(name))
    record_name = next(name for name in files if name.endswith(".dist-info/RECORD"))
    lines = []
    for name, content in files.items():
        if name == record_name:
            continue
        digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
        lines.append(f"{name},sha256={digest},{len(content)}")
    files[record_name] = ("\n".join([*lines, f"{record_name},,"]) + "\n").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, content in files.items():
            wheel.writestr(name, content)
    return out.getvalue()


def good_build(name: str, content: bytes) -> bytes:
    return content + b"\n# release test: a new build\n" if name == "app/__init__.py" else content


def bad_build(name: str, content: bytes) -> bytes:
    if name != "app/health.py":
        return content
    patched = content.replace(b"status_code=503 if failing else 200", b"status_code=503")
    assert patched != content, "app/health.py changed: update the bad build's patch"
    return patched


class Load(threading.Thread):
    """About 20 requests a second: a memory write, then /health, over and over."""

    def __init__(self, base: str) -> None:
        super().__init__(daemon=True)
        self.base = base
        self.stopped = threading.Event()
        self.written: list[str] = []
        self.errors: list[str] = []
        self.requests = 0

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(  # noqa: S310 (http only)
            self.base + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"X-API-Key": API_KEY, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return json.loads(answer.read())

    def run(self) -> None:
        number = 0
        while not self.stopped.is_set():
            started = time.monotonic()
            number += 1
            for method, path, body in (
                ("POST", "/v1/memories", {"content": f"release load memory {number}", "metadata": {}}),
                ("GET", "/health", None),
            ):
                self.requests += 1
                try:
                    answer = self._call(method, path, body)
                    if method == "POST":
                        self.written.append(answer["id"])
                except (OSError, urllib.error.URLError) as error:
                    self.errors.append(f"{time.strftime('%H:%M:%S')} {method} {path}: {error}")
            self.stopped.wait(max(0.0, 0.1 - (time.monotonic() - started)))


def ansible(env, *args: str) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    done = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=2400,
    )
    return done, time.monotonic() - started


def recap_changed(output: str) -> int:
    return sum(int(found) for found in re.findall(r"changed=(\d+)", output.split("PLAY RECAP")[-1]))


@pytest.fixture
def released_host(podman_env, tmp_path):  # noqa: F811
    (port,) = free_ports(1, PORTS)
    podman(podman_env, "rm", "--force", HOST, check=False)
    if podman(podman_env, "network", "exists", NETWORK, check=False).returncode != 0:
        podman(podman_env, "network", "create", NETWORK)
    podman(podman_env, "run", "-d", "--name", HOST, "--hostname", HOST, "--network", NETWORK,
           "--systemd=always", "--publish", f"127.0.0.1:{port}:5001",
           "localhost/papr-host:bookworm", "/sbin/init")  # fmt: skip
    try:
        yield podman_env, port
    finally:
        podman(podman_env, "rm", "--force", "--time", "10", HOST, check=False)
        podman(podman_env, "network", "rm", NETWORK, check=False)


@pytest.mark.timeout(3600)
def test_a_new_build_is_released_under_load_and_a_bad_one_rolled_back(released_host, tmp_path):
    env, port = released_host
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
                        "papr_database_password": "Release-test-1",
                        "papr_api_keys": [API_KEY],
                        "web_listen_address": "0.0.0.0",
                        "verify_web_url": "http://127.0.0.1:5001",
                        "verify_api_key": API_KEY,
                        "verify_temporal_address": "127.0.0.1:7233",
                        "verify_temporal_python": "/opt/papr-memory/venv/bin/python",
                    },
                }
            }
        )
    )
    run_env = {**env, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    site, _ = ansible(run_env, "site.yml", "-i", str(inventory))
    assert site.returncode == 0, site.stdout[-6000:] + site.stderr[-2000:]

    deployed_key = re.search(
        r"Installed wheelhouse: (\S+)", on_host(env, "cat /etc/systemd/system/papr-memory-web.service")
    )[1]
    deployed = REPO / ".state" / "wheelhouse" / f"{deployed_key}.tar"
    assert deployed.is_file(), deployed
    good = rebuilt_wheelhouse(deployed, tmp_path, good_build)
    bad = rebuilt_wheelhouse(deployed, tmp_path, bad_build)

    def release(build: Path, *extra: str) -> tuple[subprocess.CompletedProcess, float]:
        return ansible(run_env, "playbooks/hosts_release.yml", "-i", str(inventory),
                       "-e", f"papr_release_wheelhouse={build}", *extra)  # fmt: skip

    checked, _ = release(good, "--check")
    assert checked.returncode == 0, checked.stdout[-6000:]
    assert (
        on_host(env, "test -d /opt/papr-memory/venv -a ! -L /opt/papr-memory/venv && echo untouched")
        == "untouched"
    )

    load = Load(f"http://127.0.0.1:{port}")
    load.start()
    try:
        released, release_seconds = release(good)
        assert released.returncode == 0, released.stdout[-6000:]
        again, _ = release(good)
        assert again.returncode == 0 and recap_changed(again.stdout) == 0, again.stdout[-4000:]
        good_errors = len(load.errors)

        # The bad build's web server is tried beside the running one: it never serves, nothing switches.
        tried, trial_seconds = release(bad)
        assert tried.returncode != 0
        assert f"The release of {bad.stem} failed on {HOST}" in tried.stdout, tried.stdout[-6000:]
        assert "no host had been switched" in tried.stdout
        assert on_host(env, "readlink /opt/papr-memory/current") == f"releases/{good.stem}"
        trial_errors = len(load.errors) - good_errors

        # Without the trial the bad build is switched to, fails the checks and is rolled back.
        failed, rollback_seconds = release(
            bad, "-e", "release_candidate_check=false", "-e", "web_health_timeout=60"
        )
        assert failed.returncode != 0
        assert f"The release of {bad.stem} failed on {HOST}" in failed.stdout, failed.stdout[-6000:]
        assert f"Rolled back: {HOST}" in failed.stdout
    finally:
        load.stopped.set()
        load.join(60)

    assert on_host(env, "readlink /opt/papr-memory/current") == f"releases/{good.stem}"
    # The web server's process maps the new build's compiled modules: it runs from that venv.
    pid = on_host(env, "systemctl show --property=MainPID --value papr-memory-web.service")
    # (read as the service's user: root in the container may not read another user's maps)
    maps = on_host(
        env, f"setpriv --reuid=papr-memory --regid=papr-memory --clear-groups cat /proc/{pid}/maps"
    )
    assert f"/opt/papr-memory/releases/{good.stem}/venv/" in maps
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=30) as answer:  # noqa: S310
        assert json.loads(answer.read())["status"] == "ok"

    # Every memory the load wrote is stored.
    deadline = time.monotonic() + 300
    pending = list(load.written)
    while pending and time.monotonic() < deadline:
        pending = [
            memory for memory in pending if load._call("GET", f"/v1/memories/{memory}")["status"] != "stored"
        ]
        if pending:
            time.sleep(2)
    assert load.written and not pending, f"{len(pending)} of {len(load.written)} memories not stored"
    rollback_errors = len(load.errors) - good_errors - trial_errors
    print(
        f"\nhosts release: {release_seconds:.0f} s, bad build refused by its trial {trial_seconds:.0f} s, "
        f"switched and rolled back {rollback_seconds:.0f} s; load: {load.requests} requests, "
        f"{len(load.written)} memories written and stored, errors: good release {good_errors}, "
        f"refused bad build {trial_errors}, rolled-back bad build {rollback_errors}"
    )
    for error in load.errors[:20]:
        print("  ", error)
    assert trial_errors == 0, load.errors
