"""The single-node Kubernetes the aks face's tests run on (scripts/k8s/node.py): started once per
session, stopped at the end, and the host checked for anything it left behind.

The build (scripts/k8s/build.sh, ~6 minutes cold, cached under /var/cache/papr-memory/k8s) runs on
the first use. The tests skip, saying why, only when this machine cannot build or run it at all
(not root, tools missing); a build or start that fails is a test error."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts import image as image_builder
from scripts.k8s import images
from scripts.k8s.node import SingleNode, build_impossible_reason

SERVICE_IMAGE = "localhost/papr-memory:k8s-test"


@pytest.fixture(scope="session")
def single_node() -> Iterator[SingleNode]:
    reason = build_impossible_reason()
    if reason:
        pytest.skip(f"single-node Kubernetes impossible here: {reason}")
    node = SingleNode(state_dir=Path(f"/var/tmp/papr-k8s-node-{os.getpid()}"))
    host_before = node.host_state()
    try:
        timings = node.up()
        print(f"single node up: {timings}")
        yield node
    finally:
        node.down()
        leftovers = node.leftovers(host_before)
        assert not leftovers, f"the single node left this on the host: {leftovers}"


@pytest.fixture(scope="session")
def cluster_images(single_node: SingleNode) -> dict[str, str]:
    """The service image (scripts/image.py, offline base) and the Temporal dev server image, in
    the node's containerd."""
    if shutil.which("podman") is None:
        pytest.skip("podman is needed to build the service image (scripts/system-packages.sh)")
    image_builder.build_image(SERVICE_IMAGE, base=image_builder.LOCAL_BASE)
    temporal = images.temporal_dev_image(SERVICE_IMAGE)
    for image in (SERVICE_IMAGE, temporal):
        print(f"imported {image} in {single_node.import_image(image):.1f} s")
    return {"service": SERVICE_IMAGE, "temporal_dev": temporal}


def kubectl(
    node: SingleNode, *args: str, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [node.binary("kubectl"), f"--kubeconfig={node.kubeconfig}", *args],
        check=check, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
