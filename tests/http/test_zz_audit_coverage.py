"""One of every write, found in the trail: every state-changing route of the route table must have been
called successfully by some HTTP test, and at least one such call must have left audit records under its
X-Request-Id. Runs last in tests/http (hence the name) and reads what conftest.Client recorded for the
whole suite, so the suite's own writes are the audit test; it skips when only part of the suite ran."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from postcart.http.routes import ROUTES

from .conftest import WRITES

# Writes that may change no audited table, each with why. Every other write route must reach audit.records.
NOT_AUDITED = {
    ("POST", "/v1/unsubscribe"): "adds the address to integration.mail_suppressions (machinery); the account's "
                                 "marketing_consent, when it changes, is audited",
    ("POST", "/v1/admin/webhooks/{id}/deliveries/{delivery_id}/replay"):
        "re-queues a delivery of the outbox (integration.webhook_deliveries, machinery with its own log)",
    ("POST", "/v1/auth/refresh"): "rotates the refresh token (auth.refresh_tokens, unaudited bookkeeping)",
    ("POST", "/v1/me/mfa/totp"): "makes a new secret for the client to confirm; nothing is stored until PUT "
                                 "sends it back with a code",
    ("POST", "/v1/events"): "behaviour events are clickstream, not decisions (shop.behaviour_events, in "
                            "audit.unaudited_tables)",
}
HERE = Path(__file__).resolve().parent


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(template)) + r"(\?.*)?$")


WRITE_ROUTES = [(r.method, r.path, _pattern(r.path)) for r in ROUTES if r.method not in ("GET", "HEAD")]


def _route_of(method: str, path: str) -> tuple[str, str] | None:
    # The most specific template wins: /v1/me/addresses/{id} before /v1/me.
    for m, template, pattern in sorted(WRITE_ROUTES, key=lambda r: -len(r[1])):
        if m == method and pattern.match(path):
            return m, template
    return None


def test_every_write_route_is_called_and_audited(request: pytest.FixtureRequest, admin) -> None:
    ran = {Path(str(item.path)).name for item in request.session.items if Path(str(item.path)).parent == HERE}
    every = {p.name for p in HERE.glob("test_*.py")}
    if ran != every:
        pytest.skip(f"needs the whole HTTP suite; not collected: {sorted(every - ran)}")

    succeeded: dict[tuple[str, str], list[str]] = {}
    for method, path, status, request_id in WRITES:
        route = _route_of(method, path)
        if route and 200 <= status < 300 and request_id:
            succeeded.setdefault(route, []).append(request_id)
    never_called = sorted({(m, t) for m, t, _ in WRITE_ROUTES} - set(succeeded))

    audited = {
        row[0] for row in admin.execute(
            "SELECT DISTINCT request_id FROM audit.records WHERE request_id = ANY(%s)",
            [[rid for ids in succeeded.values() for rid in ids]],
        ).fetchall()
    }
    missing = sorted(route for route, ids in succeeded.items()
                     if route not in NOT_AUDITED and not audited.intersection(ids))
    # One assertion, so one run of the suite names every gap.
    assert (never_called, missing) == ([], []), (
        f"write routes no HTTP test calls successfully: {never_called}; "
        f"write routes whose successful calls left nothing in audit.records: {missing}"
    )
