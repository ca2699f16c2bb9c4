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
