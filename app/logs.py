"""Structured JSON logs with a request id, and masking of every secret the settings know."""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import sys
from datetime import UTC, datetime

from temporalio.runtime import LogForwardingConfig, LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

# Any URL with credentials (postgresql://user:password@host) loses its password, even one the
# settings do not know about (a typo'd variable, an exception message from a driver).
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]+:)[^@\s]+@")
_PASSWORD_FIELD = re.compile(r"(?i)(password\s*[=:]\s*)('[^']*'|\"[^\"]*\"|\S+)")
# Record attributes that are not extra fields (uvicorn adds an ANSI-coloured copy of its message).
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName", "color_message"}
MASK = "***"


def redact(text: str, secrets: list[str]) -> str:
    text = _URL_PASSWORD.sub(lambda m: m.group("scheme") + MASK + "@", text)
    text = _PASSWORD_FIELD.sub(lambda m: m.group(1) + MASK, text)
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, request_id and any `extra` fields."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = sorted(set(secrets), key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and key != "request_id":
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str), self._secrets)


def configure_logging(level: str, secrets: list[str]) -> None:
    """Route every logger (ours, uvicorn's, temporalio's) through one JSON handler on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # The request middleware writes one access line per request with the request id.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    _forward_temporal_core_logs()


def _forward_temporal_core_logs() -> None:
    """Temporal's Rust core prints its own (coloured, non-JSON) lines on stderr by default; route
    them through Python logging so they come out as JSON like everything else. Must run before
    the first Temporal client is created."""
    runtime = Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(
                filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
            )
        )
    )
    Runtime.set_default(runtime, error_if_already_set=False)


def exit_process(code: int) -> None:
    """Flush and leave with os._exit: the Temporal runtime set up above can abort during
    interpreter teardown (PyGILState_Release), which would turn a clean stop into exit 134."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
