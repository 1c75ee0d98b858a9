"""papr.memory.temporal_check's identity_pattern: only the pollers of the named workers count (how a
migration waits for its new workers before it stops the old ones)."""

from __future__ import annotations

import re

MODULE = "papr.memory.temporal_check"


def test_only_pollers_whose_identity_matches_count(run_module, temporal_server, start_worker):
    _, identity = start_worker("papr-migrating")
    matching = run_module(
        MODULE,
        {
            "address": temporal_server.address,
            "task_queues": ["papr-migrating"],
            "identity_pattern": "^" + re.escape(identity) + "$",
            "timeout": 60,
        },
        expect_failed=False,
    )
    assert matching.result["task_queues"]["papr-migrating"]["live"] is True

    other = run_module(
        MODULE,
        {
            "address": temporal_server.address,
            "task_queues": ["papr-migrating"],
            "identity_pattern": "@new-worker-host:",
            "timeout": 1,
            "delay": 0.5,
        },
        expect_failed=True,
    )
    assert (
        "task queue 'papr-migrating' has no poller whose identity matches '@new-worker-host:'"
        in other.result["msg"]
    )
    assert identity in other.result["msg"]  # the pollers it did see are named


def test_a_bad_identity_pattern_fails_before_connecting(run_module):
    run = run_module(
        MODULE, {"address": "127.0.0.1:1", "identity_pattern": "(unclosed", "timeout": 0}, expect_failed=True
    )
    assert "identity_pattern '(unclosed' is not a regular expression" in run.result["msg"]
