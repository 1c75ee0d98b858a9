"""Azure misbehaving (throttling, transient errors, failed or endless operations) and bad
inventory values: the run converges, or stops with a message naming what failed."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

PREFIX = "papr-memory-prod"


def test_throttling_and_transient_errors_are_retried_until_the_run_converges(prod_deployment):
    # The session's first prod deployment ran through them (conftest.throttle_and_fail_transiently):
    # it passed and built option 2 (test_site_prod reads what it built), and its no-op rerun, through
    # throttled app settings reads, writes nothing (test_site_prod.test_second_run_changes_nothing...).
    first = prod_deployment.runs["first"]
    assert first.rc == 0, first.output[-6000:]
    answered = {(entry.method, entry.status) for entry in first.requests}
    assert {("PUT", 429), ("GET", 503), ("PUT", 503)} <= answered, answered


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
