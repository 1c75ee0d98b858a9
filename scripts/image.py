#!/usr/bin/env python3
"""Builds the service's container image (Containerfile) without a package registry.

    python scripts/image.py [--tag TAG] [--base IMAGE|local] [--no-cache]

1. the service wheelhouse (scripts/wheelhouse.py: the papr-memory wheel and its dependencies for
   CPython 3.11, cached under .state/wheelhouse/);
2. a build context holding only those wheels (dependencies and service apart, so a code change
   reuses the dependency layer);
3. `podman build` (or docker, PAPR_CONTAINER_ENGINE) FROM the base: the Containerfile's default
   (a public python:3.11-slim image) or, with `--base local`, the Python base image built offline
   by scripts/python-base-image.sh.

Prints a JSON object: image, id, size_bytes, base, seconds per step. Tests import build_image().
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CONTAINERFILE = REPO_ROOT / "Containerfile"
LOCAL_BASE = "local"
# scripts/python-base-image.sh reads the same variable.
LOCAL_BASE_IMAGE = os.environ.get("PAPR_PYTHON_BASE_IMAGE", "localhost/papr-python:3.11-bookworm")
SERVICE_WHEEL_PREFIX = "papr_memory-"


def engine() -> str:
    return os.environ.get("PAPR_CONTAINER_ENGINE", "podman")


@functools.cache
def engine_environment() -> dict[str, str]:
    """podman needs the project's containers.conf on these machines (runc, ulimits). Callers
    must not change the dict (it is cached)."""
    env = dict(os.environ)
    if engine() == "podman" and "CONTAINERS_CONF" not in env:
        conf = subprocess.run(
            [str(REPO_ROOT / "scripts" / "podman-conf.sh")], check=True, capture_output=True, text=True
        )
        env["CONTAINERS_CONF"] = conf.stdout.strip()
    return env


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=True, env=engine_environment(), **kwargs)


def version() -> str:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]


def revision() -> str:
    result = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return result.stdout.strip() or "unknown"


def local_base_image() -> str:
    """The offline stand-in for python:3.11-slim (debootstrap; cached after the first build)."""
    _run([str(REPO_ROOT / "scripts" / "python-base-image.sh")], stdout=sys.stderr)
    return LOCAL_BASE_IMAGE


def service_wheelhouse(state_dir: Path) -> Path:
    """The wheelhouse tarball; built (or taken from the cache) by the controller's Python."""
    builder = REPO_ROOT / "scripts" / "wheelhouse.py"
    command = [sys.executable, str(builder), "service", "--state-dir", str(state_dir)]
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    return Path(json.loads(result.stdout)["tarball"])


def stage_context(tarball: Path, context: Path) -> list[str]:
    """wheels/service/ gets the papr-memory wheel, wheels/deps/ everything else."""
    names = []
    with tarfile.open(tarball) as archive:
        for member in archive.getmembers():
            if not (member.isfile() and member.name.endswith(".whl") and "/" not in member.name):
                continue
            part = "service" if member.name.startswith(SERVICE_WHEEL_PREFIX) else "deps"
            target = context / "wheels" / part / member.name
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.extractfile(member) as source, target.open("wb") as sink:
                shutil.copyfileobj(source, sink)
            names.append(member.name)
    if not any(name.startswith(SERVICE_WHEEL_PREFIX) for name in names):
        raise RuntimeError(f"{tarball} holds no {SERVICE_WHEEL_PREFIX}*.whl")
    return names


def image_id(tag: str) -> str | None:
    result = subprocess.run(
        [engine(), "image", "inspect", "--format", "{{.Id}}", tag],
        capture_output=True,
        text=True,
        env=engine_environment(),
    )
    return result.stdout.strip() if result.returncode == 0 else None


def image_size(tag: str) -> int:
    inspect = [engine(), "image", "inspect", "--format", "{{.Size}}", tag]
    return int(_run(inspect, capture_output=True, text=True).stdout.strip())


def _build_stage_tag(tag: str) -> str:
    """localhost/papr-memory:0.1.0 -> localhost/papr-memory:0.1.0-build-stage."""
    name, _, label = tag.rpartition(":") if ":" in tag.rsplit("/", 1)[-1] else (tag, "", "latest")
    return f"{name}:{label}-build-stage"


def build_image(
    tag: str, base: str | None = None, state_dir: Path | None = None, no_cache: bool = False
) -> dict:
    """Build `tag`; base None keeps the Containerfile's default, "local" builds the offline one.
    The build stage is tagged `<tag>-build-stage`; the images both tags named before (if replaced
    and unused) are removed, so rebuilds do not pile up unnamed images."""
    seconds: dict[str, float] = {}
    started = time.monotonic()
    if base == LOCAL_BASE:
        base = local_base_image()
    seconds["base"] = time.monotonic() - started

    started = time.monotonic()
    tarball = service_wheelhouse(state_dir or REPO_ROOT / ".state")
    seconds["wheelhouse"] = time.monotonic() - started

    build_stage_tag = _build_stage_tag(tag)
    previous = {name: image_id(name) for name in (tag, build_stage_tag)}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="papr-image-context-") as context:
        stage_context(tarball, Path(context))
        command = [engine(), "build", "--file", str(CONTAINERFILE)]
        if engine() == "podman":
            # OCI image format has no HEALTHCHECK: podman drops it unless building Docker format.
            command += ["--format", "docker"]
        if base:
            command += ["--build-arg", f"BASE_IMAGE={base}"]
        command += ["--build-arg", f"VERSION={version()}", "--build-arg", f"REVISION={revision()}"]
        _run([*command, *(["--no-cache"] if no_cache else []), "--tag", tag, context], stdout=sys.stderr)
        # Name the build stage too (from the cache: a second or two). Unnamed, each change to the
        # service would leave its last build-stage image behind; named, the old one is removed
        # below like the old image, and the next build still finds its layers in the cache.
        _run([*command, "--target", "build", "--tag", build_stage_tag, context], stdout=sys.stderr)
    seconds["build"] = time.monotonic() - started

    for name, before in previous.items():
        if before and before != image_id(name):
            # Fails harmlessly when a container still uses it or another tag names it.
            subprocess.run([engine(), "rmi", before], capture_output=True, env=engine_environment())
    built = image_id(tag)
    return {
        "image": tag,
        "id": built,
        "size_bytes": image_size(tag),
        "base": base or "the Containerfile default",
        "seconds": {step: round(value, 1) for step, value in seconds.items()},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", default=f"localhost/papr-memory:{version()}")
    parser.add_argument(
        "--base", help=f"base image; '{LOCAL_BASE}' builds {LOCAL_BASE_IMAGE} offline (debootstrap)"
    )
    parser.add_argument("--state-dir", type=Path, default=REPO_ROOT / ".state")
    parser.add_argument("--no-cache", action="store_true", help="rebuild every layer")
    args = parser.parse_args()
    try:
        report = build_image(args.tag, args.base or None, args.state_dir, args.no_cache)
    except subprocess.CalledProcessError as error:
        hint = ""
        if not args.base:
            offline = f"--base {LOCAL_BASE} (make image IMAGE_BASE={LOCAL_BASE})"
            hint = f" (no image registry reachable? build offline with {offline})"
        failed = " ".join(map(str, error.cmd[:2]))
        print(f"error: {failed} failed with exit {error.returncode}{hint}", file=sys.stderr)
        return 1
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
