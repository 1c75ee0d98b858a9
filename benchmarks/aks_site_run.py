"""Time option 3 from nothing on the real single-node Kubernetes (scripts/k8s/node.py).

    .venv/bin/python -m benchmarks.aks_site_run

Prints, as JSON: the Kubernetes build (0 when cached), each step of the node start-up to Ready,
the image imports, `site.yml -i inventories/aks` (namespace, Temporal, web x3, memory worker x2,
document worker x3, every rollout waited for, then verify's checks), the time from the play's
start until every pod was Ready, and the API round trip through the web Service (write with
?wait=true, then search), then stops the node. Needs root (like the tests in tests/k8s).
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from scripts.k8s.node import SingleNode  # noqa: E402
from tests.k8s.aks_site import NAMESPACE, import_cluster_images, started_aks_site  # noqa: E402


def last_pod_ready(site) -> float:
    """The Unix time at which the last pod of the namespace became Ready."""
    pods = site.kubectl_json("get", "pods")["items"]
    times = [
        datetime.fromisoformat(condition["lastTransitionTime"].replace("Z", "+00:00")).timestamp()
        for pod in pods
        for condition in pod["status"].get("conditions", [])
        if condition["type"] == "Ready" and condition["status"] == "True"
    ]
    return max(times)


def main() -> int:
    report: dict[str, object] = {}
    node = SingleNode(state_dir=Path(f"/var/tmp/papr-k8s-bench-{os.getpid()}"))  # noqa: S108 - root, 0700
    try:
        report["node_up_seconds"] = node.up()
        started = time.monotonic()
        images = import_cluster_images(node)
        report["images_seconds"] = round(time.monotonic() - started, 1)
        with started_aks_site(node, images) as site:
            play_started = time.time()
            run = site.run()
            if run.rc != 0:
                print(run.output[-4000:], file=sys.stderr)
                return 1
            report["site_run_seconds"] = round(run.seconds, 1)
            report["play_start_to_all_pods_ready_seconds"] = round(last_pod_ready(site) - play_started, 1)
            report["pods"] = len(site.kubectl_json("get", "pods")["items"])
            word = uuid.uuid4().hex
            with httpx.Client(
                base_url=site.web_url(), headers={"X-API-Key": site.api_key}, timeout=60
            ) as api:
                started = time.monotonic()
                created = api.post("/v1/memories?wait=true", json={"content": f"benchmark {word}"})
                written = time.monotonic()
                found = api.get("/v1/memories/search", params={"q": word}).json()
                report["api_write_wait_ms"] = round((written - started) * 1000)
                report["api_search_ms"] = round((time.monotonic() - written) * 1000)
                report["api_round_trip_ok"] = created.status_code == 201 and found["count"] == 1
        report["namespace"] = NAMESPACE
    finally:
        started = time.monotonic()
        node.down()
        report["node_down_seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
