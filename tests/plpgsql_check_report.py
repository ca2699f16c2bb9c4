"""`make plpgsql-check`: plpgsql_check's full report (errors and every class of warning) on each PL/pgSQL
function, as tests/sql/29_plpgsql_check.sql gives it (TAP lines, the report in its diagnostics), against a
freshly migrated throwaway cluster. Exits 1 when that file has a failing test."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import psycopg
from pytest_pgtap.pgtap import Runner

from postcart.embedded import EmbeddedCluster
from postcart.migrate import migrate
from tests.conftest import _install_pgtap

CHECK = Path(__file__).parent / "sql" / "29_plpgsql_check.sql"


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="postcart-plpgsql-check-") as tmp:
        cluster = EmbeddedCluster(Path(tmp), fast=True)
        cluster.start()
        server = f"PostgreSQL {cluster.version} from {cluster.bindir}"
        try:
            migrate(cluster.url())
            _install_pgtap(cluster.url())
            # As the pgTAP suite connects (tests/sql/conftest.py).
            with psycopg.connect(cluster.url(), autocommit=True,
                                 options="-c search_path=public,extensions,tap") as conn:
                lines = Runner(conn).run(CHECK.read_text())
        finally:
            cluster.destroy()
    print(server)
    print("\n".join(lines))
    return 1 if any(line.startswith("not ok") for line in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
