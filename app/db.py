"""PostgreSQL access: the async connection pool and the versioned schema migrations."""

from __future__ import annotations

import logging
import sys
from importlib import resources

import psycopg
from psycopg_pool import AsyncConnectionPool

from app.config import Settings, get_settings
from app.logs import configure_logging
from app.retry import Retry

log = logging.getLogger(__name__)

# Any constant works, as long as every process uses the same one: it serialises migrations.
_MIGRATION_LOCK_KEY = 0x7061707201


def create_pool(settings: Settings, *, min_size: int = 1) -> AsyncConnectionPool:
    """A pool that is opened without waiting, so a process starts even while PostgreSQL is down,
    and that checks each connection before lending it, so it recovers by itself after a restart."""
    return AsyncConnectionPool(
        settings.database_url.get_secret_value(),
        min_size=min_size,
        max_size=max(min_size, settings.db_pool_max_size),
        open=False,
        check=AsyncConnectionPool.check_connection,
        # Fail a request after 5 s instead of the default 30 s while PostgreSQL is away.
        timeout=5,
        kwargs={"autocommit": True, "connect_timeout": 5},
        name="papr",
    )


def _migration_files() -> list[tuple[str, str]]:
    folder = resources.files("app") / "migrations"
    files = sorted(entry for entry in folder.iterdir() if entry.name.endswith(".sql"))
    return [(entry.name.removesuffix(".sql"), entry.read_text(encoding="utf-8")) for entry in files]


def migrate(database_url: str) -> list[str]:
    """Apply every migration not applied yet, in order, in one transaction.

    The transaction-scoped advisory lock makes concurrent callers (several workers and web
    servers starting together) wait for each other, so each migration runs exactly once."""
    applied_now: list[str] = []
    with psycopg.connect(database_url, connect_timeout=10) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK_KEY,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        for version, sql in _migration_files():
            if version in done:
                continue
            conn.execute(sql)
            conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
            applied_now.append(version)
    return applied_now


def migrate_with_retry(database_url: str, *, deadline_seconds: float) -> list[str]:
    """Migrate, retrying while PostgreSQL is not reachable yet (it may start after us)."""
    retry = Retry("migration", (psycopg.OperationalError,), deadline_seconds=deadline_seconds)
    return retry.call(lambda: migrate(database_url))


def main() -> None:
    """`papr-memory-migrate`: apply the schema and exit (idempotent, safe to run concurrently)."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.secret_values())
    try:
        applied = migrate_with_retry(settings.database_url.get_secret_value(), deadline_seconds=60)
    except psycopg.Error as error:
        log.error("migration failed", extra={"error": str(error)})
        sys.exit(1)
    log.info("schema up to date", extra={"applied": applied})


if __name__ == "__main__":
    main()
