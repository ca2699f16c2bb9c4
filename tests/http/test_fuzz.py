"""Property-based fuzzing of every route in /openapi.json (schemathesis: valid and invalid bodies, query
strings, paths and odd unicode), anonymous and signed in, with a fixed budget: no answer is a 5xx,
every answer is the JSON error envelope when it is an error, and a rejected request changes nothing."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from postcart.http.routes import ROUTES

from .conftest import Client

EXAMPLES = int(os.environ.get("POSTCART_FUZZ_EXAMPLES", "50"))  # per operation and caller; CI's budget
# State a rejected request may change by design: a failed login counts towards the lockout; reusing a
# rotated refresh token revokes its session (theft detection); idempotency bookkeeping.
BY_DESIGN = {"auth.login_attempts", "auth.sessions", "auth.refresh_tokens", "integration.idempotency_keys",
             # Product searches are recorded by the server, written up to a second after the GET, so during
             # later cases (docs/events.md); that a refused batch stores nothing is tests/http/test_events.py's.
             "shop.behaviour_events"}
# The audit trail is append-only, so a change there is a new record: its count and last id stand for its rows
# (hashing all of them, the whole suite's writes, for every case made the run ten times slower). A refused
# login is written to it by design (docs/audit.md); any other record would be a change.
SUMMARIES = {"audit.records": "SELECT 'audit.records' AS t, md5(count(*) || '/' || coalesce(max(id), 0)) AS h"
                              " FROM audit.records WHERE action <> 'login_failed'"}


@pytest.fixture(scope="module")
def fuzz_schema(server: Client) -> Any:
    return schemathesis.openapi.from_url(f"http://127.0.0.1:{server.port}/openapi.json")


@pytest.fixture(scope="module")
def db(admin_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        yield conn


class StateSummary:
    """Every table that holds data (read as superuser: RLS does not hide rows) summed up as its row count
    and the newest transaction that wrote one of its rows. A committed insert or delete changes the count,
    an update (a new row version) the newest writer; a rolled-back write changes neither. Hashing every
    row's text instead cost a sort of the whole suite's data per case and most of the run's time.

    Reading the summary still scans every table, twice per case. It is reused while no transaction has
    taken a transaction id since it was read (most refused requests write nothing, so take none) and none
    was running then: a write can only commit through an id, so nothing changed."""

    def __init__(self, db: psycopg.Connection) -> None:
        self.db = db
        tables = [f"{s}.{t}" for s, t in db.execute(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname IN ('shop', 'auth', 'integration', 'audit')"
            " ORDER BY 1, 2").fetchall() if f"{s}.{t}" not in BY_DESIGN and not t.startswith("behaviour_events_y")]
        parts = [SUMMARIES.get(t, f"SELECT '{t}' AS t, count(*) || '/' || coalesce(max(x.xmin::text::bigint), 0)"
                                  f" AS h FROM {t} AS x") for t in tables]
        self.query = "SELECT string_agg(t || '=' || h, ' ' ORDER BY t) FROM (" + " UNION ALL ".join(parts) + ") AS s"
        self.quiet_since: str | None = None  # the next transaction id when the summary was read, if none ran
        self.summary = ""

    def next_id(self) -> tuple[str, bool]:
        """The next transaction id to be assigned, and whether no transaction holding one is running."""
        xmin, xmax = self.db.execute("SELECT pg_snapshot_xmin(s)::text, pg_snapshot_xmax(s)::text"
                                     " FROM pg_current_snapshot() AS s").fetchone()
        return xmax, xmin == xmax

    def now(self) -> set[str]:
        next_id, quiet = self.next_id()
        if self.quiet_since is None or next_id != self.quiet_since:
            self.summary = self.db.execute(self.query).fetchone()[0]
            self.quiet_since = next_id if quiet else None
        return set(self.summary.split())


@pytest.fixture(scope="module")
def state(db: psycopg.Connection) -> StateSummary:
    return StateSummary(db)


@pytest.fixture(scope="module")
def customer_bearer(server: Client) -> dict[str, str]:
    email, password = f"fuzz-{uuid.uuid4().hex[:10]}@example.com", "fuzz-password-123"
    assert server.post("/v1/auth/register", {"email": email, "password": password, "full_name": "Fuzz"}).status == 201
    token = server.post("/v1/auth/login", {"email": email, "password": password}).json["access_token"]
    return {"Authorization": f"Bearer {token}"}


def check(case: Any, headers: dict[str, str], state: StateSummary) -> None:
    before = state.now()
    response = case.call(headers=headers)
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:500])
    if response.status_code >= 400:
        error = response.json()["error"]
        assert set(error) == {"code", "message", "details"}, response.text[:500]
        changed = sorted(before ^ state.now())
        assert not changed, (case.method, case.path, response.status_code, changed)


FUZZED = [(r.method, r.path) for r in ROUTES if r.path.startswith("/v1/")]


def fuzz(fuzz_schema: Any, method: str, path: str, headers: dict[str, str], state: StateSummary) -> None:
    operation = fuzz_schema[path][method]
    strategy = operation.as_strategy()

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case: Any) -> None:
        check(case, headers, state)

    run()


@pytest.mark.parametrize(("method", "path"), FUZZED)
def test_fuzz_anonymous(fuzz_schema: Any, method: str, path: str, state: StateSummary) -> None:
    fuzz(fuzz_schema, method, path, {}, state)


@pytest.mark.parametrize(("method", "path"), FUZZED)
def test_fuzz_signed_in(fuzz_schema: Any, method: str, path: str, customer_bearer: dict[str, str],
                        state: StateSummary) -> None:
    fuzz(fuzz_schema, method, path, customer_bearer, state)


def test_the_state_summary_sees_committed_writes_and_nothing_else(db: psycopg.Connection, state: StateSummary,
                                                                   admin_url: str) -> None:
    before = state.now()
    assert state.now() == before
    with db.transaction(force_rollback=True):
        db.execute("INSERT INTO shop.categories (slug, name) VALUES ('fuzz-state-probe', 'Probe')")
    assert state.now() == before  # rolled back: no change
    db.execute("UPDATE shop.store_settings SET prices_include_tax = prices_include_tax")  # same values, new version
    assert {c.split("=")[0] for c in before ^ state.now()} >= {"shop.store_settings"}
    # A write committed by another connection right after a summary was read (without anything else taking
    # a transaction id in between) is seen too: the summary is not reused across it.
    before = state.now()
    with psycopg.connect(admin_url, autocommit=True) as other:
        other.execute("UPDATE shop.store_settings SET prices_include_tax = prices_include_tax")
    assert {c.split("=")[0] for c in before ^ state.now()} >= {"shop.store_settings"}
