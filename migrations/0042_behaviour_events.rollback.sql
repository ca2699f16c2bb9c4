-- Undoes 0042. The reporting views over the events (sql/reporting/events.sql) go first.
SET LOCAL ROLE postcart_owner;

DROP MATERIALIZED VIEW IF EXISTS reporting.conversion_funnel_daily;
DROP MATERIALIZED VIEW IF EXISTS reporting.search_terms_without_results;
DELETE FROM integration.rate_limit_rules
WHERE name = 'events_per_ip';
DELETE FROM audit.unaudited_tables
WHERE table_name = 'shop.behaviour_events';
DROP TABLE shop.behaviour_events;
DROP TABLE shop.behaviour_event_settings;

RESET ROLE;
