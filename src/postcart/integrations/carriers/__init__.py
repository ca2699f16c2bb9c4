"""The carrier interface: what postcart asks of a shipping carrier (rate quotes for a parcel, a label with its
tracking number) and what it accepts from one (signed tracking reports), and the ways a call can fail.

A carrier call never runs inside a database transaction. Buying a label carries an idempotency key derived
from the fulfilment postcart recorded first (its id and the number of definite refusals so far), so asking
again after a lost answer returns the label the first call bought instead of buying a second."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Rate:
    carrier: str  # the adapter's code: table, http
    service: str  # the service level to ask for (a shipping method code, or the carrier's token)
    name: str
    amount: int  # minor units
    currency: str
    estimated_days: int | None


@dataclass(frozen=True)
class Label:
    tracking_number: str
    label_url: str
    reference: str  # the carrier's id of the purchase
    provider: str  # who carries it (usps, dhl_express...), as tracking reports name it
    service: str
    amount: int | None
    currency: str | None


@dataclass(frozen=True)
class TrackingEvent:
    id: str  # the carrier's id of this report: each is applied once
    tracking_number: str
    provider: str
    status: str  # ours: shipped, in_transit, delivered, failure, returned
    status_at: str | None  # RFC 3339, when the carrier says it happened


class CarrierError(Exception):
    """A carrier call that did not succeed; code is a stable snake_case word for the API's answer."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class CarrierUnavailable(CarrierError):
    """No answer, a timeout or a 5xx: the label may or may not have been bought. Ask again with the same
    idempotency key to find out."""


class CarrierRefused(CarrierError):
    """A definite no (4xx, or a purchase the carrier reports as failed): nothing was bought."""


class InvalidSignature(Exception):
    """A tracking webhook whose signature does not verify (or is too old)."""


class Carrier(Protocol):
    code: str
    sells_labels: bool

    async def quote(self, parcel: dict[str, Any]) -> list[Rate]:
        """parcel: shop.parcel_json's object (weight_grams, declared_value, currency, origin, destination),
        with table_rates when the database priced the built-in methods."""
        ...

    async def buy_label(self, parcel: dict[str, Any], service: str | None, idempotency_key: str) -> Label: ...

    def tracking_event(self, body: bytes, headers: dict[str, str]) -> TrackingEvent | None:
        """The report in a webhook whose signature verifies (InvalidSignature otherwise); None for an event
        that carries no tracking change."""
        ...

    async def close(self) -> None: ...
