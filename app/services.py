"""What the web server connects to: the PostgreSQL pool and a Temporal client made on demand."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from psycopg_pool import AsyncConnectionPool
from temporalio.client import Client

from app.config import Settings
from app.errors import ApiError

log = logging.getLogger(__name__)


class TemporalConnection:
    """Connects on first use and again after a failed attempt, so the web server starts (and
    reports itself degraded) while Temporal is down, and recovers without a restart. An
    established client reconnects by itself after a server restart."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    async def client(self, timeout: float | None = None) -> Client:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                self._client = await asyncio.wait_for(
                    Client.connect(
                        self._settings.temporal_address, namespace=self._settings.temporal_namespace
                    ),
                    timeout or self._settings.health_timeout_seconds * 3,
                )
                log.info("connected to temporal", extra={"address": self._settings.temporal_address})
        return self._client

    async def client_or_503(self) -> Client:
        try:
            return await self.client()
        except (TimeoutError, RuntimeError) as error:
            raise ApiError(503, f"temporal is not reachable: {error or 'timeout'}") from None


@dataclass
class Services:
    settings: Settings
    pool: AsyncConnectionPool
    temporal: TemporalConnection
    background: list[asyncio.Task] = field(default_factory=list)
