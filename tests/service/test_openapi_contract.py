"""The OpenAPI document is the contract: schemathesis generates requests from it (valid ones and
invalid ones) against the real stack, and every answer must match what the document declares
(status, body schema, headers, no 5xx, auth enforced, ...): all of schemathesis's checks.

Bounded and reproducible: a fixed seed, deterministic generation, a few examples per operation."""

from __future__ import annotations

import hypothesis
import schemathesis
from schemathesis.generation import GenerationMode

from scripts.stack import LocalStack

# Per operation and generation mode; keeps the whole run well under a minute on a busy machine.
MAX_EXAMPLES = 12
SEED = 20261130


def _contract():
    """The document the web server serves (GET /openapi.json is app.openapi()), loaded at
    collection time so that every operation is its own test."""
    from app.main import app

    contract = schemathesis.openapi.from_dict(app.openapi())
    contract.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=MAX_EXAMPLES,
        deterministic=True,
        no_shrink=True,
        database="none",
    )
    contract.config.seed = SEED
    # Fuzzing only: the coverage phase's boundary cases are unbounded by max_examples.
    contract.config.phases.update(phases=["fuzzing"])
    return contract


schema = _contract()


def test_the_served_document_is_the_tested_one(stack: LocalStack) -> None:
    import httpx

    assert httpx.get(f"{stack.url}/openapi.json").json() == schema.raw_schema


@schema.parametrize()
@hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_the_service_keeps_its_contract(case, stack: LocalStack) -> None:
    case.call_and_validate(base_url=stack.url, headers={"X-API-Key": stack.api_key}, timeout=30)
