"""Sessions carry their account's role and claims (migration 0021): a login racing a change of the account's
role must never leave a session with the old role. Real connections, real locks."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest

HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"


@pytest.fixture
def staff_id(admin: psycopg.Connection) -> Iterator[str]:
    email = f"claims-{uuid.uuid4().hex[:10]}@example.com"
    body = admin.execute("SELECT auth.create_staff(%s, %s, 'Claims Race', '{}')", [email, HASH]).fetchone()[0]
    account_id = body["staff"]["id"]
    role = admin.execute("SELECT db_role FROM auth.accounts WHERE id = %s", [account_id]).fetchone()[0]
    yield account_id
    admin.execute("DELETE FROM auth.accounts WHERE id = %s", [account_id])
    admin.execute(f'DROP ROLE IF EXISTS "{role}"')


def login(admin_url: str, account_id: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        session = conn.execute("SELECT auth.login_succeeded(%s, %s, interval '1 hour', 'race', NULL)",
                               [account_id, os.urandom(32)]).fetchone()[0]
        return str(session["session_id"])


def set_role_name(admin_url: str, account_id: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("UPDATE auth.accounts SET db_role = %s WHERE id = %s", [name, account_id])


def session_roles(admin: psycopg.Connection, account_id: str) -> set[tuple[str, str]]:
    """(role_name, claims.role) of every session of the account."""
    rows = admin.execute("SELECT role_name, claims::jsonb ->> 'role' FROM auth.sessions WHERE account_id = %s",
                         [account_id]).fetchall()
    return {(r[0], r[1]) for r in rows}


def blocked_until_commit(holder: psycopg.Connection, other: Callable[[], Any]) -> Any:
    """Run `other` in a thread while `holder` keeps its transaction open: it must wait for the commit."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(other()))
    thread.start()
    time.sleep(0.5)
    assert thread.is_alive(), "the second transaction did not wait for the first"
    holder.commit()
    thread.join(timeout=30)
    assert not thread.is_alive()
    return result[0]


def test_a_login_waits_for_a_role_change_and_gets_the_new_role(admin_url: str, admin, staff_id: str) -> None:
    new_name = f"claims_a_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url) as changer:
        changer.execute("UPDATE auth.accounts SET db_role = %s WHERE id = %s", [new_name, staff_id])
        blocked_until_commit(changer, lambda: login(admin_url, staff_id))
    assert session_roles(admin, staff_id) == {(new_name, new_name)}


def test_a_role_change_waits_for_a_login_and_rewrites_its_session(admin_url: str, admin, staff_id: str) -> None:
    new_name = f"claims_b_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url) as login_tx:
        login_tx.execute("SELECT auth.login_succeeded(%s, %s, interval '1 hour', 'race', NULL)",
                         [staff_id, os.urandom(32)])
        blocked_until_commit(login_tx, lambda: set_role_name(admin_url, staff_id, new_name))
    assert session_roles(admin, staff_id) == {(new_name, new_name)}


def test_a_burst_of_logins_and_role_changes_leaves_every_session_current(admin_url: str, admin,
                                                                         staff_id: str) -> None:
    names = [f"claims_c{i}_{uuid.uuid4().hex[:8]}" for i in range(8)]
    jobs: list[Callable[[], Any]] = [lambda: login(admin_url, staff_id) for _ in range(16)]
    jobs[1::2] = [lambda n=n: set_role_name(admin_url, staff_id, n) for n in names]  # interleaved
    with ThreadPoolExecutor(max_workers=12) as pool:
        list(pool.map(lambda job: job(), jobs))
    final = admin.execute("SELECT db_role FROM auth.accounts WHERE id = %s", [staff_id]).fetchone()[0]
    assert final in names
    assert session_roles(admin, staff_id) == {(final, final)}
    assert admin.execute("SELECT count(*) FROM auth.sessions WHERE account_id = %s", [staff_id]).fetchone()[0] == 8
