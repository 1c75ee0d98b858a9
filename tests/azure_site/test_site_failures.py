"""Azure misbehaving (throttling, transient errors, failed or endless operations) and bad
inventory values: the run converges, or stops with a message naming what failed."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

PREFIX = "papr-memory-prod"


def test_throttling_and_transient_errors_are_retried_until_the_run_converges(site, azure_double):
    double = azure_double
    double.inject_status(r"/resourcegroups/papr-memory-prod$", status=429, method="PUT", times=2)
    double.inject_status(r"/serverfarms/", status=429, method="PUT", times=2)
    double.inject_status(r"/flexibleServers/", status=503, method="GET", times=3)
    double.inject_status(r"/containerGroups/", status=503, method="PUT", times=1)
    double.inject_status(r"/config/appsettings/list$", status=429, method="POST", times=2)

    run = site.run("prod")
    assert run.rc == 0, run.output[-6000:]
    assert any(entry.status in (429, 503) for entry in run.requests)
    rerun = site.run("prod")
    assert rerun.rc == 0, rerun.output[-6000:]
    assert rerun.recap()["changed"] == 0
    assert rerun.writes == []


def test_a_failed_long_running_operation_stops_the_play_naming_the_resource(site, azure_double):
    double = azure_double
    double.fail_operations(
        r"/containerGroups/", code="ServiceUnavailable", message="The requested resource is not available."
    )
    run = site.run("prod")
    assert run.rc != 0
    assert f"{PREFIX}-temporal" in run.output
    assert "ServiceUnavailable" in run.output
    # Nothing after Temporal was attempted.
    assert not [entry for entry in run.writes if "/Microsoft.Web/" in entry.path]


def test_a_long_running_operation_past_its_timeout_stops_the_play_naming_the_resource(site, azure_double):
    double = azure_double
    double.slow_operations(r"/flexibleServers/[^/]+$", polls=1_000_000, method="PUT")
    run = site.run("prod", extra_vars={"papr_azure_module_defaults": {"timeout": 3}})
    assert run.rc != 0
    assert f"{PREFIX}-pg" in run.output
    assert "timeout" in run.output.lower() or "timed out" in run.output.lower()
    assert not [entry for entry in run.writes if "/containerGroups/" in entry.path]
