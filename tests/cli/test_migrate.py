"""Migrating twice leaves the schema identical: sql/ is repeatable and migrations are idempotent."""

from __future__ import annotations

import subprocess

import psycopg

from postcart.migrate import migrate, pending
from tests.conftest import TestDatabase


def _schema(db: TestDatabase) -> str:
    out = subprocess.run([db.tool("pg_dump"), "--schema-only", "-d", db.admin_url],
                         capture_output=True, text=True, check=True)
    # \restrict lines carry a random key per dump (PostgreSQL's 2025 pg_dump hardening).
    return "\n".join(line for line in out.stdout.splitlines() if not line.startswith(("\\restrict", "\\unrestrict")))


def test_migrating_twice_changes_nothing(test_db: TestDatabase) -> None:
    before = _schema(test_db)
    assert migrate(test_db.admin_url) == []
    assert _schema(test_db) == before


def test_nothing_is_pending_after_migrate(test_db: TestDatabase) -> None:
    applied, todo = pending(test_db.admin_url)
    assert todo == [] and len(applied) >= 2


def test_rollback_files_undo_everything_and_migrations_reapply(admin, admin_url: str) -> None:
    """Every rollback file runs, in reverse order, on a database of its own; then it migrates afresh."""
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    from yoyo import get_backend, read_migrations

    from postcart.migrate import MIGRATIONS_DIR, yoyo_url

    name = "postcart_rollback_" + uuid.uuid4().hex[:6]
    admin.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(admin_url)._replace(path="/" + name))
    try:
        migrate(url)
        backend = get_backend(yoyo_url(url))
        migrations = read_migrations(str(MIGRATIONS_DIR))
        with backend.lock():
            backend.rollback_migrations(backend.to_rollback(migrations))
        with psycopg.connect(url) as conn:
            left = conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname IN "
                                "('api', 'shop', 'auth', 'audit', 'integration', 'reporting')").fetchone()[0]
        assert left == 0
        assert pending(url)[0] == []
        assert len(migrate(url)) == len(migrations)
    finally:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_0007_and_0008_fix_existing_data(admin, admin_url: str) -> None:
    """On a store migrated up to 0005: hashes not made with the server's parameters are deleted (those
    accounts reset their password), valid ones kept; an address spelled UK becomes GB and the new foreign
    key to shop.countries is validated."""
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    from yoyo import get_backend, read_migrations

    from postcart.auth.passwords import hash_password
    from postcart.migrate import MIGRATIONS_DIR, yoyo_url

    name = "postcart_datafix_" + uuid.uuid4().hex[:6]
    admin.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(admin_url)._replace(path="/" + name))
    good = hash_password("a good password")
    try:
        backend = get_backend(yoyo_url(url))
        old = read_migrations(str(MIGRATIONS_DIR)).filter(lambda m: m.id < "0006")
        with backend.lock():
            backend.apply_migrations(backend.to_apply(old))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("INSERT INTO auth.accounts (id, email, full_name) VALUES "
                         "('00000000-0000-4000-8000-000000000001', 'good@example.com', 'Good'), "
                         "('00000000-0000-4000-8000-000000000002', 'planted@example.com', 'Planted')")
            conn.execute("INSERT INTO auth.password_hashes (account_id, password_hash) VALUES "
                         "('00000000-0000-4000-8000-000000000001', %s), ('00000000-0000-4000-8000-000000000002', "
                         "'$argon2id$v=19$m=1048576,t=8,p=4$c2FsdHNhbHRzYWx0c2FsdA$"
                         "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g')", [good])
            conn.execute("INSERT INTO shop.addresses (customer_id, full_name, line1, city, postal_code, country) "
                         "VALUES ('00000000-0000-4000-8000-000000000001', 'G', 'L', 'London', 'N1', 'UK')")
        migrate(url)
        with psycopg.connect(url) as conn:
            hashes = conn.execute("SELECT a.email::text, p.password_hash FROM auth.accounts a "
                                  "LEFT JOIN auth.password_hashes p ON p.account_id = a.id ORDER BY 1").fetchall()
            assert hashes == [("good@example.com", good), ("planted@example.com", None)]
            assert conn.execute("SELECT country FROM shop.addresses").fetchone()[0] == "GB"
            assert conn.execute("SELECT convalidated FROM pg_constraint "
                                "WHERE conname = 'addresses_country_fkey'").fetchone()[0] is True
    finally:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
