"""Stores near me over HTTP: GET /v1/stores nearest first with distances, 400 on a bad position, and
POST /v1/admin/stores for catalog managers only (201, 409, 422; 403 for customers and support agents)."""

from __future__ import annotations

import math
import uuid
from typing import Any

import pytest

from tests.conftest import run_cli

from .conftest import Client
from .test_accounts import login, register

PASSWORD = "staff-password-1"
# A quiet corner of the South Atlantic (no demo store within thousands of km): the stores this module adds
# are the nearest ones there, whatever else the shared test database holds.
ORIGIN = (-48.0, -30.0)


def staff_token(api: Client, admin_url: str, roles: str) -> str:
    email = f"stores-{uuid.uuid4().hex[:10]}@example.com"
    result = run_cli("create-staff", "--email", email, "--password", PASSWORD, "--full-name", "Store Staff",
                     "--roles", roles, env={"DATABASE_URL": admin_url})
    assert result.returncode == 0, result.stderr
    return str(login(api, email, PASSWORD)["access_token"])


@pytest.fixture(scope="module")
def manager(server: Client, admin_url: str) -> str:
    return staff_token(server, admin_url, "catalog_manager")


def store_body(code: str, lat: float, lng: float, **extra: Any) -> dict[str, Any]:
    return {"code": code, "name": f"Store {code}", "latitude": lat, "longitude": lng, "pickup": True,
            "address": {"line1": "1 Harbour Road", "city": "Stanley", "postal_code": "FIQQ 1ZZ", "country": "FK"},
            **extra}


def km_on_sphere(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Haversine on earthdistance's sphere (radius 6378.168 km): an independent check of distance_km."""
    la1, lo1, la2, lo2 = map(math.radians, (*a, *b))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6378.168 * math.asin(math.sqrt(h))


@pytest.fixture(scope="module")
def placed(server: Client, manager: str) -> dict[str, tuple[float, float]]:
    """Three stores at 50, 10 and 200 km or so from ORIGIN, created out of order, and one not listed nearer
    than all of them."""
    suffix = uuid.uuid4().hex[:6].upper()
    spots = {f"FAR-{suffix}": (-48.0, -27.3), f"NEAR-{suffix}": (-48.09, -30.0), f"MID-{suffix}": (-48.45, -30.0)}
    for code, (lat, lng) in spots.items():
        r = server.post("/v1/admin/stores", store_body(code, lat, lng), token=manager)
        assert r.status == 201, r.text
    hidden = server.post("/v1/admin/stores", store_body(f"HID-{suffix}", -48.001, -30.0, listed=False), token=manager)
    assert hidden.status == 201 and hidden.json["listed"] is False
    return spots


def test_nearest_first_with_distance(api: Client, placed: dict[str, tuple[float, float]]) -> None:
    r = api.get(f"/v1/stores?near={ORIGIN[0]},{ORIGIN[1]}&limit=3")
    assert r.status == 200, r.text
    items = r.json["items"]
    assert [i["code"] for i in items] == sorted(placed, key=lambda c: km_on_sphere(ORIGIN, placed[c]))
    assert r.json["next_cursor"] is None
    for item in items:
        assert set(item) >= {"id", "code", "name", "address", "latitude", "longitude", "distance_km"}
        assert (item["latitude"], item["longitude"]) == placed[item["code"]]
        assert item["distance_km"] == pytest.approx(km_on_sphere(ORIGIN, placed[item["code"]]), abs=0.002)
        assert item["address"] == {"line1": "1 Harbour Road", "line2": None, "city": "Stanley",
                                   "postal_code": "FIQQ 1ZZ", "country": "FK"}
    distances = [i["distance_km"] for i in items]
    assert distances == sorted(distances) and 9 < distances[0] < 11


def test_anyone_may_list_and_the_list_is_cacheable(api: Client, placed: dict[str, tuple[float, float]]) -> None:
    customer = register(api)
    token = login(api, customer["email"])["access_token"]
    anonymous = api.get(f"/v1/stores?near={ORIGIN[0]},{ORIGIN[1]}&limit=3")
    signed_in = api.get(f"/v1/stores?near={ORIGIN[0]},{ORIGIN[1]}&limit=3", token=token)
    assert anonymous.status == signed_in.status == 200 and anonymous.json == signed_in.json
    etag = anonymous.headers["etag"]
    again = api.get(f"/v1/stores?near={ORIGIN[0]},{ORIGIN[1]}&limit=3", headers={"If-None-Match": etag})
    assert again.status == 304


def test_without_near_by_name_in_keyset_pages(api: Client, placed: dict[str, tuple[float, float]]) -> None:
    names, cursor = [], None
    while True:
        r = api.get("/v1/stores?limit=7" + (f"&cursor={cursor}" if cursor else ""))
        assert r.status == 200, r.text
        assert all(i["distance_km"] is None for i in r.json["items"])
        names += [(i["name"], i["id"]) for i in r.json["items"]]
        cursor = r.json["next_cursor"]
        if cursor is None:
            break
    assert len(names) == len(set(names))
    codes = {n for n, _ in names}
    assert {f"Store {c}" for c in placed} <= codes
    assert not any(n.startswith("Store HID-") for n in codes), "a store that is not listed is not shown"


@pytest.mark.parametrize("near", ["berlin", "52.52", "52.52,13.4,1", "91,0", "-90.5,0", "0,180.01", "1e3,2",
                                  "52.52;13.405", "52.52,1000"])
def test_bad_near_is_400(api: Client, near: str) -> None:
    r = api.get(f"/v1/stores?near={near}")
    assert r.status == 400 and r.error_code == "validation_failed", r.text
    assert set(r.json["error"]["details"]["fields"]) == {"near"}


def test_near_takes_no_cursor_and_unknown_parameters_are_refused(api: Client) -> None:
    r = api.get("/v1/stores?near=1,2&cursor=abc")
    assert r.status == 400 and "cursor" in r.json["error"]["details"]["fields"]
    assert api.get("/v1/stores?radius=5").status == 400


def test_admin_create_returns_the_store(api: Client, manager: str) -> None:
    code = f"BER-{uuid.uuid4().hex[:6].upper()}"
    body = store_body(code, 52.52, 13.405)
    body["address"] = {"line1": "Unter den Linden 1", "line2": "Hof 2", "city": "Berlin", "postal_code": "10117",
                       "country": "de"}
    r = api.post("/v1/admin/stores", body, token=manager)
    assert r.status == 201, r.text
    assert uuid.UUID(r.json["id"])
    assert {k: r.json[k] for k in ("code", "name", "latitude", "longitude", "pickup", "listed")} == {
        "code": code, "name": f"Store {code}", "latitude": 52.52, "longitude": 13.405, "pickup": True, "listed": True}
    assert r.json["address"]["country"] == "DE" and r.json["address"]["line2"] == "Hof 2"
    near = api.get("/v1/stores?near=52.52,13.405&limit=100").json["items"]
    assert [i["distance_km"] for i in near if i["code"] == code] == [0]


def test_admin_duplicate_code_is_409(api: Client, manager: str) -> None:
    code = f"DUP-{uuid.uuid4().hex[:6].upper()}"
    assert api.post("/v1/admin/stores", store_body(code, 1, 1), token=manager).status == 201
    again = api.post("/v1/admin/stores", store_body(code.lower(), 2, 2), token=manager)
    assert again.status == 409 and again.error_code == "store_code_taken"


def test_admin_validation_is_422_naming_fields(api: Client, manager: str) -> None:
    body = {"code": "has space", "name": "", "latitude": 100, "longitude": "west", "pickup": "maybe",
            "address": {"line1": "x", "city": "Paris", "postal_code": "75001", "country": "France"}}
    r = api.post("/v1/admin/stores", body, token=manager)
    assert r.status == 422 and r.error_code == "validation_failed"
    assert set(r.json["error"]["details"]["fields"]) == {"code", "name", "latitude", "longitude", "pickup",
                                                          "address.country"}
    unknown = {**body, "code": "ZZ-1", "name": "Nowhere", "latitude": 1, "longitude": 1, "pickup": True,
               "address": {**body["address"], "country": "ZZ"}}
    r = api.post("/v1/admin/stores", unknown, token=manager)
    assert r.status == 422 and r.json["error"]["details"]["fields"] == {
        "address.country": "must be an ISO 3166-1 alpha-2 country code"}  # a table of real codes, not a pattern
    missing = api.post("/v1/admin/stores", {"code": "OK-1"}, token=manager)
    assert missing.status == 422
    assert {"name", "address", "latitude", "longitude"} <= set(missing.json["error"]["details"]["fields"])


def test_admin_create_is_refused_to_others(api: Client, admin_url: str) -> None:
    body = store_body(f"NO-{uuid.uuid4().hex[:6].upper()}", 1, 1)
    anonymous = api.post("/v1/admin/stores", body)
    assert anonymous.status == 401
    customer = register(api)
    as_customer = api.post("/v1/admin/stores", body, token=login(api, customer["email"])["access_token"])
    assert as_customer.status == 403
    as_agent = api.post("/v1/admin/stores", body, token=staff_token(api, admin_url, "support_agent"))
    assert as_agent.status == 403
    as_admin = api.post("/v1/admin/stores", body, token=staff_token(api, admin_url, "store_admin"))
    assert as_admin.status == 403
    assert body["code"] not in {i["code"] for i in api.get("/v1/stores?near=1,1&limit=100").json["items"]}
