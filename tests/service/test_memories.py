"""The memory API against the real stack: writes go through Temporal to the memory worker."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.service.conftest import wait_until


def _error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    return body["error"]["message"]


def test_create_queues_then_stores(api: httpx.Client) -> None:
    payload = {"content": "Otters hold hands while sleeping", "metadata": {"k": 1}}
    created = api.post("/v1/memories", json=payload)
    assert created.status_code == 202, created.text
    body = created.json()
    assert body["status"] == "queued" and uuid.UUID(body["id"])
    assert created.headers["location"] == f"/v1/memories/{body['id']}"

    def stored() -> dict | None:
        memory = api.get(f"/v1/memories/{body['id']}").json()
        return memory if memory["status"] == "stored" else None

    memory = wait_until(stored, 60, "the memory worker did not store the memory")
    assert memory["content"] == "Otters hold hands while sleeping"
    assert memory["metadata"] == {"k": 1}
    assert memory["document_id"] is None


def test_create_and_wait_returns_the_stored_memory(api: httpx.Client) -> None:
    created = api.post("/v1/memories?wait=true", json={"content": "Glaciers carve fjords"})
    assert created.status_code == 201, created.text
    memory = created.json()
    assert memory["status"] == "stored" and memory["content"] == "Glaciers carve fjords"
    assert api.get(f"/v1/memories/{memory['id']}").json() == memory


def test_search_ranks_the_better_match_first(api: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:10]
    weak = api.post("/v1/memories?wait=true", json={"content": f"{tag} appears once among many other words"})
    strong = api.post("/v1/memories?wait=true", json={"content": f"{tag} {tag} {tag} {tag}"})
    unrelated = api.post("/v1/memories?wait=true", json={"content": "nothing to see here"})
    assert {weak.status_code, strong.status_code, unrelated.status_code} == {201}

    found = api.get("/v1/memories/search", params={"q": tag, "limit": 10})
    assert found.status_code == 200, found.text
    body = found.json()
    assert [result["id"] for result in body["results"]] == [strong.json()["id"], weak.json()["id"]]
    assert body["count"] == 2 and body["results"][0]["rank"] > body["results"][1]["rank"]

    limited = api.get("/v1/memories/search", params={"q": tag, "limit": 1}).json()
    assert [result["id"] for result in limited["results"]] == [strong.json()["id"]]


def test_search_uses_stemming(api: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:10]
    memory = api.post("/v1/memories?wait=true", json={"content": f"{tag} the runners were running"}).json()
    found = api.get("/v1/memories/search", params={"q": f"{tag} run"}).json()
    assert [result["id"] for result in found["results"]] == [memory["id"]]


def test_delete(api: httpx.Client) -> None:
    memory = api.post("/v1/memories?wait=true", json={"content": "to be forgotten"}).json()
    deleted = api.delete(f"/v1/memories/{memory['id']}")
    assert deleted.status_code == 204, deleted.text
    _error(api.get(f"/v1/memories/{memory['id']}"), 404, "not_found")
    _error(api.delete(f"/v1/memories/{memory['id']}"), 404, "not_found")


def test_unknown_memory_is_404(api: httpx.Client) -> None:
    missing = uuid.uuid4()
    assert str(missing) in _error(api.get(f"/v1/memories/{missing}"), 404, "not_found")
    _error(api.delete(f"/v1/memories/{missing}"), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path", "payload", "where"),
    [
        ("POST", "/v1/memories", {}, "content"),
        ("POST", "/v1/memories", {"content": ""}, "content"),
        ("POST", "/v1/memories", {"content": "x", "metadata": [1]}, "metadata"),
        ("GET", "/v1/memories/not-a-uuid", None, "memory_id"),
        ("GET", "/v1/memories/search", None, "q"),
        ("GET", "/v1/memories/search?q=a&limit=0", None, "limit"),
        ("GET", "/v1/memories/search?q=a&limit=101", None, "limit"),
    ],
)
def test_invalid_requests_are_422(api: httpx.Client, method: str, path: str, payload, where: str) -> None:
    response = api.request(method, path, json=payload)
    assert where in _error(response, 422, "validation_error")


def test_malformed_json_is_422(api: httpx.Client) -> None:
    response = api.post("/v1/memories", content=b"{not json", headers={"content-type": "application/json"})
    _error(response, 422, "validation_error")


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}],
)
def test_v1_needs_a_valid_api_key(anonymous: httpx.Client, headers: dict[str, str]) -> None:
    for method, path in [
        ("POST", "/v1/memories"),
        ("GET", f"/v1/memories/{uuid.uuid4()}"),
        ("DELETE", f"/v1/memories/{uuid.uuid4()}"),
        ("GET", "/v1/memories/search?q=a"),
        ("POST", "/v1/documents"),
        ("GET", f"/v1/documents/{uuid.uuid4()}"),
    ]:
        response = anonymous.request(method, path, headers=headers, json={"content": "x"})
        _error(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == "Bearer"


def test_bearer_and_x_api_key_both_work(anonymous: httpx.Client, stack) -> None:
    for headers in ({"Authorization": f"Bearer {stack.api_key}"}, {"X-API-Key": stack.api_key}):
        response = anonymous.get("/v1/memories/search", params={"q": "anything"}, headers=headers)
        assert response.status_code == 200, response.text


def test_request_id_is_echoed_or_generated(api: httpx.Client) -> None:
    echoed = api.get("/health", headers={"X-Request-ID": "trace-123.abc"})
    assert echoed.headers["x-request-id"] == "trace-123.abc"
    generated = api.get("/health", headers={"X-Request-ID": "bad id; with spaces"})
    assert generated.headers["x-request-id"] != "bad id; with spaces"
    assert len(generated.headers["x-request-id"]) == 32


def test_unknown_route_is_a_json_404(api: httpx.Client) -> None:
    _error(api.get("/v1/nothing-here"), 404, "not_found")
