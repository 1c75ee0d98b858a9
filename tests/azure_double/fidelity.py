"""Replay real recorded Azure traffic (recordings/, see its README) against the double and score it.

For every recorded ARM request the same request is sent (same path, api-version and body; the double's
subscription instead of the sanitised one) and four things are scored per recording:

- status: the same status code;
- LRO: the same long-running-operation headers (Azure-AsyncOperation / Location present or not),
  counted over the answers whose status matched;
- shape: the same JSON shape (the same keys at every level, null where Azure answered null, names and
  values aside) and, for operation status bodies, the same status value, over the JSON answers;
- keys: the share of the recorded JSON keys (at every level) that the answer has.

Each operation is made to take as many polls as it took in the recording, so every recorded poll's
status ("InProgress"/"Pending"/"Succeeded") is compared too. Requests to other hosts than ARM (a site's
own URL, a Key Vault) are not replayed.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
import yaml

from .arm import canonical_location

RECORDINGS = Path(__file__).resolve().parent / "recordings"
# Excerpts of recordings (the network types' own set, replayed by test_fidelity_network.py) are found by
# name too, so their numbers land in the same report.
EXCERPTS = Path(__file__).resolve().parents[1] / "azure_double_tests" / "recordings"
ARM_HOST = "https://management.azure.com"
RECORDED_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
LRO_HEADERS = ("azure-asyncoperation", "location")
OPERATION_KEYS = {"id", "name", "status", "startTime", "endTime", "properties", "error", "percentComplete"}


def recording_names() -> list[str]:
    return sorted(p.name for p in RECORDINGS.glob("*.yaml"))


@functools.cache
def interactions(name: str) -> list[dict[str, Any]]:
    path = RECORDINGS / name if (RECORDINGS / name).exists() else EXCERPTS / name
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader when PyYAML has it: 10x faster
    return yaml.load(path.read_text(), Loader=loader)["interactions"]  # noqa: S506 - safe loader


def replayable(name: str) -> list[int]:
    """Indexes of the recorded requests that went to ARM (the only host the double stands in for)."""
    return [i for i, it in enumerate(interactions(name)) if it["request"]["uri"].startswith(ARM_HOST + "/")]


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


def _still_running(response: dict[str, Any]) -> bool:
    body = _body(response["body"].get("string"))
    if response["status"]["code"] == 202:
        return True
    return (
        isinstance(body, dict)
        and "status" in body
        and body["status"] not in ("Succeeded", "Failed", "Canceled")
    )


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


def key_paths(value: Any, path: str = "") -> set[str]:
    """Every key path of a JSON value (lists by their first item): what `keys` counts."""
    if isinstance(value, dict):
        paths = set()
        for key, item in value.items():
            paths.add(f"{path}.{key}")
            paths |= key_paths(item, f"{path}.{key}")
        return paths
    if isinstance(value, list) and value:
        return key_paths(value[0], f"{path}[]")
    return set()


@dataclass
class Score:
    """One recording's numbers: each metric as (matched, compared)."""

    recording: str
    requests: int = 0
    status: list[int] = field(default_factory=lambda: [0, 0])
    lro: list[int] = field(default_factory=lambda: [0, 0])
    shape: list[int] = field(default_factory=lambda: [0, 0])
    keys: list[int] = field(default_factory=lambda: [0, 0])
    problems: list[str] = field(default_factory=list)

    @staticmethod
    def percent(pair: list[int]) -> float:
        return 100.0 * pair[0] / pair[1] if pair[1] else 100.0

    def line(self) -> str:
        return f"{self.recording:<62} {self.requests:>4} " + " ".join(
            f"{self.percent(getattr(self, m)):>6.1f}" for m in ("status", "lro", "shape", "keys")
        )


# Scores of the recordings replayed in this process (the fidelity tests fill it, the summary prints it).
RESULTS: dict[str, Score] = {}

HEADER = f"{'recording':<62} {'reqs':>4} {'status':>6} {'lro':>6} {'shape':>6} {'keys':>6}"


def total(scores: list[Score]) -> Score:
    overall = Score("ALL")
    for score in scores:
        overall.requests += score.requests
        for metric in ("status", "lro", "shape", "keys"):
            for i in (0, 1):
                getattr(overall, metric)[i] += getattr(score, metric)[i]
    return overall


class Replay:
    """Sends one recording's requests to the double, translating ids and operation URLs."""

    def __init__(self, double, name: str) -> None:
        self.double = double
        self.name = name
        self.interactions = interactions(name)
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
            if (
                location is None
                and isinstance(request_body, dict)
                and canonical_location(request_body.get("location"))  # not "Global" (action groups)
            ):
                location = request_body["location"]
        if group is not None:
            url = f"{self.double.base_url}/subscriptions/{self.double.subscription_id}/resourcegroups/{group}"
            self.session.put(
                url,
                params={"api-version": "2021-04-01"},
                json={"location": location or "westus", "tags": tags},
            )
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
            # the recorded polls that still saw the operation running, then the one that saw it end
            polls = 1 + sum(
                1
                for later in self.interactions[index + 1 :]
                if later["request"]["method"] == "GET"
                and _op_id(later["request"]["uri"]) == op
                and _still_running(later["response"])
            )
            path = urlsplit(interaction["request"]["uri"]).path.replace(
                RECORDED_SUBSCRIPTION, self.double.subscription_id
            )
            self.double.slow_operations(
                re.escape(path) + "$", polls=max(polls, 1), method=interaction["request"]["method"], times=1
            )

    def send(self, index: int) -> requests.Response:
        request = self.interactions[index]["request"]
        url = request["uri"].replace(ARM_HOST, self.double.base_url)
        url = url.replace(RECORDED_SUBSCRIPTION, self.double.subscription_id)
        recorded_path = unquote(urlsplit(request["uri"]).path).lower()
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
                self.operation_urls[unquote(urlsplit(recorded_headers[name]).path).lower()] = answer.headers[
                    name
                ]
        return answer

    def score(self) -> Score:
        """Replay every ARM request of the recording and count what matches."""
        self.prepare()
        score = Score(self.name)
        for index in replayable(self.name):
            interaction = self.interactions[index]
            request, recorded = interaction["request"], interaction["response"]
            label = f"#{index} {request['method']} {urlsplit(request['uri']).path}"
            score.requests += 1
            answer = self.send(index)
            expected = _body(recorded["body"].get("string"))
            expects_json = isinstance(expected, (dict, list))
            score.status[1] += 1
            score.shape[1] += expects_json
            if expects_json:
                score.keys[1] += len(key_paths(expected))
            if answer.status_code != recorded["status"]["code"]:
                score.problems.append(
                    f"{label}: status {answer.status_code}, real Azure {recorded['status']['code']}: "
                    f"{answer.text[:200]}"
                )
                continue
            score.status[0] += 1
            recorded_headers = _headers(recorded)
            lro_problems = [
                f"{label}: header {name} {'missing' if name in recorded_headers else 'unexpected'}"
                for name in LRO_HEADERS
                if (name in recorded_headers) != (name in answer.headers)
            ]
            score.lro[1] += 1
            score.lro[0] += not lro_problems
            score.problems += lro_problems
            if not expects_json:
                continue
            got = (
                answer.json() if "json" in answer.headers.get("content-type", "") and answer.content else None
            )
            problems = [f"{label}: {p}" for p in shape_differences(expected, got)]
            if isinstance(expected, dict) and "status" in expected and expected.keys() <= OPERATION_KEYS:
                if not isinstance(got, dict) or got.get("status") != expected["status"]:
                    status = got.get("status") if isinstance(got, dict) else None
                    problems.append(f"{label}: operation status {status}, real Azure {expected['status']}")
            score.shape[0] += not problems
            score.problems += problems
            score.keys[0] += len(key_paths(expected) & key_paths(got))
        return score
