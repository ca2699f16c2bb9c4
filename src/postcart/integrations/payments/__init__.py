"""The payment provider interface: what postcart asks of a card gateway, and the two ways a call can fail.

A provider call never runs inside a database transaction. Each call that creates something carries an
idempotency key derived from the row postcart recorded first (the payment's or the refund's id), so asking
again after a lost answer returns what the first call did instead of charging or refunding twice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Intent:
    """A PaymentIntent as postcart needs it. client_secret goes to the paying client only, never stored."""

    id: str
    status: str  # requires_payment_method, requires_confirmation, requires_action, processing,
    # requires_capture, succeeded, canceled
    amount: int
    currency: str  # ISO 4217, upper case
    amount_received: int
    client_secret: str | None


@dataclass(frozen=True)
class Refund:
    id: str
    status: str  # pending, succeeded, failed, canceled
    amount: int


class ProviderError(Exception):
    """A provider call that did not succeed; code is a stable snake_case word for the API's answer."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class ProviderUnavailable(ProviderError):
    """No answer, a timeout or a 5xx: the call may or may not have taken effect. Ask again with the same
    idempotency key to find out."""


class ProviderRefused(ProviderError):
    """A definite no (4xx: declined, invalid, already refunded): nothing happened at the provider."""


class CardProvider(Protocol):
    async def create_intent(self, amount: int, currency: str, idempotency_key: str,
                            metadata: dict[str, str], manual_capture: bool = False) -> Intent:
        """manual_capture: the money is only authorized (requires_capture) until capture() takes it."""
        ...

    async def retrieve(self, intent_id: str) -> Intent: ...

    async def confirm(self, intent_id: str, payment_method: str, idempotency_key: str) -> Intent: ...

    async def capture(self, intent_id: str, idempotency_key: str, amount: int | None = None) -> Intent: ...

    async def cancel(self, intent_id: str, idempotency_key: str) -> Intent: ...

    async def refund(self, intent_id: str, amount: int, idempotency_key: str,
                     metadata: dict[str, str] | None = None) -> Refund:
        """metadata comes back in the gateway's refund events (postcart_refund_id: ours, even when the
        answer to this call was lost)."""
        ...

    async def close(self) -> None: ...
