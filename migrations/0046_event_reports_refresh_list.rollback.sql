-- Undoes 0046: the event reports leave the refresh list; the previous sql/reporting/events.sql brings
-- back shop.refresh_event_reports when applied.
SET LOCAL ROLE postcart_owner;

DELETE FROM reporting.refreshes
WHERE materialized_view IN ('reporting.conversion_funnel_daily', 'reporting.search_terms_without_results');

RESET ROLE;
