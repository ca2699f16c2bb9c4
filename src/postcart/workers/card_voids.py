"""Cancels, at the card gateway, the open PaymentIntents of orders that were cancelled (by the customer, by
staff, or by the unpaid-order sweep), so that a customer who still has the payment page open cannot pay
for an order that no longer exists. Runs in the worker when card payments are set up.

Each round asks the database which attempts to void (shop.card_payments_to_void), cancels each at the
gateway with an idempotency key derived from the payment, and reports the answer as postcart_gateway
(shop.card_intent_created), which voids the payment. If the customer paid first, the gateway refuses to
cancel; the intent as it is then is reported instead (captured: the order stays cancelled and shows
refund_due). A gateway that does not answer is asked again next round."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from .. import db
from ..integrations.payments import CardProvider, Intent, ProviderError, ProviderRefused
from .retry import describe

log = logging.getLogger("postcart.worker")

ROLE = "postcart_gateway"
BATCH = 100  # attempts per round
_TO_VOID = sql.SQL("SELECT shop.card_payments_to_void(%s)")
_REPORT = sql.SQL("SELECT shop.card_intent_created(%s, %s)")


class CardVoider:
    def __init__(self, pool: AsyncConnectionPool, provider: Callable[[], CardProvider], interval: float = 60.0) -> None:
        self.pool = pool
        self.provider = provider  # made on the worker's event loop (the client binds to it)
        self.interval = interval
        self.voided = 0  # reported voided, for tests and the log
        self.failures = 0  # rounds that failed (database) and attempts the gateway did not answer

    async def run(self, once: bool = False) -> None:
        """A round now, then one every `interval` seconds (with `once`, rounds until nothing is left that
        the gateway answered for). Cancelling it at any point is safe: every step can be repeated."""
        card = self.provider()
        try:
            while True:
                try:
                    done, todo = await self.round(card)
                except Exception as exc:  # noqa: BLE001 - the worker's other tasks go on
                    self.failures += 1
                    log.warning("void_card_payments failed: %s", describe(exc))
                    done, todo = 0, 0
                if once and (done == 0 or todo < BATCH):
                    return
                if not once:
                    await asyncio.sleep(self.interval)
        finally:
            await card.close()

    async def round(self, card: CardProvider) -> tuple[int, int]:
        """(attempts reported, attempts listed) for one batch."""
        listed: list[dict[str, Any]] = await db.call_as_role(self.pool, ROLE, _TO_VOID, [BATCH]) or []
        reported = 0
        for row in listed:
            try:
                intent = await self._cancel(card, row["payment_id"], row["intent_id"])
            except ProviderError as exc:
                self.failures += 1
                log.warning("void_card_payments: the gateway failed for payment %s (%s); next round",
                            row["payment_id"], exc.code)
                continue
            payment = await db.call_as_role(self.pool, ROLE, _REPORT, [row["payment_id"], Jsonb({
                "id": intent.id, "status": intent.status, "amount_received": intent.amount_received})])
            reported += 1
            if payment["status"] == "voided":
                self.voided += 1
            else:
                log.warning("void_card_payments: payment %s of a cancelled order is %s at the gateway",
                            row["payment_id"], payment["status"])
        if reported:
            log.info("void_card_payments: %d of %d reported, %d voided in all", reported, len(listed), self.voided)
        return reported, len(listed)

    @staticmethod
    async def _cancel(card: CardProvider, payment_id: str, intent_id: str) -> Intent:
        try:
            return await card.cancel(intent_id, f"postcart-void-{payment_id}")
        except ProviderRefused:
            # Paid (or cancelled) in the meantime: what the gateway holds now is what gets reported.
            return await card.retrieve(intent_id)
