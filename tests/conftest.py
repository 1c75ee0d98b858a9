"""Suite-wide settings: which tests must share one pytest-xdist worker.

`make test` runs the suite on two workers (`-n 2 --dist loadgroup`). Tests that start things only
only one of which can exist on a machine at a time (podman hosts and images with fixed names, the
single-node Kubernetes that owns kubelet's host paths and, like podman, the host's iptables) run on
one worker, one after another; everything else picks free ports and temporary folders and is
spread over both workers."""

from __future__ import annotations

import pytest

# marker -> the worker group its tests run in.
EXCLUSIVE_GROUPS = {"molecule": "host", "image": "host", "k8s": "host"}


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups from the markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for marker, group in EXCLUSIVE_GROUPS.items():
            if item.get_closest_marker(marker):
                item.add_marker(pytest.mark.xdist_group(group))
                break
