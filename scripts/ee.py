#!/usr/bin/env python3
"""Builds the AWX execution environment (execution-environment.yml) without Galaxy or a registry.

    python scripts/ee.py [--tag TAG] [--base IMAGE|local] [--stage-only] [--force]

1. stage build/ee/collections/: the papr.memory tarball (`ansible-galaxy collection build`) and,
   for each collection it depends on (galaxy.yml, then their MANIFEST.json, transitively), a
   tarball packed from the controller's installed copy (Galaxy is unreachable here; the `ansible`
   package bundles them), plus the requirements.yml that installs them all offline;
2. `ansible-builder create` writes the build context (build/ee/context/), offline;
3. the Python wheelhouse: every requirement the build installs (ansible-core, ansible-runner,
   the collections' introspected requirements, the definition's own, the builder's tools), as
   CPython 3.11 manylinux wheels from the controller's pip, cached under
   /var/cache/papr-memory/ee-wheels/<key> (a build container cannot reach the package index);
4. `podman build` of that context FROM the base, the wheelhouse mounted at /wheels (so no layer
   carries it) with a pip.conf that keeps pip off the index. `--base local` (the default) is the
   offline Debian base of scripts/python-base-image.sh; any other base is passed as EE_BASE_IMAGE.

The image is labelled with a key of all its inputs; a build whose key matches the existing image
is skipped. Prints a JSON report (image, size, seconds per step, cached). Tests import build_ee().
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
from scripts.image import engine, engine_environment, image_id, image_size  # noqa: E402
from scripts.image import local_base_image as python_base_image  # noqa: E402

# The Python and platforms of the hosts' wheelhouses (Debian 12: CPython 3.11, manylinux): the EE's too.
_spec = importlib.util.spec_from_file_location(
    "build_wheelhouse", REPO_ROOT / "roles" / "wheelhouse_venv" / "files" / "build_wheelhouse.py"
)
_wheelhouse = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_wheelhouse)
HOST_PLATFORMS, HOST_PYTHON_VERSION = _wheelhouse.HOST_PLATFORMS, _wheelhouse.HOST_PYTHON_VERSION

DEFINITION = REPO_ROOT / "execution-environment.yml"
STAGE_DIR = REPO_ROOT / "build" / "ee"
COLLECTIONS_DIR = STAGE_DIR / "collections"
CONTEXT_DIR = STAGE_DIR / "context"
CACHE_ROOT = Path(os.environ.get("PAPR_HOST_IMAGE_CACHE", "/var/cache/papr-memory"))
KEY_LABEL = "io.papr.memory.ee.key"
LOCAL_BASE = "local"
# What the offline Debian base needs instead of the definition's RPM defaults.
DEBIAN_BUILD_ARGS = {"PKGMGR": "/usr/bin/apt-get", "PKGMGR_OPTS": "--no-install-recommends"}
# pip itself (a base without it installs it from the wheelhouse) and the builder stage's tools
# (ansible-builder's Containerfile installs them with pip).
BUILDER_TOOLS = ("pip", "bindep", "pyyaml", "packaging")


def say(message: str) -> None:
    print(f"==> ee: {message}", file=sys.stderr, flush=True)


def venv_tool(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def definition() -> dict:
    return yaml.safe_load(DEFINITION.read_text())


def galaxy() -> dict:
    return yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text())


def _digest(*parts: str | bytes) -> str:
    sha = hashlib.sha256()
    for part in parts:
        sha.update(part.encode() if isinstance(part, str) else part)
        sha.update(b"\0")
    return sha.hexdigest()[:16]


# --- 1. collections -------------------------------------------------------------------------------


def installed_collection_roots() -> list[Path]:
    """Where the controller has collections: its collections path, then the `ansible` package."""
    roots = [Path(p).expanduser() for p in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(":") if p]
    roots += [Path("~/.ansible/collections").expanduser(), Path("/usr/share/ansible/collections")]
    spec = importlib.util.find_spec("ansible_collections")
    bundled = [Path(p).parent for p in (spec.submodule_search_locations or [])] if spec else []
    return [root for root in roots + bundled if (root / "ansible_collections").is_dir()]


def _installed(fqcn: str, specifier: str) -> Path:
    namespace, name = fqcn.split(".")
    wanted = SpecifierSet("" if specifier.strip() in ("", "*") else specifier)
    found = []
    for root in installed_collection_roots():
        path = root / "ansible_collections" / namespace / name
        manifest = path / "MANIFEST.json"
        if manifest.is_file():
            version = json.loads(manifest.read_text())["collection_info"]["version"]
            found.append(f"{version} in {root}")
            if Version(version) in wanted:
                return path
    raise SystemExit(
        f"error: {fqcn} {specifier} (a dependency of papr.memory) is not installed on the controller "
        f"(found: {', '.join(found) or 'none'}); install it (ansible-galaxy collection install) and retry"
    )


def _pack_installed(path: Path, dest: Path) -> Path:
    """A Galaxy-style tarball of an installed collection, with fixed times and owners. The
    `ansible` package leaves out some files its FILES.json lists (CI configuration and the like):
    FILES.json is rewritten to list the files present, and MANIFEST.json to carry its checksum, so
    ansible-galaxy's checksum verification holds."""
    manifest = json.loads((path / "MANIFEST.json").read_text())
    files = json.loads((path / "FILES.json").read_text())
    files["files"] = [entry for entry in files["files"] if (path / entry["name"]).exists()]
    files_json = json.dumps(files, indent=4).encode()
    manifest["file_manifest_file"]["chksum_sha256"] = hashlib.sha256(files_json).hexdigest()
    info = manifest["collection_info"]
    tarball = dest / f"{info['namespace']}-{info['name']}-{info['version']}.tar.gz"

    def member(name: str, kind: bytes = tarfile.REGTYPE, size: int = 0) -> tarfile.TarInfo:
        entry = tarfile.TarInfo(name)
        entry.type, entry.size, entry.mtime, entry.uname, entry.gname = kind, size, 0, "root", "root"
        entry.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
        return entry

    with tarfile.open(tarball, "w:gz", format=tarfile.PAX_FORMAT) as archive:
        for name, content in (
            ("MANIFEST.json", json.dumps(manifest, indent=4).encode()),
            ("FILES.json", files_json),
        ):
            archive.addfile(member(name, size=len(content)), io.BytesIO(content))
        for entry in files["files"]:
            if entry["name"] == ".":
                continue
            if entry["ftype"] == "dir":
                archive.addfile(member(entry["name"], tarfile.DIRTYPE))
            else:
                with (path / entry["name"]).open("rb") as stream:
                    archive.addfile(member(entry["name"], size=(path / entry["name"]).stat().st_size), stream)
    return tarball


def _manifest_of(tarball: Path) -> dict:
    with tarfile.open(tarball) as archive, archive.extractfile("MANIFEST.json") as stream:
        return json.load(stream)


def stage_collections(dest: Path = COLLECTIONS_DIR) -> dict[str, str]:
    """Build papr.memory and pack its dependencies into dest; returns {fqcn: MANIFEST digest}."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    subprocess.run(
        [
            venv_tool("ansible-galaxy"),
            "collection",
            "build",
            "--force",
            "--output-path",
            str(dest),
            str(REPO_ROOT),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    tarballs = {f"{galaxy()['namespace']}.{galaxy()['name']}": next(dest.glob("*.tar.gz"))}
    pending = dict(galaxy().get("dependencies") or {})
    while pending:
        fqcn, specifier = pending.popitem()
        if fqcn in tarballs:
            continue
        tarballs[fqcn] = _pack_installed(_installed(fqcn, str(specifier)), dest)
        pending.update(_manifest_of(tarballs[fqcn])["collection_info"].get("dependencies") or {})
    requirements = {
        "collections": [{"name": f"collections/{t.name}", "type": "file"} for t in tarballs.values()]
    }
    (dest / "requirements.yml").write_text(
        "---\n# Written by scripts/ee.py: the collections of the execution environment, as tarballs.\n"
        + yaml.safe_dump(requirements, sort_keys=False)
    )
    # The tarballs' bytes vary with file times; their MANIFEST.json (which holds the checksum of
    # FILES.json, which holds every file's checksum) does not.
    return {
        fqcn: _digest(json.dumps(_manifest_of(t), sort_keys=True)) for fqcn, t in sorted(tarballs.items())
    }


# --- 2. build context -----------------------------------------------------------------------------


def create_context(context: Path = CONTEXT_DIR, definition: Path = DEFINITION) -> None:
    shutil.rmtree(context, ignore_errors=True)
    command = [venv_tool("ansible-builder"), "create", "--file", str(definition), "--context", str(context),
               "--output-filename", "Containerfile"]  # fmt: skip
    subprocess.run(command, check=True, cwd=definition.parent, stdout=subprocess.DEVNULL)


def context_digest(context: Path = CONTEXT_DIR) -> str:
    """Every file of the context except the tarballs (their manifests are keyed apart)."""
    parts = []
    for path in sorted(p for p in context.rglob("*") if p.is_file() and not p.name.endswith(".tar.gz")):
        parts += [str(path.relative_to(context)), path.read_bytes()]
    return _digest(*parts)


# --- 3. wheelhouse --------------------------------------------------------------------------------


def python_requirements(collections: Path = COLLECTIONS_DIR) -> list[str]:
    """What the build pip-installs: the definition's pins, the builder's tools, and what
    `ansible-builder introspect` finds in the staged collections plus the definition's own list
    (the same command the build runs)."""
    spec = definition()
    deps = spec["dependencies"]
    init = (spec.get("options") or {}).get("container_init", {}).get("package_pip", "dumb-init==1.2.5")
    wanted = [
        deps["ansible_core"]["package_pip"],
        deps["ansible_runner"]["package_pip"],
        init,
        *BUILDER_TOOLS,
    ]
    with tempfile.TemporaryDirectory(prefix="papr-ee-introspect-") as tmp:
        env = dict(os.environ, ANSIBLE_GALAXY_DISABLE_GPG_VERIFY="1")
        # --force: a copy installed on the controller (~/.ansible/collections, the `ansible`
        # package) would otherwise count as installed and leave tmp empty.
        install = [venv_tool("ansible-galaxy"), "collection", "install", "--offline", "--force",
                   "-r", "collections/requirements.yml", "--collections-path", tmp]  # fmt: skip
        subprocess.run(install, check=True, cwd=collections.parent, env=env, stdout=subprocess.DEVNULL)
        if not (Path(tmp) / "ansible_collections" / "papr" / "memory").is_dir():
            raise SystemExit(f"error: the staged collections did not install into {tmp}")
        user = Path(tmp) / "user-requirements.txt"
        user.write_text("\n".join(deps.get("python") or []) + "\n")
        exclude = Path(tmp) / "exclude-requirements.txt"
        exclude.write_text("\n".join((deps.get("exclude") or {}).get("python") or []) + "\n")
        out = Path(tmp) / "requirements.txt"
        introspect = [venv_tool("ansible-builder"), "introspect", "--user-pip", str(user),
                      "--exclude-pip-reqs", str(exclude), "--write-pip", str(out), tmp]  # fmt: skip
        subprocess.run(introspect, check=True, stdout=subprocess.DEVNULL)
        found = [line.split("#")[0].strip() for line in out.read_text().splitlines()]
    return wanted + [line for line in found if line]


def wheelhouse(requirements: list[str]) -> tuple[Path, bool]:
    """CPython 3.11 manylinux wheels of the requirements and their dependencies (cached)."""
    key = _digest(HOST_PYTHON_VERSION, *HOST_PLATFORMS, *sorted(requirements))
    target = CACHE_ROOT / "ee-wheels" / key
    if target.is_dir():
        return target, False
    partial = target.with_name(key + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    platforms = [arg for platform in HOST_PLATFORMS for arg in ("--platform", platform)]
    command = [sys.executable, "-m", "pip", "-qq", "download", "--only-binary=:all:",
               "--python-version", HOST_PYTHON_VERSION, "--implementation", "cp", *platforms,
               "--dest", str(partial), *requirements]  # fmt: skip
    subprocess.run(command, check=True)
    for stale in target.parent.iterdir():  # one wheelhouse kept: the one in use
        if stale != partial:
            shutil.rmtree(stale, ignore_errors=True)
    # The definition points pip at this file (PIP_CONFIG_FILE) while it builds.
    (partial / "pip.conf").write_text("[global]\nno-index = true\nfind-links = /wheels\n")
    partial.rename(target)
    return target, True


# --- 4. image -------------------------------------------------------------------------------------


def image_label(tag: str, label: str) -> str | None:
    inspect = [engine(), "image", "inspect", "--format", f'{{{{index .Labels "{label}"}}}}', tag]
    result = subprocess.run(inspect, capture_output=True, text=True, env=engine_environment())
    return result.stdout.strip() if result.returncode == 0 else None


def version() -> str:
    return str(galaxy()["version"])


@contextlib.contextmanager
def build_lock():
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    with (CACHE_ROOT / "ee.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def build_ee(tag: str | None = None, base: str = LOCAL_BASE, force: bool = False) -> dict:
    """Build (or find already built) the EE image; returns the report main() prints."""
    tag = tag or f"localhost/papr-memory-ee:{version()}"
    seconds: dict[str, float] = {}

    def step(name, function, *args):
        started = time.monotonic()
        result = function(*args)
        seconds[name] = round(time.monotonic() - started, 1)
        return result

    with build_lock():
        manifests = step("stage", stage_collections)
        step("create", create_context)
        requirements = step("requirements", python_requirements)
        wheels, wheels_built = step("wheelhouse", wheelhouse, requirements)
        base_image = step("base", python_base_image) if base == LOCAL_BASE else base
        build_args = {"EE_BASE_IMAGE": base_image}
        if base == LOCAL_BASE:
            build_args |= DEBIAN_BUILD_ARGS
        key = _digest(context_digest(), json.dumps(manifests, sort_keys=True), wheels.name,
                      image_id(base_image) or base_image, json.dumps(build_args, sort_keys=True))  # fmt: skip
        cached = not force and image_label(tag, KEY_LABEL) == key
        record = CACHE_ROOT / f"ee-build-{key}.json"  # how long the build of this key took
        if not cached:
            step("build", _podman_build, tag, key, build_args, wheels)
            for stale in CACHE_ROOT.glob("ee-build-*.json"):
                stale.unlink()
            record.write_text(json.dumps({"seconds": seconds["build"]}))
        built_seconds = json.loads(record.read_text())["seconds"] if record.is_file() else None
    report = {
        "image": tag,
        "id": image_id(tag),
        "size_bytes": image_size(tag),
        "base": base_image,
        "collections": sorted(manifests),
        "python_requirements": len(requirements),
        "wheels": len(list(wheels.glob("*.whl"))),
        "wheelhouse_built": wheels_built,
        "cached": cached,
        "build_seconds": built_seconds,
        "key": key,
        "seconds": seconds,
    }
    report["size_mb"] = round(report["size_bytes"] / 1e6, 1)
    return report


def _podman_build(tag: str, key: str, build_args: dict, wheels: Path) -> None:
    previous = image_id(tag)
    # apt's package lists live outside the image (and are reused by the next build).
    apt_lists = CACHE_ROOT / "ee-apt-lists"
    (apt_lists / "partial").mkdir(parents=True, exist_ok=True)
    command = [engine(), "build", "--file", str(CONTEXT_DIR / "Containerfile"), "--tag", tag,
               "--label", f"{KEY_LABEL}={key}", "--label", f"org.opencontainers.image.version={version()}",
               "--volume", f"{wheels}:/wheels:ro", "--volume", f"{apt_lists}:/var/lib/apt/lists"]  # fmt: skip
    for name, value in build_args.items():
        command += ["--build-arg", f"{name}={value}"]
    say(f"building {tag} (podman build; several minutes the first time)")
    log = STAGE_DIR / "build.log"
    with log.open("w") as stream:
        result = subprocess.run([*command, str(CONTEXT_DIR)], stdout=stream, stderr=subprocess.STDOUT,
                                env=engine_environment())  # fmt: skip
    if result.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-40:])
        raise RuntimeError(f"podman build of the EE failed (exit {result.returncode}); {log}:\n{tail}")
    if previous and previous != image_id(tag):
        subprocess.run([engine(), "rmi", previous], capture_output=True, env=engine_environment())
    # The stages before the final one stay as unnamed images: drop them, their layers are cached.
    subprocess.run([engine(), "image", "prune", "--force", "--filter", f"label={KEY_LABEL}"],
                   capture_output=True, env=engine_environment())  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", help="image name (default localhost/papr-memory-ee:<collection version>)")
    parser.add_argument(
        "--base", default=LOCAL_BASE, help="base image; 'local' (default) builds the offline one"
    )
    parser.add_argument(
        "--stage-only", action="store_true", help="stage the collections and the context only"
    )
    parser.add_argument(
        "--force", action="store_true", help="build even when the image's inputs are unchanged"
    )
    args = parser.parse_args()
    if args.stage_only:
        stage_collections()
        create_context()
        print(json.dumps({"context": str(CONTEXT_DIR), "collections": str(COLLECTIONS_DIR)}))
        return 0
    started = time.monotonic()
    report = build_ee(args.tag, args.base, args.force)
    report["total_seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(report))
    built = f"built in {report['build_seconds']} s"
    what = f"unchanged since it was {built}" if report["cached"] else built
    say(f"{report['image']}: {report['size_mb']} MB, {what}; total {report['total_seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
