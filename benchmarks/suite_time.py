"""Wall time of `make test-fast` and `make test`: the figures issue 15 asks for (goals: < 3 and
<= 15 minutes on an idle 2-core machine).

Runs each target once, in this checkout, one after the other (test-fast first: it is the quick
answer), and prints per target its wall time, exit status, the pytest summary line and the
machine's load average before and after, so a figure taken on a busy machine is recognisable as
such. Run it on an idle machine: it takes as long as the suite.

    .venv/bin/python -m benchmarks.suite_time [--targets test-fast test] [--log-dir .state/suite-time]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOALS_MINUTES = {"test-fast": 3, "test": 15}
SUMMARY = re.compile(r"^=+ (.*\b(?:passed|failed|error|errors|skipped)\b.*) in [0-9.]+s.*=+$", re.M)


def run_target(target: str, log_dir: Path) -> dict:
    log = log_dir / f"{target}.log"
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    with log.open("w") as out:
        status = subprocess.run(["make", target], cwd=REPO, stdout=out, stderr=subprocess.STDOUT).returncode
    seconds = time.monotonic() - started
    text = log.read_text(errors="replace")
    summaries = SUMMARY.findall(text)
    return {
        "target": target,
        "seconds": seconds,
        "status": status,
        "summary": summaries[-1] if summaries else "(no pytest summary: see the log)",
        "load": (load_before, os.getloadavg()[0]),
        "log": log,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", nargs="+", default=["test-fast", "test"], choices=sorted(GOALS_MINUTES))
    parser.add_argument("--log-dir", type=Path, default=REPO / ".state" / "suite-time")
    args = parser.parse_args(argv)
    args.log_dir.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} CPUs, load average now {os.getloadavg()[0]:.2f}", flush=True)
    failed = 0
    for target in args.targets:
        print(f"make {target} ...", flush=True)
        result = run_target(target, args.log_dir)
        minutes = result["seconds"] / 60
        goal = GOALS_MINUTES[target]
        verdict = "within" if minutes <= goal else "OVER"
        print(
            f"make {target}: {result['seconds']:.0f} s ({minutes:.1f} min, goal {goal} min: {verdict}), "
            f"exit {result['status']}, load {result['load'][0]:.1f} -> {result['load'][1]:.1f}\n"
            f"    {result['summary']}\n    log: {result['log']}",
            flush=True,
        )
        failed += result["status"] != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
