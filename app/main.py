"""The FastAPI application: `uvicorn app.main:app --host H --port P`."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from fastapi import FastAPI, Request, Response
from psycopg_pool import PoolTimeout

from app import __version__, api, health, repository
from app.config import get_settings
from app.db import create_pool, migrate
from app.errors import error_response, install_error_handlers
from app.limits import BodyLimitMiddleware, body_limits
from app.logs import configure_logging, request_id_var
from app.models import publish_contract
from app.retry import Retry
from app.services import Services, TemporalConnection

log = logging.getLogger("app")
access_log = logging.getLogger("app.access")

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
MIGRATION_RETRY_SECONDS = 3
# How often finished write records past their Idempotency-Key lifetime are dropped.
REQUEST_CLEANUP_SECONDS = 600


async def _migrate_until_done(database_url: str) -> None:
    """Apply the schema in the background, retrying while PostgreSQL is unreachable, so the web
    server comes up (and /health says why it is degraded) instead of crashing at start."""
    retry = Retry("migration", (psycopg.Error,), interval_seconds=MIGRATION_RETRY_SECONDS)
    applied = await retry.call_async(lambda: asyncio.to_thread(migrate, database_url))
    log.info("schema up to date", extra={"applied": applied})


async def _forget_old_requests(services: Services) -> None:
    """Keep memory_requests small: finished writes older than the key lifetime go."""
    while True:
        await asyncio.sleep(REQUEST_CLEANUP_SECONDS)
        try:
            async with services.pool.connection() as conn:
                forgotten = await repository.forget_old_requests(
                    conn, services.settings.idempotency_key_hours
                )
            log.info("old write records dropped", extra={"count": forgotten})
        except (psycopg.Error, PoolTimeout) as error:
            log.warning("could not drop old write records", extra={"error": str(error)})


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    if not settings.api_keys:
        log.warning("PAPR_API_KEYS is empty: every /v1 request will be refused")
    pool = create_pool(settings)
    await pool.open(wait=False)
    services = Services(settings=settings, pool=pool, temporal=TemporalConnection(settings))
    if settings.migrate_on_start:
        services.background.append(
            asyncio.create_task(_migrate_until_done(settings.database_url.get_secret_value()))
        )
    services.background.append(asyncio.create_task(_forget_old_requests(services)))
    app.state.services = services
    log.info("web server ready", extra={"version": __version__})
    yield
    for task in services.background:
        task.cancel()
    await pool.close()


def create_app() -> FastAPI:
    settings = get_settings()
    configure_logging(settings.log_level, settings.secret_values())
    app = FastAPI(title="PAPR Memory", version=__version__, lifespan=lifespan)
    install_error_handlers(app)
    publish_contract(app, settings)
    # Added before the request context middleware, so it runs inside it (413s are logged too).
    app.add_middleware(BodyLimitMiddleware, limit_for=body_limits(settings))

    @app.exception_handler(PoolTimeout)
    async def _database_unavailable(_request: Request, error: Exception) -> Response:
        return error_response(503, "service_unavailable", "the database is not reachable")

    @app.exception_handler(psycopg.OperationalError)
    async def _database_error(_request: Request, error: Exception) -> Response:
        return error_response(503, "service_unavailable", "the database is not reachable")

    @app.middleware("http")
    async def request_context(request: Request, call_next) -> Response:
        incoming = request.headers.get("x-request-id", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception:
            log.exception("unhandled error")
            response = error_response(500, "internal_error", "internal server error")
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        response.headers["X-Request-ID"] = request_id
        access_log.info(
            "request",
            extra={
                "method": request.method,
                "path": request.url.path,
                "status": response.status_code,
                "duration_ms": duration_ms,
                "client": request.client.host if request.client else None,
            },
        )
        request_id_var.reset(token)
        return response

    app.include_router(health.router)
    app.include_router(api.router)
    return app


app = create_app()
