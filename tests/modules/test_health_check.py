"""papr.memory.health_check run by ansible-playbook against real HTTP(S) servers on 127.0.0.1."""

from __future__ import annotations

import pytest

from tests.modules.conftest import SYSTEM_PYTHON, ScriptedService

MODULE = "papr.memory.health_check"


def test_passes_on_expected_status_and_json(run_module, http_service):
    run = run_module(
        MODULE,
        {
            "checks": [
                {
                    "name": "web",
                    "url": f"{http_service.url}/health",
                    "json": {"status": "ok", "checks.database.status": "ok"},
                    "json_present": ["checks.database.latency_ms"],
                }
            ],
            "timeout": 30,
        },
        expect_failed=False,
    )
    (check,) = run.result["checks"]
    assert run.result["changed"] is False
    assert check["ok"] is True and check["status"] == 200 and check["attempts"] == 1
    assert check["latency_ms"] > 0
    assert check["json"]["checks"]["database"]["status"] == "ok"
    assert http_service.service.count("/health") == 1


def test_backs_off_until_the_endpoint_becomes_healthy(run_module, http_service):
    http_service.service.healthy_after = 4
    run = run_module(
        MODULE,
        {"checks": [{"name": "flaky", "url": f"{http_service.url}/flaky"}], "timeout": 60, "delay": 0.2},
        expect_failed=False,
    )
    (check,) = run.result["checks"]
    assert check["ok"] is True and check["attempts"] == 4
    assert check["json"] == {"status": "ok", "attempt": 4}
    assert http_service.service.count("/flaky") == 4


def test_never_healthy_fails_naming_the_check_and_last_body(run_module, http_service):
    run = run_module(
        MODULE,
        {
            "checks": [
                {"name": "web", "url": f"{http_service.url}/health"},
                {"name": "database", "url": f"{http_service.url}/never"},
            ],
            "timeout": 3,
            "delay": 0.5,
            "body_limit": 100,
        },
        expect_failed=True,
    )
    msg = run.result["msg"]
    assert "1 of 2 health check(s) failed within 3.0s" in msg
    assert f"database (GET {http_service.url}/never): expected status 200, got 503" in msg
    assert '"status": "degraded"' in msg  # the last body, on one line
    assert run.result["failed_checks"] == ["database"]
    web, database = run.result["checks"]
    assert web["ok"] is True and web["attempts"] == 1  # a passed check is not polled again
    assert database["ok"] is False and database["status"] == 503 and database["attempts"] >= 2
    assert database["body"].startswith('{"status": "degraded"') and "more characters]" in database["body"]
    assert len(database["body"]) < 200
    assert http_service.service.count("/never") == database["attempts"]


def test_json_mismatch_names_the_field(run_module, http_service):
    run = run_module(
        MODULE,
        {
            "checks": [
                {
                    "name": "workers",
                    "url": f"{http_service.url}/degraded",
                    "json": {"status": "ok", "version": "1.0"},
                    "json_present": ["task_queues.papr-memory.pollers", "task_queues.papr-documents.pollers"],
                }
            ],
            "timeout": 0,
        },
        expect_failed=True,
    )
    msg = run.result["msg"]
    assert "status is 'degraded', expected 'ok'" in msg
    assert "version is missing, expected '1.0'" in msg
    assert "task_queues.papr-memory.pollers is [], expected a non-empty value" in msg
    assert "task_queues.papr-documents.pollers is None, expected a non-empty value" in msg
    assert run.result["checks"][0]["attempts"] == 1  # timeout 0: checked once


def test_unknown_ca_is_rejected_at_once_and_accepted_with_ca_path(run_module, https_service):
    check = {"name": "tls", "url": f"{https_service.url}/health", "json": {"status": "ok"}}
    rejected = run_module(MODULE, {"checks": [check], "timeout": 60}, expect_failed=True)
    assert "tls (GET" in rejected.result["msg"]
    assert "TLS certificate verification failed" in rejected.result["msg"]
    assert "(not retried)" in rejected.result["msg"]
    assert rejected.result["checks"][0]["attempts"] == 1
    assert rejected.result["elapsed"] < 30  # did not wait for the 60 s deadline

    accepted = run_module(
        MODULE, {"checks": [check], "ca_path": https_service.ca_path, "timeout": 30}, expect_failed=False
    )
    assert accepted.result["checks"][0]["status"] == 200
    assert https_service.service.count("/health") == 1  # the rejected handshake never reached HTTP

    unverified = run_module(MODULE, {"checks": [check], "validate_certs": False}, expect_failed=False)
    assert unverified.result["checks"][0]["status"] == 200


def test_secret_header_is_sent_and_never_shown(run_module, http_service):
    key = ScriptedService.API_KEY
    args = {
        "checks": [
            {"name": "api", "url": f"{http_service.url}/secret", "secret_headers": {"X-API-Key": key}},
            {"name": "bad-key", "url": f"{http_service.url}/secret", "secret_headers": {"X-API-Key": "nope"}},
        ],
        "timeout": 0,
    }
    run = run_module(MODULE, args, verbosity=3, expect_failed=True)
    api, wrong = run.result["checks"]
    assert api["ok"] is True and wrong["status"] == 401
    assert key not in run.output
    assert http_service.service.requests[0][2]["x-api-key"] == key


def test_check_mode_runs_reads_and_skips_writes(run_module, http_service):
    run = run_module(
        MODULE,
        {
            "checks": [
                {"name": "read", "url": f"{http_service.url}/health"},
                {"name": "write", "url": f"{http_service.url}/write", "method": "POST", "body": {"a": 1}},
            ]
        },
        check=True,
        expect_failed=False,
    )
    read, write = run.result["checks"]
    assert run.result["changed"] is False
    assert read["ok"] is True and read["attempts"] == 1
    assert write["skipped"] is True and write["attempts"] == 0
    assert http_service.service.count("/write", "POST") == 0


def test_bad_input_fails_before_any_request(run_module, http_service):
    run = run_module(
        MODULE,
        {
            "checks": [
                {"name": "a", "url": "ftp://127.0.0.1/x"},
                {"name": "a", "url": f"{http_service.url}/health", "status_code": [700]},
            ],
            "delay": -1,
        },
        expect_failed=True,
    )
    msg = run.result["msg"]
    assert msg.startswith("invalid input: ")
    assert "delay must be >= 0" in msg
    assert "check name 'a' is used twice" in msg
    assert "url 'ftp://127.0.0.1/x' is not an http(s) URL" in msg
    assert "status code 700 is not an HTTP status" in msg
    assert http_service.service.requests == []


@pytest.mark.skipif(not __import__("os").path.exists(SYSTEM_PYTHON), reason="no system Python")
def test_runs_on_a_plain_python_without_extra_packages(run_module, http_service):
    run = run_module(
        MODULE,
        {"checks": [{"url": f"{http_service.url}/health", "json": {"status": "ok"}}]},
        python=SYSTEM_PYTHON,
        expect_failed=False,
    )
    assert run.result["checks"][0]["ok"] is True
