"""Helpers for the background worker's tests: old rows to sweep, tagged so a test counts only its own."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from postcart.db import AUTHENTICATOR, with_user


@pytest.fixture(scope="session")
def app_url(admin_url: str) -> str:
    """The URL the worker uses: the test database as postcart_authenticator."""
    return with_user(admin_url, AUTHENTICATOR, None)


@pytest.fixture
def tag() -> str:
    return "sweep-" + uuid.uuid4().hex[:10]


def add_old_login_attempts(admin: psycopg.Connection, tag: str, n: int) -> None:
    """n failed login attempts two hours old (past the 1-hour retention), e-mails tagged with `tag`."""
    admin.execute("INSERT INTO auth.login_attempts (email, attempted_at, succeeded)"
                  " SELECT %s || '-' || i || '@example.com', now() - INTERVAL '2 hours' - i * INTERVAL '1 ms', FALSE"
                  " FROM generate_series(1, %s) AS i", [tag, n])


def tagged_login_attempts(admin: psycopg.Connection, tag: str) -> int:
    return admin.execute("SELECT count(*) FROM auth.login_attempts WHERE email LIKE %s || '-%%'", [tag]).fetchone()[0]


def sweep_everything_old(admin: psycopg.Connection) -> None:
    """Remove old login attempts other tests left, so a test's counts are its own rows alone."""
    while admin.execute("SELECT auth.sweep_login_attempts(10000)").fetchone()[0] == 10000:
        pass
