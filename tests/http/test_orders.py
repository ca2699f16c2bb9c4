"""Orders after checkout over HTTP: a customer's own orders (read, list, cancel; another's is 404), staff
lists and reads, manual payments, shipments and returns, who may do what (403), the errors, and what
lands in stock, the ledger and the outbox. Orders are placed by tests/orders_fixture.py."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from postcart.http.routes import ROUTES
from tests.orders_fixture import Line, place_order, remove_orders

from .conftest import Client
from .test_accounts import login, register
from .test_fuzz import StateSummary, db, fuzz, fuzz_schema, state  # noqa: F401 - fixtures
from .test_inventory import remove_stock
from .test_stores import staff_token


@pytest.fixture(scope="module")
def manager(server: Client, admin_url: str) -> str:
    return staff_token(server, admin_url, "order_manager")


@pytest.fixture(scope="module")
def support(server: Client, admin_url: str) -> str:
    return staff_token(server, admin_url, "support_agent")


@pytest.fixture(scope="module")
def stocker(server: Client, admin_url: str) -> str:
    return staff_token(server, admin_url, "inventory_manager")


def new_customer(api: Client) -> dict[str, Any]:
    account = register(api)
    return {"id": account["id"], "email": account["email"], "token": login(api, account["email"])["access_token"]}


@pytest.fixture
def shop(admin_url: str) -> Iterator[dict[str, Any]]:
    """Two variants, stocked in two warehouses of their own (near: priority 1, 3 units of A; far: priority
    5, 10 of A and 10 of B), and whatever orders the test places (removed afterwards with the stock)."""
    tag = uuid.uuid4().hex[:8]
    conn = psycopg.connect(admin_url, autocommit=True)
    product = conn.execute("INSERT INTO shop.products (slug, name) VALUES (%s, 'Order Test') RETURNING id",
                           [f"ord-{tag}"]).fetchone()[0]
    a, b = (conn.execute("INSERT INTO shop.product_variants (product_id, sku, name) VALUES (%s, %s, %s) RETURNING id",
                         [product, f"ORD-{tag}-{n}", n]).fetchone()[0] for n in ("A", "B"))
    near, far = (conn.execute("INSERT INTO shop.warehouses (code, name, priority) VALUES (%s, %s, %s) RETURNING id",
                              [f"ord-{n}-{tag}", f"Ord {n}", p]).fetchone()[0] for n, p in (("near", 1), ("far", 5)))
    conn.execute("INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity) VALUES"
                 " (%s, %s, 'receipt', 3), (%s, %s, 'receipt', 10), (%s, %s, 'receipt', 10)",
                 [a, near, a, far, b, far])
    placed: list[str] = []

    def order(lines: list[Line], **kw: Any) -> Any:
        made = place_order(conn, lines, **kw)
        placed.append(made.id)
        return made

    yield {"conn": conn, "a": str(a), "b": str(b), "near": str(near), "far": str(far), "order": order}
    remove_orders(conn, placed)
    remove_stock(conn, [a, b])
    conn.execute("DELETE FROM shop.products WHERE id = %s", [product])
    conn.execute("DELETE FROM shop.warehouses WHERE id IN (%s, %s)", [near, far])
    conn.close()


def stock(shop: dict[str, Any], variant: str) -> dict[str, tuple[int, int]]:
    """{near|far: (on_hand, reserved)} of a variant."""
    rows = shop["conn"].execute("SELECT warehouse_id, on_hand, reserved FROM shop.stock_levels WHERE variant_id = %s",
                                [shop[variant]]).fetchall()
    names = {shop["near"]: "near", shop["far"]: "far"}
    return {names[str(w)]: (on_hand, reserved) for w, on_hand, reserved in rows}


def movements(shop: dict[str, Any], order_id: str) -> list[tuple[Any, ...]]:
    names = {shop["near"]: "near", shop["far"]: "far"}
    rows = shop["conn"].execute("SELECT variant_id, warehouse_id, kind, quantity FROM shop.stock_movements"
                                " WHERE reference = %s ORDER BY created_at, id", [order_id]).fetchall()
    return [("a" if str(v) == shop["a"] else "b", names[str(w)], kind, qty) for v, w, kind, qty in rows]


def events(shop: dict[str, Any], subject_ids: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """The outbox rows about these subjects, by time (rows of one transaction in no particular order)."""
    return [(t, p) for t, p in shop["conn"].execute(
        "SELECT type, payload FROM integration.events WHERE subject_id = ANY(%s::uuid[]) ORDER BY created_at, id",
        [subject_ids]).fetchall()]


def money(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "EUR"}


# -- reading -----------------------------------------------------------------------------------------
def test_a_customer_reads_its_own_order_and_nobody_elses(api: Client, shop: dict[str, Any], support: str,
                                                         manager: str, stocker: str) -> None:
    ada, bob = new_customer(api), new_customer(api)
    placed = shop["order"]([Line(shop["a"], 2, 1500), Line(shop["b"], 1, 700)], customer_id=ada["id"], email=ada["email"])
    r = api.get(f"/v1/orders/{placed.id}", token=ada["token"])
    assert r.status == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json
    assert (body["id"], body["number"], body["status"], body["payment_status"], body["fulfillment_status"]) == (
        placed.id, placed.number, "pending_payment", "unpaid", "unfulfilled")
    assert body["total"] == money(3700) and body["subtotal"] == money(3700)
    assert [(i["id"], i["quantity"], i["unit_price"], i["line_total"]) for i in body["items"]] == [
        (placed.item_ids[0], 2, money(1500), money(3000)), (placed.item_ids[1], 1, money(700), money(700))]
    assert body["shipping_method"] == {"code": "standard", "name": "Standard"}
    assert body["fulfillments"] == body["payments"] == body["returns"] == []

    for path in (f"/v1/orders/{placed.id}", f"/v1/orders/{uuid.uuid4()}", "/v1/orders/not-an-id"):
        r = api.get(path, token=bob["token"])
        assert (r.status, r.error_code) == (404, "order_not_found"), (path, r.text)
    assert api.get(f"/v1/orders/{placed.id}").status == 401
    for staff in (support, manager):
        assert api.get(f"/v1/orders/{placed.id}", token=staff).json["id"] == placed.id
        assert api.get(f"/v1/admin/orders/{placed.id}", token=staff).json["id"] == placed.id
    assert api.get(f"/v1/orders/{placed.id}", token=stocker).status == 403
    assert api.get(f"/v1/admin/orders/{placed.id}", token=ada["token"]).status == 403


def test_my_orders_are_newest_first_in_keyset_pages(api: Client, shop: dict[str, Any]) -> None:
    ada, bob = new_customer(api), new_customer(api)
    mine = [shop["order"]([Line(shop["b"], 1)], customer_id=ada["id"], email=ada["email"]) for _ in range(3)]
    shop["order"]([Line(shop["b"], 1)], customer_id=bob["id"], email=bob["email"])
    r = api.get("/v1/me/orders?limit=2", token=ada["token"])
    assert r.status == 200, r.text
    first = r.json
    assert [o["number"] for o in first["items"]] == [mine[2].number, mine[1].number]
    assert first["items"][0]["total"] == money(1000) and first["items"][0]["item_count"] == 1
    second = api.get(f"/v1/me/orders?limit=2&cursor={first['next_cursor']}", token=ada["token"]).json
    assert [o["number"] for o in second["items"]] == [mine[0].number] and second["next_cursor"] is None
    assert api.get("/v1/me/orders?cursor=nonsense", token=ada["token"]).error_code == "invalid_cursor"
    assert api.get("/v1/me/orders").status == 401


def test_staff_list_every_order_by_status(api: Client, shop: dict[str, Any], manager: str, support: str,
                                          stocker: str) -> None:
    ada = new_customer(api)
    placed = [shop["order"]([Line(shop["b"], 1)], customer_id=ada["id"]) for _ in range(3)]
    api.post(f"/v1/orders/{placed[1].id}/cancel", {}, token=ada["token"])
    for token in (manager, support):
        r = api.get("/v1/admin/orders?status=cancelled&limit=100", token=token)
        assert r.status == 200, r.text
        numbers = [o["number"] for o in r.json["items"]]
        assert placed[1].number in numbers and placed[0].number not in numbers
        assert {o["status"] for o in r.json["items"]} == {"cancelled"}
    r = api.get("/v1/admin/orders?limit=1", token=manager)
    assert r.json["items"][0]["number"] == placed[2].number and r.json["next_cursor"]
    assert api.get(f"/v1/admin/orders?limit=1&cursor={r.json['next_cursor']}", token=manager).json["items"][0][
        "number"] == placed[1].number
    assert api.get("/v1/admin/orders?status=lost", token=manager).status == 400
    for token in (stocker, ada["token"]):
        assert api.get("/v1/admin/orders", token=token).status == 403
    assert api.get("/v1/me/orders", token=manager).status == 403


# -- cancelling --------------------------------------------------------------------------------------
def test_cancelling_releases_stock_and_coupon_uses(api: Client, shop: dict[str, Any], support: str) -> None:
    ada, bob = new_customer(api), new_customer(api)
    conn = shop["conn"]
    promotion = conn.execute("INSERT INTO shop.promotions (code, name, kind, value, usage_limit) VALUES"
                             " (%s, 'Ten', 'percent', 10, 5) RETURNING id", [f"ORD{uuid.uuid4().hex[:8]}"]).fetchone()[0]
    try:
        placed = shop["order"]([Line(shop["a"], 5)], customer_id=ada["id"], promotion_ids=(promotion,))
        # 3 from near (priority 1), 2 from far.
        assert stock(shop, "a") == {"near": (3, 3), "far": (10, 2)}
        assert conn.execute("SELECT times_used FROM shop.promotions WHERE id = %s", [promotion]).fetchone()[0] == 1
        assert api.post(f"/v1/orders/{placed.id}/cancel", {}, token=bob["token"]).status == 404
        assert api.post(f"/v1/orders/{placed.id}/cancel", {}, token=support).status == 403
        r = api.post(f"/v1/orders/{placed.id}/cancel", {"reason": "changed my mind"}, token=ada["token"])
        assert r.status == 200, r.text
        assert (r.json["status"], r.json["cancel_reason"], r.json["refund_due"]) == (
            "cancelled", "changed my mind", money(0))
        assert stock(shop, "a") == {"near": (3, 0), "far": (10, 0)}
        assert conn.execute("SELECT sum(quantity_released) FROM shop.order_allocations WHERE order_item_id = %s",
                            [placed.item_ids[0]]).fetchone()[0] == 5
        assert conn.execute("SELECT times_used FROM shop.promotions WHERE id = %s", [promotion]).fetchone()[0] == 0
        assert conn.execute("SELECT released_at IS NOT NULL FROM shop.promotion_redemptions WHERE order_id = %s",
                            [placed.id]).fetchone()[0]
        assert [t for t, _ in events(shop, [placed.id])] == ["order.cancelled"]
        r = api.post(f"/v1/orders/{placed.id}/cancel", {}, token=ada["token"])
        assert (r.status, r.error_code) == (409, "invalid_transition")
    finally:
        remove_orders(conn, [placed.id])
        conn.execute("DELETE FROM shop.promotions WHERE id = %s", [promotion])


def test_a_paid_order_cancelled_by_staff_keeps_its_payment_and_owes_a_refund(api: Client, shop: dict[str, Any],
                                                                            manager: str) -> None:
    placed = shop["order"]([Line(shop["b"], 2)])
    assert api.post(f"/v1/admin/orders/{placed.id}/payments", {"amount": 2000}, token=manager).status == 201
    r = api.post(f"/v1/orders/{placed.id}/cancel", {}, token=manager)
    assert r.status == 200, r.text
    assert (r.json["status"], r.json["payment_status"], r.json["refund_due"], r.json["cancel_reason"]) == (
        "cancelled", "paid", money(2000), "cancelled by staff")
    assert stock(shop, "b") == {"far": (10, 0)}
    r = api.post(f"/v1/admin/orders/{placed.id}/payments", {"amount": 1}, token=manager)
    assert (r.status, r.error_code) == (409, "order_not_payable")


# -- payments ----------------------------------------------------------------------------------------
def test_manual_payments_make_an_order_paid_when_they_cover_it(api: Client, shop: dict[str, Any], manager: str,
                                                               support: str) -> None:
    placed = shop["order"]([Line(shop["b"], 3, 1000)], shipping_total=500)  # 3500 in all
    path = f"/v1/admin/orders/{placed.id}/payments"
    assert api.post(path, {"amount": 1000}, token=support).status == 403
    for bad in ({}, {"amount": 0}, {"amount": "10"}, {"amount": 1.5}):
        r = api.post(path, bad, token=manager)
        assert (r.status, r.error_code) == (422, "validation_failed"), (bad, r.text)
        assert "amount" in r.json["error"]["details"]["fields"]
    r = api.post(path, {"amount": 1000, "note": "first instalment"}, token=manager)
    assert r.status == 201, r.text
    assert (r.json["status"], r.json["payment_status"], r.json["paid_amount"]) == (
        "pending_payment", "partially_paid", money(1000))
    r = api.post(path, {"amount": 2501}, token=manager)
    assert (r.status, r.error_code) == (409, "overpayment")
    assert r.json["error"]["details"]["balance"] == money(2500)
    r = api.post(path, {"amount": 2500}, token=manager)
    assert (r.json["status"], r.json["payment_status"], r.json["paid_amount"]) == ("paid", "paid", money(3500))
    assert [(p["provider"], p["status"], p["amount"], p["note"]) for p in r.json["payments"]] == [
        ("manual", "captured", money(1000), "first instalment"), ("manual", "captured", money(2500), None)]
    assert r.json["paid_at"] is not None
    payment_ids = [p["id"] for p in r.json["payments"]]
    # Events of one transaction share created_at: compared as a multiset.
    assert sorted(t for t, _ in events(shop, [placed.id, *payment_ids])) == [
        "order.paid", "payment.captured", "payment.captured"]
    assert (api.post(path, {"amount": 1}, token=manager).error_code) == "overpayment"
    unknown = f"/v1/admin/orders/{uuid.uuid4()}"
    lines = {"items": [{"item_id": str(uuid.uuid4()), "quantity": 1}], "restock": False}
    for r in (api.post(f"{unknown}/payments", {"amount": 1}, token=manager), api.get(unknown, token=manager),
              api.post(f"{unknown}/fulfillments", lines, token=manager),
              api.post(f"{unknown}/returns", lines, token=manager),
              api.post(f"/v1/orders/{uuid.uuid4()}/cancel", {}, token=manager)):
        assert (r.status, r.error_code) == (404, "order_not_found"), r.text


# -- shipping ----------------------------------------------------------------------------------------
def test_shipping_takes_units_from_the_allocations_by_priority_through_the_ledger(
    api: Client, shop: dict[str, Any], manager: str, support: str
) -> None:
    placed = shop["order"]([Line(shop["a"], 5), Line(shop["b"], 2)])
    line_a, line_b = placed.item_ids
    path = f"/v1/admin/orders/{placed.id}/fulfillments"
    r = api.post(path, {"items": [{"item_id": line_a, "quantity": 1}]}, token=manager)
    assert (r.status, r.error_code) == (409, "order_not_fulfillable")  # not paid
    api.post(f"/v1/admin/orders/{placed.id}/payments", {"amount": placed.total}, token=manager)
    assert api.post(path, {"items": [{"item_id": line_a, "quantity": 1}]}, token=support).status == 403
    r = api.post(path, {"items": [{"item_id": line_a, "quantity": 6}]}, token=manager)
    assert (r.status, r.error_code) == (409, "over_fulfillment")
    for bad in ({"items": []}, {"items": [{"item_id": str(uuid.uuid4()), "quantity": 1}]},
                {"items": [{"item_id": line_a, "quantity": 0}]},
                {"items": [{"item_id": line_a, "quantity": 1}, {"item_id": line_a, "quantity": 1}]}):
        r = api.post(path, bad, token=manager)
        assert (r.status, r.error_code) == (422, "validation_failed"), (bad, r.text)
        assert "items" in r.json["error"]["details"]["fields"]

    # 4 of A: the 3 reserved near (priority 1) first, then 1 far.
    r = api.post(path, {"items": [{"item_id": line_a, "quantity": 4}], "carrier": "DHL", "tracking_number": "JD1"},
                 token=manager)
    assert r.status == 201, r.text
    assert (r.json["status"], r.json["fulfillment_status"]) == ("paid", "partially_fulfilled")
    assert [(i["quantity_fulfilled"]) for i in r.json["items"]] == [4, 0]
    assert [(f["carrier"], f["tracking_number"], f["items"]) for f in r.json["fulfillments"]] == [
        ("DHL", "JD1", [{"item_id": line_a, "quantity": 4}])]
    assert stock(shop, "a") == {"near": (0, 0), "far": (9, 1)}
    assert sorted(movements(shop, placed.id)) == [("a", "far", "sale", -1), ("a", "near", "sale", -3)]

    r = api.post(path, {"items": [{"item_id": line_a, "quantity": 1}, {"item_id": line_b, "quantity": 2}],
                        "tracking_number": "JD2"}, token=manager)
    assert (r.json["status"], r.json["fulfillment_status"], r.json["fulfilled_at"] is not None) == (
        "fulfilled", "fulfilled", True)
    assert stock(shop, "a") == {"near": (0, 0), "far": (8, 0)} and stock(shop, "b") == {"far": (8, 0)}
    fulfilled = [p for t, p in events(shop, [placed.id]) if t == "order.fulfilled"]
    assert [f["tracking_number"] for f in fulfilled[0]["fulfillments"]] == ["JD1", "JD2"]
    r = api.post(path, {"items": [{"item_id": line_b, "quantity": 1}]}, token=manager)
    assert (r.status, r.error_code) == (409, "order_not_fulfillable")
    r = api.post(f"/v1/orders/{placed.id}/cancel", {}, token=manager)
    assert (r.status, r.error_code) == (409, "invalid_transition")


def test_cash_on_delivery_ships_before_it_is_paid(api: Client, shop: dict[str, Any], manager: str) -> None:
    placed = shop["order"]([Line(shop["b"], 2)], payment_method="cash_on_delivery", payment_due_in=None)
    r = api.post(f"/v1/admin/orders/{placed.id}/fulfillments",
                 {"items": [{"item_id": placed.item_ids[0], "quantity": 2}]}, token=manager)
    assert r.status == 201, r.text
    assert (r.json["status"], r.json["payment_status"]) == ("fulfilled", "unpaid")
    r = api.post(f"/v1/admin/orders/{placed.id}/payments", {"amount": placed.total}, token=manager)
    assert (r.json["status"], r.json["payment_status"]) == ("fulfilled", "paid")


# -- returns -----------------------------------------------------------------------------------------
def shipped(api: Client, shop: dict[str, Any], manager: str, lines: list[Line]) -> Any:
    placed = shop["order"](lines)
    api.post(f"/v1/admin/orders/{placed.id}/payments", {"amount": placed.total}, token=manager)
    r = api.post(f"/v1/admin/orders/{placed.id}/fulfillments",
                 {"items": [{"item_id": i, "quantity": line.quantity} for i, line in zip(placed.item_ids, lines)]},
                 token=manager)
    assert r.status == 201, r.text
    return placed


def test_returns_restock_where_the_units_came_from_and_record_refunds(api: Client, shop: dict[str, Any],
                                                                     manager: str, support: str) -> None:
    placed = shipped(api, shop, manager, [Line(shop["b"], 3, 1000)])
    line = placed.item_ids[0]
    path = f"/v1/admin/orders/{placed.id}/returns"
    assert stock(shop, "b") == {"far": (7, 0)}
    r = api.post(path, {"items": [{"item_id": line, "quantity": 4}], "restock": True}, token=support)
    assert (r.status, r.error_code) == (409, "over_return")
    r = api.post(path, {"items": [{"item_id": line, "quantity": 1}], "restock": True, "refund_amount": 3001},
                 token=support)
    assert (r.status, r.error_code) == (409, "over_refund")
    r = api.post(path, {"items": [{"item_id": line, "quantity": 1}]}, token=support)
    assert (r.status, r.error_code) == (422, "validation_failed") and "restock" in r.json["error"]["details"]["fields"]

    r = api.post(path, {"items": [{"item_id": line, "quantity": 1}], "restock": True, "refund_amount": 1000,
                        "reason": "too small"}, token=support)
    assert r.status == 201, r.text
    assert (r.json["status"], r.json["fulfillment_status"], r.json["payment_status"]) == (
        "fulfilled", "partially_returned", "partially_refunded")
    assert r.json["refunded_amount"] == money(1000) and r.json["items"][0]["quantity_returned"] == 1
    assert stock(shop, "b") == {"far": (8, 0)}
    # Without restock nothing moves in stock.
    r = api.post(path, {"items": [{"item_id": line, "quantity": 2}], "restock": False, "refund_amount": 2000},
                 token=manager)
    assert r.status == 201, r.text
    assert (r.json["status"], r.json["fulfillment_status"], r.json["payment_status"]) == (
        "refunded", "returned", "refunded")
    assert stock(shop, "b") == {"far": (8, 0)}
    assert [m[2:] for m in movements(shop, placed.id)] == [("sale", -3), ("return", 1)]
    assert [(x["restock"], x["refund_amount"], x["reason"]) for x in r.json["returns"]] == [
        (True, money(1000), "too small"), (False, money(2000), None)]
    assert sorted(t for t, _ in events(shop, [placed.id])) == [
        "order.fulfilled", "order.paid", "order.refunded", "order.returned"]
    customer_token = new_customer(api)["token"]
    assert api.post(path, {"items": [{"item_id": line, "quantity": 1}], "restock": True},
                    token=customer_token).status == 403


def test_the_customer_sees_shipments_and_returns_of_its_order(api: Client, shop: dict[str, Any],
                                                             manager: str) -> None:
    ada = new_customer(api)
    placed = shop["order"]([Line(shop["b"], 2)], customer_id=ada["id"])
    api.post(f"/v1/admin/orders/{placed.id}/payments", {"amount": placed.total}, token=manager)
    api.post(f"/v1/admin/orders/{placed.id}/fulfillments",
             {"items": [{"item_id": placed.item_ids[0], "quantity": 2}], "tracking_number": "T-1"}, token=manager)
    api.post(f"/v1/admin/orders/{placed.id}/returns",
             {"items": [{"item_id": placed.item_ids[0], "quantity": 1}], "restock": True}, token=manager)
    body = api.get(f"/v1/orders/{placed.id}", token=ada["token"]).json
    assert [f["tracking_number"] for f in body["fulfillments"]] == ["T-1"]
    assert [r["items"] for r in body["returns"]] == [[{"item_id": placed.item_ids[0], "quantity": 1}]]


@pytest.mark.parametrize(("method", "path"), [(r.method, r.path) for r in ROUTES if r.tag == "orders"])
def test_fuzz_as_an_order_manager(fuzz_schema: Any, method: str, path: str, manager: str,  # noqa: F811
                                  state: StateSummary) -> None:  # noqa: F811
    """Whatever an order manager sends: never a 5xx, and a refused request changes nothing."""
    fuzz(fuzz_schema, method, path, {"Authorization": f"Bearer {manager}"}, state)


def test_a_replayed_payment_is_recorded_once(api: Client, shop: dict[str, Any], manager: str) -> None:
    placed = shop["order"]([Line(shop["b"], 1)])
    path, key = f"/v1/admin/orders/{placed.id}/payments", {"Idempotency-Key": f"pay-{uuid.uuid4()}"}
    first = api.post(path, {"amount": 400}, token=manager, headers=key)
    again = api.post(path, {"amount": 400}, token=manager, headers=key)
    assert (first.status, again.status, again.headers.get("idempotent-replayed")) == (201, 201, "true")
    assert again.json == first.json
    assert api.get(f"/v1/admin/orders/{placed.id}", token=manager).json["paid_amount"] == money(400)
    r = api.post(path, {"amount": 500}, token=manager, headers=key)
    assert (r.status, r.error_code) == (422, "idempotency_key_reused")
