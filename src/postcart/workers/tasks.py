"""What the background worker runs. To add a task, add a Task here: a SQL function that takes a batch
size, does at most that much work in the caller's transaction and returns how much it did (granted to
postcart_worker alone, like the sweeps in sql/auth/50_sweeps.sql). The runner calls it again at once
while it reports a full batch, then waits `interval` seconds, or less when a NOTIFY on one of its
`wake_on` channels arrives (the outbox dispatcher wakes on the channel its trigger notifies)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_QUALIFIED = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class Task:
    name: str
    function: str  # schema-qualified: function(batch_size integer) RETURNS integer
    interval: float  # seconds between runs, give or take a tenth (so several workers drift apart)
    batch_size: int = 1000
    wake_on: tuple[str, ...] = ()  # LISTEN channels whose notifications run the task at once
    role: str = "postcart_worker"  # switched to for each call; the worker logs in as the authenticator
    statement_timeout_ms: int | None = None  # for this task's calls instead of the worker's (10 s)
    # On stop, a batch in flight is finished (up to the runner's STOP_GRACE) unless this is set: for a long,
    # all-or-nothing call that the next run repeats, cancelling (rolling back) loses nothing.
    cancel_on_stop: bool = False

    def __post_init__(self) -> None:
        if not _QUALIFIED.match(self.function):
            raise ValueError(f"task {self.name}: function must be schema.name, not {self.function!r}")
        if self.interval <= 0 or not 1 <= self.batch_size <= 10_000:
            raise ValueError(f"task {self.name}: interval must be positive and batch_size 1 to 10000")


MINUTE = 60.0
HOUR = 60 * MINUTE

# Retention periods live in the functions themselves (docs/operations.md lists them); intervals here only
# say how soon after a row's retention ends it is deleted.
TASKS: tuple[Task, ...] = (
    # The outbox: fans new events out into webhook deliveries (sent by workers/webhooks.py), at once when a
    # transaction that wrote events commits; the interval only backs up a lost notification.
    Task("dispatch_events", "integration.dispatch_events", interval=10.0, wake_on=("integration_events",)),
    Task("sweep_login_attempts", "auth.sweep_login_attempts", interval=5 * MINUTE),
    Task("sweep_idempotency_keys", "integration.sweep_idempotency_keys", interval=15 * MINUTE),
    # Rate limit buckets whose arrival time has passed limit nothing any more (docs/rate-limits.md).
    Task("sweep_rate_limit_buckets", "integration.sweep_rate_limit_buckets", interval=5 * MINUTE),
    # Outbox events handed out over 30 days ago, with their finished deliveries and attempts.
    Task("sweep_events", "integration.sweep_events", interval=HOUR),
    Task("sweep_refresh_tokens", "auth.sweep_refresh_tokens", interval=HOUR),
    Task("sweep_sessions", "auth.sweep_sessions", interval=HOUR),
    Task("sweep_staff_invitations", "auth.sweep_staff_invitations", interval=HOUR),
    Task("sweep_account_requests", "auth.sweep_account_requests", interval=HOUR),
    # Open carts past expires_at become abandoned (cart.abandoned for those with an e-mail and items).
    Task("sweep_abandoned_carts", "shop.sweep_abandoned_carts", interval=15 * MINUTE),
    # Cancels orders left unpaid past their payment method's window, releasing their stock: soon after.
    Task("sweep_unpaid_orders", "shop.sweep_unpaid_orders", interval=MINUTE, batch_size=100),
    # Materialized reporting views, one per call, every 5 minutes; one view of a large shop takes more than
    # the worker's usual 10 s (docs/reporting.md "Freshness").
    Task("refresh_reports", "reporting.refresh_views", interval=5 * MINUTE, batch_size=1,
         statement_timeout_ms=10 * 60 * 1000, cancel_on_stop=True),
    # Behaviour events (docs/events.md): monthly partitions made ahead and dropped after the retention;
    # their reports are refreshed by refresh_reports above.
    Task("maintain_event_partitions", "shop.maintain_event_partitions", interval=HOUR),
    # Recommendations (docs/recommendations.md): the orders and product views queued since the last run are
    # counted; a placed order's outbox notification wakes it, product views wait at most the interval.
    Task("update_recommendations", "shop.update_recommendations", interval=MINUTE,
         wake_on=("integration_events",)),
    Task("sweep_recommendation_sessions", "shop.sweep_recommendation_sessions", interval=HOUR),
)
