"""The validation boundary, body limits and 405s, in process (FastAPI TestClient): each of these
is refused before PostgreSQL or Temporal would be touched, so no stack is needed."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from unittest import mock

import pytest
from fastapi.testclient import TestClient

from app.config import get_settings

API_KEY = "in-process-test-key"
MAX_MEMORY_CHARS = 20_000
MAX_METADATA_BYTES = 2048
MAX_UPLOAD_BYTES = 4096
# Fixed, so that test ids are the same in every pytest-xdist worker.
UNKNOWN_ID = uuid.UUID("1fb49d6d-47a8-4c65-b920-65ae534c1451")


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    environment = {
        "PAPR_API_KEYS": API_KEY,
        # Nothing listens there: a request that got past validation would answer 503.
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/nothing",
        "TEMPORAL_ADDRESS": "127.0.0.1:9",
        "PAPR_MIGRATE_ON_START": "false",
        "PAPR_MAX_MEMORY_CHARS": str(MAX_MEMORY_CHARS),
        "PAPR_MAX_METADATA_BYTES": str(MAX_METADATA_BYTES),
        "PAPR_MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES),
    }
    with mock.patch.dict(os.environ, environment):
        get_settings.cache_clear()
        from app.main import create_app

        app = create_app()
        with TestClient(app, headers={"X-API-Key": API_KEY}) as test_client:
            yield test_client
    get_settings.cache_clear()


def _error(response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    return body["error"]["message"]


def _raw(client: TestClient, body: str, **kwargs):
    return client.post(
        "/v1/memories", content=body.encode(), headers={"Content-Type": "application/json"}, **kwargs
    )


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"content": "a\u0000b"}, "content"),
        ({"content": "ok", "metadata": {"k": "a\u0000b"}}, "metadata.k"),
        ({"content": "ok", "metadata": {"a\u0000b": 1}}, "metadata key"),
        ({"content": "ok", "metadata": {"list": [1, {"deep": "x\u0000"}]}}, "metadata.list[1].deep"),
        ({"content": "   \n\t "}, "content"),
        ({"content": "x" * (MAX_MEMORY_CHARS + 1)}, "content"),
        ({"content": "ok", "unknown": 1}, "unknown"),
    ],
    ids=["nul-content", "nul-value", "nul-key", "nul-nested", "whitespace", "too-long", "unknown-field"],
)
def test_unstorable_memory_is_422_naming_the_field(client: TestClient, payload: dict, field: str) -> None:
    assert field in _error(client.post("/v1/memories", json=payload), 422, "validation_error")


@pytest.mark.parametrize(
    "body",
    [
        '{"content": "x", "metadata": {"n": 1e999}}',
        '{"content": "x", "metadata": {"n": NaN}}',
        '{"content": "x", "metadata": {"n": [-Infinity]}}',
        '{"content": "x", "metadata": {"s": "\\ud800"}}',
        '{"content": "\\udfff"}',
    ],
    ids=["1e999", "NaN", "-Infinity", "lone-surrogate-metadata", "lone-surrogate-content"],
)
def test_non_finite_numbers_and_invalid_unicode_are_422(client: TestClient, body: str) -> None:
    message = _error(_raw(client, body), 422, "validation_error")
    assert "metadata" in message or "content" in message


@pytest.mark.parametrize("depth", [40, 5000, 20_000])
def test_deep_metadata_is_422(client: TestClient, depth: int) -> None:
    body = '{"content": "x", "metadata": ' + '{"a": ' * depth + "1" + "}" * depth + "}"
    assert "metadata" in _error(_raw(client, body), 422, "validation_error")


def test_oversized_metadata_is_413(client: TestClient) -> None:
    payload = {"content": "x", "metadata": {"blob": "m" * MAX_METADATA_BYTES}}
    assert "metadata" in _error(client.post("/v1/memories", json=payload), 413, "payload_too_large")


def test_a_body_over_the_json_limit_is_refused_before_it_is_read(client: TestClient) -> None:
    limit = get_settings().max_json_body_bytes
    assert limit < 6 * (MAX_MEMORY_CHARS + MAX_METADATA_BYTES) + 20_000  # follows the memory limits
    received: list[int] = []

    def body() -> Iterator[bytes]:
        for _ in range(limit // 65536 + 10):
            received.append(1)
            yield b" " * 65536

    # Declared length: refused at once, even with a wrong API key (no body is read for auth).
    declared = client.post(
        "/v1/memories",
        content=b"{}",
        headers={"Content-Type": "application/json", "Content-Length": str(limit + 1), "X-API-Key": "wrong"},
    )
    assert str(limit) in _error(declared, 413, "payload_too_large")
    # Streamed without a length: refused once the limit is passed, not after the whole body.
    streamed = client.post("/v1/memories", content=body(), headers={"Content-Type": "application/json"})
    _error(streamed, 413, "payload_too_large")


def test_documents_are_limited_while_streaming(client: TestClient) -> None:
    def body() -> Iterator[bytes]:
        for _ in range(100):
            yield b"d" * 4096

    response = client.post("/v1/documents", content=body(), headers={"Content-Type": "text/plain"})
    _error(response, 413, "payload_too_large")


def test_nul_in_search_query_is_422(client: TestClient) -> None:
    assert "q" in _error(client.get("/v1/memories/search?q=a%00b"), 422, "validation_error")


def test_nul_in_upload_filename_is_422(client: TestClient) -> None:
    response = client.post(
        "/v1/documents?filename=a%00b.txt", content=b"text", headers={"Content-Type": "text/plain"}
    )
    assert "filename" in _error(response, 422, "validation_error")
    # Written by hand: HTTP clients percent-encode a NUL in a multipart file name.
    body = (
        b'--B\r\nContent-Disposition: form-data; name="file"; filename="a\x00b.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\ntext\r\n--B--\r\n"
    )
    multipart = client.post(
        "/v1/documents", content=body, headers={"Content-Type": "multipart/form-data; boundary=B"}
    )
    assert "filename" in _error(multipart, 422, "validation_error")


@pytest.mark.parametrize("value", ['"has space"', "", '"' + "k" * 256 + '"', "tab\there"])
def test_malformed_idempotency_key_is_422(client: TestClient, value: str) -> None:
    response = client.post("/v1/memories", json={"content": "x"}, headers={"Idempotency-Key": value})
    assert "Idempotency-Key" in _error(response, 422, "validation_error")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/v1/memories/search", "GET"),
        ("POST", "/v1/memories/search", "GET"),
        ("PUT", f"/v1/memories/{UNKNOWN_ID}", "DELETE, GET"),
        ("PATCH", f"/v1/documents/{UNKNOWN_ID}", "GET"),
        ("GET", "/v1/documents", "POST"),
        ("DELETE", "/v1/memories", "POST"),
        ("POST", "/health", "GET"),
    ],
)
def test_wrong_method_is_405_with_every_allowed_method(
    client: TestClient, method: str, path: str, allow: str
) -> None:
    response = client.request(method, path)
    _error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == allow


def test_openapi_declares_every_answer(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    error_ref = "#/components/schemas/ErrorBody"
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            for status, response in responses.items():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if status == "204":
                    continue
                assert schema and schema != {}, f"{method} {path} {status} has no schema"
                if status.startswith(("4", "5")) and path.startswith("/v1"):
                    assert schema == {"$ref": error_ref}, f"{method} {path} {status}"
            if path.startswith("/v1"):
                assert {"401", "405", "503"} <= set(responses), f"{method} {path}"
    memories = document["paths"]["/v1/memories"]["post"]
    assert {"201", "202", "409", "413", "422"} <= set(memories["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in memories["parameters"])
    documents = document["paths"]["/v1/documents"]["post"]
    assert {"202", "409", "413", "415", "422"} <= set(documents["responses"])
    content = documents["requestBody"]["content"]
    assert {"multipart/form-data", "text/plain", "text/markdown", "application/pdf"} <= set(content)
    assert set(document["components"]["securitySchemes"]) == {"APIKeyHeader", "HTTPBearer"}
    assert json.dumps(document)  # serialisable as served
