"""Replay: every saved history (tests/service/histories/*.json, recorded from earlier versions by
`python -m tests.service.histories.record`) must replay against today's workflow code. A change
that would break workflows still running after a deploy fails here (a nondeterminism error)."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from workers.workflows import DeleteMemoryWorkflow, ProcessDocumentWorkflow, StoreMemoryWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_histories_of_every_workflow_are_saved() -> None:
    kinds = {path.name.rsplit("-", 1)[0] for path in HISTORIES}
    assert {"store-memory", "delete-memory", "process-document", "process-document-failed"} <= kinds


@pytest.mark.parametrize("path", HISTORIES, ids=[path.stem for path in HISTORIES])
async def test_saved_history_replays(path: Path) -> None:
    replayer = Replayer(workflows=[StoreMemoryWorkflow, DeleteMemoryWorkflow, ProcessDocumentWorkflow])
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure!r}"
