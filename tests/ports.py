"""Free loopback ports for the stacks tests start, so that runs sharing a machine never collide."""

from __future__ import annotations

import contextlib
import socket


def free_port_block(count: int, candidates: range) -> int:
    """The first port of ``count`` consecutive ports, starting in ``candidates``, that are free now."""
    for base in candidates:
        try:
            with contextlib.ExitStack() as sockets:
                for port in range(base, base + count):
                    sockets.enter_context(socket.socket()).bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise RuntimeError(f"no {count} free consecutive ports from {candidates.start} to {candidates.stop - 1}")
