-- Undoes 0033 (integration.sweep_events goes first: sql/integration/sweeps.sql is applied after migrations).
SET LOCAL ROLE postcart_owner;

DROP FUNCTION IF EXISTS integration.sweep_events(integer);
DROP INDEX IF EXISTS integration.events_dispatched_at_idx;

RESET ROLE;
