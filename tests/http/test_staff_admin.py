"""GET/PATCH /v1/admin/staff: store administrators list the staff, change their roles and deactivate them;
deactivation ends the member's tokens on their very next request and the database refuses everyone else."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import run_cli

from .conftest import Client

PASSWORD = "staff-password-1"


def new_staff(admin_url: str, roles: str) -> str:
    email = f"team-{uuid.uuid4().hex[:12]}@example.com"
    made = run_cli("create-staff", "--email", email, "--password", PASSWORD, "--full-name", "Team Member",
                   "--roles", roles, env={"DATABASE_URL": admin_url})
    assert made.returncode == 0, made.stderr
    return email


def log_in(api: Client, email: str) -> dict:
    r = api.post("/v1/auth/login", {"email": email, "password": PASSWORD})
    assert r.status == 200, r.text
    return r.json


@pytest.fixture(scope="module")
def boss(server: Client, admin_url: str) -> dict:
    email = new_staff(admin_url, "store_admin")
    return {"email": email, **log_in(server, email)}


def staff_id(api: Client, boss: dict, email: str) -> str:
    page = api.get("/v1/admin/staff?limit=100", token=boss["access_token"])
    assert page.status == 200, page.text
    cursor, found = page.json["next_cursor"], [m for m in page.json["items"] if m["email"] == email]
    while not found and cursor:
        page = api.get(f"/v1/admin/staff?limit=100&cursor={cursor}", token=boss["access_token"])
        cursor, found = page.json["next_cursor"], [m for m in page.json["items"] if m["email"] == email]
    assert found, email
    return found[0]["id"]


def test_store_admin_lists_staff_and_others_may_not(api: Client, admin_url: str, boss: dict) -> None:
    clerk = new_staff(admin_url, "support_agent,order_manager")
    listed = api.get("/v1/admin/staff?role=support_agent&limit=100", token=boss["access_token"])
    assert listed.status == 200, listed.text
    assert listed.headers.get("cache-control") == "no-store"
    member = next(m for m in listed.json["items"] if m["email"] == clerk)
    assert member["roles"] == ["order_manager", "support_agent"]
    assert member["active"] is True and member["state"] == "active" and member["deactivated_at"] is None
    assert all("support_agent" in m["roles"] for m in listed.json["items"])
    emails = [m["email"] for m in listed.json["items"]]
    assert emails == sorted(emails)

    as_clerk = api.get("/v1/admin/staff", token=log_in(api, clerk)["access_token"])
    assert as_clerk.status == 403 and as_clerk.error_code == "forbidden"
    assert api.get("/v1/admin/staff").status == 401
    bad = api.get("/v1/admin/staff?role=emperor", token=boss["access_token"])
    assert bad.status == 422 and bad.error_code == "unknown_role"


def test_deactivation_stops_tokens_on_the_next_request(api: Client, admin_url: str, boss: dict) -> None:
    clerk = new_staff(admin_url, "support_agent")
    tokens = log_in(api, clerk)
    assert api.get("/v1/admin/orders", token=tokens["access_token"]).status == 200
    member = staff_id(api, boss, clerk)

    off = api.patch(f"/v1/admin/staff/{member}", {"active": False}, token=boss["access_token"])
    assert off.status == 200, off.text
    assert off.json["staff"]["active"] is False and off.json["staff"]["state"] == "deactivated"
    gone = api.get("/v1/admin/orders", token=tokens["access_token"])
    assert gone.status == 401 and gone.error_code == "token_revoked"
    assert api.post("/v1/auth/refresh", {"refresh_token": tokens["refresh_token"]}).status == 401
    refused = api.post("/v1/auth/login", {"email": clerk, "password": PASSWORD})
    assert refused.status == 403 and refused.error_code == "account_deactivated"
    wrong = api.post("/v1/auth/login", {"email": clerk, "password": "not-the-password"})
    assert wrong.status == 401, "only someone who knows the password learns the account is deactivated"

    on = api.patch(f"/v1/admin/staff/{member}", {"active": True}, token=boss["access_token"])
    assert on.status == 200 and on.json["staff"]["state"] == "active"
    assert api.get("/v1/admin/orders", token=log_in(api, clerk)["access_token"]).status == 200
    assert api.get("/v1/admin/orders", token=tokens["access_token"]).status == 401, "old tokens stay dead"


def test_roles_change_at_once_for_live_tokens(api: Client, admin_url: str, boss: dict) -> None:
    clerk = new_staff(admin_url, "support_agent")
    token = log_in(api, clerk)["access_token"]
    member = staff_id(api, boss, clerk)
    changed = api.patch(f"/v1/admin/staff/{member}", {"roles": ["catalog_manager"]}, token=boss["access_token"])
    assert changed.status == 200 and changed.json["staff"]["roles"] == ["catalog_manager"]
    assert api.get("/v1/admin/orders", token=token).status == 403
    assert api.get("/v1/admin/products", token=token).status == 200


def test_bad_patches_change_nothing(api: Client, admin_url: str, boss: dict) -> None:
    clerk = new_staff(admin_url, "support_agent")
    member = staff_id(api, boss, clerk)
    for body, status, code in (({"roles": ["emperor"]}, 422, "unknown_role"),
                               ({"roles": "store_admin", "active": "yes"}, 422, "validation_failed")):
        r = api.patch(f"/v1/admin/staff/{member}", body, token=boss["access_token"])
        assert (r.status, r.error_code) == (status, code), r.text
    missing = api.patch(f"/v1/admin/staff/{uuid.uuid4()}", {"active": False}, token=boss["access_token"])
    assert missing.status == 404 and missing.error_code == "staff_not_found"
    me = staff_id(api, boss, boss["email"])
    for body in ({"active": False}, {"roles": ["catalog_manager"]}):
        r = api.patch(f"/v1/admin/staff/{me}", body, token=boss["access_token"])
        assert r.status == 409 and r.error_code == "cannot_lock_self_out"
    after = api.get("/v1/admin/staff?role=support_agent&limit=100", token=boss["access_token"])
    assert any(m["email"] == clerk and m["roles"] == ["support_agent"] and m["active"] for m in after.json["items"])
    clerk_token = log_in(api, clerk)["access_token"]
    promote = api.patch(f"/v1/admin/staff/{member}", {"roles": ["store_admin"]}, token=clerk_token)
    assert promote.status == 403, "the database refuses a member who is not store_admin"
