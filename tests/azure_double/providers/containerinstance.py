"""Placeholder until the provider lands."""


def register(double) -> None:
    return None
