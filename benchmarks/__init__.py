"""Benchmarks against a running stack (not tests): `python -m benchmarks.<name> --help`."""
