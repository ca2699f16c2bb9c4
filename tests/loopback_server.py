"""An aiohttp application served on loopback from its own event loop in a thread, so a test drives it from
ordinary synchronous code (the carrier and tax emulators), with faults injected per operation."""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass
class Fault:
    kind: str  # "500", "500_after" (work done, answer lost), "delay" (answer after seconds), others per emulator
    seconds: float = 0.0


class LoopbackServer:
    name = "emulator"

    def __init__(self) -> None:
        self.port = 0
        self.lock = threading.Lock()
        self._faults: dict[str, deque[Fault]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raise NotImplementedError

    def fail(self, op: str, kind: str, seconds: float = 0.0, times: int = 1) -> None:
        """The next `times` calls of op meet this fault."""
        with self.lock:
            self._faults.setdefault(op, deque()).extend(Fault(kind, seconds) for _ in range(times))

    def next_fault(self, op: str) -> Fault | None:
        with self.lock:
            queue = self._faults.get(op)
            return queue.popleft() if queue else None

    def clear_faults(self) -> None:
        with self.lock:
            self._faults.clear()

    def start(self) -> Any:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self.handle)
            self._runner = web.AppRunner(app, access_log=None)
            self._loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            self._loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            ready.set()
            self._loop.run_forever()

        threading.Thread(target=run, daemon=True, name=self.name).start()
        assert ready.wait(10), f"the {self.name} did not start"
        return self

    def stop(self) -> None:
        if self._loop is None or self._runner is None:
            return
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
