"""Settings from the environment (no stack needed)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.config import Settings
from app.logs import redact


def test_defaults_match_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PAPR_API_KEYS", "PAPR_MAX_UPLOAD_BYTES", "TEMPORAL_ADDRESS", "PAPR_WORKER_IDENTITY"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.max_upload_bytes == 20 * 1024 * 1024
    assert settings.temporal_address == "127.0.0.1:7233" and settings.temporal_namespace == "default"
    assert (settings.memory_worker_concurrency, settings.document_worker_concurrency) == (20, 4)
    assert (settings.document_worker_activities_per_second, settings.document_worker_nice) == (2.0, 10)
    assert settings.api_keys == [] and settings.migrate_on_start is True
    assert settings.identity_for("memory-worker").startswith("memory-worker@")


def test_api_keys_are_a_comma_separated_secret_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPR_API_KEYS", " key-one, key-two ,,")
    monkeypatch.setenv("DATABASE_URL", "postgresql://papr:s3cret-pw@db:5432/papr")
    settings = Settings()
    assert [key.get_secret_value() for key in settings.api_keys] == ["key-one", "key-two"]
    assert "key-one" not in repr(settings) and "s3cret-pw" not in repr(settings)
    assert sorted(settings.secret_values()) == ["key-one", "key-two", "s3cret-pw"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PAPR_LOG_LEVEL", "LOUD"),
        ("PAPR_MAX_UPLOAD_BYTES", "0"),
        ("PAPR_MEMORY_WORKER_CONCURRENCY", "-1"),
        ("PAPR_CHUNK_OVERLAP", "5000"),
        ("PAPR_MIGRATE_ON_START", "perhaps"),
        ("PAPR_DOCUMENT_WORKER_ACTIVITIES_PER_SECOND", "0"),
        ("PAPR_DOCUMENT_WORKER_NICE", "20"),
    ],
)
def test_bad_values_are_refused_with_the_variable_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name):
        Settings()


def test_redaction_masks_urls_passwords_and_known_secrets() -> None:
    line = "connect postgresql://papr:hunter2@db/papr password=abc key=k-123 other"
    masked = redact(line, ["k-123"])
    assert "hunter2" not in masked and "abc" not in masked and "k-123" not in masked
    assert "postgresql://papr:***@db/papr" in masked and "other" in masked
