"""Molecule's option-2 scenario on real systemd hosts (podman containers from the project's own
image): create, prepare, check (site.yml in check mode on the fresh hosts), converge and verify one
by one, keeping its four hosts for the module: a release of a new build (playbooks/hosts_release.yml)
runs on them under load, then site.yml again and Molecule's idempotence (on the layout released
hosts keep), before cleanup and destroy, so the suite converges the hosts once for both. (An
idempotence step right after the first converge would repeat these: the PostgreSQL and Temporal
hosts are the same, and test_package_deploy's second run covers the web and workers roles on one
host before any release.) Option 1 on one host is test_package_deploy's, from the built tarball.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request

import pytest

from tests.molecule.podman_hosts import (
    missing_tools,
    molecule,
    on_host,
    podman,
    podman_environment,
    runs_from,
    scenario_host,
    scenario_vars,
)
from tests.molecule.release_load import (
    Load,
    bad_build,
    deployed_wheelhouse,
    good_build,
    not_stored,
    rebuilt_wheelhouse,
    recap_changed,
    release,
)

pytestmark = [pytest.mark.molecule, pytest.mark.slow]

OPTION2_STEPS = ("create", "prepare", "check", "converge", "verify")
OPTION2_NAMES = "^papr-m2-"
OPTION2_WEB, OPTION2_WORKERS = scenario_host("option2", "web"), scenario_host("option2", "workers")


@pytest.fixture(scope="session")
def podman_env() -> dict[str, str]:
    """The environment for podman and Molecule; builds the host image once (then it is cached)."""
    missing = missing_tools()
    if missing:
        pytest.skip(f"podman hosts need {', '.join(missing)} (.ci/run installs them)")
    return podman_environment()


@pytest.fixture(scope="module")
def option2_hosts(podman_env, tmp_path_factory):
    """The option-2 hosts after check, converge and verify (each step must pass); yields
    (environment, Molecule's inventory, {step: output}); then cleanup and destroy."""
    env = {**podman_env, "MOLECULE_EPHEMERAL_DIRECTORY": str(tmp_path_factory.mktemp("molecule-option2"))}
    # An earlier session's hosts or networks (an interrupted run) go first; usually there are none.
    leftovers = podman(env, "ps", "--all", "--quiet", "--filter", f"name={OPTION2_NAMES}").stdout.strip()
    networks = podman(env, "network", "ls", "--quiet", "--filter", f"name={OPTION2_NAMES}").stdout.strip()
    if leftovers or networks:
        molecule(env, "destroy", "option2", check=False)
        podman(env, "network", "rm", "--force", *networks.split(), check=False)
    outputs: dict[str, str] = {}
    try:
        for step in OPTION2_STEPS:
            started = time.monotonic()
            outputs[step] = molecule(env, step, "option2")
            print(f"molecule {step} -s option2: {time.monotonic() - started:.0f} s")
        yield env, f"{env['MOLECULE_EPHEMERAL_DIRECTORY']}/inventory", outputs
    finally:
        molecule(env, "cleanup", "option2", check=False)
        # Throwaway hosts: killed at once. Molecule's destroy stops each one's systemd (up to 10 s)
        # and polls for the end every 5 s; it then finds no host left and removes the network.
        hosts = podman(env, "ps", "--all", "--quiet", "--filter", f"name={OPTION2_NAMES}").stdout.split()
        podman(env, "rm", "--force", "--time", "0", *hosts, check=False)
        molecule(env, "destroy", "option2", check=False)


@pytest.mark.timeout(2400)
def test_option2_split_hosts(option2_hosts) -> None:
    _env, _inventory, outputs = option2_hosts
    assert set(outputs) == set(OPTION2_STEPS)
    # The check step checked the fresh hosts: it ran the check alone (the scenario's
    # check_sequence), not Molecule's default destroy, create, converge, check, destroy.
    matrix = re.search(r"option2 (?:➜|>) discovery\] scenario test matrix: (.*)", outputs["check"])
    assert matrix and matrix[1].strip() == "check", outputs["check"][-3000:]
    # The verify step proved fault isolation: workers stopped, web /health 200, /health/workers 503.
    assert "The web server stays up and reports the missing workers" in outputs["verify"]


@pytest.mark.timeout(3600)
def test_option2_release_under_load(option2_hosts, tmp_path) -> None:
    """While a load writes memories and reads /health (about 20 requests a second): a bad build
    (/health always 503) fails its trial beside the running server, no host is switched and the
    load sees no error; the bad build without the trial is switched to, fails the checks and every
    host is rolled back (the load's errors then are counted only); a new build is released on the
    workers and web hosts and no request fails (the web server's socket holds new connections while
    it restarts), the refused build is removed (release_keep_builds 2); the same build again changes
    nothing. Every memory the load wrote is stored. Then site.yml with another build switches to it
    beside the released one, and again changes nothing."""
    env, inventory, _outputs = option2_hosts
    settings = scenario_vars("option2")
    deployed = deployed_wheelhouse(env, OPTION2_WEB)
    assert deployed.is_file(), deployed
    good = rebuilt_wheelhouse(deployed, tmp_path, good_build)
    bad = rebuilt_wheelhouse(deployed, tmp_path, bad_build)

    checked, _ = release(env, inventory, good, "--check")
    assert checked.returncode == 0, checked.stdout[-6000:]
    for host in (OPTION2_WEB, OPTION2_WORKERS):
        untouched = "test -d /opt/papr-memory/venv -a ! -L /opt/papr-memory/venv && echo untouched"
        assert on_host(env, host, untouched) == "untouched"

    load = Load(settings["molecule_web_url"], settings["papr_api_keys"][0])
    load.start()
    try:
        # The trial waits out its timeout on a build that answers 503 (release_candidate_timeout,
        # 60 s in production): 30 s here, and the report must name the 503 (not a slow start).
        tried, trial_seconds = release(env, inventory, bad, "-e", "release_candidate_timeout=30")
        assert tried.returncode != 0
        report = " ".join(tried.stdout.split())  # the message as one line, however it was wrapped
        assert f"The release of {bad.stem} failed on {OPTION2_WEB}" in report, tried.stdout[-6000:]
        assert "expected status 200, got 503" in report, report[-3000:]
        assert "no host had been switched" in report
        trial_errors = len(load.errors)

        # The bad build again, without the trial (installed already by the refused run): switched
        # to, it fails the checks and every host is rolled back to the build site.yml deployed.
        # web_health_timeout (120 s in production) bounds the bad build's 503s and the rollback's
        # wait for the previous build (a few seconds).
        failed, rollback_seconds = release(
            env, inventory, bad, "-e", "release_candidate_check=false", "-e", "web_health_timeout=20"
        )
        assert failed.returncode != 0
        report = " ".join(failed.stdout.split())
        assert f"The release of {bad.stem} failed on {OPTION2_WEB}" in report, failed.stdout[-6000:]
        rolled_back = re.search(r"Rolled back: (.+?) run their previous build", report)
        assert rolled_back, report[-3000:]
        assert set(rolled_back[1].split(", ")) == {OPTION2_WORKERS, OPTION2_WEB}, rolled_back[0]
        rollback_errors = len(load.errors) - trial_errors

        released, release_seconds = release(env, inventory, good)
        assert released.returncode == 0, released.stdout[-6000:]
        good_errors = len(load.errors) - trial_errors - rollback_errors
        print(
            f"\nrefused bad build: {trial_seconds:.0f} s, {trial_errors} load errors; good release: "
            f"{release_seconds:.0f} s, {good_errors} load errors, slowest {load.slowest:.1f} s"
        )
        # Kept: the running build and the previous one (release_keep_builds 2); the refused one went.
        for host in (OPTION2_WEB, OPTION2_WORKERS):
            kept = on_host(env, host, "ls /opt/papr-memory/releases").split()
            assert sorted(kept) == sorted([deployed.stem, good.stem]), (host, kept)
        again, _ = release(env, inventory, good)
        assert again.returncode == 0 and recap_changed(again.stdout) == 0, again.stdout[-4000:]
    finally:
        load.stopped.set()
        load.join(60)

    # Both hosts run the good build: its venv's modules are mapped by every unit's process.
    units = (
        (OPTION2_WEB, "papr-memory-web.service"),
        (OPTION2_WORKERS, "papr-memory-worker@memory.service"),
        (OPTION2_WORKERS, "papr-memory-worker@documents.service"),
    )
    for host, unit in units:
        assert on_host(env, host, "readlink /opt/papr-memory/current") == f"releases/{good.stem}"
        assert f"/opt/papr-memory/releases/{good.stem}/venv/" in runs_from(env, host, unit), (host, unit)
    # The workers on the new build poll both task queues (the web server sees them live) ...
    with urllib.request.urlopen(f"{settings['molecule_web_url']}/health/workers", timeout=30) as answer:  # noqa: S310
        queues = json.loads(answer.read())["task_queues"]
    assert all(queue["status"] == "ok" for queue in queues.values()), queues
    # ... and stored every memory the load wrote, through all four releases.
    pending = not_stored(load)
    assert load.written and not pending, f"{len(pending)} of {len(load.written)} memories not stored"
    print(
        f"\nhosts release (option 2, web + workers host): {release_seconds:.0f} s, bad build refused by "
        f"its trial {trial_seconds:.0f} s, switched and rolled back {rollback_seconds:.0f} s; load: "
        f"{load.requests} requests, slowest {load.slowest:.1f} s, {len(load.written)} memories written "
        f"and stored; errors: good release {good_errors}, refused bad build {trial_errors}, "
        f"rolled-back bad build {rollback_errors}"
    )
    for error in load.errors[:20]:
        print("  ", error)
    assert good_errors == 0 and trial_errors == 0, load.errors[:20]

    # site.yml after a release, with another build (the session's, deployed first): it goes into
    # its own directory beside the others, `current` points at it and the units restart on it; the
    # released build's venv is left as it was. A second run changes nothing (Molecule's idempotence:
    # the option-2 scenario's, on all four hosts).
    started = time.monotonic()
    molecule(env, "converge", "option2")
    converge_seconds = time.monotonic() - started
    for host, unit in units:
        assert on_host(env, host, "readlink /opt/papr-memory/current") == f"releases/{deployed.stem}"
        assert f"/opt/papr-memory/releases/{deployed.stem}/venv/" in runs_from(env, host, unit), (host, unit)
        marker = on_host(env, host, f"ls -a /opt/papr-memory/releases/{good.stem}/venv")
        assert f".wheelhouse-{good.stem}" in marker.split(), (host, marker)
    molecule(env, "idempotence", "option2")
    print(f"site.yml after the release, back to the deployed build: {converge_seconds:.0f} s; idempotent")
