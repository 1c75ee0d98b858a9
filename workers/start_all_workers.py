"""Both workers in one process: `python start_all_workers.py` (App Service options 1 and 2),
`python -m workers.start_all_workers` or `papr-memory-workers`."""

import os
import sys

if __package__ in (None, ""):
    # Started as a script (from the repository root or the image's work dir): make the
    # `workers` and `app` packages importable from the folder above this file.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from workers.runner import COMPONENTS, run  # noqa: E402 - needs the path set above


def main() -> None:
    run(list(COMPONENTS))


if __name__ == "__main__":
    main()
