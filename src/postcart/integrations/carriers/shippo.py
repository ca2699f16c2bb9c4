"""An HTTP carrier aggregator over Shippo's REST protocol, pointed at POSTCART_CARRIER_API_BASE (Shippo itself,
or any service or emulator speaking the subset used here):

- `POST /shipments` (address_from, address_to, parcels, async false) answers the shipment with its `rates`
  (object_id, amount as a decimal string, currency, provider, servicelevel {name, token}, estimated_days);
- `POST /transactions` (rate, label_file_type, async false) buys the label: status SUCCESS with
  tracking_number and label_url, or ERROR with messages;
- `track_updated` webhooks carry data.tracking_status {object_id, status, status_date}, signed in the
  `Shippo-Auth-Signature` header as `t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">`.

Every request has a timeout, and the purchase an Idempotency-Key (the caller's, derived from the
fulfilment), so asking again after a lost answer is answered with the label already bought."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from datetime import datetime
from typing import Any

import aiohttp

from ..decimal_money import to_minor
from . import CarrierRefused, CarrierUnavailable, InvalidSignature, Label, Rate, TrackingEvent

SIGNATURE_TOLERANCE = 300  # seconds a signed webhook stays acceptable: a replay later fails
# Shippo's tracking statuses in ours; PRE_TRANSIT (label made, not yet handed over) is where a shipment
# starts, UNKNOWN says nothing.
STATUSES = {"PRE_TRANSIT": "shipped", "TRANSIT": "in_transit", "DELIVERED": "delivered", "RETURNED": "returned",
            "FAILURE": "failure"}
# A parcel's box when nothing better is known: the rates of most services depend on weight first.
DEFAULT_BOX = {"length": "30", "width": "20", "height": "10", "distance_unit": "cm"}


def _address(address: dict[str, Any] | None) -> dict[str, Any]:
    a = address or {}
    return {"name": a.get("full_name") or a.get("name") or "", "street1": a.get("line1") or "",
            "city": a.get("city") or "", "zip": a.get("postal_code") or "", "state": a.get("region") or "",
            "country": a.get("country") or ""}


def _shipment(parcel: dict[str, Any]) -> dict[str, Any]:
    return {"address_from": _address(parcel.get("origin")), "address_to": _address(parcel.get("destination")),
            "parcels": [{**DEFAULT_BOX, "weight": str(max(int(parcel["weight_grams"]), 1)), "mass_unit": "g"}],
            "async": False, "metadata": f"postcart order {parcel['order_number']}"}


def _rate(rate: dict[str, Any]) -> Rate:
    level = rate["servicelevel"]
    return Rate(carrier="http", service=str(level["token"]), name=f"{rate['provider']} {level['name']}",
                amount=to_minor(rate["amount"], str(rate["currency"])), currency=str(rate["currency"]).upper(),
                estimated_days=rate.get("estimated_days") if isinstance(rate.get("estimated_days"), int) else None)


def _instant(value: Any) -> str | None:
    """An ISO 8601 instant with its offset, or None (a report without a usable date is ordered by arrival)."""
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return parsed.isoformat() if parsed is not None and parsed.tzinfo is not None else None


class ShippoCarrier:
    code = "http"
    sells_labels = True

    def __init__(self, api_base: str, api_key: str, webhook_secret: str | None, timeout: float) -> None:
        self._base = api_base.rstrip("/")
        self._headers = {"Authorization": f"ShippoToken {api_key}", "Content-Type": "application/json"}
        self._webhook_secret = webhook_secret
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def _post(self, path: str, body: dict[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
        """POST a JSON body; the carrier's error text is never passed on (it may echo addresses)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        headers = dict(self._headers)
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        try:
            async with self._session.post(self._base + path, json=body, headers=headers) as answer:
                status = answer.status
                data = await answer.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError):
            raise CarrierUnavailable("carrier_unavailable", "The carrier did not answer in time.") from None
        except ValueError:  # not JSON: whatever happened there is unknown
            raise CarrierUnavailable("carrier_bad_answer", "The carrier's answer was not JSON.") from None
        if status >= 500 or status in (408, 409, 429):
            raise CarrierUnavailable("carrier_error", f"The carrier answered {status}.")
        if status >= 400:
            raise CarrierRefused("carrier_refused", f"The carrier refused the request ({status}).")
        if not isinstance(data, dict):
            raise CarrierUnavailable("carrier_bad_answer", "The carrier's answer was not an object.")
        return data

    async def quote(self, parcel: dict[str, Any]) -> list[Rate]:
        shipment = await self._post("/shipments", _shipment(parcel))
        try:
            return sorted((_rate(r) for r in shipment.get("rates") or []), key=lambda r: (r.amount, r.service))
        except (KeyError, TypeError, ValueError):
            raise CarrierUnavailable("carrier_bad_answer", "The carrier's rates were malformed.") from None

    async def buy_label(self, parcel: dict[str, Any], service: str | None, idempotency_key: str) -> Label:
        # The same key for the shipment too: a retry meets the same rates, then the same purchase.
        shipment = await self._post("/shipments", _shipment(parcel), idempotency_key + "-shipment")
        rates = [r for r in shipment.get("rates") or [] if isinstance(r, dict) and isinstance(r.get("servicelevel"), dict)]
        if service is not None:
            rates = [r for r in rates if r["servicelevel"].get("token") == service]
        if not rates:
            raise CarrierRefused("service_unavailable", "The carrier offers no such service for this parcel.")
        try:
            chosen = min(rates, key=lambda r: to_minor(r.get("amount"), str(r.get("currency"))))
            made = await self._post("/transactions", {"rate": chosen["object_id"], "label_file_type": "PDF",
                                                      "async": False, "metadata": idempotency_key}, idempotency_key)
            if made.get("status") in ("QUEUED", "WAITING"):
                raise CarrierUnavailable("label_pending", "The carrier has not made the label yet.")
            if made.get("status") != "SUCCESS":
                raise CarrierRefused("label_refused", "The carrier could not make the label.")
            return Label(tracking_number=str(made["tracking_number"]), label_url=str(made["label_url"]),
                         reference=str(made["object_id"]), provider=str(chosen["provider"]).lower(),
                         service=str(chosen["servicelevel"]["token"]),
                         amount=to_minor(chosen["amount"], str(chosen["currency"])),
                         currency=str(chosen["currency"]).upper())
        except (KeyError, TypeError, ValueError):
            raise CarrierUnavailable("carrier_bad_answer", "The carrier's label answer was malformed.") from None

    def verify(self, body: bytes, header: str, now: float | None = None) -> None:
        """Shippo-Auth-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">, within the tolerance."""
        if not self._webhook_secret:
            raise InvalidSignature("no webhook secret is set")
        pairs = [p.strip().split("=", 1) for p in header.split(",") if "=" in p]
        stamp = next((v for k, v in pairs if k == "t"), "")
        given = [v for k, v in pairs if k == "v1"]
        if not stamp.isdigit() or abs((now or time.time()) - int(stamp)) > SIGNATURE_TOLERANCE:
            raise InvalidSignature("missing or stale timestamp")
        expected = hmac.new(self._webhook_secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        if not any(hmac.compare_digest(expected, v) for v in given):
            raise InvalidSignature("no signature matches")

    def tracking_event(self, body: bytes, headers: dict[str, str]) -> TrackingEvent | None:
        self.verify(body, headers.get("Shippo-Auth-Signature", ""))
        event = json.loads(body)
        if not isinstance(event, dict) or event.get("event") != "track_updated":
            return None
        data = event.get("data")
        status = data.get("tracking_status") if isinstance(data, dict) else None
        if not isinstance(status, dict):
            raise ValueError("no tracking_status")
        ours = STATUSES.get(str(status.get("status")))
        if ours is None:
            return None
        fields = (status.get("object_id"), data.get("tracking_number"), data.get("carrier"))
        if not all(isinstance(f, str) and 0 < len(f) <= 255 for f in fields):
            raise ValueError("incomplete tracking event")
        return TrackingEvent(id=str(fields[0]), tracking_number=str(fields[1])[:100], provider=str(fields[2]),
                             status=ours, status_at=_instant(status.get("status_date")))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
