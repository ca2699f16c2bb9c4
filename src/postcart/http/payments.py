"""Card payments, the card gateway's webhooks and refunds (docs/payments.md). Each route is a few short
database calls with the provider call between them, never inside a transaction:

1. an api function records what is about to be asked (a pending payment, a reserved refund) as the caller,
   with the request's Idempotency-Key, so a replay finds the same row;
2. the gateway is asked with an idempotency key derived from that row's id, so asking again (a retry after
   a lost answer or a crash) returns the first result instead of charging or refunding twice;
3. its answer is stored as postcart_gateway, the only role that may report what a provider said.

No card number or CVC passes here: the client confirms the PaymentIntent at the gateway with client_secret,
which postcart hands on and never stores or logs."""

from __future__ import annotations

import json
import logging
from typing import Any

import stripe
from aiohttp import web
from psycopg import sql
from psycopg.types.json import Jsonb

from ..integrations.payments import CardProvider, ProviderError, ProviderRefused
from ..integrations.payments import card
from ..settings import Settings
from . import carts, database
from .context import CALLER, CONTEXT, IDEMPOTENCY
from .errors import ApiError

log = logging.getLogger("postcart.payments")

CARD = web.AppKey("postcart.card", CardProvider)
GATEWAY_ROLE = "postcart_gateway"
SIGNATURE_TOLERANCE = 300  # seconds a signed event stays acceptable (Stripe's default): replays later fail

_INTENT_CREATED = sql.SQL("SELECT shop.card_intent_created(%s, %s)")
_INTENT_REFUSED = sql.SQL("SELECT shop.card_intent_refused(%s, %s)")
_APPLY_EVENT = sql.SQL("SELECT shop.apply_card_event(%s)")
_REFUND_ANSWERED = sql.SQL("SELECT shop.refund_answered(%s, %s, %s, %s)")


def install(app: web.Application, settings: Settings) -> None:
    """Offer card payments when POSTCART_CARD_API_KEY is set: one gateway client per process."""
    make_client = card.configured(settings)
    if make_client is None:
        return

    async def card_client(app: web.Application) -> Any:
        app[CARD] = make_client()
        yield
        await app[CARD].close()

    app.cleanup_ctx.append(card_client)


def _provider_error(exc: ProviderError, details: dict[str, Any]) -> ApiError:
    """A gateway that did not answer: 503 (try again: the same Idempotency-Key resumes safely); one that
    answered with an error of its own: 502."""
    status = 503 if exc.code == "payment_provider_unavailable" else 502
    return ApiError(status, exc.code, f"{exc} Retry with the same Idempotency-Key: nothing happens twice.",
                    details, headers={"Retry-After": "2"})


async def _as_gateway(request: web.Request, query: sql.Composable, params: list[Any]) -> Any:
    return await database.as_role(request.app[CONTEXT], GATEWAY_ROLE, query, params)


# -- POST /v1/orders/{id}/payments ----------------------------------------------------------------
async def create_payment(request: web.Request, body: dict[str, Any]) -> tuple[int, Any]:
    ctx = request.app[CONTEXT]
    provider = request.app.get(CARD)
    if provider is None:
        raise ApiError(422, "validation_failed", "Some fields are missing or invalid; see details.fields.",
                       {"fields": {"provider": "card payments are not set up on this server"}})
    args = {**body, **request.match_info}
    derived = {"cart_token_sha256": carts.header_token_sha256(request)}  # a guest proves its order's cart
    started = await database.call(ctx, "create_payment", args, request[CALLER], request[IDEMPOTENCY], derived)
    recorded = json.loads(started.body or "null")
    payment = recorded["payment"]
    amount = payment["amount"]
    try:
        intent = await provider.create_intent(
            amount["amount"], amount["currency"], f"postcart-payment-{payment['id']}",
            {"postcart_payment_id": payment["id"], "postcart_order_id": payment["order_id"],
             "postcart_order_number": str(recorded["order_number"])})
    except ProviderRefused as exc:
        await _as_gateway(request, _INTENT_REFUSED, [payment["id"], exc.code])
        raise ApiError(502, "payment_refused", "The card gateway refused to start this payment.",
                       {"payment_id": payment["id"], "provider_code": exc.code}) from None
    except ProviderError as exc:
        log.warning("card gateway: creating the intent of payment %s failed: %s", payment["id"], exc.code)
        raise _provider_error(exc, {"payment_id": payment["id"]}) from None
    stored = await _as_gateway(request, _INTENT_CREATED, [payment["id"], Jsonb({
        "id": intent.id, "status": intent.status, "amount_received": intent.amount_received})])
    return 201, {"payment": {"id": stored["id"], "status": stored["status"], "amount": stored["amount"],
                             "provider": stored["provider"], "client_secret": intent.client_secret}}


# -- POST /v1/webhooks/card -----------------------------------------------------------------------
async def card_webhook(request: web.Request, body: dict[str, Any]) -> tuple[int, Any]:
    settings = request.app[CONTEXT].settings
    if settings.card_webhook_secret is None:
        raise ApiError(404, "not_found", "No card gateway webhook is set up on this server.")
    payload = (await request.read()).decode("utf-8", "replace")
    try:
        stripe.WebhookSignature.verify_header(payload, request.headers.get("Stripe-Signature", ""),
                                              settings.card_webhook_secret.get_secret_value(), SIGNATURE_TOLERANCE)
    except stripe.SignatureVerificationError:
        raise ApiError(400, "invalid_signature", "The Stripe-Signature header does not verify this body.") from None
    event = _event_facts(body)
    if event is None:
        raise ApiError(400, "invalid_event", "The body is not an event of the card gateway.")
    applied = await _as_gateway(request, _APPLY_EVENT, [Jsonb(event)])
    return 200, {"received": True, "duplicate": applied["duplicate"]}


def _event_facts(event: dict[str, Any]) -> dict[str, Any] | None:
    """The few fields of a verified event the database applies; the rest (billing details and the like)
    is never passed on."""
    obj = (event.get("data") or {}).get("object") if isinstance(event.get("data"), dict) else None
    if not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str) or not isinstance(obj, dict):
        return None
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    facts = {"id": obj.get("id"), "object": obj.get("object"), "status": obj.get("status"),
             "amount_received": obj.get("amount_received") if isinstance(obj.get("amount_received"), int) else None,
             # A refund's: how much, of which PaymentIntent, and ours (when postcart asked for it).
             "amount": obj.get("amount") if isinstance(obj.get("amount"), int) else None,
             "payment_intent": obj.get("payment_intent") if isinstance(obj.get("payment_intent"), str) else None,
             "metadata": {"postcart_payment_id": metadata.get("postcart_payment_id"),
                          "postcart_refund_id": metadata.get("postcart_refund_id")}}
    return {"id": event["id"], "type": event["type"], "data": {"object": facts}}


# -- POST /v1/admin/orders/{id}/refunds -----------------------------------------------------------
async def admin_refund(request: web.Request, body: dict[str, Any]) -> tuple[int, Any]:
    ctx = request.app[CONTEXT]
    args = {**body, **request.match_info}
    reserved = await database.call(ctx, "admin_create_refund", args, request[CALLER], request[IDEMPOTENCY], None)
    recorded = json.loads(reserved.body or "null")
    refund, payment = recorded["refund"], recorded["payment"]
    if payment["provider"] != "card":  # recorded by hand, settled already
        return 201, {"refund": refund, "order": recorded["order"]}
    provider = request.app.get(CARD)
    if provider is None or payment["provider_reference"] is None:
        answered = await _as_gateway(request, _REFUND_ANSWERED, [refund["id"], False, None, "provider_not_configured"])
        raise ApiError(409, "refund_refused", "This payment cannot be refunded through its gateway here.",
                       {"refund": answered})
    try:
        made = await provider.refund(payment["provider_reference"], refund["amount"]["amount"],
                                     f"postcart-refund-{refund['id']}", {"postcart_refund_id": refund["id"]})
    except ProviderRefused as exc:
        answered = await _as_gateway(request, _REFUND_ANSWERED, [refund["id"], False, None, exc.code])
        raise ApiError(409, "refund_refused", "The card gateway refused the refund; nothing was refunded.",
                       {"refund": answered, "provider_code": exc.code}) from None
    except ProviderError as exc:
        # Unknown whether it happened: the amount stays reserved until a retry with the same key finds out.
        log.warning("card gateway: refund %s unanswered: %s", refund["id"], exc.code)
        raise _provider_error(exc, {"refund_id": refund["id"]}) from None
    succeeded = made.status in ("succeeded", "pending")  # pending: accepted, settling at the card network
    answered = await _as_gateway(request, _REFUND_ANSWERED,
                                 [refund["id"], succeeded, made.id, None if succeeded else made.status])
    order = answered.pop("order")
    return 201, {"refund": answered, "order": order}

