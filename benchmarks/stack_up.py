"""Time from `stack up` to healthy (web /health and /health/workers both 200), cold (initdb,
empty Temporal database) and warm (existing state). Uses its own state folder and ports.

    python -m benchmarks.stack_up [--port-base 56100]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks.target import LocalStack
from scripts.stack import StackPorts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port-base", type=int, default=56100)
    parser.add_argument("--rounds", type=int, default=2, help="warm restarts to time")
    args = parser.parse_args()
    state_dir = Path(tempfile.mkdtemp(prefix="papr-bench-stack-", dir="/tmp"))
    stack = LocalStack(
        state_dir=state_dir, ports=StackPorts.from_base(args.port_base), say=lambda _line: None
    )
    try:
        cold = stack.up()
        print(f"stack-up to healthy, cold (initdb, new Temporal db): {cold:.1f} s")
        for round_number in range(1, args.rounds + 1):
            started = time.monotonic()
            stack.down()
            down = time.monotonic() - started
            warm = stack.up()
            print(f"stack-up to healthy, warm #{round_number}: {warm:.1f} s (stack-down took {down:.1f} s)")
    finally:
        stack.down()
        shutil.rmtree(state_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
