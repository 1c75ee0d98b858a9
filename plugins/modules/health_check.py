#!/usr/bin/python
# Copyright: PAPR Memory engineers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: health_check
short_description: Wait until HTTP(S) endpoints answer as expected
version_added: "0.1.0"
description:
  - Polls one or more HTTP(S) endpoints until each answers with an expected status code and,
    optionally, expected values in its JSON body, or until O(timeout) passes.
  - Checks run in rounds; a check that passed is not polled again. Between rounds the module
    sleeps O(delay) seconds, doubling up to O(max_delay), never past the deadline.
  - A TLS certificate that fails verification is reported at once instead of being retried until
    the deadline, because waiting does not make an untrusted certificate trusted.
  - Uses only the Python standard library, so it runs on any managed host.
  - The module never changes anything; it reports RV(ignore:changed=false). In check mode it runs
    the read-only checks (methods C(GET), C(HEAD), C(OPTIONS)) and skips the others.
author:
  - PAPR Memory engineers (@papr-memory)
options:
  checks:
    description: The endpoints to poll. All must pass for the module to succeed.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - Name used in results and error messages.
          - Defaults to the method and URL. Names must be unique.
        type: str
      url:
        description: The C(http://) or C(https://) URL to request.
        type: str
        required: true
      method:
        description: The HTTP method.
        type: str
        default: GET
      status_code:
        description: Status codes that count as a pass.
        type: list
        elements: int
        default: [200]
      json:
        description:
          - Values the JSON body must hold, keyed by dotted path (V(checks.database.status));
            a path step made of digits indexes a list.
          - Values are compared exactly, type included (V(true) is not V(1)).
        type: dict
      json_present:
        description:
          - Dotted paths that must exist in the JSON body with a non-empty value
            (not null, not an empty string, list or object).
        type: list
        elements: str
      headers:
        description: Request headers.
        type: dict
      secret_headers:
        description:
          - Request headers whose values are secret (an API key). They are merged over
            O(checks[].headers) and their values are masked in all output.
        type: dict
      body:
        description:
          - Request body. A dict or list is sent as JSON, with a C(Content-Type) of
            C(application/json) unless the headers set one; anything else is sent as text.
        type: raw
  timeout:
    description:
      - Seconds to keep polling before giving up. V(0) checks each endpoint once.
    type: float
    default: 60
  request_timeout:
    description:
      - Seconds one request may take.
      - The first request of a check always gets this long; later ones are cut to what is left of
        O(timeout) (at least 0.5 seconds).
    type: float
    default: 10
  validate_certs:
    description: Verify the server's TLS certificate. Only turn off for throw-away test servers.
    type: bool
    default: true
  ca_path:
    description: PEM file of CA certificates to trust in addition to the system's.
    type: path
  body_limit:
    description: How many characters of the last body to return for a failed check.
    type: int
    default: 2000
extends_documentation_fragment:
  - papr.memory.polling
notes:
  - Supports check mode (read-only checks only) and runs the same in diff mode; it never reports
    a change.
seealso:
  - module: papr.memory.temporal_check
  - module: ansible.builtin.uri
"""

EXAMPLES = r"""
- name: Wait for the web server and its workers
  papr.memory.health_check:
    checks:
      - name: web
        url: https://memory.example.com/health
        json:
          status: ok
          checks.database.status: ok
      - name: workers
        url: https://memory.example.com/health/workers
        json:
          status: ok
        json_present:
          - task_queues.papr-memory.pollers
          - task_queues.papr-documents.pollers
    timeout: 300
    max_delay: 15

- name: An authenticated endpoint on a host with a private CA
  papr.memory.health_check:
    checks:
      - url: https://127.0.0.1:5001/v1/memories/search?q=ping
        secret_headers:
          X-API-Key: "{{ papr_api_key }}"
    ca_path: /etc/papr-memory/ca.pem
"""

RETURN = r"""
checks:
  description: One entry per check, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The check's name.
      type: str
      sample: web
    url:
      description: The URL requested.
      type: str
      sample: https://memory.example.com/health
    method:
      description: The HTTP method.
      type: str
      sample: GET
    ok:
      description: Whether the check passed.
      type: bool
      sample: true
    skipped:
      description: True when check mode skipped a check that could write.
      type: bool
      sample: false
    status:
      description: The last HTTP status received, null when no response arrived.
      type: int
      sample: 200
    latency_ms:
      description: Round-trip time of the last request, in milliseconds.
      type: float
      sample: 4.2
    attempts:
      description: How many requests were sent.
      type: int
      sample: 3
    json:
      description: The last body parsed as JSON, null when it was not JSON.
      type: raw
      sample: {"status": "ok"}
    msg:
      description: Why the check failed (absent when it passed).
      type: str
      sample: expected status 200, got 503
    body:
      description: The last body, truncated to O(body_limit) characters (only for failed checks).
      type: str
      sample: '{"status": "degraded"}'
failed_checks:
  description: Names of the checks that failed.
  returned: always
  type: list
  elements: str
  sample: [workers]
elapsed:
  description: Seconds spent polling.
  returned: always
  type: float
  sample: 2.5
"""

from urllib.parse import urlparse

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.papr.memory.plugins.module_utils.http_probe import (
    http_request,
    json_path,
    parse_json,
    truncate,
)
from ansible_collections.papr.memory.plugins.module_utils.polling import (
    BACKOFF_ARGUMENT_SPEC,
    Deadline,
    wait_until,
)

READ_ONLY_METHODS = frozenset(["GET", "HEAD", "OPTIONS"])

CHECK_SPEC = dict(
    name=dict(type="str"),
    url=dict(type="str", required=True),
    method=dict(type="str", default="GET"),
    status_code=dict(type="list", elements="int", default=[200]),
    json=dict(type="dict"),
    json_present=dict(type="list", elements="str"),
    headers=dict(type="dict"),
    secret_headers=dict(type="dict", no_log=True),
    body=dict(type="raw"),
)

ARGUMENT_SPEC = dict(
    checks=dict(type="list", elements="dict", required=True, options=CHECK_SPEC),
    timeout=dict(type="float", default=60),
    **BACKOFF_ARGUMENT_SPEC,
    request_timeout=dict(type="float", default=10),
    validate_certs=dict(type="bool", default=True),
    ca_path=dict(type="path"),
    body_limit=dict(type="int", default=2000),
)


class HealthCheck:
    """One endpoint being polled: its expectations and what the last attempt showed."""

    def __init__(self, spec):
        self.method = spec["method"].upper()
        self.url = spec["url"]
        self.name = spec["name"] or f"{self.method} {self.url}"
        self.status_codes = spec["status_code"]
        self.expected_json = spec["json"] or {}
        self.required_paths = spec["json_present"] or []
        self.headers = dict(spec["headers"] or {})
        self.headers.update(spec["secret_headers"] or {})
        self.body = spec["body"]
        self.attempts = 0
        self.ok = False
        self.skipped = False
        self.gave_up = False
        self.last = None
        self.document = None
        self.problems = ["not checked"]

    @property
    def pending(self):
        return not (self.ok or self.skipped or self.gave_up)

    def input_errors(self):
        errors = []
        if urlparse(self.url).scheme not in ("http", "https") or not urlparse(self.url).netloc:
            errors.append(f"url {self.url!r} is not an http(s) URL")
        errors.extend(
            f"status code {c} is not an HTTP status" for c in self.status_codes if not 100 <= c <= 599
        )
        if not self.status_codes:
            errors.append("status_code is empty")
        return [f"check {self.name!r}: {e}" for e in errors]

    def probe(self, params, deadline):
        self.attempts += 1
        self.last = http_request(
            self.url,
            method=self.method,
            headers=self.headers,
            body=self.body,
            timeout=self._request_timeout(params, deadline),
            validate_certs=params["validate_certs"],
            ca_path=params["ca_path"],
        )
        self.document = parse_json(self.last.body) if self.last.status is not None else None
        self.problems = self._problems()
        self.ok = not self.problems
        self.gave_up = not self.ok and not self.last.retryable

    def _request_timeout(self, params, deadline):
        # The first request gets its full time (timeout 0 means "check once", not "give up at once");
        # later ones only what is left, so the module ends near its deadline.
        if self.attempts == 1:
            return params["request_timeout"]
        return deadline.bound(params["request_timeout"])

    def _problems(self):
        if self.last.status is None:
            return [self.last.error]
        if self.last.status not in self.status_codes:
            expected = " or ".join(str(c) for c in self.status_codes)
            return [f"expected status {expected}, got {self.last.status}"]
        if not (self.expected_json or self.required_paths):
            return []
        if self.document is None:
            return ["the body is not JSON"]
        problems = []
        for path, expected in self.expected_json.items():
            found, actual = json_path(self.document, path)
            if not found:
                problems.append(f"{path} is missing, expected {_show(expected)}")
            elif not _same_json_value(actual, expected):
                problems.append(f"{path} is {_show(actual)}, expected {_show(expected)}")
        for path in self.required_paths:
            found, actual = json_path(self.document, path)
            if not found or actual in (None, "", [], {}):
                problems.append(f"{path} is {_show(actual)}, expected a non-empty value")
        return problems

    def result(self, body_limit):
        result = dict(
            name=self.name,
            url=self.url,
            method=self.method,
            ok=self.ok,
            skipped=self.skipped,
            attempts=self.attempts,
            status=self.last.status if self.last else None,
            latency_ms=self.last.latency_ms if self.last else None,
            json=self.document,
        )
        if not (self.ok or self.skipped):
            result["msg"] = self.failure()
            result["body"] = truncate(self.last.body, body_limit) if self.last else None
        return result

    def failure(self, body_limit=None):
        """Why the check failed; with ``body_limit``, the last body too, on one line."""
        why = "; ".join(self.problems)
        if self.gave_up:
            why += " (not retried)"
        message = f"{self.name} ({self.method} {self.url}): {why} after {self.attempts} attempt(s)"
        if body_limit and self.last and self.last.body:
            message += f"; last body: {truncate(' '.join(self.last.body.split()), body_limit)}"
        return message


def _same_json_value(actual, expected):
    # YAML gives typed values, JSON too: compare exactly, but do not let True == 1 pass.
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    return actual == expected


def _show(value):
    """A value as it reads in YAML/JSON: quoted strings, lower-case booleans."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, str) else value


def validate_input(module, checks):
    errors = []
    for option in ("timeout", "delay", "max_delay", "request_timeout"):
        if module.params[option] < 0:
            errors.append(f"{option} must be >= 0")
    if module.params["request_timeout"] == 0:
        errors.append("request_timeout must be > 0")
    if module.params["body_limit"] < 0:
        errors.append("body_limit must be >= 0")
    if not checks:
        errors.append("checks is empty")
    names = [c.name for c in checks]
    errors.extend(
        f"check name {n!r} is used twice" for n in sorted(set(n for n in names if names.count(n) > 1))
    )
    for check in checks:
        errors.extend(check.input_errors())
    if errors:
        module.fail_json(msg="invalid input: " + "; ".join(errors), changed=False)


def failure_message(failed, total, timeout):
    reasons = "; ".join(c.failure(body_limit=300) for c in failed)
    return f"{len(failed)} of {total} health check(s) failed within {timeout}s: {reasons}"


def run_checks(params, checks):
    deadline = Deadline(params["timeout"])

    def all_settled():
        for check in [c for c in checks if c.pending]:
            check.probe(params, deadline)
        return not any(c.pending for c in checks)

    wait_until(all_settled, deadline, delay=params["delay"], max_delay=params["max_delay"])
    return deadline.elapsed()


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    checks = [HealthCheck(spec) for spec in module.params["checks"]]
    validate_input(module, checks)
    if module.check_mode:
        for check in checks:
            check.skipped = check.method not in READ_ONLY_METHODS

    elapsed = run_checks(module.params, checks)

    failed = [c for c in checks if not (c.ok or c.skipped)]
    result = dict(
        changed=False,
        checks=[c.result(module.params["body_limit"]) for c in checks],
        failed_checks=[c.name for c in failed],
        elapsed=round(elapsed, 2),
    )
    if failed:
        module.fail_json(msg=failure_message(failed, len(checks), module.params["timeout"]), **result)
    module.exit_json(msg=f"all {len(checks)} health check(s) passed", **result)


if __name__ == "__main__":
    main()
