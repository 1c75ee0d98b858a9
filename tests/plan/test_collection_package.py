"""The collection as users get it: the tarball of `ansible-galaxy collection build`, installed
into an empty collections path. It carries the collection's content and nothing else, declares
bounded dependencies, and `ansible-builder introspect` lists exactly the controller's run-time
dependencies. (tests/molecule/test_package_deploy.py deploys hosts with it.)"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text())
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
NOT_CONTENT = (
    "app/",
    "workers/",
    "tests/",
    "scripts/",
    "molecule/",
    "benchmarks/",
    "collections/",
    ".venv/",
    ".state/",
    ".git/",
    "Makefile",
    "Containerfile",
    "pyproject.toml",
    "ansible.cfg",
)
TEST_TOOLS = ("pytest", "molecule", "ansible-lint", "ruff", "httpx", "trustme", "fpdf2", "ansible-builder")


def build(output: Path) -> Path:
    subprocess.run(
        [str(VENV_BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(output), str(REPO)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return output / f"{GALAXY['namespace']}-{GALAXY['name']}-{GALAXY['version']}.tar.gz"


def install(tarball: Path, collections: Path) -> Path:
    """Installs the tarball into `collections`, alone: Galaxy is not reachable here, so its
    dependencies come with the `ansible` package. --force: a checkout's ansible.cfg in effect makes
    papr.memory look installed already."""
    command = [str(VENV_BIN / "ansible-galaxy"), "collection", "install", "--no-deps", "--offline", "--force",
               "-p", str(collections), str(tarball)]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=300, cwd=tarball.parent)
    installed = collections / "ansible_collections" / GALAXY["namespace"] / GALAXY["name"]
    assert (installed / "MANIFEST.json").is_file(), f"nothing installed in {installed}"
    return installed


@pytest.fixture(scope="module")
def package() -> Iterator[tuple[Path, Path]]:
    # Not pytest's tmp_path: other pytest sessions of this user may prune it while this one runs.
    work = Path(tempfile.mkdtemp(prefix="papr-package-"))
    try:
        tarball = build(work)
        yield tarball, install(tarball, work / "collections")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def requirement_names(lines) -> list[str]:
    names = []
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0].lower())
    return sorted(names)


def test_the_tarball_holds_the_collection_content_and_nothing_else(package):
    tarball, _ = package
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    for unwanted in NOT_CONTENT:
        assert not [name for name in names if name == unwanted.rstrip("/") or name.startswith(unwanted)], (
            unwanted
        )
    assert not [name for name in names if ".egg-info" in name or "__pycache__" in name]
    for wanted in (
        "site.yml",
        "requirements.yml",
        "requirements.txt",
        "bindep.txt",
        "meta/execution-environment.yml",
        "meta/runtime.yml",
        "playbooks/deployment.yml",
        "roles/deployment/tasks/main.yml",
        "plugins/filter/deployment.py",
        "roles/wheelhouse_venv/files/build_wheelhouse.py",
        "inventories/local/hosts.yml",
    ):
        assert wanted in names, wanted


def test_collection_dependencies_are_declared_with_bounds_and_listed_in_requirements_yml():
    dependencies = GALAXY["dependencies"]
    assert {"community.postgresql", "ansible.posix", "containers.podman", "kubernetes.core"} <= set(
        dependencies
    )
    for name, bounds in dependencies.items():
        assert re.fullmatch(r">=[\d.]+,<[\d.]+", bounds), (name, bounds)
    listed = yaml.safe_load((REPO / "requirements.yml").read_text())["collections"]
    assert {entry["name"]: entry["version"] for entry in listed} == dependencies


def test_ansible_builder_introspect_lists_the_controller_runtime_dependencies(package):
    _, installed = package
    done = subprocess.run(
        [str(VENV_BIN / "ansible-builder"), "introspect", str(installed.parents[2])],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    found = yaml.safe_load(done.stdout[done.stdout.index("---") :] if "---" in done.stdout else done.stdout)
    python = [entry.split("#", 1)[0].strip() for entry in found["python"]]
    declared = (REPO / "requirements.txt").read_text().splitlines()
    assert requirement_names(python) == requirement_names(declared)
    # The same bounds as pyproject's (controller extra, or the service's own for temporalio), and
    # none of the test tools.
    for requirement in python:
        assert requirement in PYPROJECT["optional-dependencies"]["controller"] + PYPROJECT["dependencies"]
    assert not set(requirement_names(python)) & set(TEST_TOOLS)
    assert [entry.split("#", 1)[0].strip() for entry in found["system"]] == [
        "openssh-client [platform:dpkg]",
        "openssh-clients [platform:rpm]",
    ]


def test_requirements_txt_names_every_sdk_the_plugins_import():
    """An SDK a module imports but requirements.txt leaves out is missing in the EE (azure-mgmt-network
    was, after the private network landed: the EE's deploy failed at the first NSG)."""
    imported = set()
    for path in (REPO / "plugins").rglob("*.py"):
        imported |= set(re.findall(r"\bazure\.mgmt\.(\w+)", path.read_text()))
    declared = set(requirement_names((REPO / "requirements.txt").read_text().splitlines()))
    assert {f"azure-mgmt-{name}" for name in imported} <= declared
    assert "kubernetes" in declared  # kubernetes.core's modules (option 3) import it


def test_versions_agree():
    """The collection deploys the service of the same version, by default from the same release."""
    pyproject = PYPROJECT["version"]
    assert GALAXY["version"] == pyproject
    model = (REPO / "plugins" / "filter" / "deployment.py").read_text()
    assert f'"papr_service_requirement": "papr-memory=={pyproject}"' in model
