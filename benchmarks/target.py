"""Where a benchmark sends its requests: --url/--api-key, PAPR_URL/PAPR_API_KEY, or the local
stack's state folder (make stack-up). Run the benchmarks from the repository root with
`python -m benchmarks.<name>`."""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

from scripts.stack import DEFAULT_STATE_DIR, LocalStack


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default=os.environ.get("PAPR_URL"), help="default: the local stack")
    parser.add_argument("--api-key", default=os.environ.get("PAPR_API_KEY"), help="default: the local stack")
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR, help="local stack state folder")


def resolve_target(args: argparse.Namespace) -> tuple[str, str]:
    if args.url and args.api_key:
        return args.url.rstrip("/"), args.api_key
    stack = LocalStack(state_dir=args.state_dir)
    if not (stack.state_dir / "secrets.json").exists():
        sys.exit(f"no running stack in {stack.state_dir}: run `make stack-up` or pass --url and --api-key")
    return (args.url or stack.url).rstrip("/"), args.api_key or stack.api_key


def quantile(samples_ms: list[float], percent: float) -> float:
    """The nearest-rank percentile (no interpolation beyond the samples)."""
    ordered = sorted(samples_ms)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


def percentiles(samples_ms: list[float]) -> str:
    """p50 / p95 / max by the nearest-rank method."""
    if not samples_ms:
        return "no samples"
    return (
        f"p50 {quantile(samples_ms, 50):.1f} ms, p95 {quantile(samples_ms, 95):.1f} ms,"
        f" max {max(samples_ms):.1f} ms"
    )
