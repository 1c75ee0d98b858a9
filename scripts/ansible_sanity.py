"""Run `ansible-test sanity` on the collection papr.memory without the internet.

ansible-test wants the collection at .../ansible_collections/papr/memory, so the collection's files
(plugins/, meta/, galaxy.yml, README.md) are copied into a temporary tree and tested there.

ansible-test builds one virtualenv per sanity test and bootstraps pip into it with a script it
downloads from a host that is not a package registry. Here that script is replaced by a stand-in
that installs the bundled pip (ensurepip) and then runs pip with the same arguments, so the
pinned sanity requirements still come from the package index. Those virtualenvs are cached under
.state/ansible-test-home (HOME for ansible-test), so only the first run installs anything.

Every sanity test runs on the controller's Python; compile and import run on the managed hosts'
Python (3.11) too. pslint and shellcheck pass vacuously (no PowerShell or shell files); validate-modules
is told to ignore the missing GPLv3 header of each module, because the collection is Apache-2.0.

Usage: python scripts/ansible_sanity.py [extra `ansible-test sanity` arguments for the main run]
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import ansible
import ansible_test

REPO = Path(__file__).resolve().parents[1]
COLLECTION_FILES = ("plugins", "meta", "galaxy.yml", "README.md")
HOME = REPO / ".state" / "ansible-test-home"

# Debian 12 hosts run Python 3.11.
MANAGED_HOST_PYTHONS = ("3.11",)

PIP_BOOTSTRAP = '''\
"""Stand-in for ansible-test's downloaded get-pip script (written by scripts/ansible_sanity.py)."""
import ensurepip
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)  # the pip wheel bundled with Python: no download
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *args]))
'''


def pip_version() -> str:
    """The pip version ansible-test bootstraps (it names the cached bootstrap script)."""
    source = (Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py").read_text()
    found = re.search(r"pip='([0-9.]+)'", source)
    if not found:
        sys.exit("cannot tell which pip version ansible-test bootstraps: update scripts/ansible_sanity.py")
    return found.group(1)


def install_pip_bootstrap() -> None:
    cache = HOME / ".ansible" / "test" / "cache" / f"get_pip_{pip_version().replace('.', '_')}.py"
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(PIP_BOOTSTRAP)


def build_tree(root: Path) -> Path:
    collection = root / "ansible_collections" / "papr" / "memory"
    collection.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in COLLECTION_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, collection / name, ignore=ignore)
        elif source.exists():
            shutil.copy2(source, collection / name)
    write_ignores(collection)
    return collection


def write_ignores(collection: Path) -> None:
    """The collection is Apache-2.0: its modules carry no GPLv3 header, which validate-modules wants."""
    core = ".".join(ansible.__version__.split(".")[:2])
    lines = [
        f"{module.relative_to(collection)} validate-modules:missing-gplv3-license"
        for module in sorted((collection / "plugins" / "modules").glob("*.py"))
    ]
    ignore_file = collection / "tests" / "sanity" / f"ignore-{core}.txt"
    ignore_file.parent.mkdir(parents=True)
    ignore_file.write_text("".join(line + "\n" for line in lines))


def main() -> int:
    install_pip_bootstrap()
    ansible_test_cli = [str(Path(sys.executable).parent / "ansible-test"), "sanity", "--local"]
    controller = f"{sys.version_info.major}.{sys.version_info.minor}"
    runs = [["--python", controller, *sys.argv[1:]]]
    # Modules also run on the managed hosts' Python: compile and import them there too.
    runs += [
        ["--python", version, "--test", "compile", "--test", "import"]
        for version in MANAGED_HOST_PYTHONS
        if version != controller and shutil.which(f"python{version}")
    ]
    failed = 0
    with tempfile.TemporaryDirectory(prefix="papr-sanity-") as root:
        collection = build_tree(Path(root))
        env = {**os.environ, "HOME": str(HOME)}
        for arguments in runs:
            failed += subprocess.run(ansible_test_cli + arguments, cwd=collection, env=env).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
