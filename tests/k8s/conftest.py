"""The single-node Kubernetes the aks face's tests run on (scripts/k8s/node.py): started once per
session, stopped at the end, and the host checked for anything it left behind.

The build (scripts/k8s/build.sh, ~6 minutes cold, cached under /var/cache/papr-memory/k8s) runs on
the first use, or earlier: `make test` starts it in the background before lint (the first use then
waits for it on its lock). The tests skip, saying why, only when this machine cannot build or run it at all
(not root, tools missing); a build or start that fails is a test error."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.k8s.node import SingleNode, build_impossible_reason
from tests.k8s.aks_site import import_cluster_images


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
        print(f"single node down: {node.down()}")
        leftovers = node.leftovers(host_before)
        assert not leftovers, f"the single node left this on the host: {leftovers}"


@pytest.fixture(scope="session")
def cluster_images(single_node: SingleNode) -> dict[str, str]:
    if shutil.which("podman") is None:
        pytest.skip("podman is needed to build the service image (scripts/system-packages.sh)")
    return import_cluster_images(single_node)
