#!/usr/bin/env python3
"""Which of the given TCP endpoints accept a connection from where this runs.

Argument: a JSON list of [address, port]. Prints the JSON list of "address:port" that accepted; a
refused, unroutable or silent endpoint (3 s) counts as unreachable.
"""

import json
import socket
import sys

reachable = []
for address, port in json.loads(sys.argv[1]):
    try:
        socket.create_connection((address, int(port)), timeout=3).close()
    except OSError:
        continue
    reachable.append(f"{address}:{port}")
print(json.dumps(reachable))
