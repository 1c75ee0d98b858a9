"""Fidelity: replay the recorded real Azure traffic (../shared/azure-recordings) against the double.

For every recorded request the double covers, the same request is sent (same path, api-version, body;
the double's subscription instead of the sanitised one) and the answer must have the same status code,
the same long-running-operation headers (Azure-AsyncOperation / Location present or not), and the same
JSON shape: the same keys at every level, null where Azure answered null, names and values aside.
Each operation is made to take as many polls as it took in the recording, so every recorded poll's
status ("InProgress"/"Pending"/"Succeeded") is compared too.
"""

from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import yaml

# The recordings live beside the repository (../shared/azure-recordings); AZURE_RECORDINGS_DIR overrides.
RECORDINGS = Path(
    os.environ.get("AZURE_RECORDINGS_DIR")
    or Path(__file__).resolve().parents[3] / "shared" / "azure-recordings"
)
RECORDED_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
LRO_HEADERS = ("azure-asyncoperation", "location")
# Recorded requests the double does not model, with the reason.
NOT_MODELLED = {
    (
        "test_postgres_flexible_server_database_mgmt.yaml",
        3,
    ): "capabilities catalogue (2,200 lines of SKU data)",
}

pytestmark = pytest.mark.skipif(not RECORDINGS.is_dir(), reason="recordings not present on this machine")


def _recordings() -> list[str]:
    return sorted(p.name for p in RECORDINGS.glob("*.yaml")) if RECORDINGS.is_dir() else []


@functools.cache
def _interactions(name: str) -> list[dict[str, Any]]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader when PyYAML has it: 10x faster
    return yaml.load((RECORDINGS / name).read_text(), Loader=loader)["interactions"]  # noqa: S506 - safe loader


def _headers(response: dict[str, Any]) -> dict[str, str]:
    return {k.lower(): (v[0] if isinstance(v, list) else v) for k, v in response["headers"].items()}


def _body(text: Any) -> Any:
    if isinstance(text, bytes):
        text = text.decode()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _op_id(url: str) -> str:
    return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1].lower()


def shape_differences(recorded: Any, answered: Any, path: str = "") -> list[str]:
    """Where the answer's JSON shape differs from the recorded one: keys, nulls, types."""
    where = path or "."
    if recorded is None and answered is not None:
        return [f"{where}: null vs {type(answered).__name__}"]
    if answered is None and recorded is not None:
        return [f"{where}: expected a value, got null"]
    if recorded is None:
        return []
    if type(recorded) is not type(answered) and (
        isinstance(recorded, (dict, list)) or isinstance(answered, (dict, list))
    ):
        return [f"{where}: {type(recorded).__name__} vs {type(answered).__name__}"]
    if isinstance(recorded, dict):
        problems = [f"{path}.{k}: missing" for k in recorded.keys() - answered.keys()]
        problems += [f"{path}.{k}: unexpected" for k in answered.keys() - recorded.keys()]
        for key in recorded.keys() & answered.keys():
            problems += shape_differences(recorded[key], answered[key], f"{path}.{key}")
        return problems
    if isinstance(recorded, list):
        if recorded and answered:
            return shape_differences(recorded[0], answered[0], f"{path}[]")
        return [] if bool(recorded) == bool(answered) else [f"{path}: list empty vs non-empty"]
    return []


class Replay:
    """Sends one recording's requests to the double, translating ids and operation URLs."""

    def __init__(self, double, name: str) -> None:
        self.double = double
        self.name = name
        self.interactions = _interactions(name)
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy or CA bundle from the environment: only the double
        self.session.verify = double.ca_path
        self.session.headers["Authorization"] = f"Bearer {double.token()}"
        self.operation_urls: dict[str, str] = {}  # recorded operation URL path -> the double's URL

    def prepare(self) -> None:
        """Create the resource group the recording assumes, as the recording shows it."""
        group, location, tags = None, None, {}
        for interaction in self.interactions:
            uri, body = interaction["request"]["uri"], _body(interaction["response"]["body"].get("string"))
            match = re.search(r"/resourcegroups/([^/?]+)", uri, re.IGNORECASE)
            if match and group is None:
                group = match.group(1)
            if isinstance(body, dict) and body.get("type") == "Microsoft.Resources/resourceGroups":
                location, tags = body["location"], body.get("tags") or {}
            request_body = _body(interaction["request"].get("body"))
            if location is None and isinstance(request_body, dict) and request_body.get("location"):
                location = request_body["location"]
        url = f"{self.double.base_url}/subscriptions/{self.double.subscription_id}/resourcegroups/{group}"
        answer = self.session.put(
            url, params={"api-version": "2021-04-01"}, json={"location": location, "tags": tags}
        )
        assert answer.status_code in (200, 201), answer.text
        self._script_operation_lengths()
        self.double.clear_log()

    def _script_operation_lengths(self) -> None:
        """Make each operation the double starts take as many polls as the recorded one did."""
        for index, interaction in enumerate(self.interactions):
            headers = _headers(interaction["response"])
            status_url = headers.get("azure-asyncoperation") or headers.get("location")
            if not status_url or interaction["request"]["method"] not in ("PUT", "DELETE", "POST", "PATCH"):
                continue
            op = _op_id(status_url)
            polls = sum(
                1
                for later in self.interactions[index + 1 :]
                if later["request"]["method"] == "GET" and _op_id(later["request"]["uri"]) == op
            )
            path = urlsplit(interaction["request"]["uri"]).path.replace(
                RECORDED_SUBSCRIPTION, self.double.subscription_id
            )
            self.double.slow_operations(
                re.escape(path) + "$", polls=max(polls, 1), method=interaction["request"]["method"], times=1
            )

    def send(self, index: int) -> requests.Response:
        request = self.interactions[index]["request"]
        url = request["uri"].replace("https://management.azure.com", self.double.base_url)
        url = url.replace(RECORDED_SUBSCRIPTION, self.double.subscription_id)
        recorded_path = urlsplit(request["uri"]).path.lower()
        if recorded_path in self.operation_urls:
            url = self.operation_urls[recorded_path]
        body = request.get("body")
        if isinstance(body, bytes):
            body = body.decode()
        if body:
            body = body.replace(RECORDED_SUBSCRIPTION, self.double.subscription_id)
        headers = {"Content-Type": "application/json"} if body else {}
        answer = self.session.request(request["method"], url, data=body, headers=headers, timeout=30)
        recorded_headers = _headers(self.interactions[index]["response"])
        for name in LRO_HEADERS:
            if name in recorded_headers and name in answer.headers:
                self.operation_urls[urlsplit(recorded_headers[name]).path.lower()] = answer.headers[name]
        return answer


def _covered(name: str) -> list[int]:
    return [i for i in range(len(_interactions(name))) if (name, i) not in NOT_MODELLED]


@pytest.mark.parametrize("recording", _recordings())
def test_replayed_recording_matches_real_azure(azure_double, recording):
    replay = Replay(azure_double, recording)
    replay.prepare()
    problems = []
    for index in _covered(recording):
        interaction = replay.interactions[index]
        request, recorded = interaction["request"], interaction["response"]
        label = f"#{index} {request['method']} {urlsplit(request['uri']).path}"
        answer = replay.send(index)
        if answer.status_code != recorded["status"]["code"]:
            problems.append(
                f"{label}: status {answer.status_code}, real Azure {recorded['status']['code']}: "
                f"{answer.text[:300]}"
            )
            continue
        recorded_headers = _headers(recorded)
        for name in LRO_HEADERS:
            if (name in recorded_headers) != (name in answer.headers):
                problems.append(
                    f"{label}: header {name} {'missing' if name in recorded_headers else 'unexpected'}"
                )
        expected = _body(recorded["body"].get("string"))
        if isinstance(expected, (dict, list)):
            if "json" not in answer.headers.get("content-type", ""):
                problems.append(f"{label}: content-type {answer.headers.get('content-type')}")
                continue
            got = answer.json()
            problems += [f"{label}: {p}" for p in shape_differences(expected, got)]
            if (
                isinstance(expected, dict)
                and "status" in expected
                and expected.keys() <= {"id", "name", "status", "startTime", "endTime", "properties", "error"}
            ):
                if got.get("status") != expected["status"]:
                    problems.append(
                        f"{label}: operation status {got.get('status')}, real Azure {expected['status']}"
                    )
    assert not problems, "\n".join(problems)


def test_every_recorded_request_is_replayed_or_listed():
    """The coverage list in README.md: what is replayed and what the double does not model."""
    total = sum(len(_interactions(name)) for name in _recordings())
    covered = sum(len(_covered(name)) for name in _recordings())
    assert total - covered == len(NOT_MODELLED)
    assert covered >= 69


def test_shape_comparison_catches_what_matters():
    recorded = {
        "id": "x",
        "properties": {"siteConfig": {"appSettings": None, "linuxFxVersion": ""}, "hosts": ["a"]},
    }
    assert shape_differences(recorded, recorded) == []
    renamed = {
        "id": "y",
        "properties": {
            "siteConfig": {"appSettings": None, "linuxFxVersion": "DOCKER|x"},
            "hosts": ["b", "c"],
        },
    }
    assert shape_differences(recorded, renamed) == []  # values and names aside
    wrong = {
        "id": "x",
        "extra": 1,
        "properties": {"siteConfig": {"appSettings": [], "linuxFxVersion": None}, "hosts": []},
    }
    assert sorted(shape_differences(recorded, wrong)) == [
        ".extra: unexpected",
        ".properties.hosts: list empty vs non-empty",
        ".properties.siteConfig.appSettings: null vs list",
        ".properties.siteConfig.linuxFxVersion: expected a value, got null",
    ]
