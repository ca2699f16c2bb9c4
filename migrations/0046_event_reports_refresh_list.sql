-- The behaviour event reports (migration 0042) join the other materialized reporting views (0043) on
-- reporting.refreshes, so one worker task, reporting.refresh_views, keeps every one of them fresh and
-- records when; their own refresh function goes.
-- depends: 0042_behaviour_events 0043_reporting_materialized

SET LOCAL ROLE postcart_owner;

INSERT INTO reporting.refreshes (materialized_view) VALUES
('reporting.conversion_funnel_daily'), ('reporting.search_terms_without_results');

DROP FUNCTION IF EXISTS shop.refresh_event_reports(integer);

RESET ROLE;
