"""Carriers over HTTP, through a server of this module's own pointed at the local carrier aggregator
(tests/carrier_emulator.py, Shippo's protocol): rates for the unshipped units, a shipment with a label, the
carrier failing at the purchase (timeout, 500 after the work, a refusal) with the shipment kept and a retry
that never buys a second label, signed tracking webhooks (forged and stale ones refused, duplicates and
reordered ones applied once and forward only, racing duplicates too), and the order completed when its
every shipment is delivered."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.carrier_emulator import API_KEY, WEBHOOK_SECRET, CarrierEmulator
from tests.orders_fixture import Line

from .conftest import SECRET, Client, Response, start_server
from .test_orders import events, manager, shop, support  # noqa: F401 - fixtures

TIMEOUT = 1.0  # seconds the server waits for the carrier (POSTCART_CARRIER_TIMEOUT)


@pytest.fixture(scope="module")
def carrier() -> Iterator[CarrierEmulator]:
    emulator = CarrierEmulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def carrier_api(server: Client, admin_url: str, carrier: CarrierEmulator,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    log_path = tmp_path_factory.mktemp("carrier-server") / "server.log"
    env = {**os.environ, "DATABASE_URL": admin_url, "POSTCART_SECRET_KEY": SECRET,
           "POSTCART_CARRIER_API_BASE": carrier.base_url, "POSTCART_CARRIER_API_KEY": API_KEY,
           "POSTCART_CARRIER_WEBHOOK_SECRET": WEBHOOK_SECRET, "POSTCART_CARRIER_TIMEOUT": str(TIMEOUT)}
    client, proc = start_server(env, log_path)
    try:
        yield client
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(autouse=True)
def no_faults_left(carrier: CarrierEmulator) -> Iterator[None]:
    yield
    carrier.clear_faults()


def cod_order(shop: dict[str, Any], units: int = 2) -> Any:
    """A cash-on-delivery order (it ships before it is paid) of `units` of B at 15.00."""
    return shop["order"]([Line(shop["b"], units, 1500)], payment_method="cash_on_delivery")


def ship(api: Client, token: str, placed: Any, units: int = 2, **body: Any) -> Response:
    return api.post(f"/v1/admin/orders/{placed.id}/fulfillments",
                    {"items": [{"item_id": placed.item_ids[0], "quantity": units}], **body}, token=token)


def labelled(api: Client, token: str, placed: Any, units: int = 2, **body: Any) -> dict[str, Any]:
    """Ship with a label; returns the new fulfilment as the order shows it."""
    r = ship(api, token, placed, units, carrier="http", buy_label=True, **body)
    assert r.status == 201, r.text
    return r.json["fulfillments"][-1]


def deliver(api: Client, carrier: CarrierEmulator, body: bytes, secret: str | None = None,
            at: int | None = None) -> Response:
    return api.request("POST", "/v1/webhooks/carrier", raw=body, headers={
        "Content-Type": "application/json", "Shippo-Auth-Signature": carrier.sign(body, secret, at)})


def fulfillment_row(shop: dict[str, Any], fulfillment_id: str) -> tuple[Any, ...]:
    return shop["conn"].execute(
        "SELECT label_status, label_attempt, tracking_number, tracking_status FROM shop.fulfillments WHERE id = %s",
        [fulfillment_id]).fetchone()


# -- rates -----------------------------------------------------------------------------------------
def test_rates_for_the_unshipped_units(carrier_api: Client, carrier: CarrierEmulator, shop: dict[str, Any],
                                       manager: str, support: str) -> None:
    placed = cod_order(shop, 3)
    r = carrier_api.get(f"/v1/admin/orders/{placed.id}/shipping-rates", token=manager)
    assert r.status == 200, r.text
    http_rates = [x for x in r.json["rates"] if x["carrier"] == "http"]
    assert [x["service"] for x in http_rates] == ["usps_ground_advantage", "usps_priority"]
    assert http_rates[0]["amount"] == {"amount": 450, "currency": "EUR"}  # variants weigh 0 g here
    assert r.json["declared_value"] == {"amount": 4500, "currency": "EUR"} and r.json["unavailable"] == []
    assert [a for a in r.json["rates"] if a["amount"]["currency"] == "EUR"] == sorted(
        [a for a in r.json["rates"] if a["amount"]["currency"] == "EUR"], key=lambda a: a["amount"]["amount"])

    carrier.fail("shipments", "500")  # the carrier down: the table rates still answer, the outage is named
    r = carrier_api.get(f"/v1/admin/orders/{placed.id}/shipping-rates", token=manager)
    assert r.status == 200 and r.json["unavailable"] == [{"carrier": "http", "code": "carrier_error"}]

    assert carrier_api.get(f"/v1/admin/orders/{placed.id}/shipping-rates", token=support).status == 403
    assert carrier_api.get(f"/v1/admin/orders/{placed.id}/shipping-rates").status == 401
    r = carrier_api.get(f"/v1/admin/orders/{uuid.uuid4()}/shipping-rates", token=manager)
    assert (r.status, r.error_code) == (404, "order_not_found")
    ship(carrier_api, manager, placed, 3)
    r = carrier_api.get(f"/v1/admin/orders/{placed.id}/shipping-rates", token=manager)
    assert (r.status, r.error_code) == (409, "nothing_to_ship")


# -- labels ----------------------------------------------------------------------------------------
def test_a_label_then_tracking_to_delivered_completes_the_order(carrier_api: Client, carrier: CarrierEmulator,
                                                                 shop: dict[str, Any], manager: str) -> None:
    placed = cod_order(shop)
    before = carrier.labels
    shipment = labelled(carrier_api, manager, placed, service="usps_priority")
    assert shipment["label_status"] == "purchased" and shipment["service"] == "usps_priority"
    assert shipment["label_url"].startswith("https://labels.example/") and shipment["tracking_status"] == "shipped"
    assert carrier.labels == before + 1
    (bought,) = carrier.labels_with(f"postcart-label-{shipment['id']}-0")
    assert bought["tracking_number"] == shipment["tracking_number"]

    tracking = shipment["tracking_number"]
    transit = carrier.track_event(tracking, "TRANSIT", "2026-01-02T10:00:00Z")
    delivered = carrier.track_event(tracking, "DELIVERED", "2026-01-03T10:00:00Z")
    late_transit = carrier.track_event(tracking, "TRANSIT", "2026-01-02T18:00:00Z")
    assert deliver(carrier_api, carrier, transit).json == {"received": True, "duplicate": False}
    assert deliver(carrier_api, carrier, delivered).json == {"received": True, "duplicate": False}
    assert deliver(carrier_api, carrier, late_transit).status == 200  # late: ignored
    assert deliver(carrier_api, carrier, delivered).json == {"received": True, "duplicate": True}
    order = carrier_api.get(f"/v1/admin/orders/{placed.id}", token=manager).json
    assert order["status"] == "completed"
    assert order["fulfillments"][0]["tracking_status"] == "delivered"
    assert order["fulfillments"][0]["delivered_at"].startswith("2026-01-03T10:00:00")
    kinds = [t for t, _ in events(shop, [placed.id, shipment["id"]])]
    assert kinds.count("fulfillment.delivered") == 1 and kinds.count("order.completed") == 1
    assert kinds.count("fulfillment.label_purchased") == 1


def test_two_shipments_complete_the_order_only_when_both_are_delivered(
        carrier_api: Client, carrier: CarrierEmulator, shop: dict[str, Any], manager: str) -> None:
    placed = cod_order(shop, 2)
    first = labelled(carrier_api, manager, placed, 1)
    second = labelled(carrier_api, manager, placed, 1)
    deliver(carrier_api, carrier, carrier.track_event(first["tracking_number"], "DELIVERED", "2026-01-03T10:00:00Z"))
    assert carrier_api.get(f"/v1/admin/orders/{placed.id}", token=manager).json["status"] == "fulfilled"
    deliver(carrier_api, carrier, carrier.track_event(second["tracking_number"], "FAILURE", "2026-01-03T11:00:00Z"))
    assert carrier_api.get(f"/v1/admin/orders/{placed.id}", token=manager).json["status"] == "fulfilled"
    deliver(carrier_api, carrier, carrier.track_event(second["tracking_number"], "DELIVERED", "2026-01-04T09:00:00Z"))
    assert carrier_api.get(f"/v1/admin/orders/{placed.id}", token=manager).json["status"] == "completed"


@pytest.mark.parametrize("fault", ["delay", "500_after", "500"])
def test_a_lost_answer_keeps_the_shipment_and_the_retry_buys_one_label(
        carrier_api: Client, carrier: CarrierEmulator, shop: dict[str, Any], manager: str, fault: str) -> None:
    placed = cod_order(shop)
    on_hand_before = shop["conn"].execute("SELECT sum(on_hand) FROM shop.stock_levels WHERE variant_id = %s",
                                          [shop["b"]]).fetchone()[0]
    carrier.fail("transactions", fault, seconds=TIMEOUT * 3)
    shipment = labelled(carrier_api, manager, placed)
    assert (shipment["label_status"], shipment["tracking_number"]) == ("failed", None)
    assert shipment["label_error"] in ("carrier_unavailable", "carrier_error")
    # The shipment is recorded: the stock left, the order is fulfilled.
    assert shop["conn"].execute("SELECT sum(on_hand) FROM shop.stock_levels WHERE variant_id = %s",
                                [shop["b"]]).fetchone()[0] == on_hand_before - 2
    bought_before = len(carrier.labels_with(f"postcart-label-{shipment['id']}"))
    assert bought_before == (0 if fault == "500" else 1)  # the lost answer's label exists at the carrier

    r = carrier_api.post(f"/v1/admin/fulfillments/{shipment['id']}/label", token=manager)
    assert r.status == 200, r.text
    (again,) = [f for f in r.json["fulfillments"] if f["id"] == shipment["id"]]
    (bought,) = carrier.labels_with(f"postcart-label-{shipment['id']}")  # still one label
    assert again["label_status"] == "purchased" and again["tracking_number"] == bought["tracking_number"]
    assert fulfillment_row(shop, shipment["id"])[:2] == ("purchased", 0)  # the same key all along
    r = carrier_api.post(f"/v1/admin/fulfillments/{shipment['id']}/label", token=manager)
    assert (r.status, r.error_code) == (409, "label_already_purchased")


def test_a_refused_label_is_retried_under_a_new_key(carrier_api: Client, carrier: CarrierEmulator,
                                                    shop: dict[str, Any], manager: str) -> None:
    placed = cod_order(shop)
    carrier.fail("transactions", "error")
    shipment = labelled(carrier_api, manager, placed)
    assert (shipment["label_status"], shipment["label_error"]) == ("failed", "label_refused")
    assert fulfillment_row(shop, shipment["id"])[:2] == ("failed", 1)
    carrier.fail("transactions", "refuse")
    r = carrier_api.post(f"/v1/admin/fulfillments/{shipment['id']}/label", token=manager)
    assert (r.status, r.error_code) == (502, "label_refused")
    carrier.fail("transactions", "500")
    r = carrier_api.post(f"/v1/admin/fulfillments/{shipment['id']}/label", token=manager)
    assert (r.status, r.error_code) == (503, "carrier_unavailable")
    r = carrier_api.post(f"/v1/admin/fulfillments/{shipment['id']}/label", token=manager)
    assert r.status == 200, r.text
    assert len(carrier.labels_with(f"postcart-label-{shipment['id']}")) == 1
    assert carrier.labels_with(f"postcart-label-{shipment['id']}-2")  # two refusals: the third key


def test_label_errors_change_nothing(carrier_api: Client, carrier: CarrierEmulator, shop: dict[str, Any],
                                     manager: str, support: str) -> None:
    placed = cod_order(shop)
    for body, field in (({"carrier": "table", "buy_label": True}, "carrier"),
                        ({"carrier": "nope", "buy_label": True}, "carrier"),
                        ({"buy_label": True}, "carrier"),
                        ({"carrier": "http", "buy_label": "yes"}, "buy_label"),
                        ({"carrier": "http", "buy_label": True, "tracking_number": "X1"}, "tracking_number")):
        r = ship(carrier_api, manager, placed, **body)
        assert (r.status, r.error_code) == (422, "validation_failed"), (body, r.text)
        assert field in r.json["error"]["details"]["fields"], body
    assert ship(carrier_api, support, placed, carrier="http", buy_label=True).status == 403
    assert carrier_api.get(f"/v1/admin/orders/{placed.id}", token=manager).json["fulfillments"] == []

    typed = ship(carrier_api, manager, placed, 1, carrier="DHL", tracking_number="JD0001")  # as before
    assert typed.status == 201, typed.text
    (plain,) = typed.json["fulfillments"]
    assert (plain["label_status"], plain["tracking_number"]) == ("none", "JD0001")
    r = carrier_api.post(f"/v1/admin/fulfillments/{plain['id']}/label", token=manager)
    assert (r.status, r.error_code) == (409, "label_not_requested")
    for unknown in (str(uuid.uuid4()), "not-an-id"):
        r = carrier_api.post(f"/v1/admin/fulfillments/{unknown}/label", token=manager)
        assert (r.status, r.error_code) == (404, "fulfillment_not_found")
    assert carrier_api.post(f"/v1/admin/fulfillments/{plain['id']}/label", token=support).status == 403


# -- webhooks --------------------------------------------------------------------------------------
def test_forged_and_stale_webhooks_are_refused_and_change_nothing(carrier_api: Client, carrier: CarrierEmulator,
                                                                  shop: dict[str, Any], manager: str) -> None:
    placed = cod_order(shop)
    shipment = labelled(carrier_api, manager, placed)
    body = carrier.track_event(shipment["tracking_number"], "DELIVERED", "2026-01-03T10:00:00Z")
    count = shop["conn"].execute("SELECT count(*) FROM integration.carrier_events").fetchone()[0]
    for r in (deliver(carrier_api, carrier, body, secret="forged-secret-0123456789"),
              deliver(carrier_api, carrier, body, at=1),
              carrier_api.request("POST", "/v1/webhooks/carrier", raw=body,
                                  headers={"Content-Type": "application/json"}),
              carrier_api.request("POST", "/v1/webhooks/carrier", raw=body + b" ", headers={
                  "Content-Type": "application/json", "Shippo-Auth-Signature": carrier.sign(body)})):
        assert (r.status, r.error_code) == (400, "invalid_signature"), r.text
    assert shop["conn"].execute("SELECT count(*) FROM integration.carrier_events").fetchone()[0] == count
    assert fulfillment_row(shop, shipment["id"])[3] == "shipped"
    r = deliver(carrier_api, carrier, b'{"event": "track_updated", "data": {}}')
    assert (r.status, r.error_code) == (400, "invalid_event")


def test_racing_duplicate_webhooks_apply_once(carrier_api: Client, carrier: CarrierEmulator,
                                              shop: dict[str, Any], manager: str) -> None:
    placed = cod_order(shop)
    shipment = labelled(carrier_api, manager, placed)
    body = carrier.track_event(shipment["tracking_number"], "DELIVERED", "2026-01-03T10:00:00Z")
    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda _: deliver(carrier_api, carrier, body), range(12)))
    assert [a.status for a in answers] == [200] * 12
    assert sorted(a.json["duplicate"] for a in answers) == [False] + [True] * 11
    kinds = [t for t, _ in events(shop, [placed.id, shipment["id"]])]
    assert kinds.count("fulfillment.delivered") == 1 and kinds.count("order.completed") == 1
