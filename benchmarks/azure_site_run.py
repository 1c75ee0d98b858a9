"""Wall time and ARM requests by verb of `site.yml -i inventories/<env>` against the Azure double:
the first run from an empty subscription and the no-op second run. The deployed service is the
local stand-in stack (tests/azure_site/site_runner.py), so verification runs for real.

    .venv/bin/python benchmarks/azure_site_run.py [--inventory prod] [--port-base 59040]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.azure_double import AzureDouble  # noqa: E402
from tests.azure_site.site_runner import SiteRunner, StandInService  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inventory", default="prod", choices=["prod", "dev"])
    parser.add_argument("--port-base", type=int, default=59040, help="six ports for the stand-in stack")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="papr-azure-bench-", dir="/tmp"))
    double = AzureDouble(state_dir=work / "double")
    service = StandInService(work / "stack", args.port_base)
    double.start()
    try:
        service.start()
        runner = SiteRunner(double, service, work)
        print(f"site.yml -i inventories/{args.inventory} against the Azure double")
        print(f"{'run':<8} {'rc':>3} {'seconds':>8} {'changed':>8} {'writes':>7}  requests by verb")
        for label in ("first", "second"):
            run = runner.run(args.inventory)
            verbs = " ".join(f"{verb}={count}" for verb, count in run.verbs().items())
            changed = run.recap().get("changed", "?") if run.rc == 0 else "?"
            print(f"{label:<8} {run.rc:>3} {run.seconds:>8.1f} {changed:>8} {len(run.writes):>7}  {verbs}")
            if run.rc != 0:
                print(run.output[-4000:])
                raise SystemExit(1)
    finally:
        service.stop()
        double.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
