"""Option 3 from nothing on the real single-node Kubernetes the end-to-end tests use
(scripts/k8s/node.py, tests/k8s/aks_site.py), then the API round trip through the web Service.

    nice -n 10 .venv/bin/python -m benchmarks.aks_nothing_to_ready [--tries 20]

"Nothing": no node (no PKI, etcd data, containerd store), no image in containerd, an empty Azure
double and a new PostgreSQL. The Kubernetes binaries and the podman images are the cached builds
(a cold Kubernetes build adds ~6 minutes, shown as build_or_cache). Then `site.yml -i
inventories/aks` creates the cluster in the double and deploys Temporal, web x3, memory worker x2
and document worker x3; it ends when every rollout was waited for and verify passed.

Prints, as JSON: the node's start-up steps, the image imports, the site run, the seconds from
nothing until every Deployment had all its replicas Ready (the last pod's Ready time) and until
verify passed, and the API round trip (POST /v1/memories?wait=true, then a search that finds it)
as p50/p95 over --tries tries (nearest rank). Whatever happens it stops the node, PostgreSQL and
the double, and reports what was left on the host (nothing, or the exit status is 1). Needs root.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx

from benchmarks.target import quantile
from scripts.k8s.node import SingleNode
from tests.k8s.aks_site import AksSite, import_cluster_images, started_aks_site


def every_deployment_ready_at(site: AksSite) -> float:
    """The Unix time at which the last pod of the namespace's Deployments became Ready; fails
    unless every Deployment has all its replicas Ready."""
    deployments = site.kubectl_json("get", "deployments")["items"]
    short = {
        item["metadata"]["name"]: item["status"].get("readyReplicas", 0)
        for item in deployments
        if item["status"].get("readyReplicas", 0) != item["spec"]["replicas"]
    }
    if short:
        raise RuntimeError(f"Deployments not fully Ready after the site run: {short}")
    pods = [
        pod
        for pod in site.kubectl_json("get", "pods")["items"]
        if any(owner["kind"] == "ReplicaSet" for owner in pod["metadata"].get("ownerReferences", []))
    ]
    ready = [
        datetime.fromisoformat(condition["lastTransitionTime"].replace("Z", "+00:00")).timestamp()
        for pod in pods
        for condition in pod["status"].get("conditions", [])
        if condition["type"] == "Ready" and condition["status"] == "True"
    ]
    expected = sum(item["spec"]["replicas"] for item in deployments)
    if len(ready) != expected:
        raise RuntimeError(f"{len(ready)} Ready pods for {expected} replicas")
    return max(ready)


def api_round_trips(site: AksSite, tries: int) -> dict[str, object]:
    """Write a memory with ?wait=true (stored by a memory worker pod), then search it, `tries` times."""
    timings: dict[str, list[float]] = {"write_wait_ms": [], "search_ms": [], "round_trip_ms": []}
    with httpx.Client(base_url=site.web_url(), headers={"X-API-Key": site.api_key}, timeout=60) as api:
        for _ in range(tries):
            word = f"bench{uuid.uuid4().hex}"
            started = time.perf_counter()
            created = api.post("/v1/memories", params={"wait": "true"}, json={"content": f"benchmark {word}"})
            written = time.perf_counter()
            found = api.get("/v1/memories/search", params={"q": word})
            done = time.perf_counter()
            if created.status_code != 201 or found.status_code != 200 or found.json()["count"] != 1:
                raise RuntimeError(
                    f"round trip failed: {created.status_code} {created.text[:200]} / {found.text[:200]}"
                )
            timings["write_wait_ms"].append((written - started) * 1000)
            timings["search_ms"].append((done - written) * 1000)
            timings["round_trip_ms"].append((done - started) * 1000)
    return {
        "tries": tries,
        **{
            name: {
                "p50": round(quantile(samples, 50)),
                "p95": round(quantile(samples, 95)),
                "max": round(max(samples)),
            }
            for name, samples in timings.items()
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tries", type=int, default=20, help="API round trips to time (default 20)")
    args = parser.parse_args()
    if args.tries < 1:
        parser.error("--tries must be at least 1")
    report: dict[str, object] = {}
    node = SingleNode(state_dir=Path(f"/var/tmp/papr-k8s-bench-{os.getpid()}"))  # noqa: S108 - root, 0700
    host_before = node.host_state()
    started_wall, started = time.time(), time.monotonic()
    failed = True
    try:
        report["node_up_seconds"] = node.up()
        images_started = time.monotonic()
        images = import_cluster_images(node)
        report["images_imported_seconds"] = round(time.monotonic() - images_started, 1)
        with started_aks_site(node, images) as site:
            run = site.run()
            report["site_run_seconds"] = round(run.seconds, 1)
            if run.rc != 0:
                print(run.output[-6000:], file=sys.stderr)
                raise RuntimeError(f"site.yml failed: {run.recap()}")
            report["nothing_to_verified_seconds"] = round(time.monotonic() - started, 1)
            report["nothing_to_every_deployment_ready_seconds"] = round(
                every_deployment_ready_at(site) - started_wall, 1
            )
            report["api"] = api_round_trips(site, args.tries)
        failed = False
    finally:
        down_started = time.monotonic()
        node.down()
        report["node_down_seconds"] = round(time.monotonic() - down_started, 1)
        report["left_on_host"] = node.leftovers(host_before)
        print(json.dumps(report, indent=2))
    return 1 if failed or report["left_on_host"] else 0


if __name__ == "__main__":
    sys.exit(main())
