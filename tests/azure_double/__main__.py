"""Run the double on its own: python -m tests.azure_double --port N (prints what to export)."""

from __future__ import annotations

import argparse
import shlex
import signal
import threading

from .server import AzureDouble


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.azure_double", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--state-dir", help="where the CA file goes (default: a new temporary directory)")
    parser.add_argument("--lro-polls", type=int, default=1, help="status polls until an operation ends")
    parser.add_argument("--lro-seconds", type=float, default=0.0, help="minimum seconds an operation runs")
    parser.add_argument("--tenant-id")
    parser.add_argument("--client-id")
    parser.add_argument("--client-secret")
    parser.add_argument("--subscription-id")
    args = parser.parse_args()

    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    double = AzureDouble(
        args.host,
        args.port,
        lro_polls=args.lro_polls,
        lro_seconds=args.lro_seconds,
        tenant_id=args.tenant_id,
        client_id=args.client_id,
        client_secret=args.client_secret,
        subscription_id=args.subscription_id,
        state_dir=args.state_dir,
    ).start()
    print(f"# Azure double listening on {double.base_url}", flush=True)
    print(f"# CA certificate: {double.ca_path}", flush=True)
    for name, value in double.env.items():
        print(f"export {name}={shlex.quote(value)}", flush=True)

    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        double.stop()


if __name__ == "__main__":
    main()
