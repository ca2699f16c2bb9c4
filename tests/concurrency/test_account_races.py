"""Races of many real clients at once against the real server; invariants are checked afterwards."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.http.conftest import Client

PASSWORD = "race-password-123"
N = 16


def race(fn: Any, n: int = N) -> list[Any]:
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(lambda _: fn(), range(n)))


def test_same_email_registered_concurrently_exactly_once(server: Client, admin) -> None:
    email = f"race-{uuid.uuid4().hex[:10]}@example.com"
    results = race(lambda: server.post("/v1/auth/register", {"email": email, "password": PASSWORD, "full_name": "R"}))
    statuses = sorted(r.status for r in results)
    assert statuses.count(201) == 1 and statuses.count(409) == N - 1, statuses
    assert admin.execute("SELECT count(*) FROM auth.accounts WHERE email = %s", [email]).fetchone()[0] == 1


def test_idempotency_key_executes_once_under_a_burst(server: Client, admin) -> None:
    key = uuid.uuid4().hex
    body = {"email": f"idem-{uuid.uuid4().hex[:10]}@example.com", "password": PASSWORD, "full_name": "I"}
    results = race(lambda: server.post("/v1/auth/register", body, headers={"Idempotency-Key": key}))
    assert {r.status for r in results} == {201}, [r.text for r in results if r.status != 201][:3]
    assert len({r.text for r in results}) == 1  # every client got the first response
    assert admin.execute("SELECT count(*) FROM auth.accounts WHERE email = %s", [body["email"]]).fetchone()[0] == 1


def test_a_refresh_token_is_spent_exactly_once(server: Client) -> None:
    email = f"refresh-{uuid.uuid4().hex[:10]}@example.com"
    server.post("/v1/auth/register", {"email": email, "password": PASSWORD, "full_name": "F"})
    tokens = server.post("/v1/auth/login", {"email": email, "password": PASSWORD}).json
    results = race(lambda: server.post("/v1/auth/refresh", {"refresh_token": tokens["refresh_token"]}))
    assert sum(r.status == 200 for r in results) == 1
    assert all(r.status in (200, 401) for r in results)


def test_a_burst_of_guesses_gets_exactly_ten_tries(server: Client, admin) -> None:
    email = f"brute-{uuid.uuid4().hex[:10]}@example.com"
    server.post("/v1/auth/register", {"email": email, "password": PASSWORD, "full_name": "B"})
    results = race(lambda: server.post("/v1/auth/login", {"email": email, "password": "wrong-password-x"}), n=24)
    statuses = sorted(r.status for r in results)
    assert statuses.count(401) == 10 and statuses.count(429) == 14, statuses
    failures = admin.execute("SELECT count(*) FROM auth.login_attempts WHERE email = %s AND NOT succeeded",
                             [email]).fetchone()[0]
    assert failures == 10
    locked = server.post("/v1/auth/login", {"email": email, "password": PASSWORD})
    assert locked.status == 429


def test_a_one_time_code_signs_in_once_under_a_burst(server: Client) -> None:
    import pyotp

    email = f"otp-{uuid.uuid4().hex[:10]}@example.com"
    server.post("/v1/auth/register", {"email": email, "password": PASSWORD, "full_name": "O"})
    token = server.post("/v1/auth/login", {"email": email, "password": PASSWORD}).json["access_token"]
    secret = server.post("/v1/me/mfa/totp", token=token).json["secret"]
    enabled = server.put("/v1/me/mfa/totp", {"secret": secret, "otp": pyotp.TOTP(secret).now(), "password": PASSWORD},
                         token=token)
    assert enabled.status == 200, enabled.text
    code = pyotp.TOTP(secret).at(time.time() + 30)  # the current step was spent by the enrolment
    results = race(lambda: server.post("/v1/auth/login", {"email": email, "password": PASSWORD, "otp": code}), n=8)
    statuses = sorted(r.status for r in results)
    assert statuses == [200] + [401] * 7, statuses


def test_a_recovery_code_signs_in_once_under_a_burst(server: Client, admin) -> None:
    import pyotp

    email = f"recovery-{uuid.uuid4().hex[:10]}@example.com"
    server.post("/v1/auth/register", {"email": email, "password": PASSWORD, "full_name": "R"})
    token = server.post("/v1/auth/login", {"email": email, "password": PASSWORD}).json["access_token"]
    secret = server.post("/v1/me/mfa/totp", token=token).json["secret"]
    enabled = server.put("/v1/me/mfa/totp", {"secret": secret, "otp": pyotp.TOTP(secret).now(), "password": PASSWORD},
                         token=token)
    code = enabled.json["recovery_codes"][0]
    body = {"email": email, "password": PASSWORD, "recovery_code": code}
    results = race(lambda: server.post("/v1/auth/login", body), n=8)
    statuses = sorted(r.status for r in results)
    assert statuses == [200] + [401] * 7, statuses
    assert {r.json["error"]["code"] for r in results if r.status == 401} == {"invalid_recovery_code"}
    used = admin.execute("SELECT count(*) FROM auth.recovery_codes r JOIN auth.accounts a ON a.id = r.account_id "
                         "WHERE a.email = %s AND r.used_at IS NOT NULL", [email]).fetchone()[0]
    assert used == 1
