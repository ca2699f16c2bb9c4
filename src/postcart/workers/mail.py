"""The mail sender, one per worker process beside the SQL tasks, shaped like the webhook sender: it
claims due mails in a short transaction that leases them (integration.claim_mails, which also skips
marketing whose recipient opted out since the fan-out) and commits; renders and sends them with no
transaction open, a few at once (integrations/mail.py: SMTP, or .eml files without POSTCART_SMTP_URL);
then records the outcomes in a second short transaction (integration.record_mail_attempts), where the
database decides: sent, retried after a backoff, or dead. A worker that dies mid-send leaves leases that
run out, after which any worker claims the mails again; no two workers ever hold the same attempt."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from ..integrations.mail import Outcome, Sender, SmtpTarget, message_id, render, send_smtp, write_eml
from ..settings import Settings
from .retry import Backoff, describe

log = logging.getLogger("postcart.worker")

CHANNEL = "mails"  # NOTIFYed by integration.fan_out_mails
ROLE = "postcart_worker"


@dataclass(frozen=True)
class MailOptions:
    sender: Sender
    smtp_url: str | None  # None: write .eml files into eml_dir
    eml_dir: Path
    timeout: float = 30.0  # seconds one SMTP transaction may take
    concurrency: int = 4  # mails sent at once in this process
    max_attempts: int = 8
    backoff_base: float = 60.0  # seconds
    backoff_cap: float = 6 * 3600.0  # seconds
    poll_interval: float = 5.0  # seconds between looks for due retries when nothing wakes the sender

    @property
    def lease_seconds(self) -> float:
        """Room for the send and the recording; a lease that runs out only means one more attempt."""
        return max(30.0, 3 * self.timeout)

    @classmethod
    def from_settings(cls, settings: Settings, secret: str) -> MailOptions:
        sender = Sender(secret=secret, mail_from=settings.mail_from, public_url=settings.public_url,
                        api_url=settings.api_url or settings.public_url)
        smtp = settings.smtp_url.get_secret_value() if settings.smtp_url else None
        return cls(sender=sender, smtp_url=smtp, eml_dir=settings.data_dir / "mail", timeout=settings.mail_timeout,
                   concurrency=settings.mail_concurrency, max_attempts=settings.mail_max_attempts,
                   backoff_base=settings.mail_backoff_base, backoff_cap=settings.mail_backoff_cap)


_CLAIM = sql.SQL("SELECT mail_id, attempt, kind, to_email, marketing, context"
                 " FROM integration.claim_mails(%s, make_interval(secs => %s))")
_RECORD = sql.SQL(
    "SELECT integration.record_mail_attempts(%s, %s, make_interval(secs => %s), make_interval(secs => %s))")


class MailSender:
    def __init__(self, pool: AsyncConnectionPool, options: MailOptions, wake: asyncio.Event) -> None:
        self.pool = pool
        self.options = options
        self.wake = wake  # set by NOTIFY mails (the runner's listener) and by stop()
        self.target = SmtpTarget.parse(options.smtp_url) if options.smtp_url else None
        self.stopping = False
        self.busy = False  # a batch is being sent or recorded: stop() lets it finish
        self.sent = 0  # mails handed to SMTP (or written), for tests and the log
        self.failures = 0  # database calls that failed

    def stop(self) -> None:
        self.stopping = True
        self.wake.set()

    async def run(self, once: bool = False) -> None:
        """Until stop() (or, with `once`, until nothing is due). Cancelled mid-batch, it leaves the batch's
        leases to run out, as a killed process would."""
        if self.target is None:
            log.info("mail: no POSTCART_SMTP_URL, writing .eml files into %s", self.options.eml_dir)
        else:  # never the user name or password
            log.info("mail: SMTP %s:%d%s", self.target.hostname, self.target.port,
                     " (TLS)" if self.target.use_tls else " (STARTTLS)" if self.target.start_tls else "")
        backoff = Backoff()
        while not self.stopping:
            self.wake.clear()
            try:
                claimed = await self._batch()
            except Exception as exc:  # noqa: BLE001 - the sender outlives a database outage
                self.failures += 1
                pause = backoff.next()
                log.warning("mail batch failed: %s; retrying in %.0f s", describe(exc), pause)
                if once:
                    return
                await self._sleep(pause)
                continue
            backoff.reset()
            if claimed:
                continue  # there may be more due (a claim hands out fewer when it skipped marketing)
            if once:
                return
            await self._sleep(self.options.poll_interval)

    async def _batch(self) -> int:
        rows = await self._call(_CLAIM, [self.options.concurrency, self.options.lease_seconds])
        if not rows:
            return 0  # nothing due (or only opted-out marketing, now skipped: the next claim sees the rest)
        self.busy = True
        try:
            outcomes = await asyncio.gather(*(self._send(*row) for row in rows))
            await self._call(_RECORD, [Jsonb(outcomes), self.options.max_attempts, self.options.backoff_base,
                                       self.options.backoff_cap])
        finally:
            self.busy = False
        return len(rows)

    async def _send(self, mail_id: Any, attempt: int, kind: str, to: str, marketing: bool,
                    context: dict[str, Any]) -> dict[str, Any]:
        mail = str(mail_id)
        mid = message_id(self.options.sender, mail)
        try:
            message = render(self.options.sender, mail, kind, to, marketing, context or {})
        except Exception as exc:  # noqa: BLE001 - a template or context problem fails this mail alone
            outcome = Outcome(False, f"render failed: {type(exc).__name__}")
        else:
            if self.target is None:
                outcome = write_eml(self.options.eml_dir, message, mail)
            else:
                outcome = await send_smtp(self.target, message, self.options.timeout)
        if outcome.sent:
            self.sent += 1
            log.info("mail %s (%s, attempt %d) sent as %s", mail, kind, attempt, mid)
        else:
            log.warning("mail %s (%s, attempt %d) not sent: %s", mail, kind, attempt, outcome.error)
        return {"mail_id": mail, "attempt": attempt, "sent": outcome.sent, "message_id": mid, "error": outcome.error}

    async def _call(self, query: sql.Composable, params: list[Any]) -> list[tuple[Any, ...]]:
        """One short transaction as postcart_worker, in one round trip (pipeline mode)."""
        async with self.pool.connection() as conn:
            async with conn.pipeline(), conn.transaction():
                await conn.execute("SELECT set_config('role', %s, true)", [ROLE])
                cursor = await conn.execute(query, params)
            return await cursor.fetchall()

    async def _sleep(self, seconds: float) -> None:
        """A pause that a notification or stop() ends early."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wake.wait(), seconds)
