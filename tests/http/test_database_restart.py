"""The database goes away under a trickle of requests and comes back: every answer meanwhile is a quick
503 `database_unavailable` with Retry-After (never a 500, never a 30-second wait), and the pool recovers
by itself: once the server is back, requests succeed again without restarting the app."""

from __future__ import annotations

import threading
import time
from typing import Any

from .conftest import PrivateStack


def test_stop_and_start_the_database_under_requests(private_stack: PrivateStack) -> None:
    api, cluster = private_stack.client, private_stack.cluster
    register = api.post("/v1/auth/register", {"email": "trickle@example.com", "password": "trickle-password",
                                              "full_name": "Trickle"})
    assert register.status == 201
    token = api.post("/v1/auth/login", {"email": "trickle@example.com", "password": "trickle-password"}).json[
        "access_token"]

    answers: list[tuple[float, str, int, Any, float]] = []  # (sent at, path, status, body, seconds)
    stop = threading.Event()

    def trickle() -> None:
        while not stop.is_set():
            for path, kw in (("/v1/products?limit=1", {}), ("/v1/me", {"token": token}), ("/ready", {})):
                sent = time.monotonic()
                r = api.get(path, **kw)
                answers.append((sent, path, r.status, r, time.monotonic() - sent))
            time.sleep(0.02)

    worker = threading.Thread(target=trickle)
    worker.start()
    try:
        time.sleep(0.5)
        down_at = time.monotonic()
        assert cluster.stop()
        time.sleep(3)
        up_at = time.monotonic()
        cluster.start()
        # Back within a few seconds of the server answering, with no restart of the app.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not any(
                a[0] > up_at and a[2] == 200 and a[1] == "/v1/me" for a in answers):
            time.sleep(0.1)
        time.sleep(1)
    finally:
        stop.set()
        worker.join(timeout=60)

    assert all(a[2] in (200, 503) for a in answers), {(a[1], a[2], a[3].text) for a in answers if a[2] not in (200, 503)}
    outage = [a for a in answers if a[2] == 503]
    assert outage, "the outage was not seen"
    for sent, path, status, r, seconds in outage:
        assert r.error_code == "database_unavailable", (path, r.text)
        assert int(r.headers["retry-after"]) > 0
    # At once, not after the pool's whole wait: whatever was asked while the server was down.
    slow = [(a[1], a[2], round(a[4], 2)) for a in answers if down_at < a[0] < up_at - 1 and a[4] > 1]
    assert not slow
    assert not [a for a in answers if a[0] < down_at - 0.05 and a[2] != 200]
    recovered = [a for a in answers if a[0] > up_at and a[2] == 200 and a[1] == "/v1/me"]
    assert recovered, "the pool did not recover"
    first_ok = min(a[0] for a in recovered)
    late_failures = [(a[1], a[3].text) for a in answers if a[0] > first_ok + 1 and a[2] != 200]
    assert not late_failures  # no stale connection left to fail a request after the recovery
