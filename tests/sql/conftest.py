"""pgTAP files `NN_topic.sql`, run by pytest-pgtap against the migrated test database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from pytest_pgtap.pgtap import Runner
from pytest_pgtap.plugin.sql_files import PgTapFile


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    # The design names pgTAP files NN_topic.sql; pytest-pgtap alone collects only test*.sql.
    if file_path.suffix == ".sql" and file_path.name[:2].isdigit():
        return PgTapFile.from_parent(parent, path=file_path)
    return None


@pytest.fixture
def pgtap_connection(admin_url: str) -> Iterator[psycopg.Connection]:
    """Never skipped: a failed connection fails the run. Autocommit, as each file brings BEGIN/ROLLBACK.
    A backend per file: what one file leaves in its session (plpgsql_check's compiled functions in 29, a
    role or setting) cannot reach the next; in one shared session, api.add_address later failed with
    PostgreSQL's "unrecognized node type: 0" in the full suite."""
    with psycopg.connect(admin_url, autocommit=True,
                         options="-c search_path=public,extensions,tap") as conn:
        yield conn


@pytest.fixture
def _pgtap_runner(pgtap_connection: psycopg.Connection) -> Runner:
    """The plugin's runner is session-scoped; this one follows the per-file connection above."""
    return Runner(pgtap_connection)
