"""What each test costs in numbers a loaded machine does not distort: a pytest plugin.

Wall time lies when other work shares the cores; CPU time and counts of expensive things do not.
For every test (setup + call + teardown) this records:
- wall seconds, CPU seconds of the pytest process, CPU seconds of its finished child processes
  (ansible-playbook and what it forks, servers torn down in that test's teardown; podman
  containers run under conmon, not under pytest, so their CPU is not counted);
- how many programs the test started, by name (`ansible-playbook`, `molecule converge`,
  `podman run`, `pg_ctl`, `temporal`, `python -m uvicorn`, ...).

    nice -n 10 .venv/bin/python -m pytest -p no:xdist -p benchmarks.test_cost tests/<tier> -q
    .venv/bin/python -m benchmarks.test_cost [--by test|file|tier] [--top N] .state/test-cost.jsonl

Each run appends one JSON line per test to .state/test-cost.jsonl (PAPR_TEST_COST_FILE overrides);
the module run prints the table.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEFAULT_FILE = REPO / ".state" / "test-cost.jsonl"
# Subcommands worth telling apart: `podman run` starts a container, `podman ps` is cheap.
SUBCOMMAND_PROGRAMS = {"podman", "molecule", "ansible-galaxy", "ansible-test", "kubectl", "ctr", "systemctl"}
PYTHON_MODULE_PROGRAMS = {"python", "python3"}

_programs: collections.Counter[str] = collections.Counter()
_lock = threading.Lock()
_original_popen_init = subprocess.Popen.__init__


def program_name(args) -> str:
    """A short name for a command line: the program, its subcommand or `python -m` module."""
    if isinstance(args, str | bytes | os.PathLike):
        argv = [os.fsdecode(args)] if not isinstance(args, str) else args.split()
    else:
        argv = [os.fsdecode(a) for a in args]
    if not argv:
        return "?"
    # runuser/sudo -u postgres pg_ctl ... -> pg_ctl
    while argv and Path(argv[0]).name in ("runuser", "sudo", "nice", "env", "setpriv", "unshare"):
        argv = argv[1:]
        while argv and (argv[0].startswith("-") or "=" in argv[0] or argv[0] == "postgres"):
            argv = argv[1:]
    if not argv:
        return "?"
    name = Path(argv[0]).name
    if name.startswith("python"):
        if len(argv) > 2 and argv[1] == "-m":
            return f"python -m {argv[2]}"
        return f"python {Path(argv[1]).name}" if len(argv) > 1 else name
    if name in SUBCOMMAND_PROGRAMS:
        sub = next((a for a in argv[1:] if not a.startswith("-")), "")
        return f"{name} {sub}".strip()
    return name


def _counting_popen_init(self, args, *rest, **kwargs):
    with _lock:
        _programs[program_name(args)] += 1
    return _original_popen_init(self, args, *rest, **kwargs)


def _cpu() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


class CostRecorder:
    def __init__(self, path: Path):
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.run_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        with _lock:
            _programs.clear()
        wall, (own, children) = time.monotonic(), _cpu()
        yield
        own_after, children_after = _cpu()
        with _lock:
            programs = dict(_programs)
        record = {
            "run": self.run_id,
            "test": item.nodeid,
            "wall": round(time.monotonic() - wall, 3),
            "cpu_self": round(own_after - own, 3),
            "cpu_children": round(children_after - children, 3),
            "programs": programs,
            "load": round(os.getloadavg()[0], 2),
        }
        with self.path.open("a") as out:
            out.write(json.dumps(record) + "\n")


def pytest_configure(config):
    subprocess.Popen.__init__ = _counting_popen_init
    config.pluginmanager.register(CostRecorder(Path(os.environ.get("PAPR_TEST_COST_FILE", DEFAULT_FILE))))


def pytest_unconfigure(config):
    subprocess.Popen.__init__ = _original_popen_init


# ---------------------------------------------------------------- the table


def group_key(test: str, by: str) -> str:
    path = test.split("::", 1)[0]
    if by == "tier":
        parts = path.split("/")
        return "/".join(parts[:2]) if len(parts) > 2 else path
    return path if by == "file" else test


def summarise(records: list[dict], by: str) -> list[dict]:
    # The last record of each test wins (a tier measured twice counts once).
    latest = {record["test"]: record for record in records}
    groups: dict[str, dict] = {}
    for record in latest.values():
        empty = {"tests": 0, "wall": 0.0, "cpu_self": 0.0, "cpu_children": 0.0}
        row = groups.setdefault(group_key(record["test"], by), {**empty, "programs": collections.Counter()})
        row["tests"] += 1
        for field in ("wall", "cpu_self", "cpu_children"):
            row[field] += record[field]
        row["programs"].update(record["programs"])
    rows = [{"name": name, **row} for name, row in groups.items()]
    return sorted(rows, key=lambda row: row["cpu_self"] + row["cpu_children"], reverse=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Per-test cost table from benchmarks.test_cost records")
    parser.add_argument("file", nargs="?", default=str(DEFAULT_FILE))
    parser.add_argument("--by", choices=("test", "file", "tier"), default="file")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--programs", type=int, default=4, help="programs listed per row")
    args = parser.parse_args(argv)
    records = [json.loads(line) for line in Path(args.file).read_text().splitlines() if line.strip()]
    rows = summarise(records, args.by)
    print(f"{'cpu s':>8} {'self':>7} {'child':>7} {'wall s':>8} {'tests':>5}  {args.by} / programs started")
    for row in rows[: args.top]:
        cpu = row["cpu_self"] + row["cpu_children"]
        programs = ", ".join(f"{name} x{count}" for name, count in row["programs"].most_common(args.programs))
        print(
            f"{cpu:8.1f} {row['cpu_self']:7.1f} {row['cpu_children']:7.1f} {row['wall']:8.1f} "
            f"{row['tests']:5d}  {row['name']}\n{'':41}{programs}"
        )
    total_cpu = sum(row["cpu_self"] + row["cpu_children"] for row in rows)
    total_wall = sum(row["wall"] for row in rows)
    print(f"{total_cpu:8.1f} {'':15} {total_wall:8.1f} {sum(r['tests'] for r in rows):5d}  total")
    return 0


if __name__ == "__main__":
    sys.exit(main())
