"""Wall time and ARM requests by verb of `site.yml -i inventories/<env>` against the Azure double:
the first run from an empty subscription and the no-op second run. The deployed service is the
local stand-in stack (tests/azure_site/site_runner.py), so verification runs for real.

    .venv/bin/python benchmarks/azure_site_run.py [--inventory prod] [--port-base 59040]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.azure_site.site_runner import SiteRun, standalone_site  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inventory", default="prod", choices=["prod", "dev"])
    parser.add_argument("--port-base", type=int, default=59040, help="six ports for the stand-in stack")
    args = parser.parse_args()

    with standalone_site("papr-azure-bench-", args.port_base) as runner:
        print(f"site.yml -i inventories/{args.inventory} against the Azure double")
        print(f"{'run':<8} {SiteRun.SUMMARY_HEADER}  requests by verb")
        for label in ("first", "second"):
            run = runner.run(args.inventory)
            verbs = " ".join(f"{verb}={count}" for verb, count in run.verbs().items())
            print(f"{label:<8} {run.summary()}  {verbs}")
            if run.rc != 0:
                print(run.output[-4000:])
                raise SystemExit(1)


if __name__ == "__main__":
    main()
