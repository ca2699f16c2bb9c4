"""Migrating twice leaves the schema identical: sql/ is repeatable and migrations are idempotent."""

from __future__ import annotations

import subprocess

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
