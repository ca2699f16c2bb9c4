"""Staff reports, GET /v1/admin/reports/{name} (docs/dashboard.md): who may read them, the allowlist,
filters and pages checked against the reporting views read directly, CSV export and validation."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg
import pytest

from .conftest import Client
from .test_accounts import PASSWORD, new_email
from .test_catalog_admin import staff_token, token_of
from .test_checkout import checkout, make_skus, new_cart

REPORTING_ROLES = ("store_admin", "catalog_manager", "inventory_manager", "order_manager")
REPORTS = ("sales_daily", "conversion_funnel_daily", "top_products", "low_stock")
TODAY = datetime.now(timezone.utc).date()  # the reports' days are UTC days


def refresh_reports(admin_url: str) -> None:
    """Bring the reports that are materialized views up to the orders just placed."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for name in REPORTS:
            if conn.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)",
                            [f"reporting.{name}"]).fetchone() == ("m",):
                conn.execute(f"REFRESH MATERIALIZED VIEW reporting.{name}")


@pytest.fixture(scope="module")
def reader(server: Client, admin_url: str) -> str:
    return staff_token(server, admin_url, "order_manager")


@pytest.fixture(scope="module")
def sales(server: Client, admin_url: str) -> dict[str, Any]:
    """Two orders placed today in EUR, and a variant below its low-stock threshold."""
    skus = make_skus(admin_url, [6, 9], price=1250)
    for lines in ([(skus[0], 2)], [(skus[0], 1), (skus[1], 1)]):
        assert checkout(server, new_cart(server, lines)).status == 201
    inventory = staff_token(server, admin_url, "inventory_manager")
    marked = server.patch(f"/v1/admin/inventory/{skus[0].sku}", {"low_stock_threshold": 5}, token=inventory)
    assert marked.status == 200 and marked.json["low_stock"] is True, marked.text
    refresh_reports(admin_url)
    return {"skus": skus}


def view_rows(admin_url: str, query: str, params: list[Any] | None = None) -> list[Any]:
    with psycopg.connect(admin_url) as conn:
        return [row[0] for row in conn.execute(query, params or []).fetchall()]


@pytest.mark.parametrize("role", REPORTING_ROLES)
def test_the_reporting_roles_may_read_reports(api: Client, admin_url: str, role: str) -> None:
    r = api.get("/v1/admin/reports/low_stock", token=staff_token(api, admin_url, role))
    assert r.status == 200, r.text
    assert r.json["report"] == "low_stock" and "sku" in r.json["columns"]


def test_others_are_refused_by_the_database(api: Client, admin_url: str) -> None:
    support = api.get("/v1/admin/reports/sales_daily", token=staff_token(api, admin_url, "support_agent"))
    assert (support.status, support.error_code) == (403, "forbidden"), support.text
    email = new_email()
    assert api.post("/v1/auth/register", {"email": email, "password": PASSWORD, "full_name": "C"}).status == 201
    customer = api.get("/v1/admin/reports/sales_daily", token=token_of(api, email, PASSWORD))
    assert customer.status == 403, customer.text
    assert api.get("/v1/admin/reports/sales_daily").status == 401


@pytest.mark.parametrize("name", ["orders", "audit_log", "customer_lifetime_value", "sales_daily;drop", "SALES_DAILY"])
def test_only_the_allowlisted_reports_exist(api: Client, reader: str, name: str) -> None:
    """Other reporting views (even existing ones with personal keys) are not reports."""
    r = api.get(f"/v1/admin/reports/{name}", token=reader)
    assert (r.status, r.error_code) == (404, "report_not_found"), r.text
    assert set(r.json["error"]["details"]["reports"]) == {
        "sales_daily", "conversion_funnel_daily", "top_products", "low_stock"}


def test_sales_filtered_by_days_are_the_views_rows(api: Client, admin_url: str, reader: str,
                                                    sales: dict[str, Any]) -> None:
    since, until = TODAY - timedelta(days=3), TODAY
    r = api.get(f"/v1/admin/reports/sales_daily?since={since}&until={until}&limit=100", token=reader)
    assert r.status == 200, r.text
    expected = view_rows(admin_url, "SELECT to_jsonb(v) FROM reporting.sales_daily AS v WHERE day BETWEEN %s AND %s"
                         " ORDER BY day, currency", [since, until])
    assert r.json["items"] == expected and r.json["next_cursor"] is None
    today_eur = [row for row in r.json["items"] if row["day"] == TODAY.isoformat() and row["currency"] == "EUR"]
    assert today_eur and today_eur[0]["orders"] >= 2 and today_eur[0]["items"] >= 4
    # A range that ends before today leaves today out; one in the future is empty.
    before = api.get(f"/v1/admin/reports/sales_daily?until={TODAY - timedelta(days=1)}&limit=100", token=reader)
    assert before.status == 200 and all(row["day"] < TODAY.isoformat() for row in before.json["items"])
    later = api.get(f"/v1/admin/reports/sales_daily?since={TODAY + timedelta(days=1)}", token=reader)
    assert later.status == 200 and later.json["items"] == []
    eur = api.get("/v1/admin/reports/sales_daily?currency=EUR&limit=100", token=reader)
    assert eur.json["items"] and {row["currency"] for row in eur.json["items"]} == {"EUR"}


def test_pages_cover_the_report_once_in_order(api: Client, admin_url: str, reader: str,
                                              sales: dict[str, Any]) -> None:
    seen: list[Any] = []
    cursor = ""
    for _ in range(200):
        r = api.get(f"/v1/admin/reports/low_stock?limit=1{cursor}", token=reader)
        assert r.status == 200, r.text
        seen += r.json["items"]
        if r.json["next_cursor"] is None:
            break
        cursor = f"&cursor={r.json['next_cursor']}"
    expected = view_rows(admin_url, "SELECT to_jsonb(v) FROM reporting.low_stock AS v ORDER BY available, sku, v::text")
    assert seen == expected
    assert sales["skus"][0].sku in [row["sku"] for row in seen]


def test_csv_export_by_parameter_or_accept_header(api: Client, admin_url: str, reader: str,
                                                  sales: dict[str, Any]) -> None:
    by_param = api.get(f"/v1/admin/reports/sales_daily?format=csv&since={TODAY}", token=reader)
    by_accept = api.get(f"/v1/admin/reports/sales_daily?since={TODAY}", token=reader, headers={"Accept": "text/csv"})
    for r in (by_param, by_accept):
        assert r.status == 200 and r.headers["content-type"].startswith("text/csv"), r.text
    assert by_param.text == by_accept.text
    rows = list(csv.reader(io.StringIO(by_param.text, newline="")))
    assert rows[0] == ["day", "currency", "orders", "items", "gross", "discounts", "tax", "shipping", "net", "refunds"]
    expected = view_rows(admin_url, "SELECT ARRAY[day::text, currency::text, orders::text, items::text, gross::text,"
                         " discounts::text, tax::text, shipping::text, net::text, refunds::text]"
                         " FROM reporting.sales_daily WHERE day >= %s ORDER BY day, currency", [TODAY])
    assert rows[1:] == expected and len(expected) >= 1
    # JSON is the default, also for a browser's Accept header; errors stay JSON.
    default = api.get("/v1/admin/reports/low_stock", token=reader, headers={"Accept": "text/html,*/*"})
    assert default.headers["content-type"].startswith("application/json")
    refused = api.get("/v1/admin/reports/nope?format=csv", token=reader)
    assert (refused.status, refused.error_code) == (404, "report_not_found")


@pytest.mark.parametrize(("query", "fields"), [
    ("sales_daily?since=2026-02-30", {"since"}),
    ("sales_daily?since=yesterday&until=2026-1-1", {"since", "until"}),
    ("sales_daily?since=2026-03-02&until=2026-03-01", {"until"}),
    ("sales_daily?limit=0", {"limit"}),
    ("sales_daily?format=xml", {"format"}),
    ("low_stock?since=2026-01-01", {"since"}),
    ("low_stock?currency=EUR", {"currency"}),
    ("sales_daily?period=month", {"period"}),
])
def test_bad_parameters_are_400_naming_the_field(api: Client, reader: str, query: str, fields: set[str]) -> None:
    r = api.get(f"/v1/admin/reports/{query}", token=reader)
    assert (r.status, r.error_code) == (400, "validation_failed"), r.text
    assert set(r.json["error"]["details"]["fields"]) == fields


def test_unknown_parameters_and_bad_cursors_are_refused(api: Client, reader: str) -> None:
    unknown = api.get("/v1/admin/reports/sales_daily?from=2026-01-01", token=reader)
    assert (unknown.status, unknown.error_code) == (400, "invalid_parameter")
    assert unknown.json["error"]["details"]["fields"] == {"from": "is not a parameter of this route"}
    bad = api.get(f"/v1/admin/reports/sales_daily?cursor={uuid.uuid4().hex}", token=reader)
    assert (bad.status, bad.error_code) == (400, "invalid_cursor"), bad.text
