"""An external tax service over TaxJar's `POST /v2/taxes`, pointed at POSTCART_TAX_API_BASE (TaxJar itself or
any service or emulator speaking the subset used here): to_country, to_zip, to_state, to_city, to_street,
amount, shipping and line_items [{id, quantity, unit_price, discount, product_tax_code}] in major units;
the answer's tax.breakdown.line_items [{id, tax_collectable, combined_tax_rate}] and
tax.breakdown.shipping give the tax of each line. Bearer authentication; one timeout for the whole call.

Each line is sent as one unit at its amount after discounts (unit_price = the line's amount, quantity 1),
so the service taxes exactly what postcart charges. When the store's prices include tax, the service's
combined rate is applied as a share of the amount (amount x rate / (1 + rate), halves up, per line), the
rule of shop.compute_tax."""

from __future__ import annotations

import asyncio
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import aiohttp

from ..decimal_money import to_major, to_minor
from . import LineTax, TaxLine, TaxQuote, TaxServiceError


def _rate(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError("not a rate")
    rate = Decimal(str(value))
    if not rate.is_finite() or not 0 <= rate <= 1:
        raise ValueError("not a rate")
    return rate


def _tax(part: dict[str, Any], amount: int, currency: str, prices_include_tax: bool) -> LineTax:
    rate = _rate(part.get("combined_tax_rate", 0))
    if prices_include_tax:
        tax = int((Decimal(amount) * rate / (1 + rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    else:
        tax = to_minor(part.get("tax_collectable", 0), currency)
    if tax < 0:
        raise ValueError("negative tax")
    return LineTax(tax=tax, rate_percent=(rate * 100).normalize())


class TaxJarService:
    def __init__(self, api_base: str, api_key: str, timeout_ms: int) -> None:
        self._url = api_base.rstrip("/") + "/v2/taxes"
        self._headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        self._timeout = timeout_ms / 1000
        self._session: aiohttp.ClientSession | None = None

    async def quote(self, lines: list[TaxLine], ship_to: dict[str, Any], currency: str, prices_include_tax: bool,
                    shipping: int | None = None) -> TaxQuote | None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout))
        body = {
            "to_country": ship_to.get("country"), "to_zip": ship_to.get("postal_code"),
            "to_state": ship_to.get("region"), "to_city": ship_to.get("city"), "to_street": ship_to.get("line1"),
            "amount": float(to_major(sum(line.amount for line in lines), currency)),
            "shipping": float(to_major(shipping or 0, currency)),
            "line_items": [{"id": line.id, "quantity": 1, "unit_price": float(to_major(line.amount, currency)),
                            "discount": 0, "product_tax_code": line.tax_class} for line in lines],
        }
        try:
            async with self._session.post(self._url, json=body, headers=self._headers) as answer:
                status = answer.status
                data = await answer.json(content_type=None)
        except (asyncio.TimeoutError, TimeoutError):
            raise TaxServiceError("timeout", "The tax service did not answer in time.") from None
        except aiohttp.ClientError:
            raise TaxServiceError("unavailable", "The tax service could not be reached.") from None
        except ValueError:
            raise TaxServiceError("bad_answer", "The tax service's answer was not JSON.") from None
        if status >= 500:
            raise TaxServiceError("unavailable", f"The tax service answered {status}.")
        if status >= 400:
            raise TaxServiceError("refused", f"The tax service refused the request ({status}).")
        try:
            return self._read(data, lines, currency, prices_include_tax, shipping)
        except (KeyError, TypeError, ValueError, ArithmeticError):
            raise TaxServiceError("bad_answer", "The tax service's answer was malformed.") from None

    @staticmethod
    def _read(data: Any, lines: list[TaxLine], currency: str, prices_include_tax: bool,
              shipping: int | None) -> TaxQuote:
        tax = data["tax"]
        breakdown = tax.get("breakdown")
        if breakdown is None:  # no nexus there, or nothing taxable: TaxJar leaves the breakdown out
            if to_minor(tax.get("amount_to_collect", 0), currency) != 0:
                raise ValueError("tax without a breakdown")
            return TaxQuote([LineTax(0, Decimal(0)) for _ in lines], 0)
        parts = {str(p["id"]): p for p in breakdown.get("line_items") or []}
        quoted = [_tax(parts[line.id], line.amount, currency, prices_include_tax) for line in lines]
        shipping_part = breakdown.get("shipping") or {}
        shipping_tax = _tax(shipping_part, shipping or 0, currency, prices_include_tax).tax if shipping else 0
        return TaxQuote(quoted, shipping_tax)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
