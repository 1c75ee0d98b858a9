"""How close a no-op Azure deploy comes to Ansible's own floor, per task.

In one process tree, against one Azure double, interleaved round by round:
- the no-op rerun of `site.yml -i inventories/<env>` (option 2: inventories/prod), after a first
  run that created everything (the deployed service is the local stand-in stack of
  tests/azure_site/site_runner.py, so verification runs for real);
- a playbook of as many `ansible.builtin.uri` tasks as the rerun ran (recap `ok`), each one GET to
  the double (its cloud metadata endpoint): the cost of a task that does one HTTPS request.

Prints both per task (median of the rounds), their ratio (goal <= 1.3x) and the requests each site
rerun sent: ARM, token (Entra ID + managed identity), cloud metadata, OpenID configuration.

    .venv/bin/python -m benchmarks.azure_noop_floor [--inventory prod] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.azure_double import AzureDouble  # noqa: E402
from tests.azure_site.site_runner import ANSIBLE_PLAYBOOK, SiteRunner, StandInService  # noqa: E402
from tests.ports import free_port_block  # noqa: E402

STACK_PORTS = range(59100, 59900)


def request_counts(entries) -> dict[str, int]:
    paths = [entry.path for entry in entries]
    return {
        "ARM": sum(path.lower().startswith("/subscriptions/") for path in paths),
        "token": sum(path.endswith("/oauth2/v2.0/token") or path == "/msi/token" for path in paths),
        "metadata": sum(path.startswith("/metadata/endpoints") for path in paths),
        "openid": sum(".well-known/openid-configuration" in path for path in paths),
    }


def uri_playbook(path: Path, double, tasks: int) -> None:
    """`tasks` uri tasks, each one GET to the double over HTTPS (its CA trusted)."""
    task = {
        "name": "GET the double",
        "ansible.builtin.uri": {
            "url": double.metadata_url,
            "ca_path": str(double.ca_path),
            "return_content": False,
        },
    }
    play = {
        "hosts": "localhost",
        "gather_facts": False,
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
        "tasks": [task] * tasks,
    }
    path.write_text(yaml.safe_dump([play], sort_keys=False))


def run_uri(playbook: Path, env: dict[str, str]) -> float:
    started = time.monotonic()
    done = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", "localhost,", str(playbook)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"uri playbook failed:\n{(done.stdout + done.stderr)[-3000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inventory", default="prod", help="inventories/<name> (prod is option 2)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    # A timeout's SIGTERM still stops the stand-in stack (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="papr-noop-floor-", dir="/tmp"))
    double = AzureDouble(state_dir=work / "double")
    # A random start: two benchmarks started together do not pick the same (still unbound) block.
    first_port = random.randrange(STACK_PORTS.start, STACK_PORTS.stop - 100, 10)
    service = StandInService(work / "stack", free_port_block(6, range(first_port, STACK_PORTS.stop)))
    double.start()
    try:
        service.start()
        runner = SiteRunner(double, service, work)
        env = runner.environment()
        env["PAPR_AZURE_CACHE_DIR"] = str(work / "azure-cache")  # starts empty: the first run fills it
        runner.environment = lambda: env
        first = runner.run(args.inventory)
        if first.rc != 0:
            raise SystemExit(f"first run failed:\n{first.output[-4000:]}")
        print(
            f"first run: {first.seconds:.1f} s, "
            + ", ".join(f"{k}={v}" for k, v in request_counts(first.requests).items()),
            flush=True,
        )
        site_seconds, uri_seconds, counts, tasks = [], [], [], None
        playbook = work / "uri.yml"
        for _ in range(args.rounds):
            rerun = runner.run(args.inventory)
            if rerun.rc != 0:
                raise SystemExit(f"no-op rerun failed:\n{rerun.output[-4000:]}")
            recap = rerun.recap()
            if tasks is None:
                tasks = recap["ok"]
                uri_playbook(playbook, double, tasks)
            if recap.get("changed"):
                print(f"warning: the rerun changed {recap['changed']} task(s): {rerun.changed_tasks()}")
            site_seconds.append(rerun.seconds / tasks)
            counts.append(request_counts(rerun.requests))
            uri_seconds.append(run_uri(playbook, env) / tasks)
            print(
                f"round {len(site_seconds)}: site {site_seconds[-1]:.3f} s/task, "
                f"uri {uri_seconds[-1]:.3f} s/task, "
                f"{tasks} tasks, " + ", ".join(f"{k}={v}" for k, v in counts[-1].items()),
                flush=True,
            )
        site, floor = statistics.median(site_seconds), statistics.median(uri_seconds)
        print(f"site.yml -i inventories/{args.inventory}, no-op rerun: {tasks} tasks, {args.rounds} rounds")
        print(f"  site rerun  {site:6.3f} s/task  (rounds: {', '.join(f'{s:.3f}' for s in site_seconds)})")
        print(f"  uri floor   {floor:6.3f} s/task  (rounds: {', '.join(f'{s:.3f}' for s in uri_seconds)})")
        print(f"  ratio       {site / floor:6.2f} x       (goal <= 1.3x)")
        print("  requests per rerun: " + ", ".join(f"{k}={v}" for k, v in counts[-1].items()))
        print(f"  machine load (1 min): {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    finally:
        service.stop()
        double.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
