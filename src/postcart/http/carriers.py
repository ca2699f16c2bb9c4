"""Shipping rates, carrier labels and tracking webhooks (docs/carriers.md). Like card payments, each route is
short database calls with the carrier call between them, never inside a transaction:

1. the shipment is recorded first, as the caller (stock leaves on_hand whatever the carrier says later),
   with label_status pending;
2. the carrier sells the label under an idempotency key derived from the fulfilment (its id and the count
   of definite refusals), so a retry after a lost answer gets the same label, never a second one;
3. its answer (label, or why not) is stored as postcart_carrier, the only role that may report what a
   carrier said; a failed label stays failed on the shipment until staff retry it."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web
from psycopg import sql
from psycopg.types.json import Jsonb

from ..integrations.carriers import Carrier, CarrierError, CarrierRefused, InvalidSignature
from ..integrations.carriers.shippo import ShippoCarrier
from ..integrations.carriers.table import TableCarrier
from ..settings import Settings
from . import database
from .context import CALLER, CONTEXT, IDEMPOTENCY
from .errors import ApiError

log = logging.getLogger("postcart.carriers")

CARRIERS = web.AppKey("postcart.carriers", dict)
CARRIER_ROLE = "postcart_carrier"

_LABEL_PURCHASED = sql.SQL("SELECT shop.label_purchased(%s, %s)")
_LABEL_FAILED = sql.SQL("SELECT shop.label_failed(%s, %s, %s)")
_APPLY_EVENT = sql.SQL("SELECT shop.apply_carrier_event(%s, %s)")


def install(app: web.Application, settings: Settings) -> None:
    """The table rates always; the HTTP carrier when POSTCART_CARRIER_API_KEY is set."""

    async def carriers(app: web.Application) -> Any:
        found: dict[str, Carrier] = {"table": TableCarrier()}
        if settings.carrier_api_key is not None:
            secret = settings.carrier_webhook_secret
            found["http"] = ShippoCarrier(settings.carrier_api_base, settings.carrier_api_key.get_secret_value(),
                                          None if secret is None else secret.get_secret_value(),
                                          settings.carrier_timeout)
        app[CARRIERS] = found
        yield
        for carrier in found.values():
            await carrier.close()

    app.cleanup_ctx.append(carriers)


async def _as_carrier(request: web.Request, query: sql.Composable, params: list[Any]) -> Any:
    return await database.as_role(request.app[CONTEXT], CARRIER_ROLE, query, params)


def _invalid(fields: dict[str, str]) -> ApiError:
    return ApiError(422, "validation_failed", "Some fields are missing or invalid; see details.fields.",
                    {"fields": fields})


async def _call(request: web.Request, function: str, args: dict[str, Any], keyed: bool = False) -> Any:
    ctx = request.app[CONTEXT]
    result = await database.call(ctx, function, args, request[CALLER], request[IDEMPOTENCY] if keyed else None, None)
    return result, json.loads(result.body or "null")


# -- GET /v1/admin/orders/{id}/shipping-rates ------------------------------------------------------
async def shipping_rates(request: web.Request, body: dict[str, Any]) -> tuple[int, Any]:
    _, parcel = await _call(request, "admin_order_parcel", dict(request.match_info))
    currency = parcel["currency"]
    rates, unavailable = [], []
    for carrier in request.app[CARRIERS].values():
        try:
            rates += await carrier.quote(parcel)
        except CarrierError as exc:  # the others' quotes are still worth showing
            log.warning("carrier %s: quote for order %s failed: %s", carrier.code, parcel["order_id"], exc.code)
            unavailable.append({"carrier": carrier.code, "code": exc.code})
    rates.sort(key=lambda r: (r.currency != currency, r.amount, r.carrier, r.service))
    return 200, {
        "order_id": parcel["order_id"], "weight_grams": parcel["weight_grams"],
        "declared_value": {"amount": parcel["declared_value"], "currency": currency},
        "origin_country": (parcel.get("origin") or {}).get("country"),
        "rates": [{"carrier": r.carrier, "service": r.service, "name": r.name,
                   "amount": {"amount": r.amount, "currency": r.currency}, "estimated_days": r.estimated_days}
                  for r in rates],
        "unavailable": unavailable,
    }


# -- POST /v1/admin/orders/{id}/fulfillments -------------------------------------------------------
async def create_fulfillment(request: web.Request, body: dict[str, Any]) -> tuple[int, Any]:
    args = {**body, **request.match_info}
    buy_label = args.pop("buy_label", False)
    if not isinstance(buy_label, bool):
        raise _invalid({"buy_label": "must be true or false"})
    if not buy_label:  # as before: staff typed the carrier and tracking number, if any
        args.pop("service", None)
        result, order = await _call(request, "admin_create_fulfillment", args, keyed=True)
        return result.status or 201, order
    carrier = request.app[CARRIERS].get(args.get("carrier"))
    if carrier is None or not carrier.sells_labels:
        sellers = [c.code for c in request.app[CARRIERS].values() if c.sells_labels]
        raise _invalid({"carrier": "must be a carrier that sells labels on this server: "
                                   + (", ".join(sellers) or "none is set up")})
    result, recorded = await _call(request, "admin_create_labelled_fulfillment", args, keyed=True)
    if result.replayed:  # the first request bought (or tried) the label: show what is now
        _, order = await _call(request, "admin_get_order", {"id": recorded["order"]["id"]})
        return result.status or 201, order
    order, _ = await _buy(request, carrier, recorded["parcel"])
    return 201, order


async def _buy(request: web.Request, carrier: Carrier, parcel: dict[str, Any]) -> tuple[Any, CarrierError | None]:
    """Buy the parcel's label and store the answer: (the order as it now is, the error if none was bought)."""
    fulfillment_id = parcel["fulfillment_id"]
    key = f"postcart-label-{fulfillment_id}-{parcel['label_attempt']}"
    try:
        label = await carrier.buy_label(parcel, parcel.get("service"), key)
    except CarrierError as exc:
        refused = isinstance(exc, CarrierRefused)
        if not refused:
            log.warning("carrier %s: label of fulfilment %s unanswered: %s", carrier.code, fulfillment_id, exc.code)
        return await _as_carrier(request, _LABEL_FAILED, [fulfillment_id, exc.code, refused]), exc
    order = await _as_carrier(request, _LABEL_PURCHASED, [fulfillment_id, Jsonb({
        "tracking_number": label.tracking_number, "label_url": label.label_url, "reference": label.reference,
        "provider": label.provider, "service": label.service, "amount": label.amount, "currency": label.currency})])
    return order, None


# -- POST /v1/admin/fulfillments/{id}/label --------------------------------------------------------
async def retry_label(request: web.Request, body: dict[str, Any]) -> tuple[int, Any]:
    _, prepared = await _call(request, "admin_prepare_label", dict(request.match_info))
    parcel = prepared["parcel"]
    carrier = request.app[CARRIERS].get(parcel["carrier"])
    if carrier is None or not carrier.sells_labels:
        raise ApiError(409, "carrier_not_configured", "The carrier of this shipment is not set up on this server.",
                       {"carrier": parcel["carrier"]})
    order, error = await _buy(request, carrier, parcel)
    if error is None:
        return 200, order
    if isinstance(error, CarrierRefused):
        raise ApiError(502, "label_refused", "The carrier refused the label; nothing was bought.",
                       {"fulfillment_id": parcel["fulfillment_id"], "carrier_code": error.code})
    raise ApiError(503, "carrier_unavailable", "The carrier did not answer; retry: a label is never bought twice.",
                   {"fulfillment_id": parcel["fulfillment_id"], "carrier_code": error.code},
                   headers={"Retry-After": "2"})


# -- POST /v1/webhooks/carrier ---------------------------------------------------------------------
async def carrier_webhook(request: web.Request, body: dict[str, Any]) -> tuple[int, Any]:
    carrier = request.app[CARRIERS].get("http")
    if carrier is None or request.app[CONTEXT].settings.carrier_webhook_secret is None:
        raise ApiError(404, "not_found", "No carrier webhook is set up on this server.")
    raw = await request.read()
    try:
        event = carrier.tracking_event(raw, dict(request.headers))
    except InvalidSignature:
        raise ApiError(400, "invalid_signature", "The Shippo-Auth-Signature header does not verify this body.") from None
    except ValueError:
        raise ApiError(400, "invalid_event", "The body is not a tracking event of the carrier.") from None
    if event is None:  # another event type, or a status that says nothing (UNKNOWN)
        return 200, {"received": True, "duplicate": False}
    applied = await _as_carrier(request, _APPLY_EVENT, [carrier.code, Jsonb({
        "id": event.id, "tracking_number": event.tracking_number, "provider": event.provider,
        "status": event.status, "status_at": event.status_at})])
    return 200, {"received": True, "duplicate": applied["duplicate"]}
