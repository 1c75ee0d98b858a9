"""Settings read from the environment: the same names for the web server and the workers."""

from __future__ import annotations

import os
import socket
from functools import lru_cache
from typing import Annotated

from psycopg.conninfo import conninfo_to_dict
from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MEMORY_TASK_QUEUE = "papr-memory"
DOCUMENT_TASK_QUEUE = "papr-documents"
# How the workers supervisor hands each worker process its health socket (workers/supervisor.py).
WORKERS_HEALTH_SOCKET_VARIABLE = "PAPR_WORKERS_HEALTH_SOCKET_FD"
# Multipart framing (boundaries, part headers) on top of an uploaded file.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
# A JSON string may spell one character as a 6-byte \uXXXX escape.
_JSON_BYTES_PER_CHAR = 6
_JSON_FRAME_BYTES = 16 * 1024


class Settings(BaseSettings):
    """Every knob of the service. Secrets are SecretStr so they never print by accident."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")

    database_url: SecretStr = Field(
        SecretStr("postgresql://papr@127.0.0.1:5432/papr"), validation_alias="DATABASE_URL"
    )
    temporal_address: str = Field("127.0.0.1:7233", validation_alias="TEMPORAL_ADDRESS")
    temporal_namespace: str = Field("default", validation_alias="TEMPORAL_NAMESPACE")
    # NoDecode: a plain comma-separated list, not JSON.
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, validation_alias="PAPR_API_KEYS"
    )
    max_upload_bytes: int = Field(20 * 1024 * 1024, gt=0, validation_alias="PAPR_MAX_UPLOAD_BYTES")
    max_memory_chars: int = Field(100_000, gt=0, validation_alias="PAPR_MAX_MEMORY_CHARS")
    # Metadata is stored as jsonb and travels in the workflow input (Temporal refuses payloads
    # over 2 MB): bounded well below that, in bytes of compact JSON.
    max_metadata_bytes: int = Field(
        64 * 1024, gt=0, le=1024 * 1024, validation_alias="PAPR_MAX_METADATA_BYTES"
    )
    max_metadata_depth: int = Field(32, gt=0, le=256, validation_alias="PAPR_MAX_METADATA_DEPTH")
    # Documents: what one upload may turn into. Past a limit the text is truncated (the document
    # says so); extraction that overruns its time or memory ends the document failed.
    max_document_pages: int = Field(500, gt=0, validation_alias="PAPR_MAX_DOCUMENT_PAGES")
    max_document_chars: int = Field(2_000_000, gt=0, validation_alias="PAPR_MAX_DOCUMENT_CHARS")
    max_document_chunks: int = Field(2_000, gt=0, validation_alias="PAPR_MAX_DOCUMENT_CHUNKS")
    extraction_timeout_seconds: float = Field(30.0, gt=0, validation_alias="PAPR_EXTRACTION_TIMEOUT_SECONDS")
    extraction_memory_mb: int = Field(512, ge=64, validation_alias="PAPR_EXTRACTION_MEMORY_MB")
    # How long an Idempotency-Key is remembered (at least a day, as clients are promised).
    idempotency_key_hours: float = Field(24.0, ge=24.0, validation_alias="PAPR_IDEMPOTENCY_KEY_HOURS")
    log_level: str = Field("INFO", validation_alias="PAPR_LOG_LEVEL")
    migrate_on_start: bool = Field(True, validation_alias="PAPR_MIGRATE_ON_START")
    worker_identity: str | None = Field(None, validation_alias="PAPR_WORKER_IDENTITY")
    memory_worker_concurrency: int = Field(20, gt=0, validation_alias="PAPR_MEMORY_WORKER_CONCURRENCY")
    document_worker_concurrency: int = Field(4, gt=0, validation_alias="PAPR_DOCUMENT_WORKER_CONCURRENCY")
    # A burst of documents must not starve user writes: the document worker starts at most this
    # many activities (documents) per second, and runs in a process of lower CPU priority
    # (this niceness added to its own) wherever it has a process of its own.
    document_worker_activities_per_second: float = Field(
        2.0, gt=0, validation_alias="PAPR_DOCUMENT_WORKER_ACTIVITIES_PER_SECOND"
    )
    document_worker_nice: int = Field(10, ge=0, le=19, validation_alias="PAPR_DOCUMENT_WORKER_NICE")
    worker_shutdown_seconds: float = Field(20.0, ge=0, validation_alias="PAPR_WORKER_SHUTDOWN_SECONDS")
    chunk_size: int = Field(1000, ge=100, validation_alias="PAPR_CHUNK_SIZE")
    chunk_overlap: int = Field(200, ge=0, validation_alias="PAPR_CHUNK_OVERLAP")
    # Temporal's matching service answers an idle long poll after 60 s, so a healthy idle worker
    # refreshes its poller's last access at least once a minute: 90 s leaves room for that.
    poller_liveness_seconds: float = Field(90.0, gt=0, validation_alias="PAPR_POLLER_LIVENESS_SECONDS")
    health_timeout_seconds: float = Field(2.0, gt=0, validation_alias="PAPR_HEALTH_TIMEOUT_SECONDS")
    wait_timeout_seconds: float = Field(30.0, gt=0, validation_alias="PAPR_WAIT_TIMEOUT_SECONDS")
    db_pool_max_size: int = Field(10, gt=0, validation_alias="PAPR_DB_POOL_MAX_SIZE")
    # The workers' own GET /health (workers/health.py). App Service declares a container that
    # answers nothing on WEBSITES_PORT failed to start, so that port is the fallback. One rule:
    # PAPR_WORKERS_HEALTH_PORT if set (empty: off), else WEBSITES_PORT, else no server.
    workers_health_port: int | None = Field(
        None, gt=0, le=65535, validation_alias=AliasChoices("PAPR_WORKERS_HEALTH_PORT", "WEBSITES_PORT")
    )
    workers_health_host: str = Field("0.0.0.0", validation_alias="PAPR_WORKERS_HEALTH_HOST")  # noqa: S104
    # Set by the workers supervisor for its children only: a bound loopback socket, inherited.
    workers_health_socket_fd: int | None = Field(None, ge=0, validation_alias=WORKERS_HEALTH_SOCKET_VARIABLE)

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [key.strip() for key in value.split(",") if key.strip()]
        return value

    @field_validator("workers_health_port", mode="before")
    @classmethod
    def _empty_port_is_off(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"):
            raise ValueError("PAPR_LOG_LEVEL must be one of CRITICAL, ERROR, WARNING, INFO, DEBUG")
        return level

    @field_validator("chunk_overlap")
    @classmethod
    def _overlap_below_size(cls, value: int, info) -> int:
        size = info.data.get("chunk_size")
        if size is not None and value >= size:
            raise ValueError("PAPR_CHUNK_OVERLAP must be smaller than PAPR_CHUNK_SIZE")
        return value

    @property
    def max_json_body_bytes(self) -> int:
        """The largest POST /v1/memories body worth reading: follows the memory size limits."""
        return _JSON_BYTES_PER_CHAR * (self.max_memory_chars + self.max_metadata_bytes) + _JSON_FRAME_BYTES

    def identity_for(self, component: str) -> str:
        """The worker identity Temporal shows for pollers: explicit, or component@host:pid."""
        return self.worker_identity or f"{component}@{socket.gethostname()}:{os.getpid()}"

    def secret_values(self) -> list[str]:
        """Every secret string, so the log formatter can mask it wherever it appears."""
        secrets = [key.get_secret_value() for key in self.api_keys]
        try:
            password = conninfo_to_dict(self.database_url.get_secret_value()).get("password")
        except Exception:  # noqa: BLE001 - a malformed URL has no password to mask
            password = None
        if password:
            secrets.append(str(password))
        return [secret for secret in secrets if secret]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
