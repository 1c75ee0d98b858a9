"""Record workflow histories from the running code, for the replay test (test_replay.py).

    python -m tests.service.histories.record [--port-base 56400]

Starts its own local stack, runs one of each kind of workflow (a memory, a deletion, a text
document of several chunk batches, a document that fails extraction) and saves each history as
JSON beside this file, named after the commit it was recorded from. Record again after a
workflow change has shipped, and keep the old files: running workflows may come from either."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from temporalio.client import Client

from scripts.stack import LocalStack, StackPorts

HERE = Path(__file__).resolve().parent


def _finished(api: httpx.Client, path: str, done: tuple[str, ...]) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        body = api.get(path).json()
        if body.get("status") in done:
            return body
        time.sleep(0.2)
    raise RuntimeError(f"{path} did not finish")


async def _save(stack: LocalStack, workflow_ids: dict[str, str], label: str) -> None:
    client = await Client.connect(stack.temporal_address)
    for name, workflow_id in workflow_ids.items():
        handle = client.get_workflow_handle(workflow_id)
        try:
            await handle.result()
        except Exception:  # noqa: BLE001, S110 - failing workflows are recorded too
            pass
        history = await handle.fetch_history()
        path = HERE / f"{name}-{label}.json"
        path.write_text(history.to_json())
        print(f"saved {path.name} ({len(history.events)} events)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port-base", type=int, default=56400)
    args = parser.parse_args()
    label = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    state_dir = Path(tempfile.mkdtemp(prefix="papr-histories-", dir="/tmp"))
    stack = LocalStack(
        state_dir=state_dir,
        ports=StackPorts.from_base(args.port_base),
        service_env={"PAPR_CHUNK_SIZE": "300", "PAPR_CHUNK_OVERLAP": "50"},
    )
    try:
        stack.up()
        headers = {"X-API-Key": stack.api_key}
        with httpx.Client(base_url=stack.url, headers=headers, timeout=60) as api:
            memory = api.post("/v1/memories?wait=true", json={"content": "recorded", "metadata": {"a": 1}})
            memory_id = memory.json()["id"]
            api.delete(f"/v1/memories/{memory_id}").raise_for_status()
            text = " ".join(f"recorded{n}" for n in range(6000)).encode()
            document = api.post("/v1/documents", content=text, headers={"Content-Type": "text/plain"})
            broken = api.post(
                "/v1/documents", content=b"%PDF-1.4 broken", headers={"Content-Type": "application/pdf"}
            )
            for created in (document, broken):
                _finished(api, f"/v1/documents/{created.json()['id']}", ("done", "failed"))
        workflow_ids = {
            "store-memory": f"memory-{memory_id}",
            "delete-memory": f"memory-delete-{memory_id}",
            "process-document": f"document-{document.json()['id']}",
            "process-document-failed": f"document-{broken.json()['id']}",
        }
        asyncio.run(_save(stack, workflow_ids, label))
    finally:
        stack.down()
        shutil.rmtree(state_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
