"""`postcart migrate`: yoyo migrations, then every repeatable file under sql/, as postcart_owner."""

from __future__ import annotations

import logging
from pathlib import Path

import psycopg
from psycopg import sql
from yoyo import get_backend, read_migrations

log = logging.getLogger("postcart.migrate")

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS_DIR = ROOT / "migrations"
SQL_DIR = ROOT / "sql"
# sql/ is applied in this order of folders: rule functions first, then the API built on them.
SQL_FOLDERS = ("shop", "auth", "integration", "api", "reporting")


def yoyo_url(url: str) -> str:
    """yoyo picks its driver from the URL scheme; psycopg 3 is `postgresql+psycopg`."""
    scheme, rest = url.split("://", 1)
    return f"postgresql+psycopg://{rest}"


def migration_ids() -> list[str]:
    """The ids of every migration the code expects, in order."""
    return [m.id for m in read_migrations(str(MIGRATIONS_DIR))]


def sql_files() -> list[Path]:
    files: list[Path] = []
    for folder in SQL_FOLDERS:
        files += sorted((SQL_DIR / folder).glob("*.sql"))
    return files


def pending(admin_url: str) -> tuple[list[str], list[str]]:
    """(applied, pending) migration ids."""
    backend = get_backend(yoyo_url(admin_url))
    migrations = read_migrations(str(MIGRATIONS_DIR))
    todo = {m.id for m in backend.to_apply(migrations)}
    ids = [m.id for m in migrations]
    return [i for i in ids if i not in todo], [i for i in ids if i in todo]


def migrate(admin_url: str, authenticator_password: str | None = None) -> list[str]:
    """Apply pending migrations, then sql/ (one transaction per file). Returns the migrations applied."""
    backend = get_backend(yoyo_url(admin_url))
    migrations = read_migrations(str(MIGRATIONS_DIR))
    with backend.lock():
        todo = backend.to_apply(migrations)
        backend.apply_migrations(todo)
    applied = [m.id for m in todo]
    for mid in applied:
        log.info("applied migration %s", mid)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for path in sql_files():
            with conn.transaction():
                conn.execute("SET LOCAL ROLE postcart_owner")
                conn.execute(path.read_text())  # type: ignore[arg-type]
        with conn.transaction():
            # /ready compares yoyo's record with the migrations the code ships.
            conn.execute("GRANT USAGE ON SCHEMA public TO postcart_authenticator")
            conn.execute("GRANT SELECT ON public._yoyo_migration TO postcart_authenticator")
            if authenticator_password:
                # The SCRAM verifier is computed here (libpq), so the plain password never reaches the server.
                verifier = conn.pgconn.encrypt_password(
                    authenticator_password.encode(), b"postcart_authenticator", b"scram-sha-256")
                conn.execute(
                    sql.SQL("ALTER ROLE postcart_authenticator PASSWORD {}").format(sql.Literal(verifier.decode()))
                )
    return applied
