"""`make fidelity`, third-party part: azure.azcollection, unmodified, against the Azure double.

The pinned `ansible` package (it bundles azure.azcollection) and the collection's own Python
requirements go into their own venv (.state/fidelity-venv, made once and reused while the pin is the
same). The double runs in this process; playbook.yml runs twice: the first run must succeed, the second
must report changed=0 and send no ARM write. Prints what each run sent; exits non-zero on failure.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from ..server import AzureDouble

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
# `ansible` 14.5.0 ships azure.azcollection 3.21.0 (its MANIFEST.json); the collection pins its SDKs in
# its requirements.txt.
ANSIBLE_PIN = "ansible==14.5.0"
AZCOLLECTION_VERSION = "3.21.0"
RECAP = re.compile(r"ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")


def ensure_venv(venv: Path) -> Path:
    """The venv with the pinned ansible and azure.azcollection's requirements; made only when missing."""
    stamp = venv / ".fidelity-installed"
    python = venv / "bin" / "python"
    if stamp.exists() and stamp.read_text() == ANSIBLE_PIN:
        return venv
    base = subprocess.run(
        [str(REPO / "scripts" / "find-python.sh")], capture_output=True, text=True, check=True
    ).stdout.strip()
    if not python.exists():
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, ANSIBLE_PIN], check=True)
    collection = collection_dir(venv)
    manifest = (collection / "MANIFEST.json").read_text()
    if f'"version": "{AZCOLLECTION_VERSION}"' not in manifest:
        sys.exit(f"{ANSIBLE_PIN} does not ship azure.azcollection {AZCOLLECTION_VERSION}: update the pins")
    subprocess.run([*pip, "-r", str(collection / "requirements.txt")], check=True)
    stamp.write_text(ANSIBLE_PIN)
    return venv


def collection_dir(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python3*/site-packages/ansible_collections/azure/azcollection"))
    if not found:
        sys.exit(f"azure.azcollection not found in {venv}")
    return found[0]


def client_env(double: AzureDouble, config_dir: str) -> dict[str, str]:
    """What azure.azcollection needs to talk to the double and nothing else."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "ANSIBLE_", "ARM_"))}
    env.update(double.env)
    env.update(
        # azure-cli-core (which azure.azcollection uses for clouds) loads custom clouds from this URL and
        # needs the list form of the metadata (api-version 2019-05-01)...
        ARM_CLOUD_METADATA_URL=f"{double.base_url}/metadata/endpoints?api-version=2019-05-01",
        # ...and azure.azcollection picks the cloud whose resource manager is this URL.
        AZURE_CLOUD_ENVIRONMENT=f"{double.base_url}/",
        AZURE_DISABLE_INSTANCE_DISCOVERY="true",  # MSAL would ask the public login host first
        AZURE_CONFIG_DIR=config_dir,  # azure-cli-core caches cloud endpoints there
        ANSIBLE_CONFIG=str(HERE / "ansible.cfg"),
        ANSIBLE_LOCAL_TEMP=str(Path(config_dir) / "ansible-tmp"),
        PYTHONWARNINGS="ignore",
    )
    return env


def run_playbook(venv: Path, env: dict[str, str], label: str, verbose: bool) -> tuple[int, int, str]:
    command = [str(venv / "bin" / "ansible-playbook"), str(HERE / "playbook.yml")]
    if verbose:
        command.append("-v")
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1200)
    output = run.stdout + run.stderr
    recap = RECAP.search(output)
    if run.returncode != 0 or recap is None:
        print(output)
        print(f"{label}: ansible-playbook failed (rc {run.returncode})")
        return -1, -1, output
    ok, changed, _, failed = map(int, recap.groups())
    return changed, failed, output


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=REPO / ".state" / "fidelity-venv")
    parser.add_argument("-v", "--verbose", action="store_true", help="print the playbook output")
    args = parser.parse_args()
    venv = ensure_venv(args.venv)
    with (
        tempfile.TemporaryDirectory(prefix="azcollection-fidelity-") as state,
        AzureDouble(state_dir=state) as double,
    ):
        env = client_env(double, state)
        results = []
        for label in ("first run", "second run"):
            double.clear_log()
            changed, failed, output = run_playbook(venv, env, label, args.verbose)
            writes = [f"{e.method} {e.path} -> {e.status}" for e in double.requests() if e.is_write]
            errors = [f"{e.method} {e.path} -> {e.status}" for e in double.requests() if e.status >= 400]
            results.append((label, changed, failed, writes, errors))
            if args.verbose:
                print(output)
            print(
                f"azure.azcollection {AZCOLLECTION_VERSION} {label}: {len(double.requests())} requests, "
                f"{len(writes)} writes, changed={changed} failed={failed}"
            )
            for line in errors:
                print(f"    error answer: {line}")
            if changed < 0:
                return 1
        (_, _, failed1, _, _), (_, changed2, failed2, writes2, _) = results
        problems = []
        if failed1 or failed2:
            problems.append("a task failed")
        if changed2:
            problems.append(f"the second run changed {changed2} task(s)")
        if writes2:
            problems.append("the second run wrote: " + "; ".join(writes2))
        if problems:
            print("azure.azcollection fidelity FAILED: " + ", ".join(problems))
            return 1
        print(
            "azure.azcollection fidelity passed: the first run created everything, the second wrote nothing"
        )
        return 0


if __name__ == "__main__":
    sys.exit(main())
