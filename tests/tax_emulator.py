"""A local tax service speaking the subset of TaxJar's `POST /v2/taxes` postcart uses: amounts in major units,
a combined rate per destination (country, or country-state), every line and shipping taxed at it, the
answer's tax.breakdown.line_items [{id, tax_collectable, combined_tax_rate}] and breakdown.shipping.

Faults (op "taxes"): "500", "delay" (answer after `seconds`: slower than the client's timeout is a timeout,
faster is a slow answer that still counts), "garbage" (200 with a body that is not a tax answer), "html"
(200 with a body that is not JSON)."""

from __future__ import annotations

import asyncio
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from aiohttp import web

from .loopback_server import LoopbackServer

API_KEY = "taxjar_test_postcart_emulator"


class TaxEmulator(LoopbackServer):
    name = "tax-emulator"

    def __init__(self, rates: dict[str, str] | None = None) -> None:
        super().__init__()
        self.rates = {k: Decimal(v) for k, v in (rates or {}).items()}
        self.requests: list[dict[str, Any]] = []

    def rate_for(self, country: str, state: str | None) -> Decimal:
        return self.rates.get(f"{country}-{state}", self.rates.get(country, Decimal(0)))

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return web.json_response({"error": "Unauthorized"}, status=401)
        if request.method != "POST" or request.path != "/v2/taxes":
            return web.json_response({"error": "Not Found"}, status=404)
        body = await request.json()
        with self.lock:
            self.requests.append(body)
        fault = self.next_fault("taxes")
        if fault is not None and fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
        if fault is not None and fault.kind == "500":
            return web.json_response({"error": "Internal Server Error"}, status=500)
        if fault is not None and fault.kind == "garbage":
            return web.json_response({"tax": {"breakdown": {"line_items": [{"id": "nope", "tax_collectable": "x"}]},
                                              "amount_to_collect": 1}})
        if fault is not None and fault.kind == "html":
            return web.Response(text="<html>busy</html>", content_type="text/html")
        rate = self.rate_for(body["to_country"], body.get("to_state"))

        def collect(amount: Any) -> float:
            return float((Decimal(str(amount)) * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))

        items = [{"id": li["id"], "taxable_amount": li["unit_price"] * li["quantity"],
                  "tax_collectable": collect(Decimal(str(li["unit_price"])) * li["quantity"]),
                  "combined_tax_rate": float(rate)} for li in body["line_items"]]
        shipping = {"taxable_amount": body["shipping"], "tax_collectable": collect(body["shipping"]),
                    "combined_tax_rate": float(rate)}
        total = sum(i["tax_collectable"] for i in items) + shipping["tax_collectable"]
        return web.json_response({"tax": {
            "order_total_amount": body["amount"] + body["shipping"], "shipping": body["shipping"],
            "amount_to_collect": round(total, 2), "rate": float(rate), "has_nexus": True, "freight_taxable": True,
            "breakdown": {"line_items": items, "shipping": shipping}}})
