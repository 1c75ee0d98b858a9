# Copyright: PAPR Memory engineers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""One HTTP(S) request that never raises, and helpers to read what came back.

Standard library only (through ``ansible.module_utils.urls``), so the modules using it run on any
managed host without extra packages. Errors become data (:class:`HttpResult`) because a health
check wants to report "connection refused" or "503" and try again, not crash.
"""

from __future__ import annotations

import json
import socket
import ssl
import time
from collections import namedtuple
from urllib.error import HTTPError, URLError

from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.urls import open_url

HttpResult = namedtuple("HttpResult", ["status", "body", "latency_ms", "error", "retryable"])
HttpResult.__doc__ = """What one request gave: ``status`` (None when no response arrived), the body as
text, the round-trip time, an ``error`` message when no response arrived, and whether trying
again could help (a certificate the client does not trust will not fix itself)."""


def http_request(
    url,
    method="GET",
    headers=None,
    body=None,
    timeout=10.0,
    validate_certs=True,
    ca_path=None,
    max_body_bytes=1048576,
):
    """Send one request; ``body`` is bytes/text, or a dict/list sent as JSON."""
    headers = dict(headers or {})
    data = None
    if isinstance(body, (dict, list)):
        data = json.dumps(body).encode("utf-8")
        headers.setdefault("Content-Type", "application/json")
    elif body is not None:
        data = body if isinstance(body, bytes) else to_text(body).encode("utf-8")
    started = time.monotonic()
    try:
        response = open_url(
            url,
            data=data,
            headers=headers,
            method=method,
            timeout=timeout,
            validate_certs=validate_certs,
            ca_path=ca_path,
            follow_redirects="safe",
            http_agent="papr.memory",
            use_netrc=False,
        )
        status, raw = response.status, response.read(max_body_bytes)
    except HTTPError as err:  # a response with a 4xx/5xx status: still an answer
        status, raw = err.code, _read_error_body(err, max_body_bytes)
    except URLError as err:
        return _no_response(started, _describe_reason(err.reason), _retryable(err.reason))
    except TimeoutError:
        return _no_response(started, f"timed out after {timeout:.1f}s", True)
    except (OSError, ssl.SSLError) as err:
        return _no_response(started, _describe_reason(err), _retryable(err))
    return HttpResult(status, to_text(raw, errors="surrogate_or_replace"), _ms_since(started), None, True)


def _read_error_body(err, limit):
    try:
        return err.read(limit)
    except (OSError, ValueError):
        return b""


def _no_response(started, error, retryable):
    return HttpResult(None, "", _ms_since(started), error, retryable)


def _ms_since(started):
    return round((time.monotonic() - started) * 1000.0, 1)


def _retryable(reason):
    # An untrusted or mismatching certificate stays so: waiting until the deadline only hides it.
    return not isinstance(reason, ssl.SSLCertVerificationError)


def _describe_reason(reason):
    if isinstance(reason, ssl.SSLCertVerificationError):
        return "TLS certificate verification failed: %s" % (reason.verify_message or reason)
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return to_text(reason)


def parse_json(text):
    """The body as JSON, or None when it is not JSON."""
    try:
        return json.loads(text)
    except ValueError:
        return None


def json_path(document, path):
    """Follow a dotted path (``checks.database.status``; digits index lists) into a JSON document.

    Returns ``(True, value)`` or ``(False, None)`` when a step does not exist."""
    node = document
    for step in path.split("."):
        if isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
        else:
            return False, None
    return True, node


def truncate(text, limit):
    """``text`` cut to ``limit`` characters, saying how much was dropped."""
    if text is None or len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit} more characters]"
