"""Free loopback ports for the servers tests start, so that tests running at once never collide.

Every picker here probes only this pytest-xdist worker's share of the candidates: two workers
probing the same range at the same moment both find its first ports free, and then one worker's
clients talk to the other's servers (CI failures: a Temporal client reached another worker's UI
port; a verify run met another worker's web server and its API key). A bind probe alone cannot
close that race; disjoint shares do. Each test suite owns its own range (see the callers)."""

from __future__ import annotations

import contextlib
import itertools
import os
import socket


def worker_share(candidates: range) -> range:
    """This xdist worker's slice of ``candidates`` (all of them outside xdist)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    size = len(candidates) // workers
    return candidates[worker * size : (worker + 1) * size]


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int, candidates: range) -> list[int]:
    """``count`` distinct ports of this worker's share of ``candidates`` that nothing holds now."""
    share = worker_share(candidates)
    found = list(itertools.islice((port for port in share if _is_free(port)), count))
    if len(found) < count:
        raise RuntimeError(f"fewer than {count} free ports in {share.start}-{share.stop - 1}")
    return found


def free_port_block(count: int, candidates: range) -> int:
    """The first port of ``count`` consecutive free ports starting at one of this worker's share of
    ``candidates`` (a range of block starts)."""
    share = worker_share(candidates)
    for base in share:
        try:
            with contextlib.ExitStack() as sockets:
                for port in range(base, base + count):
                    sockets.enter_context(socket.socket()).bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise RuntimeError(f"no {count} free consecutive ports from a start in {share.start}-{share.stop - 1}")
