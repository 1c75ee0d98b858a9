"""Option 1 in one container: the web server and both workers, supervised together.

`sh -c "python start_all_workers.py & exec uvicorn ..."` would leave the workers without a
SIGTERM when App Service stops the container, so they could never shut down gracefully. This
supervisor starts both as child processes, forwards SIGTERM/SIGINT to each, and when either
child ends it stops the other and exits with that child's code, so the platform restarts the
whole container instead of running half of it.

Run as `python -m app.all_in_one` or `papr-memory-all-in-one`; the port comes from `--port`,
else `WEBSITES_PORT` (what App Service sets), else 5001.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

DEFAULT_PORT = 5001
# Longer than the workers' own grace period (PAPR_WORKER_SHUTDOWN_SECONDS, 30 s by default).
CHILD_STOP_SECONDS = 45


def child_commands(host: str, port: int) -> dict[str, list[str]]:
    return {
        "web": [sys.executable, "-m", "uvicorn", "app.main:app", "--host", host, "--port", str(port)],
        "workers": [sys.executable, "-m", "workers.start_all_workers"],
    }


def child_environment(name: str) -> dict[str, str]:
    """The web server owns WEBSITES_PORT here: without it the workers open no health server of
    their own there (workers/health.py), unless PAPR_WORKERS_HEALTH_PORT names another port."""
    environment = dict(os.environ)
    if name == "workers":
        environment.pop("WEBSITES_PORT", None)
    return environment


def _stop_all(children: dict[str, subprocess.Popen], sig: int) -> None:
    for child in children.values():
        if child.poll() is None:
            child.send_signal(sig)
    deadline = time.monotonic() + CHILD_STOP_SECONDS
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def supervise(commands: dict[str, list[str]]) -> int:
    """Run every command; on a signal or the first exit, stop the rest. Returns the exit code."""
    received: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        received.append(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    children = {
        name: subprocess.Popen(command, env=child_environment(name)) for name, command in commands.items()
    }
    first_exit: tuple[str, int] | None = None
    while not received and first_exit is None:
        for name, child in children.items():
            if child.poll() is not None:
                first_exit = (name, child.returncode)
                break
        else:
            time.sleep(0.2)
    if received:
        _stop_all(children, received[0])
        # A requested stop is a clean stop, whatever status uvicorn reports for its signal.
        return 0
    name, code = first_exit
    print(f"all_in_one: {name} exited with {code}; stopping the others", file=sys.stderr, flush=True)
    _stop_all(children, signal.SIGTERM)
    return code or 1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="0.0.0.0")  # noqa: S104 - a container's web server
    parser.add_argument("--port", type=int, default=int(os.environ.get("WEBSITES_PORT", DEFAULT_PORT)))
    args = parser.parse_args(argv)
    sys.exit(supervise(child_commands(args.host, args.port)))


if __name__ == "__main__":
    main()
