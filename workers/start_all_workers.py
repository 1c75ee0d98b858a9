"""Both workers, each in its own process: `python start_all_workers.py` (App Service options 1
and 2, hosts option 1, the local stack), `python -m workers.start_all_workers` or
`papr-memory-workers`.

This is the one place that decides how the worker processes are launched. The memory worker and
the document worker run as two child processes (`workers.memory_worker`, `workers.document_worker`):
a burst of documents then shares neither an event loop nor a GIL with the users' memory writes,
and the document worker lowers its own CPU priority (PAPR_DOCUMENT_WORKER_NICE, see
workers/runner.py). This supervisor forwards SIGTERM/SIGINT to both, stops the other when one
ends (so the platform restarts the whole unit instead of running half of it), and serves the
workers' GET /health on the configured port by merging what each child reports on a loopback
port of its own.
"""

import os
import sys

if __package__ in (None, ""):
    # Started as a script (from the repository root or the image's work dir): make the
    # `workers` and `app` packages importable from the folder above this file.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from workers.supervisor import supervise_workers  # noqa: E402 - needs the path set above


def main() -> None:
    supervise_workers()


if __name__ == "__main__":
    main()
