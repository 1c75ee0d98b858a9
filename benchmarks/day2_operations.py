"""Wall time of the day-2 playbooks against the Azure double (docs/operations.md): deploy option 2,
drift report, a release and its no-op rerun, monitoring and its no-op rerun, teardown, migrate
(option 1 -> 2) and its no-op rerun. The deployed service is the local stand-in stack
(tests/azure_site/site_runner.py).

    .venv/bin/python -m benchmarks.day2_operations [--port-base 59300]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.azure_site.site_runner import SiteRun, standalone_site  # noqa: E402

GROUP = "papr-memory-prod"  # inventories/prod


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port-base", type=int, default=59300, help="six ports for the stand-in stack")
    args = parser.parse_args()

    with standalone_site("papr-day2-bench-", args.port_base) as runner:
        service = runner.service
        stand_in = {
            "papr_azure_web_slot_url": service.stack.url,
            "papr_azure_workers_slot_url": service.stack.url,
            "papr_azure_workers_url": service.stack.url,
        }
        release = {"papr_image": "paprmemory.azurecr.io/memory:0.2.0"}
        emails = {"papr_monitoring_emails": ["ops@example.com"]}
        steps = [
            ("site.yml (option 2, from empty)", "prod", "site.yml", {}),
            ("drift.yml (no drift)", "prod", "playbooks/drift.yml", {}),
            ("release.yml", "prod", "playbooks/release.yml", release),
            ("release.yml (again: no-op)", "prod", "playbooks/release.yml", release),
            ("monitoring.yml", "prod", "playbooks/monitoring.yml", emails),
            ("monitoring.yml (again: no-op)", "prod", "playbooks/monitoring.yml", emails),
            ("teardown.yml (prod)", "prod", "playbooks/teardown.yml", {"papr_teardown_confirm": GROUP}),
            ("site.yml (option 1, from empty)", "dev", "site.yml", {}),
            ("migrate.yml (1 -> 2)", "dev", "playbooks/migrate.yml", {"papr_option": 2}),
            ("migrate.yml (again: no-op)", "dev", "playbooks/migrate.yml", {"papr_option": 2}),
        ]  # fmt: skip
        print(f"{'playbook':<34} {SiteRun.SUMMARY_HEADER}")
        for label, inventory, playbook, extra_vars in steps:
            run = runner.run(inventory, playbook=playbook, extra_vars={**stand_in, **extra_vars})
            print(f"{label:<34} {run.summary()}", flush=True)
            if run.rc != 0:
                print(run.output[-4000:])
                raise SystemExit(1)


if __name__ == "__main__":
    main()
