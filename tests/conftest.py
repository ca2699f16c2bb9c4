"""The test cluster: a throwaway embedded PostgreSQL (or POSTCART_TEST_DATABASE_URL), migrated once
per run, shared by the pgTAP, HTTP, CLI and concurrency tests."""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from postcart.embedded import EmbeddedCluster

# Every server a test starts inherits this: the suite signs in and checks out far more often from
# 127.0.0.1 than the default rate limits allow one client. tests/http/test_rate_limits.py and
# tests/concurrency/test_rate_limit_races.py start servers of their own with the limits on.
os.environ["POSTCART_RATE_LIMITS"] = "off"
from postcart.migrate import migrate


@dataclass
class TestDatabase:
    __test__ = False  # not a test class, whatever its name says
    admin_url: str
    bindir: Path | None  # server binaries (pg_dump, pgbench) matching the server, when known

    def tool(self, name: str) -> str:
        if self.bindir and (self.bindir / name).exists():
            return str(self.bindir / name)
        found = shutil.which(name)
        assert found, f"{name} not found"
        return found


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def _install_pgtap(url: str) -> None:
    """pgTAP into schema `tap`: the extension when the server has it, else Debian's script."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS tap")
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pgtap SCHEMA tap")
        except (psycopg.errors.UndefinedFile, psycopg.errors.FeatureNotSupported):
            scripts = sorted(s for s in glob.glob("/usr/share/postgresql/*/extension/pgtap--*.sql")
                             if s.count("--") == 1)
            assert scripts, "pgTAP is not installed: apt-get install postgresql-15-pgtap"
            body = "\n".join(line for line in Path(scripts[-1]).read_text().splitlines()
                             if not line.startswith("\\"))
            with conn.transaction():
                conn.execute("SET LOCAL search_path = tap")
                conn.execute(body)  # type: ignore[arg-type]
        # Tests switch to application roles and still call pgTAP's functions.
        conn.execute("GRANT USAGE ON SCHEMA tap TO PUBLIC")
        conn.execute("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tap TO PUBLIC")


@pytest.fixture(scope="session")
def test_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabase]:
    external = os.environ.get("POSTCART_TEST_DATABASE_URL")
    if external:
        name = "postcart_test_" + secrets.token_hex(4)
        with psycopg.connect(external, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        db = TestDatabase(_with_database(external, name), None)
        cluster = None
    else:
        cluster = EmbeddedCluster(tmp_path_factory.mktemp("cluster"), fast=True)
        cluster.start()
        db = TestDatabase(cluster.url(), cluster.bindir)
    try:
        migrate(db.admin_url)
        _install_pgtap(db.admin_url)
        yield db
    finally:
        if cluster is not None:
            cluster.destroy()
        elif external:
            with psycopg.connect(external, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def admin_url(test_db: TestDatabase) -> str:
    return test_db.admin_url


@pytest.fixture
def admin(admin_url: str) -> Iterator[psycopg.Connection]:
    """An autocommit superuser connection to the test database."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        yield conn


# The installed command beside this interpreter (the venv's), as a user would run it.
POSTCART = str(Path(sys.executable).parent / "postcart")


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the installed `postcart` command as a user would."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTCART_", "DATABASE_URL"))}
    full_env.update(env or {})
    return subprocess.run([POSTCART, *args], capture_output=True, text=True, env=full_env,
                          timeout=timeout, stdin=subprocess.DEVNULL)
