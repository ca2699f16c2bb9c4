"""No log line, ours or PostgreSQL's, ever holds a password, token, secret or hash, even with the
harshest statement logging a DBA might switch on (log_statement = 'all'): the private stack runs so.
A run of succeeding and failing auth calls, then both logs are searched for every secret involved."""

from __future__ import annotations

import time
import uuid

import psycopg
import pyotp

from tests.conftest import run_cli

from .conftest import PrivateStack


def test_no_secret_reaches_any_log(private_stack: PrivateStack) -> None:
    api = private_stack.client
    email = f"secret-{uuid.uuid4().hex[:8]}@example.com"
    password, other_password = "a-very-secret-password-1", "another-secret-password-2"
    secrets: set[str] = {password, other_password}

    assert api.post("/v1/auth/register", {"email": email, "password": password, "full_name": "Sec"}).status == 201
    # Failures: taken email, weak password, wrong types, wrong password, unknown email.
    assert api.post("/v1/auth/register", {"email": email, "password": other_password, "full_name": "Sec"}).status == 409
    assert api.post("/v1/auth/register", {"email": "x" + email, "password": "short-pw1", "full_name": "S"}).status == 422
    secrets.add("short-pw1")
    assert api.post("/v1/auth/register", {"email": "y" + email, "password": 12345678901, "full_name": "S"}).status == 422
    assert api.post("/v1/auth/login", {"email": email, "password": other_password}).status == 401
    assert api.post("/v1/auth/login", {"email": "nobody-" + email, "password": password}).status == 401

    tokens = api.post("/v1/auth/login", {"email": email, "password": password}).json
    secrets |= {tokens["access_token"], tokens["refresh_token"]}
    rotated = api.post("/v1/auth/refresh", {"refresh_token": tokens["refresh_token"]}).json
    secrets |= {rotated["access_token"], rotated["refresh_token"]}
    assert api.post("/v1/auth/refresh", {"refresh_token": tokens["refresh_token"]}).status == 401  # reuse
    tokens = api.post("/v1/auth/login", {"email": email, "password": password}).json
    access = tokens["access_token"]
    secrets |= {access, tokens["refresh_token"]}

    setup = api.post("/v1/me/mfa/totp", token=access).json
    secret = setup["secret"]
    secrets.add(secret)
    code = pyotp.TOTP(secret).now()
    enabled = api.put("/v1/me/mfa/totp", {"secret": secret, "otp": code, "password": password}, token=access)
    assert enabled.status in (200, 204), enabled.text
    for recovery_code in (enabled.json or {}).get("recovery_codes", []):
        secrets.add(recovery_code)
    assert api.get("/v1/me", token=access).status == 200
    assert api.get("/v1/me", token="not-a-token").status == 401
    codes = enabled.json["recovery_codes"]
    refused = api.request("DELETE", "/v1/me/mfa/totp", {"password": other_password, "recovery_code": codes[0]}, token=access)
    assert refused.status == 401
    assert api.request("DELETE", "/v1/me/mfa/totp", {"password": password, "recovery_code": codes[0]},
                       token=access).status == 204

    # A DBA invites a staff member from psql; the member sets a password over HTTP.
    with psycopg.connect(private_stack.admin_url, autocommit=True) as conn:
        invitation = conn.execute("SELECT auth.invite_staff(%s, 'Inv', ARRAY['support_agent'])",
                                  ["staff-" + email]).fetchone()[0]
    secrets |= {invitation, "staff-password-3"}
    assert api.post("/v1/auth/staff-invitations/accept", {"token": invitation, "password": "short"}).status == 422
    accepted = api.post("/v1/auth/staff-invitations/accept", {"token": invitation, "password": "staff-password-3"})
    assert accepted.status == 204, accepted.text
    assert api.post("/v1/auth/staff-invitations/accept", {"token": invitation, "password": "staff-password-3"}).status == 400

    made = run_cli("create-staff", "--email", "cli-" + email, "--password", "cli-staff-password-4", "--full-name",
                   "Cli", "--roles", "support_agent", env={"DATABASE_URL": private_stack.admin_url})
    assert made.returncode == 0, made.stderr
    secrets.add("cli-staff-password-4")

    # Everything the database derived from those secrets is secret too.
    with psycopg.connect(private_stack.admin_url, autocommit=True) as conn:
        secrets |= {h for (h,) in conn.execute("SELECT password_hash FROM auth.password_hashes")}
        for (digest,) in conn.execute("SELECT token_hash FROM auth.refresh_tokens"):
            secrets |= {bytes(digest).hex(), "\\x" + bytes(digest).hex()}
        for (fingerprint,) in conn.execute("SELECT fingerprint FROM integration.idempotency_keys"):
            secrets.add(bytes(fingerprint).hex())
        for table, column in (("auth.recovery_codes", "code_hash"), ("auth.staff_invitations", "token_hash")):
            for (digest,) in conn.execute(f"SELECT {column} FROM {table}"):
                secrets |= {bytes(digest).hex(), "\\x" + bytes(digest).hex()}
        conn.execute("SELECT pg_sleep(0.2)")

    time.sleep(0.5)  # let both processes flush their logs
    logs = {"app": private_stack.server_log.read_text(), "postgresql": private_stack.pg_log.read_text()}
    assert "api.register" in logs["postgresql"]  # statements really are logged: the check below means something
    for name, text in logs.items():
        leaked = sorted(s[:12] + "…" for s in secrets if s and s in text)
        assert not leaked, f"{name} log holds secrets: {leaked}"
