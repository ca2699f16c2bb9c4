"""Account recovery, e-mail verification, marketing consent and unsubscribing through the real server:
every route of docs/email.md with its errors. Tokens are derived here as the worker derives them (the
test server's secret key and the request or mail id read from the database)."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg

from postcart.auth import links

from .conftest import SECRET, Client
from .test_accounts import PASSWORD, login, new_email, register

NEW_PASSWORD = "a brand new passphrase"


def reset_request(admin: psycopg.Connection, email: str) -> str:
    """The id of the account's newest password reset request."""
    return str(admin.execute(
        "SELECT q.id FROM auth.account_requests q JOIN auth.accounts a ON a.id = q.account_id"
        " WHERE a.email = %s AND q.kind = 'password_reset' ORDER BY q.created_at DESC LIMIT 1", [email]).fetchone()[0])


def verification_request(admin: psycopg.Connection, email: str) -> str:
    return str(admin.execute(
        "SELECT q.id FROM auth.account_requests q JOIN auth.accounts a ON a.id = q.account_id"
        " WHERE a.email = %s AND q.kind = 'email_verification' ORDER BY q.created_at DESC LIMIT 1",
        [email]).fetchone()[0])


def reset_token(admin: psycopg.Connection, api: Client, email: str) -> str:
    assert api.post("/v1/auth/password-reset", {"email": email}).status == 202
    return links.make(SECRET, links.PASSWORD_RESET, reset_request(admin, email))


def signed_in(api: Client) -> dict[str, Any]:
    account = register(api)
    return {**account, **login(api, account["email"])}


# -- password reset ------------------------------------------------------------------------------
def test_a_reset_is_202_for_any_address_and_mails_only_known_ones(api: Client, admin) -> None:
    account = register(api)
    unknown = new_email()
    known = api.post("/v1/auth/password-reset", {"email": account["email"].upper()})
    other = api.post("/v1/auth/password-reset", {"email": unknown})
    assert (known.status, other.status) == (202, 202) and known.text == other.text
    events = admin.execute("SELECT payload FROM integration.events WHERE type = 'customer.password_reset_requested'"
                           " AND subject_id = %s", [account["id"]]).fetchall()
    assert len(events) == 1 and set(events[0][0]) == {"account_id", "request_id", "expires_at"}
    assert unknown not in str(admin.execute("SELECT array_agg(payload) FROM integration.events").fetchone()[0])


def test_at_most_five_resets_an_hour_are_made_and_the_answer_never_changes(api: Client, admin) -> None:
    account = register(api)
    answers = {api.post("/v1/auth/password-reset", {"email": account["email"]}).status for _ in range(7)}
    assert answers == {202}
    made = admin.execute("SELECT count(*) FROM auth.account_requests WHERE account_id = %s AND kind = 'password_reset'",
                         [account["id"]]).fetchone()[0]
    assert made == 5


def test_a_reset_needs_a_valid_address(api: Client) -> None:
    r = api.post("/v1/auth/password-reset", {"email": "nope"})
    assert r.status == 422 and r.error_code == "validation_failed" and "email" in r.json["error"]["details"]["fields"]


def test_a_reset_sets_the_password_and_ends_every_session(api: Client, admin) -> None:
    me = signed_in(api)
    token = reset_token(admin, api, me["email"])
    assert api.get("/v1/me", token=me["access_token"]).status == 200
    r = api.post("/v1/auth/password-reset/confirm", {"token": token, "password": NEW_PASSWORD})
    assert r.status == 204, r.text
    assert api.get("/v1/me", token=me["access_token"]).status == 401
    assert api.post("/v1/auth/refresh", {"refresh_token": me["refresh_token"]}).status == 401
    assert api.post("/v1/auth/login", {"email": me["email"], "password": PASSWORD}).status == 401
    assert login(api, me["email"], NEW_PASSWORD)["access_token"]
    again = api.post("/v1/auth/password-reset/confirm", {"token": token, "password": "yet another passphrase"})
    assert again.status == 400 and again.error_code == "invalid_token"


def test_a_weak_password_is_refused_and_keeps_the_token(api: Client, admin) -> None:
    account = register(api)
    token = reset_token(admin, api, account["email"])
    weak = api.post("/v1/auth/password-reset/confirm", {"token": token, "password": "short"})
    assert weak.status == 422 and weak.error_code == "weak_password", weak.text
    own = api.post("/v1/auth/password-reset/confirm", {"token": token, "password": account["email"]})
    assert own.status == 422 and own.error_code == "weak_password"
    assert api.post("/v1/auth/password-reset/confirm", {"token": token, "password": NEW_PASSWORD}).status == 204


def test_forged_expired_and_missing_tokens_are_refused(api: Client, admin) -> None:
    account = register(api)
    token = reset_token(admin, api, account["email"])
    request_id = token.split(".")[0]
    forged = f"{request_id}.{'A' * 43}"
    for bad in (forged, "not-a-token", links.make(SECRET, links.EMAIL_VERIFICATION, request_id),
                links.make(SECRET, links.PASSWORD_RESET, uuid.uuid4())):
        r = api.post("/v1/auth/password-reset/confirm", {"token": bad, "password": NEW_PASSWORD})
        assert r.status == 400 and r.error_code == "invalid_token", (bad, r.text)
    missing = api.post("/v1/auth/password-reset/confirm", {"password": NEW_PASSWORD})
    assert missing.status == 422 and missing.json["error"]["details"]["fields"] == {"token": "is required"}
    admin.execute("UPDATE auth.account_requests SET created_at = now() - interval '31 minutes',"
                  " expires_at = now() - interval '1 minute' WHERE id = %s", [request_id])
    expired = api.post("/v1/auth/password-reset/confirm", {"token": token, "password": NEW_PASSWORD})
    assert expired.status == 400 and expired.error_code == "invalid_token"
    assert login(api, account["email"])["access_token"]  # nothing changed


def test_two_confirmations_with_one_token_succeed_once(api: Client, admin) -> None:
    account = register(api)
    token = reset_token(admin, api, account["email"])
    start = threading.Barrier(8)

    def confirm(i: int) -> int:
        start.wait()
        return api.post("/v1/auth/password-reset/confirm", {"token": token, "password": f"{NEW_PASSWORD} {i}"}).status

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(confirm, range(8)))
    assert statuses == [204] + [400] * 7, statuses


# -- e-mail verification ---------------------------------------------------------------------------
def test_registration_asks_for_verification_and_the_link_verifies_once(api: Client, admin) -> None:
    me = signed_in(api)
    assert api.get("/v1/me", token=me["access_token"]).json["email_verified"] is False
    types = {t for (t,) in admin.execute("SELECT type FROM integration.events WHERE subject_id = %s", [me["id"]])}
    assert {"customer.created", "customer.email_verification_requested"} <= types
    token = links.make(SECRET, links.EMAIL_VERIFICATION, verification_request(admin, me["email"]))
    assert api.post("/v1/auth/verify-email/confirm", {"token": token}).status == 204
    assert api.get("/v1/me", token=me["access_token"]).json["email_verified"] is True
    again = api.post("/v1/auth/verify-email/confirm", {"token": token})
    assert again.status == 400 and again.error_code == "invalid_token"
    r = api.post("/v1/me/verify-email", token=me["access_token"])
    assert r.status == 409 and r.error_code == "email_already_verified"


def test_asking_again_mails_a_new_link(api: Client, admin) -> None:
    me = signed_in(api)
    first = verification_request(admin, me["email"])
    assert api.post("/v1/me/verify-email", token=me["access_token"]).status == 202
    second = verification_request(admin, me["email"])
    assert second != first
    assert api.post("/v1/me/verify-email").status == 401
    forged = api.post("/v1/auth/verify-email/confirm", {"token": links.make(SECRET, links.PASSWORD_RESET, second)})
    assert forged.status == 400 and forged.error_code == "invalid_token"
    assert api.post("/v1/auth/verify-email/confirm", {}).status == 422
    for _ in range(3):  # with registration's and the one above, five this hour
        assert api.post("/v1/me/verify-email", token=me["access_token"]).status == 202
    flood = api.post("/v1/me/verify-email", token=me["access_token"])
    assert flood.status == 429 and flood.error_code == "too_many_requests"


# -- marketing consent -----------------------------------------------------------------------------
def test_marketing_mail_is_off_until_the_customer_says_yes(api: Client, admin) -> None:
    me = signed_in(api)
    profile = api.get("/v1/me", token=me["access_token"]).json
    assert profile["marketing_emails"] is False and profile["full_name"] == "Ada Lovelace"
    on = api.patch("/v1/me", {"marketing_emails": True}, token=me["access_token"])
    assert on.status == 200 and on.json["marketing_emails"] is True and on.json["full_name"] == "Ada Lovelace"
    off = api.patch("/v1/me", {"marketing_emails": False}, token=me["access_token"])
    assert off.status == 200 and off.json["marketing_emails"] is False
    assert admin.execute("SELECT source FROM integration.mail_suppressions WHERE email = %s",
                         [me["email"]]).fetchone() == ("customer",)
    assert api.patch("/v1/me", {"marketing_emails": True}, token=me["access_token"]).json["marketing_emails"] is True
    assert admin.execute("SELECT 1 FROM integration.mail_suppressions WHERE email = %s", [me["email"]]).fetchone() is None


def test_patch_me_checks_its_members(api: Client) -> None:
    me = signed_in(api)
    bad = api.patch("/v1/me", {"marketing_emails": "yes"}, token=me["access_token"])
    assert bad.status == 422 and bad.json["error"]["details"]["fields"] == {"marketing_emails": "must be true or false"}
    empty = api.patch("/v1/me", {}, token=me["access_token"])
    assert empty.status == 422 and "full_name" in empty.json["error"]["details"]["fields"]
    renamed = api.patch("/v1/me", {"full_name": "Ada King"}, token=me["access_token"])
    assert renamed.status == 200 and renamed.json["full_name"] == "Ada King" and renamed.json["marketing_emails"] is False


# -- unsubscribe -----------------------------------------------------------------------------------
def marketing_mail(admin: psycopg.Connection, email: str, customer_id: str | None = None) -> str:
    """An abandoned-cart reminder to `email`, made by the fan-out as the dispatcher would; its id."""
    cart = admin.execute(
        "INSERT INTO shop.carts (customer_id, token_hash, currency, status, abandoned_at, email)"
        " VALUES (%s, CASE WHEN %s::uuid IS NULL THEN sha256(gen_random_uuid()::text::bytea) END, 'EUR', 'abandoned',"
        " now(), %s) RETURNING id", [customer_id, customer_id, email]).fetchone()[0]
    event = admin.execute("SELECT integration.emit('cart.abandoned', %s, jsonb_build_object('cart_id', %s::uuid,"
                          " 'email', %s::text, 'currency', 'EUR'))", [cart, cart, email]).fetchone()[0]
    admin.execute("SELECT integration.fan_out_mails(ARRAY[%s::uuid])", [event])
    return str(admin.execute("SELECT id FROM integration.mails WHERE event_id = %s", [event]).fetchone()[0])


def test_one_click_unsubscribe_needs_no_sign_in(api: Client, admin) -> None:
    me = signed_in(api)
    assert api.patch("/v1/me", {"marketing_emails": True}, token=me["access_token"]).json["marketing_emails"] is True
    mail = marketing_mail(admin, me["email"], me["id"])
    token = links.make(SECRET, links.UNSUBSCRIBE, mail)
    # What a mail client sends for List-Unsubscribe-Post (RFC 8058): a form body, the token in the URL.
    r = api.request("POST", f"/v1/unsubscribe?token={token}", raw=b"List-Unsubscribe=One-Click",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 200 and r.json == {"unsubscribed": True}, r.text
    assert api.get("/v1/me", token=me["access_token"]).json["marketing_emails"] is False
    assert api.post("/v1/unsubscribe", {"token": token}).status == 200  # again: no change, no error
    log = Path(api.log_path).read_text()  # type: ignore[attr-defined]
    assert "/v1/unsubscribe?token=-" in log and token not in log and token.split(".")[1] not in log


def test_a_guest_address_unsubscribes_through_the_suppression_list(api: Client, admin) -> None:
    guest = new_email()
    admin.execute("UPDATE integration.mail_settings SET marketing_without_consent = TRUE")
    try:
        mail = marketing_mail(admin, guest)
        assert admin.execute("SELECT status FROM integration.mails WHERE id = %s", [mail]).fetchone() == ("pending",)
        r = api.post("/v1/unsubscribe", {"token": links.make(SECRET, links.UNSUBSCRIBE, mail)})
        assert r.status == 200
        assert admin.execute("SELECT source FROM integration.mail_suppressions WHERE email = %s",
                             [guest]).fetchone() == ("unsubscribe_link",)
        later = marketing_mail(admin, guest)
        assert admin.execute("SELECT status FROM integration.mails WHERE id = %s", [later]).fetchone() == ("skipped",)
    finally:
        admin.execute("UPDATE integration.mail_settings SET marketing_without_consent = FALSE")


def test_bad_unsubscribe_tokens_are_refused(api: Client) -> None:
    r = api.post(f"/v1/unsubscribe?token={links.make(SECRET, links.PASSWORD_RESET, uuid.uuid4())}")
    assert r.status == 400 and r.error_code == "invalid_token"
    unknown = api.post(f"/v1/unsubscribe?token={links.make(SECRET, links.UNSUBSCRIBE, uuid.uuid4())}")
    assert unknown.status == 400 and unknown.error_code == "invalid_token"
    missing = api.post("/v1/unsubscribe")
    assert missing.status == 422 and missing.json["error"]["details"]["fields"] == {"token": "is required"}
