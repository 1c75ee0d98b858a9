"""Operational guarantees: concurrent migrations, and no secret in any log line."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg

from app.db import _migration_files, migrate
from scripts.stack import LocalStack


def test_migrations_are_idempotent_and_safe_concurrently(stack: LocalStack, db: psycopg.Connection) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: migrate(stack.database_url), range(4)))
    assert results == [[]] * 4  # the stack already applied everything; nobody re-applies
    versions = [row[0] for row in db.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == [version for version, _ in _migration_files()]


def test_fresh_database_is_migrated_once_under_concurrency(stack: LocalStack, db: psycopg.Connection) -> None:
    db.execute("DROP DATABASE IF EXISTS papr_migrate_test")
    db.execute("CREATE DATABASE papr_migrate_test OWNER papr")
    url = stack.database_url.rsplit("/", 1)[0] + "/papr_migrate_test"
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(lambda _: migrate(url), range(4)))
        applied = [version for result in results for version in result]
        assert sorted(applied) == [version for version, _ in _migration_files()]
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == len(applied)
    finally:
        db.execute("DROP DATABASE IF EXISTS papr_migrate_test WITH (FORCE)")


def test_logs_are_json_with_request_ids_and_hold_no_secret(stack: LocalStack, api: httpx.Client) -> None:
    api.get("/v1/memories/search", params={"q": "secret check"}, headers={"X-Request-ID": "log-check-1"})
    api.post("/v1/memories?wait=true", json={"content": "log line check"})
    password = stack.database_url.split(":")[2].split("@")[0]
    web_log = (stack.logs_dir / "web.log").read_text()
    worker_log = (stack.logs_dir / "workers.log").read_text()
    for text in (web_log, worker_log):
        assert stack.api_key not in text
        assert password not in text
    assert '"request_id": "log-check-1"' in web_log
    assert '"logger": "app.access"' in web_log
    for text in (web_log, worker_log):
        for line in text.splitlines():
            entry = json.loads(line)  # every line is one JSON object
            assert {"ts", "level", "logger", "message"} <= set(entry), line


def test_search_uses_the_gin_index(db: psycopg.Connection) -> None:
    with db.transaction():
        db.execute("SET LOCAL enable_seqscan = off")  # a small table would otherwise be scanned
        plan = "\n".join(
            row[0]
            for row in db.execute(
                "EXPLAIN SELECT id FROM memories, websearch_to_tsquery('english', 'fox') q"
                " WHERE search_vector @@ q"
            )
        )
    assert "memories_search_vector_idx" in plan, plan
