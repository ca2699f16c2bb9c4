"""Card payments over HTTP, through a server of this module's own pointed at the local card gateway
(tests/card_emulator.py, Stripe's PaymentIntents protocol): the full flow (create, the client confirms at
the gateway, the signed webhook, the order paid, partial then full refund), signatures, duplicate and
reordered webhooks, gateway failures and timeouts on create and refund (no double charge), refunds and
webhooks racing, and no card number anywhere in postcart's logs or database afterwards."""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest

from postcart.integrations.payments import ProviderRefused
from postcart.integrations.payments.card import StripeCardProvider
from tests.card_emulator import API_KEY, WEBHOOK_SECRET, CardEmulator
from tests.orders_fixture import Line

from .conftest import SECRET, Client, Response, start_server
from .test_orders import manager, new_customer, shop  # noqa: F401 - fixtures

TIMEOUT = 1.0  # seconds the server waits for the gateway (POSTCART_CARD_TIMEOUT)
CARD_NUMBER = "4242424242424242"  # what the client types into the gateway's form, never into postcart


@pytest.fixture(scope="module")
def gateway() -> Iterator[CardEmulator]:
    emulator = CardEmulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def card_api(server: Client, admin_url: str, gateway: CardEmulator,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """`postcart serve` with card payments on, against the suite's database (the shared server has loaded
    the demo catalog into it first)."""
    log_path = tmp_path_factory.mktemp("card-server") / "server.log"
    env = {**os.environ, "DATABASE_URL": admin_url, "POSTCART_SECRET_KEY": SECRET, "POSTCART_LOG_LEVEL": "DEBUG",
           "POSTCART_CARD_API_BASE": gateway.base_url, "POSTCART_CARD_API_KEY": API_KEY,
           "POSTCART_CARD_WEBHOOK_SECRET": WEBHOOK_SECRET, "POSTCART_CARD_TIMEOUT": str(TIMEOUT)}
    client, proc = start_server(env, log_path)
    try:
        yield client
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# -- helpers -------------------------------------------------------------------------------------
def order_of(shop: dict[str, Any], customer: dict[str, Any], total_units: int = 2) -> Any:
    """A card order of total_units × 1500 EUR for the customer, awaiting payment."""
    return shop["order"]([Line(shop["b"], total_units, 1500)], customer_id=customer["id"], email=customer["email"],
                         payment_method="card")


def pay(api: Client, order_id: str, token: str, key: str | None = None) -> Response:
    return api.post(f"/v1/orders/{order_id}/payments", {"provider": "card"}, token=token,
                    headers={"Idempotency-Key": key or f"pay-{uuid.uuid4()}"})


def confirm_at_gateway(gateway: CardEmulator, intent_id: str, client_secret: str, card: str = CARD_NUMBER) -> None:
    """What the storefront's payment form does: card details straight to the gateway, with client_secret."""
    body = urllib.parse.urlencode({"client_secret": client_secret, "payment_method_data[type]": "card",
                                   "payment_method_data[card][number]": card, "payment_method_data[card][cvc]": "314",
                                   "payment_method": "pm_card_visa"}).encode()
    request = urllib.request.Request(f"{gateway.base_url}/v1/payment_intents/{intent_id}/confirm", data=body,
                                     headers={"Authorization": f"Bearer {API_KEY}"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert json.loads(answer.read())["status"] == "succeeded"


def deliver(api: Client, gateway: CardEmulator, event: dict[str, Any], secret: str | None = None,
            payload: bytes | None = None, at: int | None = None) -> Response:
    """POST an event as the gateway does: the JSON body and its Stripe-Signature."""
    raw = payload if payload is not None else json.dumps(event).encode()
    return api.request("POST", "/v1/webhooks/card", raw=raw, headers={
        "Content-Type": "application/json", "Stripe-Signature": gateway.sign(raw, secret, at)})


def intent_id_of(gateway: CardEmulator, payment_id: str) -> str:
    (intent,) = gateway.intents_with("postcart_payment_id", payment_id)
    return str(intent["id"])


def payment_row(conn: psycopg.Connection, payment_id: str) -> tuple[Any, ...]:
    return conn.execute("SELECT status, captured_amount, refunded_amount, refunding_amount, provider_reference"
                        " FROM shop.payments WHERE id = %s", [payment_id]).fetchone()


def confirmed_order(api: Client, gateway: CardEmulator, shop: dict[str, Any],
                    customer: dict[str, Any]) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """An order whose card payment the client confirmed at the gateway, the webhook not yet delivered:
    (order, payment as created, the gateway's payment_intent.succeeded event)."""
    placed = order_of(shop, customer)
    created = pay(api, placed.id, customer["token"])
    assert created.status == 201, created.text
    payment = created.json["payment"]
    intent = intent_id_of(gateway, payment["id"])
    confirm_at_gateway(gateway, intent, payment["client_secret"])
    return placed, payment, gateway.event_of(intent, "payment_intent.succeeded")


def paid_order(api: Client, gateway: CardEmulator, shop: dict[str, Any], customer: dict[str, Any]) -> tuple[Any, str]:
    """An order paid by card (created, confirmed at the gateway, webhook delivered): (order, payment id)."""
    placed, payment, succeeded = confirmed_order(api, gateway, shop, customer)
    r = deliver(api, gateway, succeeded)
    assert r.status == 200, r.text
    return placed, payment["id"]


def event_types(conn: psycopg.Connection, subject_ids: list[str]) -> list[str]:
    return sorted(t for (t,) in conn.execute("SELECT type FROM integration.events WHERE subject_id = ANY(%s::uuid[])",
                                             [subject_ids]))


# -- the whole flow ------------------------------------------------------------------------------
def test_card_flow_pay_confirm_webhook_paid_refund(card_api: Client, gateway: CardEmulator, shop: dict[str, Any],
                                                   manager: str) -> None:
    ada = new_customer(card_api)
    placed = order_of(shop, ada)
    created = pay(card_api, placed.id, ada["token"])
    assert created.status == 201, created.text
    payment = created.json["payment"]
    assert (payment["status"], payment["amount"], payment["provider"]) == (
        "pending", {"amount": 3000, "currency": "EUR"}, "card")
    intent = intent_id_of(gateway, payment["id"])
    assert payment["client_secret"].startswith(intent + "_secret_")
    assert gateway.intents[intent]["amount"] == 3000 and gateway.intents[intent]["currency"] == "eur"
    conn = shop["conn"]
    assert payment_row(conn, payment["id"])[4] == intent

    # The client confirms at the gateway; the gateway tells postcart.
    confirm_at_gateway(gateway, intent, payment["client_secret"])
    assert card_api.get(f"/v1/orders/{placed.id}", token=ada["token"]).json["status"] == "pending_payment"
    r = deliver(card_api, gateway, gateway.event_of(intent, "payment_intent.succeeded"))
    assert (r.status, r.json) == (200, {"received": True, "duplicate": False})
    order = card_api.get(f"/v1/orders/{placed.id}", token=ada["token"]).json
    assert (order["status"], order["payment_status"], order["paid_amount"]["amount"]) == ("paid", "paid", 3000)
    assert [(p["status"], p["captured_amount"]["amount"]) for p in order["payments"]] == [("captured", 3000)]

    # Staff refund a part, then the rest, through the gateway.
    path = f"/v1/admin/orders/{placed.id}/refunds"
    r = card_api.post(path, {"amount": 1000, "reason": "one arrived broken"}, token=manager)
    assert r.status == 201, r.text
    assert (r.json["refund"]["status"], r.json["refund"]["amount"]["amount"]) == ("succeeded", 1000)
    assert r.json["order"]["payment_status"] == "partially_refunded"
    assert payment_row(conn, payment["id"])[:4] == ("partially_refunded", 3000, 1000, 0)
    r = card_api.post(path, {"amount": 2000, "reason": "the rest"}, token=manager)
    assert r.status == 201, r.text
    assert payment_row(conn, payment["id"])[:4] == ("refunded", 3000, 3000, 0)
    order = card_api.get(f"/v1/admin/orders/{placed.id}", token=manager).json
    assert (order["payment_status"], order["refunded_amount"]["amount"]) == ("refunded", 3000)
    assert gateway.intents[intent]["refunded"] == 3000
    assert sorted(f["amount"] for f in gateway.refunds.values() if f["payment_intent"] == intent) == [1000, 2000]
    assert event_types(conn, [placed.id, payment["id"]]) == [
        "order.paid", "payment.captured", "payment.refunded", "payment.refunded"]
    r = card_api.post(path, {"amount": 1}, token=manager)
    assert (r.status, r.error_code) == (409, "refund_exceeds_captured")


def test_asking_again_resumes_the_same_payment(card_api: Client, gateway: CardEmulator, shop: dict[str, Any]) -> None:
    ada, bob = new_customer(card_api), new_customer(card_api)
    placed = order_of(shop, ada)
    first, again = pay(card_api, placed.id, ada["token"]), pay(card_api, placed.id, ada["token"])
    assert first.status == again.status == 201
    assert first.json["payment"]["id"] == again.json["payment"]["id"]
    assert first.json["payment"]["client_secret"] == again.json["payment"]["client_secret"]
    assert len(gateway.intents_with("postcart_payment_id", first.json["payment"]["id"])) == 1
    r = pay(card_api, placed.id, bob["token"])
    assert (r.status, r.error_code) == (404, "order_not_found")
    r = card_api.post(f"/v1/orders/{placed.id}/payments", {"provider": "card"})  # nobody, no cart token
    assert (r.status, r.error_code) == (404, "order_not_found")


def test_a_guest_pays_with_its_cart_token(card_api: Client, gateway: CardEmulator, shop: dict[str, Any]) -> None:
    placed = shop["order"]([Line(shop["b"], 1, 1500)], payment_method="card")
    token = "guest-" + uuid.uuid4().hex
    shop["conn"].execute("UPDATE shop.carts SET token_hash = sha256(%s) WHERE order_id = %s", [token.encode(), placed.id])
    path = f"/v1/orders/{placed.id}/payments"
    for wrong in ({}, {"X-Cart-Token": "guest-someone-else"}):
        r = card_api.post(path, {"provider": "card"}, headers=wrong)
        assert (r.status, r.error_code) == (404, "order_not_found")
    key = {"X-Cart-Token": token, "Idempotency-Key": f"pay-{uuid.uuid4()}"}
    r = card_api.post(path, {"provider": "card"}, headers=key)
    assert r.status == 201, r.text
    assert (r.json["payment"]["amount"]["amount"], r.json["payment"]["status"]) == (1500, "pending")
    assert card_api.post(path, {"provider": "card"}, headers=key).json == r.json
    assert len(gateway.intents_with("postcart_payment_id", r.json["payment"]["id"])) == 1


# -- webhooks ------------------------------------------------------------------------------------
def test_a_bad_signature_is_400_and_changes_nothing(card_api: Client, gateway: CardEmulator, shop: dict[str, Any]) -> None:
    _, payment, event = confirmed_order(card_api, gateway, shop, new_customer(card_api))
    raw = json.dumps(event).encode()
    forged = [
        deliver(card_api, gateway, event, secret="whsec_someone_else"),  # signed with another secret
        card_api.request("POST", "/v1/webhooks/card", raw=raw.replace(b"succeeded", b"succeedeD"),  # body changed
                         headers={"Content-Type": "application/json", "Stripe-Signature": gateway.sign(raw)}),
        deliver(card_api, gateway, event, at=int(time.time()) - 3600),  # an old signature replayed
        card_api.request("POST", "/v1/webhooks/card", raw=raw, headers={"Content-Type": "application/json"}),
    ]
    assert [(r.status, r.error_code) for r in forged] == [(400, "invalid_signature")] * 4
    assert payment_row(shop["conn"], payment["id"])[0] == "pending"
    assert shop["conn"].execute("SELECT count(*) FROM integration.provider_events WHERE event_id = %s",
                                [event["id"]]).fetchone()[0] == 0
    assert deliver(card_api, gateway, event).status == 200
    assert payment_row(shop["conn"], payment["id"])[0] == "captured"


def test_a_duplicate_webhook_is_applied_once(card_api: Client, gateway: CardEmulator, shop: dict[str, Any]) -> None:
    ada = new_customer(card_api)
    placed, payment_id = paid_order(card_api, gateway, shop, ada)
    event = gateway.event_of(intent_id_of(gateway, payment_id), "payment_intent.succeeded")
    again = deliver(card_api, gateway, event)
    assert (again.status, again.json["duplicate"]) == (200, True)
    assert event_types(shop["conn"], [placed.id, payment_id]) == ["order.paid", "payment.captured"]


def test_concurrent_duplicate_webhooks_apply_once(card_api: Client, gateway: CardEmulator, shop: dict[str, Any]) -> None:
    placed, payment, event = confirmed_order(card_api, gateway, shop, new_customer(card_api))
    start = threading.Barrier(10)

    def send(_: int) -> Response:
        start.wait()
        return deliver(card_api, gateway, event)

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(send, range(10)))
    assert [r.status for r in answers] == [200] * 10
    assert sorted(r.json["duplicate"] for r in answers) == [False] + [True] * 9
    assert payment_row(shop["conn"], payment["id"])[:2] == ("captured", 3000)
    assert event_types(shop["conn"], [placed.id, payment["id"]]) == ["order.paid", "payment.captured"]


def test_reordered_webhooks_only_move_forward(card_api: Client, gateway: CardEmulator, shop: dict[str, Any],
                                              manager: str) -> None:
    ada = new_customer(card_api)
    placed, payment_id = paid_order(card_api, gateway, shop, ada)
    intent = intent_id_of(gateway, payment_id)
    assert card_api.post(f"/v1/admin/orders/{placed.id}/refunds", {"amount": 500}, token=manager).status == 201
    # Late arrivals, each a new event id: the older state, a cancellation, the success once more.
    created = gateway.event_of(intent, "payment_intent.created")
    late_success = {**gateway.event_of(intent, "payment_intent.succeeded"), "id": "evt_late_" + uuid.uuid4().hex}
    canceled = {**late_success, "id": "evt_cancel_" + uuid.uuid4().hex, "type": "payment_intent.canceled",
                "data": {"object": {**late_success["data"]["object"], "status": "canceled"}}}
    for event in (created, late_success, canceled):
        r = deliver(card_api, gateway, event)
        assert (r.status, r.json["duplicate"]) == (200, False), r.text
    assert payment_row(shop["conn"], payment_id)[:3] == ("partially_refunded", 3000, 500)
    order = card_api.get(f"/v1/orders/{placed.id}", token=ada["token"]).json
    assert (order["status"], order["payment_status"], order["paid_amount"]["amount"]) == (
        "paid", "partially_refunded", 3000)
    outcomes = shop["conn"].execute("SELECT event_id, outcome FROM integration.provider_events WHERE payment_id = %s",
                                    [payment_id]).fetchall()
    assert dict(outcomes)[late_success["id"]] == dict(outcomes)[canceled["id"]] == "ignored"


def test_a_webhook_before_the_answer_to_create_is_stored(card_api: Client, gateway: CardEmulator,
                                                         shop: dict[str, Any]) -> None:
    """The gateway created the intent but its answer was lost (500 after the work): the success event
    still finds the payment by the id postcart sent as metadata."""
    ada = new_customer(card_api)
    placed = order_of(shop, ada)
    gateway.fail("create", "500_after")
    key = f"pay-{uuid.uuid4()}"
    r = pay(card_api, placed.id, ada["token"], key)
    assert (r.status, r.error_code) == (502, "payment_provider_error"), r.text
    payment_id = r.json["error"]["details"]["payment_id"]
    assert payment_row(shop["conn"], payment_id)[0::4] == ("pending", None)
    intent = intent_id_of(gateway, payment_id)
    confirm_at_gateway(gateway, intent, gateway.intents[intent]["client_secret"])
    assert deliver(card_api, gateway, gateway.event_of(intent, "payment_intent.succeeded")).status == 200
    assert payment_row(shop["conn"], payment_id)[0::4] == ("captured", intent)
    # The client's retry gets the same payment, now captured, and nothing new at the gateway.
    again = pay(card_api, placed.id, ada["token"], key)
    assert again.status == 201 and again.json["payment"]["id"] == payment_id
    assert again.json["payment"]["status"] == "captured"
    assert len(gateway.intents_with("postcart_payment_id", payment_id)) == 1


def test_an_authorization_then_a_capture_walk_the_states(card_api: Client, gateway: CardEmulator,
                                                         shop: dict[str, Any]) -> None:
    """Held first (requires_capture: authorized), taken later (succeeded: captured), each by its event."""
    ada = new_customer(card_api)
    placed = order_of(shop, ada)
    payment = pay(card_api, placed.id, ada["token"]).json["payment"]
    intent = gateway.intents[intent_id_of(gateway, payment["id"])]
    base = gateway.event_of(intent["id"], "payment_intent.created")
    held = {**base, "id": "evt_held_" + uuid.uuid4().hex, "type": "payment_intent.amount_capturable_updated",
            "data": {"object": {**intent, "status": "requires_capture", "amount_capturable": 3000}}}
    taken = {**base, "id": "evt_taken_" + uuid.uuid4().hex, "type": "payment_intent.succeeded",
             "data": {"object": {**intent, "status": "succeeded", "amount_received": 3000}}}
    assert deliver(card_api, gateway, held).status == 200
    assert payment_row(shop["conn"], payment["id"])[:2] == ("authorized", 0)
    assert card_api.get(f"/v1/orders/{placed.id}", token=ada["token"]).json["status"] == "pending_payment"
    assert deliver(card_api, gateway, taken).status == 200
    assert payment_row(shop["conn"], payment["id"])[:2] == ("captured", 3000)
    assert card_api.get(f"/v1/orders/{placed.id}", token=ada["token"]).json["status"] == "paid"


def test_the_adapter_confirms_captures_cancels_and_refunds(gateway: CardEmulator) -> None:
    """The adapter's whole interface against the gateway's protocol."""
    async def run() -> None:
        provider = StripeCardProvider(gateway.base_url, API_KEY, TIMEOUT)
        key = uuid.uuid4().hex
        try:
            held = await provider.create_intent(2000, "EUR", f"{key}-1", {}, manual_capture=True)
            held = await provider.confirm(held.id, "pm_card_visa", f"{key}-2")
            assert (held.status, held.amount_received) == ("requires_capture", 0)
            taken = await provider.capture(held.id, f"{key}-3", amount=1500)
            assert (taken.status, taken.amount_received, taken.currency) == ("succeeded", 1500, "EUR")
            assert (await provider.retrieve(held.id)).status == "succeeded"
            refund = await provider.refund(held.id, 500, f"{key}-4")
            assert (refund.status, refund.amount) == ("succeeded", 500)
            with pytest.raises(ProviderRefused) as refused:
                await provider.refund(held.id, 1001, f"{key}-5")
            assert refused.value.code == "amount_too_large"
            with pytest.raises(ProviderRefused):
                await provider.cancel(held.id, f"{key}-6")  # taken already
            other = await provider.create_intent(700, "EUR", f"{key}-7", {})
            assert (await provider.cancel(other.id, f"{key}-8")).status == "canceled"
        finally:
            await provider.close()

    asyncio.run(run())


# -- the gateway failing on create ---------------------------------------------------------------
@pytest.mark.parametrize(("fault", "status", "code"), [
    ("500", 502, "payment_provider_error"),
    ("500_after", 502, "payment_provider_error"),
    ("delay", 503, "payment_provider_unavailable"),
])
def test_gateway_failure_on_create_leaves_it_pending_and_a_retry_charges_once(
        card_api: Client, gateway: CardEmulator, shop: dict[str, Any], fault: str, status: int, code: str) -> None:
    ada = new_customer(card_api)
    placed = order_of(shop, ada)
    gateway.fail("create", fault, seconds=TIMEOUT * 3)
    key = f"pay-{uuid.uuid4()}"
    r = pay(card_api, placed.id, ada["token"], key)
    assert (r.status, r.error_code) == (status, code), r.text
    assert set(r.json["error"]) == {"code", "message", "details"} and "retry-after" in r.headers
    payment_id = r.json["error"]["details"]["payment_id"]
    assert payment_row(shop["conn"], payment_id)[:4] == ("pending", 0, 0, 0)
    time.sleep(TIMEOUT * 2 if fault == "delay" else 0)  # the late answer has come and gone
    again = pay(card_api, placed.id, ada["token"], key)
    assert again.status == 201, again.text
    assert again.json["payment"]["id"] == payment_id
    assert len(gateway.intents_with("postcart_payment_id", payment_id)) == 1  # never a second charge
    assert payment_row(shop["conn"], payment_id)[4] == intent_id_of(gateway, payment_id)


# -- refunds -------------------------------------------------------------------------------------
def test_concurrent_refunds_never_exceed_the_capture(card_api: Client, gateway: CardEmulator, shop: dict[str, Any],
                                                     manager: str) -> None:
    """Ten refunds of 30 % of a payment at once: exactly three succeed, at postcart and at the gateway."""
    ada = new_customer(card_api)
    placed, payment_id = paid_order(card_api, gateway, shop, ada)  # 3000
    start = threading.Barrier(10)

    def refund(_: int) -> Response:
        start.wait()
        return card_api.post(f"/v1/admin/orders/{placed.id}/refunds", {"amount": 900}, token=manager)

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(refund, range(10)))
    assert sorted((r.status, r.error_code) for r in answers) == (
        [(201, None)] * 3 + [(409, "refund_exceeds_captured")] * 7), [r.text for r in answers]
    assert payment_row(shop["conn"], payment_id)[:4] == ("partially_refunded", 3000, 2700, 0)
    intent = intent_id_of(gateway, payment_id)
    assert sum(f["amount"] for f in gateway.refunds.values() if f["payment_intent"] == intent) == 2700


def test_a_refund_the_gateway_refuses_is_released(card_api: Client, gateway: CardEmulator, shop: dict[str, Any],
                                                  manager: str) -> None:
    ada = new_customer(card_api)
    placed, payment_id = paid_order(card_api, gateway, shop, ada)
    intent = intent_id_of(gateway, payment_id)
    gateway.intents[intent]["refunded"] = 2500  # refunded at the gateway's dashboard, unknown to postcart
    r = card_api.post(f"/v1/admin/orders/{placed.id}/refunds", {"amount": 1000}, token=manager)
    assert (r.status, r.error_code) == (409, "refund_refused"), r.text
    assert r.json["error"]["details"]["refund"]["status"] == "failed"
    assert payment_row(shop["conn"], payment_id)[:4] == ("captured", 3000, 0, 0)
    assert card_api.post(f"/v1/admin/orders/{placed.id}/refunds", {"amount": 500}, token=manager).status == 201


def test_a_refund_lost_on_the_way_is_finished_by_a_retry(card_api: Client, gateway: CardEmulator,
                                                         shop: dict[str, Any], manager: str) -> None:
    ada = new_customer(card_api)
    placed, payment_id = paid_order(card_api, gateway, shop, ada)
    gateway.fail("refund", "500_after")
    key = {"Idempotency-Key": f"refund-{uuid.uuid4()}"}
    path = f"/v1/admin/orders/{placed.id}/refunds"
    r = card_api.post(path, {"amount": 1200}, token=manager, headers=key)
    assert (r.status, r.error_code) == (502, "payment_provider_error"), r.text
    assert payment_row(shop["conn"], payment_id)[:4] == ("captured", 3000, 0, 1200)  # still reserved
    r = card_api.post(path, {"amount": 1900}, token=manager)
    assert (r.status, r.error_code) == (409, "refund_exceeds_captured")  # the reservation counts
    again = card_api.post(path, {"amount": 1200}, token=manager, headers=key)
    assert again.status == 201, again.text
    assert payment_row(shop["conn"], payment_id)[:4] == ("partially_refunded", 3000, 1200, 0)
    intent = intent_id_of(gateway, payment_id)
    assert [f["amount"] for f in gateway.refunds.values() if f["payment_intent"] == intent] == [1200]


def refund_at_gateway(gateway: CardEmulator, intent_id: str, amount: int) -> dict[str, Any]:
    """A refund made at the gateway itself (its dashboard), not through postcart: its refund.created event."""
    body = urllib.parse.urlencode({"payment_intent": intent_id, "amount": amount}).encode()
    request = urllib.request.Request(f"{gateway.base_url}/v1/refunds", data=body, method="POST",
                                     headers={"Authorization": f"Bearer {API_KEY}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        refund_id = json.loads(answer.read())["id"]
    return next(e for e in gateway.events if e["type"] == "refund.created" and e["data"]["object"]["id"] == refund_id)


def order_amounts(conn: psycopg.Connection, order_id: str) -> tuple[Any, ...]:
    return conn.execute("SELECT status, payment_status, paid_amount, refunded_amount FROM shop.orders WHERE id = %s",
                        [order_id]).fetchone()


def test_a_refund_made_at_the_gateway_is_recorded_once(card_api: Client, gateway: CardEmulator,
                                                       shop: dict[str, Any], manager: str) -> None:
    ada = new_customer(card_api)
    placed, payment_id = paid_order(card_api, gateway, shop, ada)
    event = refund_at_gateway(gateway, intent_id_of(gateway, payment_id), 1000)
    for _ in range(2):  # the gateway delivers it twice: counted once
        r = deliver(card_api, gateway, event)
        assert r.status == 200, r.text
    assert payment_row(shop["conn"], payment_id)[:4] == ("partially_refunded", 3000, 1000, 0)
    assert order_amounts(shop["conn"], placed.id)[1:] == ("partially_refunded", 3000, 1000)
    assert shop["conn"].execute("SELECT amount, status, reason, provider_reference FROM shop.refunds"
                                " WHERE payment_id = %s", [payment_id]).fetchall() == [
        (1000, "succeeded", "refunded at the card gateway", event["data"]["object"]["id"])]
    # The ceiling knows: 2,000 are left to refund, not 3,000.
    r = card_api.post(f"/v1/admin/orders/{placed.id}/refunds", {"amount": 2001}, token=manager)
    assert (r.status, r.error_code) == (409, "refund_exceeds_captured"), r.text
    assert card_api.post(f"/v1/admin/orders/{placed.id}/refunds", {"amount": 2000}, token=manager).status == 201
    assert payment_row(shop["conn"], payment_id)[:4] == ("refunded", 3000, 3000, 0)


def test_a_refund_whose_answer_was_lost_is_settled_by_its_event(card_api: Client, gateway: CardEmulator,
                                                                shop: dict[str, Any], manager: str) -> None:
    """The gateway refunded but its answer was lost; its refund.created event (carrying our refund id)
    settles the reservation, and the staff's retry then finds the refund done: counted once."""
    ada = new_customer(card_api)
    placed, payment_id = paid_order(card_api, gateway, shop, ada)
    gateway.fail("refund", "500_after")
    key = {"Idempotency-Key": f"refund-{uuid.uuid4()}"}
    path = f"/v1/admin/orders/{placed.id}/refunds"
    assert card_api.post(path, {"amount": 1200}, token=manager, headers=key).status == 502
    intent = intent_id_of(gateway, payment_id)
    (event,) = [e for e in gateway.events
                if e["type"] == "refund.created" and e["data"]["object"]["payment_intent"] == intent]
    assert deliver(card_api, gateway, event).status == 200
    assert payment_row(shop["conn"], payment_id)[:4] == ("partially_refunded", 3000, 1200, 0)
    again = card_api.post(path, {"amount": 1200}, token=manager, headers=key)
    assert again.status == 201, again.text
    assert payment_row(shop["conn"], payment_id)[:4] == ("partially_refunded", 3000, 1200, 0)
    assert order_amounts(shop["conn"], placed.id)[3] == 1200
    assert shop["conn"].execute("SELECT count(*) FROM shop.refunds WHERE payment_id = %s",
                                [payment_id]).fetchone()[0] == 1


# -- no card data --------------------------------------------------------------------------------
# Not the decimals of a number, nor a run of digits inside a hex request id (a 32-hex id holds a Luhn-valid
# 15-digit run once in a few thousand requests).
_DIGITS = re.compile(r"(?<![\w.])(?:\d[ -]?){12,18}\d(?!\w)")
# Issuer prefixes of the card brands (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro).
_ISSUER = re.compile(r"^(4|5[1-5]|2[2-7]|3[47]|6011|64[4-9]|65|35|30[0-5]|36|38|62|5[06-9]|6[0-9])")


def _luhn(number: str) -> bool:
    digits = [int(d) for d in number][::-1]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits))
    return total % 10 == 0


def card_like(text: str) -> list[str]:
    """Runs of 13 to 19 digits (spaces or dashes allowed between) with a card issuer's prefix that pass the
    Luhn check."""
    found = (re.sub(r"[ -]", "", m) for m in _DIGITS.findall(text))
    return [n for n in found if 13 <= len(n) <= 19 and _ISSUER.match(n) and _luhn(n)]


def card_like_in_database(conn: psycopg.Connection, *exact: str) -> set[tuple[str, str, str, str]]:
    """(schema, table, column, number) of every card-like number, and of every one of `exact`, in any text,
    character, JSON or citext column of the shop, integration and auth tables."""
    columns = conn.execute(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns"
        " JOIN pg_class c ON c.oid = format('%I.%I', table_schema, table_name)::regclass AND c.relkind = 'r'"
        " WHERE table_schema IN ('shop', 'integration', 'auth')"
        " AND data_type IN ('text', 'character varying', 'character', 'jsonb', 'json', 'USER-DEFINED')").fetchall()
    assert len(columns) > 50
    hits = set()
    for schema, table, column in columns:
        query = (f'SELECT "{column}"::text FROM "{schema}"."{table}"'
                 f" WHERE \"{column}\"::text ~ %s OR \"{column}\"::text LIKE ANY(%s)")
        patterns = [f"%{e}%" for e in exact]
        for (value,) in conn.execute(query, [r"\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d", patterns]):
            hits |= {(schema, table, column, n) for n in card_like(value) + [e for e in exact if e in value]}
    return hits


def test_no_card_number_reaches_postcart(card_api: Client, gateway: CardEmulator, shop: dict[str, Any],
                                         manager: str) -> None:
    """A whole card flow, the client typing a real test card number at the gateway; then neither the
    server's log nor any text column of the database holds it, any other card-like number that was not
    there before (other tests write random numbers), or the client_secret."""
    before = card_like_in_database(shop["conn"])
    ada = new_customer(card_api)
    placed, payment_id = paid_order(card_api, gateway, shop, ada)
    assert card_api.post(f"/v1/admin/orders/{placed.id}/refunds", {"amount": 700}, token=manager).status == 201
    assert any(CARD_NUMBER.encode() in raw for _, _, raw in gateway.requests), "the client did type it in"
    assert card_like(f"x {CARD_NUMBER} y 4242 4242 4242 4242.") == [CARD_NUMBER] * 2  # the detector detects
    log = Path(card_api.log_path).read_text()  # type: ignore[attr-defined]
    assert "POST /v1/webhooks/card" in log and card_like(log) == [] and CARD_NUMBER not in log
    assert "_secret_" not in log  # nor the client's key to the payment (the gateway library logs answers)
    secret = gateway.intents[intent_id_of(gateway, payment_id)]["client_secret"]
    assert card_like_in_database(shop["conn"], CARD_NUMBER, secret) - before == set()


# -- cancelled orders' open card attempts ----------------------------------------------------------
def void_round(admin_url: str, gateway: CardEmulator) -> Any:
    """One `postcart worker --once`-style run of the voiding only (no sweeps): returns its CardVoider."""
    from postcart.db import AUTHENTICATOR, with_user
    from postcart.workers.runner import Worker

    worker = Worker(with_user(admin_url, AUTHENTICATOR, None), tasks=[],
                    card=lambda: StripeCardProvider(gateway.base_url, API_KEY, TIMEOUT))
    asyncio.run(worker.run(once=True))
    return worker.voider


def test_a_cancelled_orders_open_card_attempt_is_cancelled_at_the_gateway(
        card_api: Client, gateway: CardEmulator, shop: dict[str, Any], admin: psycopg.Connection,
        admin_url: str) -> None:
    ada = new_customer(card_api)
    open_one, paid_meanwhile, unreachable = (order_of(shop, ada) for _ in range(3))
    payments = {}
    for placed in (open_one, paid_meanwhile, unreachable):
        created = pay(card_api, placed.id, ada["token"])
        assert created.status == 201, created.text
        payments[placed.id] = created.json["payment"]
    # The customer pays the second at the gateway just as the order is cancelled (its webhook is late).
    second = payments[paid_meanwhile.id]
    confirm_at_gateway(gateway, intent_id_of(gateway, second["id"]), second["client_secret"])
    for placed in (open_one, paid_meanwhile, unreachable):
        assert card_api.post(f"/v1/orders/{placed.id}/cancel", {}, token=ada["token"]).status == 200
    intents = {pid: intent_id_of(gateway, p["id"]) for pid, p in payments.items()}

    gateway.fail("cancel", "500")  # the first cancel of the run is lost
    first_run = void_round(admin_url, gateway)
    statuses = {pid: payment_row(admin, p["id"])[0] for pid, p in payments.items()}
    # One of the open attempts met the 500 and waits for the next round; the other is voided.
    assert first_run.failures == 1 and sorted(statuses.values()) == ["captured", "pending", "voided"], statuses
    assert statuses[paid_meanwhile.id] == "captured"
    order = admin.execute("SELECT status, payment_status FROM shop.orders WHERE id = %s",
                          [paid_meanwhile.id]).fetchone()
    assert order[0] == "cancelled"  # paid after cancelling: stays cancelled, the money is due back

    second_run = void_round(admin_url, gateway)
    assert second_run.failures == 0
    for pid in (open_one.id, unreachable.id):
        assert payment_row(admin, payments[pid]["id"])[0] == "voided"
        assert gateway.intents[intents[pid]]["status"] == "canceled"
    # Nothing is left to do: a third run asks the gateway nothing.
    asked = len(gateway.requests)
    assert void_round(admin_url, gateway).voided == 0 and len(gateway.requests) == asked
