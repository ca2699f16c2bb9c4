"""Runs the tasks of tasks.py: each in its own asyncio task, each call of its SQL function in its own short
transaction as the task's role, on a small pool of its own (never the web app's). A task whose database
call fails is logged and retried after a growing pause; nothing a task raises leaves this module, so the
web server it may run beside never notices. stop() lets every task finish the batch it is in. Given
sender options, the webhook sender (webhooks.py) runs beside the tasks on the same pool; given a card
gateway, so does the voiding of cancelled orders' card attempts (card_voids.py)."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from ..http.context import request_id_var
from ..integrations.payments import CardProvider
from .card_voids import CardVoider
from .listener import Listener
from .mail import CHANNEL as MAIL_CHANNEL
from .mail import MailOptions, MailSender
from .retry import Backoff, describe
from .tasks import TASKS, Task
from .webhooks import CHANNEL as WEBHOOK_CHANNEL
from .webhooks import SenderOptions, WebhookSender

log = logging.getLogger("postcart.worker")

POOL_SIZE = 3  # tasks take turns (sweeps are short), the sender claims and records; the web app's matter more
POOL_WAIT = 10.0  # seconds a task waits for a connection before the run counts as failed
APPLICATION_NAME = "postcart-worker"  # what DBAs see in pg_stat_activity
STOP_GRACE = 10.0  # seconds stop() leaves a task to finish its batch before it is cancelled (rolled back)


@dataclass
class _State:
    task: Task
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    in_transaction: bool = False  # stop() lets a batch finish; anything else (sleeping, waiting) it cancels


class Worker:
    def __init__(self, app_url: str, tasks: Sequence[Task] = TASKS, statement_timeout_ms: int = 10_000,
                 webhooks: SenderOptions | None = None, mail: MailOptions | None = None,
                 card: Callable[[], CardProvider] | None = None, card_void_interval: float = 60.0) -> None:
        self.app_url = app_url
        self.states = [_State(t) for t in tasks]
        self.statement_timeout_ms = statement_timeout_ms
        self.webhooks = webhooks
        self.sender: WebhookSender | None = None  # while run() runs, when webhooks are sent
        self.mail = mail
        self.mailer: MailSender | None = None  # while run() runs, when mail is sent (workers/mail.py)
        self._mailing: asyncio.Task[None] | None = None
        self.stopping = False
        # Per task: rows done, calls made, failed runs. Read by tests and written to the log.
        self.done: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self._pool: AsyncConnectionPool | None = None
        self._loops: list[asyncio.Task[None]] = []
        self._sending: asyncio.Task[None] | None = None
        self.card = card
        self.card_void_interval = card_void_interval
        self.voider: CardVoider | None = None  # while run() runs, when card payments are set up
        self._voiding: asyncio.Task[None] | None = None

    def stop(self) -> None:
        """Stop every task: one in a transaction finishes its batch (cancelled, so rolled back, should it
        take more than STOP_GRACE seconds) unless it is cancel_on_stop; the others stop at once, even while
        they wait for a database that does not answer. Call it on the worker's event loop
        (loop.add_signal_handler does)."""
        if self.stopping:
            return
        self.stopping = True
        finishing = []  # named in the log, so that a slow stop says what it waited for
        for state, loop in zip(self.states, self._loops, strict=False):  # none yet if run() has not begun
            if not state.in_transaction or state.task.cancel_on_stop:
                loop.cancel()
            else:
                finishing.append(state.task.name)
        if self.sender is not None and self._sending is not None:
            if self.sender.busy:
                self.sender.stop()  # attempts in flight end within their timeout and are recorded
                finishing.append("send_webhooks")
            else:
                self._sending.cancel()  # at once, even while it waits for a database that does not answer
        if self.mailer is not None and self._mailing is not None:
            if self.mailer.busy:
                self.mailer.stop()  # the batch in flight is sent and recorded
                finishing.append("send_mail")
            else:
                self._mailing.cancel()
        log.info("stopping%s", f"; finishing the batch in flight of {', '.join(finishing)}" if finishing else "")
        if self._voiding is not None:
            self._voiding.cancel()  # every step of a round can be repeated: nothing to finish
        running = [*self._loops, *([self._sending] if self._sending else []),
                   *([self._mailing] if self._mailing else [])]
        if running:
            asyncio.get_running_loop().call_later(STOP_GRACE, lambda: [t.cancel() for t in running])

    async def run(self, once: bool = False) -> None:
        """Until stop(): every task at once, then each on its interval or when its channel is notified.
        With `once`, every task runs until it has nothing left to do and the method returns."""
        options = f"-c statement_timeout={self.statement_timeout_ms}"
        self._pool = AsyncConnectionPool(
            self.app_url, min_size=1, max_size=POOL_SIZE, open=False, timeout=POOL_WAIT, name=APPLICATION_NAME,
            check=AsyncConnectionPool.check_connection,  # a connection that died while idle is replaced, unseen
            kwargs={"autocommit": True, "application_name": APPLICATION_NAME, "options": options})
        await self._pool.open(wait=False)
        log.info("worker running: %s%s", ", ".join(f"{s.task.name} every {s.task.interval:g} s" for s in self.states),
                 f"; webhooks {self.webhooks.concurrency} at once" if self.webhooks else "")
        listener = None
        channels: dict[str, list[asyncio.Event]] = {}
        for state in self.states:
            for channel in state.task.wake_on:
                channels.setdefault(channel, []).append(state.wake)
        if self.webhooks is not None:
            self.sender = WebhookSender(self._pool, self.webhooks, asyncio.Event())
            channels.setdefault(WEBHOOK_CHANNEL, []).append(self.sender.wake)
        if self.mail is not None:
            self.mailer = MailSender(self._pool, self.mail, asyncio.Event())
            channels.setdefault(MAIL_CHANNEL, []).append(self.mailer.wake)
        if channels and not once:
            listener = asyncio.create_task(Listener(self.app_url, channels).run())
        self._loops = [asyncio.create_task(self._loop(s, once)) for s in self.states]
        if self.sender is not None and not once and not self.stopping:
            self._sending = asyncio.create_task(self.sender.run())
        if self.mailer is not None and not once and not self.stopping:
            self._mailing = asyncio.create_task(self.mailer.run())
        if self.card is not None:
            self.voider = CardVoider(self._pool, self.card, self.card_void_interval)
            if not once and not self.stopping:
                self._voiding = asyncio.create_task(self.voider.run())
        try:
            await asyncio.gather(*self._loops, return_exceptions=True)
            if self.sender is not None and once and not self.stopping and not self.failures:
                # After the dispatcher: what it fanned out is sent in this run too (not when the database
                # already failed the tasks: the run has failed).
                self._sending = asyncio.create_task(self.sender.run(once=True))
            if self._sending is not None:
                await asyncio.gather(self._sending, return_exceptions=True)
                if self.sender is not None and once and self.sender.failures:
                    self.failures["send_webhooks"] += self.sender.failures
            if self.mailer is not None and once and not self.stopping and not self.failures:
                self._mailing = asyncio.create_task(self.mailer.run(once=True))
            if self._mailing is not None:
                await asyncio.gather(self._mailing, return_exceptions=True)
                if self.mailer is not None and once and self.mailer.failures:
                    self.failures["send_mail"] += self.mailer.failures
            if self.voider is not None and once and not self.stopping and not self.failures:
                # After the sweeps: the orders they cancelled have their card attempts voided in this run.
                await self.voider.run(once=True)
                if self.voider.failures:
                    self.failures["void_card_payments"] += self.voider.failures
        finally:
            for background in (self._sending, self._mailing, self._voiding):
                if background is not None:
                    background.cancel()
                    await asyncio.gather(background, return_exceptions=True)
            if listener is not None:
                listener.cancel()
                await asyncio.gather(listener, return_exceptions=True)
            await self._pool.close()
            log.info("worker stopped")

    async def _loop(self, state: _State, once: bool) -> None:
        request_id_var.set(state.task.name)  # every log line of this task names it
        backoff = Backoff()
        while not self.stopping:
            state.wake.clear()
            try:
                await self._run_task(state)
                backoff.reset()
                pause = state.task.interval * random.uniform(0.9, 1.1)
            except Exception as exc:  # noqa: BLE001 - a task never takes the process down
                self.failures[state.task.name] += 1
                pause = backoff.next()
                log.warning("%s failed: %s; retrying in %.0f s", state.task.name, describe(exc), pause)
                if once:
                    return
            if once or self.stopping:  # stop() came during the batch: no pause after it
                return
            # Sleep until the pause is over or a notification arrives.
            try:
                await asyncio.wait_for(state.wake.wait(), pause)
            except TimeoutError:
                pass

    async def _run_task(self, state: _State) -> None:
        """Call the task's function until it reports less than a full batch (or the worker stops)."""
        assert self._pool is not None
        task = state.task
        call = sql.SQL("SELECT {}(%s)").format(sql.Identifier(*task.function.split(".")))
        started, done, calls = time.monotonic(), 0, 0
        while not self.stopping:
            async with self._pool.connection() as conn:
                state.in_transaction = True
                try:
                    async with conn.transaction():
                        await conn.execute("SELECT set_config('role', %s, true)", [task.role])
                        if task.statement_timeout_ms is not None:  # a task known to take longer per call
                            await conn.execute("SELECT set_config('statement_timeout', %s, true)",
                                               [str(task.statement_timeout_ms)])
                        row = await (await conn.execute(call, [task.batch_size])).fetchone()
                finally:
                    state.in_transaction = False
            count = int(row[0]) if row and row[0] is not None else 0
            done, calls = done + count, calls + 1
            self.done[task.name] += count
            self.calls[task.name] += 1
            if count < task.batch_size:
                break
        level = logging.INFO if done else logging.DEBUG
        log.log(level, "%s: %d rows in %d call(s), %.0f ms", task.name, done, calls,
                (time.monotonic() - started) * 1000)
