"""A local carrier aggregator speaking the subset of Shippo's REST protocol postcart uses: `POST /shipments`
(rates for the parcel's weight), `POST /transactions` (a label for a rate: tracking number and label URL),
the Idempotency-Key honoured on both (a repeated key gets the first answer), and `track_updated` webhooks
signed as `Shippo-Auth-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">`, built for the test to
deliver in any order and as often as it likes.

Faults per operation (shipments, transactions): "500" answers 500 doing nothing, "500_after" buys the label
and then answers 500 (the answer is lost, the label is not), "delay" answers after `seconds` (a client with
a shorter timeout gives up while the label is bought), "refuse" answers 400, "error" a transaction with
status ERROR. `labels` counts the labels actually bought."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from aiohttp import web

from .loopback_server import LoopbackServer

API_KEY = "shippo_test_postcart_emulator"
WEBHOOK_SECRET = "carrier_whsec_postcart_emulator_0123"
SERVICES = (("usps_ground_advantage", "Ground Advantage", 450, 5), ("usps_priority", "Priority Mail", 900, 2))


class CarrierEmulator(LoopbackServer):
    name = "carrier-emulator"

    def __init__(self, currency: str = "EUR") -> None:
        super().__init__()
        self.currency = currency
        self.shipments: dict[str, dict[str, Any]] = {}
        self.transactions: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._answers: dict[str, tuple[int, str]] = {}

    @property
    def labels(self) -> int:
        with self.lock:
            return len(self.transactions)

    def labels_with(self, metadata: str) -> list[dict[str, Any]]:
        with self.lock:
            return [t for t in self.transactions.values() if t["metadata"].startswith(metadata)]

    def track_event(self, tracking_number: str, status: str, status_date: str, provider: str = "usps",
                    event_id: str | None = None) -> bytes:
        return json.dumps({"event": "track_updated", "test": True, "data": {
            "carrier": provider, "tracking_number": tracking_number,
            "tracking_status": {"object_id": event_id or secrets.token_hex(8), "status": status,
                                "status_details": status.lower(), "status_date": status_date}}}).encode()

    def sign(self, body: bytes, secret: str | None = None, at: int | None = None) -> str:
        stamp = int(time.time()) if at is None else at
        mac = hmac.new((secret or WEBHOOK_SECRET).encode(), f"{stamp}.".encode() + body, hashlib.sha256)
        return f"t={stamp},v1={mac.hexdigest()}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"ShippoToken {API_KEY}":
            return web.json_response({"detail": "Invalid token."}, status=401)
        op = request.path.strip("/")
        if request.method != "POST" or op not in ("shipments", "transactions"):
            return web.json_response({"detail": "Not found."}, status=404)
        body = await request.json()
        with self.lock:
            self.requests.append((op, body))
        key = request.headers.get("Idempotency-Key")
        fault = self.next_fault(op)
        if fault is not None and fault.kind == "500":
            return web.json_response({"detail": "Injected failure."}, status=500)
        if fault is not None and fault.kind == "refuse":
            return web.json_response({"detail": "Injected refusal."}, status=400)
        with self.lock:
            stored = self._answers.get(key) if key else None
        if stored is None:
            status, answer = self._shipment(body) if op == "shipments" else self._transaction(body, fault)
            stored = (status, json.dumps(answer))
            if key:
                with self.lock:
                    stored = self._answers.setdefault(key, stored)
        if fault is not None and fault.kind == "500_after":
            return web.json_response({"detail": "Injected failure after the work."}, status=500)
        if fault is not None and fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
        return web.Response(text=stored[1], status=stored[0], content_type="application/json")

    def _shipment(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        grams = int(body["parcels"][0]["weight"])
        shipment_id = "shp_" + secrets.token_hex(8)
        rates = [{"object_id": f"rate_{secrets.token_hex(8)}", "provider": "USPS", "currency": self.currency,
                  "amount": f"{(base + grams // 100 * 10) / 100:.2f}", "estimated_days": days,
                  "servicelevel": {"token": token, "name": name}} for token, name, base, days in SERVICES]
        with self.lock:
            self.shipments[shipment_id] = {"rates": rates, "body": body}
        return 201, {"object_id": shipment_id, "status": "SUCCESS", "rates": rates}

    def _transaction(self, body: dict[str, Any], fault: Any) -> tuple[int, dict[str, Any]]:
        with self.lock:
            known = any(r["object_id"] == body.get("rate") for s in self.shipments.values() for r in s["rates"])
        if not known:
            return 400, {"detail": "Unknown rate."}
        if fault is not None and fault.kind == "error":
            return 201, {"object_id": "txn_" + secrets.token_hex(8), "status": "ERROR",
                         "messages": [{"text": "Address not deliverable"}]}
        made = {"object_id": "txn_" + secrets.token_hex(8), "status": "SUCCESS", "rate": body["rate"],
                "tracking_number": "9400" + "".join(secrets.choice("0123456789") for _ in range(18)),
                "label_url": f"https://labels.example/{secrets.token_hex(6)}.pdf", "metadata": body.get("metadata", "")}
        with self.lock:
            self.transactions[made["object_id"]] = made
        return 201, made
