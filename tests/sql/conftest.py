"""pgTAP files `NN_topic.sql`, run by pytest-pgtap against the migrated test database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from pytest_pgtap.plugin.sql_files import PgTapFile


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    # The design names pgTAP files NN_topic.sql; pytest-pgtap alone collects only test*.sql.
    if file_path.suffix == ".sql" and file_path.name[:2].isdigit():
        return PgTapFile.from_parent(parent, path=file_path)
    return None


@pytest.fixture(scope="session")
def pgtap_connection(admin_url: str) -> Iterator[psycopg.Connection]:
    """Never skipped: a failed connection fails the run. Autocommit, as each file brings BEGIN/ROLLBACK."""
    with psycopg.connect(admin_url, autocommit=True,
                         options="-c search_path=public,extensions,tap") as conn:
        yield conn
