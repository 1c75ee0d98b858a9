"""Fidelity of the network types: replay the azure-cli recording excerpts in ./recordings against the double.

The comparison is test_fidelity's own (status, LRO headers, JSON shape, operation statuses), pointed at
the excerpts: each keeps one scenario's recorded requests and answers, with unrelated interactions, most
headers and the signature query parameters of operation URLs left out (recordings/README.md: sources).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from . import test_fidelity

RECORDINGS = Path(__file__).parent / "recordings"
NAMES = sorted(p.name for p in RECORDINGS.glob("*.yaml"))


@pytest.fixture
def excerpts(monkeypatch):
    monkeypatch.setattr(test_fidelity, "RECORDINGS", RECORDINGS)
    test_fidelity._interactions.cache_clear()
    yield
    test_fidelity._interactions.cache_clear()


@pytest.mark.parametrize("recording", NAMES)
def test_network_recording_matches_real_azure(azure_double, excerpts, recording):
    test_fidelity.test_replayed_recording_matches_real_azure(azure_double, recording)


def test_excerpts_are_present():
    assert len(NAMES) >= 10
    uris = " ".join(it["request"]["uri"].lower() for name in NAMES for it in test_fidelity.interactions(name))
    for kind in (
        "/networksecuritygroups/",
        "/securityrules/",
        "/privatednszones/",
        "/virtualnetworklinks/",
        "/a/",
        "microsoft.containerinstance/containergroups",
        "/virtualnetworkconnections",
        "/config/web",
        "microsoft.dbforpostgresql/flexibleservers",
        "microsoft.authorization/roleassignments",
        "microsoft.operationalinsights/workspaces",
    ):
        assert kind in uris, kind
