"""LISTEN on the channels tasks wake on, over one dedicated connection, and wake those tasks when a
notification arrives. A lost connection is re-opened after a growing pause; every (re)connection wakes
all the tasks once, since notifications sent while nobody listened are lost."""

from __future__ import annotations

import asyncio
import logging

import psycopg
from psycopg import sql

from .retry import Backoff, describe

log = logging.getLogger("postcart.worker")

# How long the listener waits for a notification before it checks the connection is still alive (a
# network that silently drops it would otherwise leave the listener waiting forever).
PROBE_EVERY = 30.0  # seconds


class Listener:
    def __init__(self, app_url: str, channels: dict[str, list[asyncio.Event]]) -> None:
        self.app_url = app_url
        self.channels = channels

    async def run(self) -> None:
        """Listen until cancelled."""
        backoff = Backoff()
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self.app_url, autocommit=True, connect_timeout=10,
                                                             application_name="postcart-worker-listener")
            except psycopg.Error as exc:
                await self._pause(backoff, exc)
                continue
            try:
                for channel in self.channels:
                    await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                backoff.reset()
                log.debug("listening on %s", ", ".join(self.channels))
                self._wake(*self.channels)
                while True:
                    async for notice in conn.notifies(timeout=PROBE_EVERY):
                        self._wake(notice.channel)
                    await conn.execute("SELECT 1")
            except psycopg.Error as exc:
                await self._pause(backoff, exc)
            finally:
                await conn.close()

    def _wake(self, *channels: str) -> None:
        for channel in channels:
            for event in self.channels.get(channel, ()):
                event.set()

    async def _pause(self, backoff: Backoff, exc: psycopg.Error) -> None:
        pause = backoff.next()
        log.warning("listener: %s; listening again in %.0f s", describe(exc), pause)
        await asyncio.sleep(pause)
