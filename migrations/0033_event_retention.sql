-- Retention of the outbox (issue 8): the worker deletes events handed out more than 30 days ago whose
-- deliveries are all finished, with those deliveries and their attempts (integration.sweep_events in
-- sql/integration/sweeps.sql). This index finds them oldest first; undispatched events are not in it.
-- depends: 0029_webhooks

SET LOCAL ROLE postcart_owner;

CREATE INDEX events_dispatched_at_idx ON integration.events (dispatched_at) WHERE dispatched_at IS NOT NULL;

RESET ROLE;
