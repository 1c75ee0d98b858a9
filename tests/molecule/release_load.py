"""A release of a new build on running hosts under a steady load: the builds (a changed copy of
the deployed service wheelhouse, a good one and one whose /health answers 503), the load (memory
writes and /health, about 20 requests a second) and playbooks/hosts_release.yml runs. Used by
tests/molecule/test_scenarios.py (on the converged option-2 hosts) and benchmarks/hosts_release.py.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import subprocess
import tarfile
import threading
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from tests.molecule.podman_hosts import REPO_ROOT, VENV_BIN, on_host


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
    """About 20 requests a second: a memory write, then /health, over and over; a new connection
    each (urllib), so a restarting server's closed or refused connections count as errors."""

    def __init__(self, base: str, api_key: str) -> None:
        super().__init__(daemon=True)
        self.base = base
        self.api_key = api_key
        self.slowest = 0.0
        self.stopped = threading.Event()
        self.written: list[str] = []
        self.errors: list[str] = []
        self.requests = 0

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        """One API request with the load's key, on a new connection; the answer's JSON."""
        request = urllib.request.Request(  # noqa: S310 (http only)
            self.base + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"X-API-Key": self.api_key, "Content-Type": "application/json"},
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
                sent = time.monotonic()
                try:
                    answer = self.call(method, path, body)
                    self.slowest = max(self.slowest, time.monotonic() - sent)
                    if method == "POST":
                        self.written.append(answer["id"])
                except (OSError, urllib.error.URLError) as error:
                    self.errors.append(f"{time.strftime('%H:%M:%S')} {method} {path}: {error}")
            self.stopped.wait(max(0.0, 0.1 - (time.monotonic() - started)))


def ansible_playbook(env, *args: str) -> tuple[subprocess.CompletedProcess, float]:
    """ansible-playbook with the checkout's ansible.cfg; returns the run and its seconds."""
    started = time.monotonic()
    done = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), *args],
        cwd=REPO_ROOT,
        env={**env, "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"},
        capture_output=True,
        text=True,
        timeout=2400,
    )
    return done, time.monotonic() - started


def release(env, inventory: Path, build: Path, *extra: str) -> tuple[subprocess.CompletedProcess, float]:
    return ansible_playbook(env, "playbooks/hosts_release.yml", "-i", str(inventory),
                            "-e", f"papr_release_wheelhouse={build}", *extra)  # fmt: skip


def recap_changed(output: str) -> int:
    return sum(int(found) for found in re.findall(r"changed=(\d+)", output.split("PLAY RECAP")[-1]))


def deployed_wheelhouse(env, web_host: str) -> Path:
    """The service wheelhouse site.yml installed on the web host (named in its unit)."""
    unit = on_host(env, web_host, "cat /etc/systemd/system/papr-memory-web.service")
    key = re.search(r"Installed wheelhouse: (\S+)", unit)[1]
    return REPO_ROOT / ".state" / "wheelhouse" / f"{key}.tar"


def not_stored(load: Load, timeout: float = 300) -> list[str]:
    """The memories the load wrote that are not stored (by the workers) within timeout seconds."""
    deadline = time.monotonic() + timeout
    pending = list(load.written)
    while pending and time.monotonic() < deadline:
        pending = [
            memory for memory in pending if load.call("GET", f"/v1/memories/{memory}")["status"] != "stored"
        ]
        if pending:
            time.sleep(2)
    return pending
