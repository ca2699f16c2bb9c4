"""The worker as a process of its own (`postcart worker`) or beside the web app (`postcart up`)."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from ..integrations.payments import CardProvider
from .mail import MailOptions
from .runner import Worker
from .webhooks import SenderOptions

log = logging.getLogger("postcart.worker")


def run_alone(app_url: str, statement_timeout_ms: int, webhooks: SenderOptions, once: bool = False,
              mail: MailOptions | None = None, card: Callable[[], CardProvider] | None = None) -> int:
    """Run until SIGTERM or SIGINT (or, with `once`, until every task has nothing left to do). Returns the
    exit status: 1 when a task of a `once` run failed, else 0."""

    async def main() -> int:
        worker = Worker(app_url, statement_timeout_ms=statement_timeout_ms, webhooks=webhooks, mail=mail, card=card)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, worker.stop)
        await worker.run(once=once)
        return 1 if once and worker.failures else 0

    return asyncio.run(main())


def beside(app_url: str, statement_timeout_ms: int, webhooks: SenderOptions, mail: MailOptions | None = None,
           card: Callable[[], CardProvider] | None = None) -> Callable[[web.Application], AsyncIterator[None]]:
    """An aiohttp cleanup context that runs the worker while the app runs and stops it when the app stops
    (after the requests in flight have drained). Whatever happens to the worker, the app serves on."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        worker = Worker(app_url, statement_timeout_ms=statement_timeout_ms, webhooks=webhooks, mail=mail, card=card)
        running = asyncio.create_task(worker.run())
        running.add_done_callback(_report)
        yield
        worker.stop()
        await asyncio.gather(running, return_exceptions=True)

    return context


def _report(running: asyncio.Task[None]) -> None:
    """run() keeps its tasks' failures to itself; should it end with one all the same, say so (the app
    goes on serving without its worker)."""
    if not running.cancelled() and running.exception() is not None:
        log.error("the worker stopped on an error", exc_info=running.exception())
