"""Many real clients changing one SKU's stock at once through the real server: nothing is lost, nothing
answers 5xx, every on_hand equals its ledger's sum, and a low-stock crossing is reported exactly once."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg

from tests.http.conftest import Client
from tests.http.test_inventory import inventory, item  # noqa: F401 - fixtures

CLIENTS = 24


def stock_and_ledger(admin_url: str, variant_id: str) -> dict[str, tuple[int, int]]:
    """Per warehouse code: (on_hand, sum of the ledger)."""
    with psycopg.connect(admin_url) as conn:
        rows = conn.execute(
            "SELECT w.code, s.on_hand, (SELECT coalesce(sum(m.quantity), 0) FROM shop.stock_movements m"
            "  WHERE m.variant_id = s.variant_id AND m.warehouse_id = s.warehouse_id)"
            " FROM shop.stock_levels s JOIN shop.warehouses w ON w.id = s.warehouse_id WHERE s.variant_id = %s",
            [variant_id],
        ).fetchall()
    return {code: (on_hand, int(total)) for code, on_hand, total in rows}


def run_all(jobs: list[Any]) -> list[Any]:
    """Runs the jobs on CLIENTS threads, the first CLIENTS of them released together."""
    start = threading.Barrier(CLIENTS)

    def run(numbered: tuple[int, Any]) -> Any:
        if numbered[0] < CLIENTS:
            start.wait()
        return numbered[1]()

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        return list(pool.map(run, enumerate(jobs)))


def test_concurrent_movements_lose_nothing(
    server: Client, admin_url: str, inventory: str, item: dict[str, Any]  # noqa: F811
) -> None:
    path = f"/v1/admin/inventory/{item['sku']}/movements"
    rng = random.Random(7)
    plan = [(rng.choice([item["a"], item["b"]]), rng.choice([5, 3, -4, -6, 2, -1])) for _ in range(8 * CLIENTS)]

    def move(where: str, quantity: int) -> Any:
        kind = "receipt" if quantity > 0 else "adjustment"
        return lambda: server.post(path, {"warehouse": where, "kind": kind, "quantity": quantity}, token=inventory)

    results = run_all([move(where, quantity) for where, quantity in plan])
    statuses = [r.status for r in results]
    assert set(statuses) <= {201, 409}, [r.text for r in results if r.status not in (201, 409)][:3]
    assert all(r.error_code == "insufficient_stock" for r in results if r.status == 409)
    assert all(quantity < 0 for (_, quantity), r in zip(plan, results, strict=True) if r.status == 409)
    books = stock_and_ledger(admin_url, item["variant_id"])
    for code in (item["a"], item["b"]):
        accepted = sum(q for (w, q), r in zip(plan, results, strict=True) if w == code and r.status == 201)
        assert books[code] == (accepted, accepted), (code, books)


def test_counts_and_movements_race_without_a_lost_update(
    server: Client, admin_url: str, inventory: str, item: dict[str, Any]  # noqa: F811
) -> None:
    sku_path = f"/v1/admin/inventory/{item['sku']}"
    rng = random.Random(11)
    jobs: list[Any] = []
    targets: list[int | None] = []
    for _ in range(6 * CLIENTS):
        if rng.random() < 0.4:
            target = rng.randint(0, 40)
            jobs.append(lambda t=target: server.put(sku_path, {"warehouse": item["a"], "on_hand": t}, token=inventory))
            targets.append(target)
        else:
            quantity = rng.choice([4, 7, -3, -5])
            body = {"warehouse": item["a"], "kind": "receipt" if quantity > 0 else "correction", "quantity": quantity}
            jobs.append(lambda b=body: server.post(sku_path + "/movements", b, token=inventory))
            targets.append(None)
    results = run_all(jobs)
    assert all(r.status in (200, 201, 409) for r in results), [r.text for r in results if r.status >= 500][:3]
    # A count sets exactly what was counted, whatever ran beside it: its difference was taken under a lock.
    for target, r in zip(targets, results, strict=True):
        if target is not None:
            assert r.status == 200 and r.json["on_hand"] == target, r.text
    on_hand, total = stock_and_ledger(admin_url, item["variant_id"])[item["a"]]
    assert on_hand == total >= 0


def test_a_low_stock_crossing_under_a_burst_is_reported_once(
    server: Client, admin_url: str, inventory: str, item: dict[str, Any]  # noqa: F811
) -> None:
    sku_path = f"/v1/admin/inventory/{item['sku']}"
    for code in (item["a"], item["b"]):
        assert server.put(sku_path, {"warehouse": code, "on_hand": 30}, token=inventory).status == 200
    assert server.patch(sku_path, {"low_stock_threshold": 25}, token=inventory).status == 200
    # 48 single-unit sales spread over both warehouses: 60 -> 12, crossing 25 once, in whichever order.
    jobs = [
        (lambda code=code: server.post(sku_path + "/movements",
                                       {"warehouse": code, "kind": "adjustment", "quantity": -1}, token=inventory))
        for code in [item["a"], item["b"]] * CLIENTS
    ]
    results = run_all(jobs)
    assert {r.status for r in results} == {201}, [r.text for r in results if r.status != 201][:3]
    with psycopg.connect(admin_url) as conn:
        events = conn.execute("SELECT payload FROM integration.events WHERE type = 'stock.low' AND subject_id = %s",
                              [item["variant_id"]]).fetchall()
    assert len(events) == 1 and events[0][0]["available"] == 25, events
    assert server.get(sku_path, token=inventory).json["available"] == 12
