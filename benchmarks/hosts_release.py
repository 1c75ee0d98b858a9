"""Release time and lost requests of playbooks/hosts_release.yml on the option-2 podman hosts
(PostgreSQL, Temporal, web and workers each on their own host, Molecule's scenario option2).

Creates and converges the hosts (molecule create, prepare, converge), then releases a new build
(the deployed service wheelhouse with a changed wheel) under a load of memory writes and /health
(about 20 requests a second), then a bad build (/health 503) that its trial refuses, prints the
times and the load's errors, and destroys the hosts. Needs podman (scripts/system-packages.sh).

    .venv/bin/python -m benchmarks.hosts_release
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.molecule import release_load  # noqa: E402
from tests.molecule.podman_hosts import (  # noqa: E402
    missing_tools,
    molecule,
    podman_environment,
    scenario_host,
    scenario_vars,
)

SCENARIO = "option2"


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    if missing_tools():
        raise SystemExit(f"podman hosts need {', '.join(missing_tools())} (scripts/system-packages.sh)")

    with tempfile.TemporaryDirectory(prefix="papr-hosts-release-bench-") as scratch:
        env = {**podman_environment(), "MOLECULE_EPHEMERAL_DIRECTORY": f"{scratch}/molecule"}
        inventory = Path(scratch, "molecule", "inventory")
        settings = scenario_vars(SCENARIO)
        molecule(env, "destroy", SCENARIO, check=False)
        try:
            started = time.monotonic()
            for step in ("create", "prepare", "converge"):
                molecule(env, step, SCENARIO)
            print(
                f"{'hosts created and converged (option 2)':<44} {time.monotonic() - started:6.0f} s",
                flush=True,
            )
            deployed = release_load.deployed_wheelhouse(env, scenario_host(SCENARIO, "web"))
            good = release_load.rebuilt_wheelhouse(deployed, Path(scratch), release_load.good_build)
            bad = release_load.rebuilt_wheelhouse(deployed, Path(scratch), release_load.bad_build)

            load = release_load.Load(settings["molecule_web_url"], settings["papr_api_keys"][0])
            load.start()
            try:
                steps = [
                    ("release of a new build", good, True),
                    ("the same build again (no-op)", good, True),
                    ("bad build (/health 503), refused", bad, False),
                ]
                for label, build, must_pass in steps:
                    errors_before = len(load.errors)
                    done, seconds = release_load.release(env, inventory, build)
                    status = "ok" if (done.returncode == 0) == must_pass else "UNEXPECTED"
                    print(
                        f"{label:<44} {seconds:6.0f} s  changed={release_load.recap_changed(done.stdout):<3} "
                        f"load errors {len(load.errors) - errors_before:<4} {status}",
                        flush=True,
                    )
                    if status != "ok":
                        print(done.stdout[-4000:])
                        raise SystemExit(1)
            finally:
                load.stopped.set()
                load.join(60)
            pending = release_load.not_stored(load)
            print(
                f"load: {load.requests} requests, {len(load.errors)} errors, slowest {load.slowest:.1f} s; "
                f"{len(load.written) - len(pending)} of {len(load.written)} memories stored"
            )
            for error in load.errors[:10]:
                print("  ", error)
        finally:
            molecule(env, "cleanup", SCENARIO, check=False)
            molecule(env, "destroy", SCENARIO, check=False)


if __name__ == "__main__":
    main()
