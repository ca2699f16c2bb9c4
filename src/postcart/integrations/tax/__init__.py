"""The tax service interface: the tax of each line (and of shipping) for a destination, and how a quote can
fail. Two adapters: builtin (shop.compute_tax in the database, today's behaviour and the default; it has
nothing to ask in Python, so its quote is None) and http (an external service, tax/taxjar.py).

A quote is asked before the checkout call, never inside its transaction; whatever goes wrong with it, the
order is still placed, with the built-in rates and a flag (docs/carriers.md)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol


@dataclass(frozen=True)
class TaxLine:
    id: str
    amount: int  # minor units after discounts: what tax is computed on
    quantity: int
    tax_class: str | None


@dataclass(frozen=True)
class LineTax:
    tax: int  # minor units, rounded per line
    rate_percent: Decimal


@dataclass(frozen=True)
class TaxQuote:
    lines: list[LineTax]  # in the order of the lines asked about
    shipping_tax: int


class TaxServiceError(Exception):
    """The quote could not be had: timeout, unavailable, refused or bad_answer (the code is what the order's
    tax_fallback_reason will say)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class TaxService(Protocol):
    async def quote(self, lines: list[TaxLine], ship_to: dict[str, Any], currency: str, prices_include_tax: bool,
                    shipping: int | None = None) -> TaxQuote | None:
        """None: compute in the database (builtin)."""
        ...

    async def close(self) -> None: ...


class BuiltinTax:
    """The built-in rates: shop.compute_tax, called by the cart's pricing itself; nothing to ask here."""

    async def quote(self, lines: list[TaxLine], ship_to: dict[str, Any], currency: str, prices_include_tax: bool,
                    shipping: int | None = None) -> TaxQuote | None:
        return None

    async def close(self) -> None:
        return None
