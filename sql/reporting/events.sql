-- Behaviour reports (docs/reporting.md): the conversion funnel per day and the searches that found nothing.
-- Both are materialized (a day's distinct sessions over months of events cannot be counted in under a
-- second), refreshed CONCURRENTLY by the worker's refresh_reports task (reporting.refresh_views), so
-- readers never wait.
-- CREATE ... IF NOT EXISTS: a changed definition needs a migration that drops the view first.
-- Sessions are counted, never shown: no session id, account id or other personal data leaves here.

-- == reporting.conversion_funnel_daily ===============================================================
CREATE MATERIALIZED VIEW IF NOT EXISTS reporting.conversion_funnel_daily AS
WITH steps AS (
    SELECT
        (e.occurred_at AT TIME ZONE 'UTC')::date AS day,
        count(DISTINCT e.session_id) AS sessions,
        count(DISTINCT e.session_id) FILTER (WHERE e.type = 'product_view') AS product_views,
        count(DISTINCT e.session_id) FILTER (WHERE e.type = 'add_to_cart') AS add_to_carts,
        count(DISTINCT e.session_id) FILTER (WHERE e.type = 'checkout_started') AS checkouts
    FROM shop.behaviour_events AS e
    WHERE e.source = 'client'
    GROUP BY (e.occurred_at AT TIME ZONE 'UTC')::date
),

placed AS (
    -- Orders come from the orders themselves, which are never lost, not from events a client may not send.
    SELECT
        (o.created_at AT TIME ZONE 'UTC')::date AS day,
        count(*) AS orders
    FROM shop.orders AS o
    WHERE o.created_at >= (SELECT min(e.occurred_at) FROM shop.behaviour_events AS e)
    GROUP BY (o.created_at AT TIME ZONE 'UTC')::date
)

SELECT
    coalesce(s.day, p.day) AS day,
    coalesce(s.sessions, 0) AS sessions,
    coalesce(s.product_views, 0) AS product_views,
    coalesce(s.add_to_carts, 0) AS add_to_carts,
    coalesce(s.checkouts, 0) AS checkouts,
    coalesce(p.orders, 0) AS orders,
    round(coalesce(p.orders, 0)::numeric / nullif(s.sessions, 0), 4) AS conversion_rate
FROM steps AS s
FULL JOIN placed AS p ON s.day = p.day;

CREATE UNIQUE INDEX IF NOT EXISTS conversion_funnel_daily_day_idx ON reporting.conversion_funnel_daily (day);

COMMENT ON MATERIALIZED VIEW reporting.conversion_funnel_daily IS
'The storefront funnel per day (UTC): browsing sessions (the clients'' session ids in POST /v1/events) that '
'viewed a product, added to a cart and started a checkout, and the orders placed (from the orders, not from '
'events). Materialized: refreshed CONCURRENTLY by the worker every 5 minutes (task refresh_reports), '
'so the current day lags by up to that. Days go back as far as the events are kept (13 months by default). '
'Counts only, no personal data.';
COMMENT ON COLUMN reporting.conversion_funnel_daily.day IS 'The day (UTC).';
COMMENT ON COLUMN reporting.conversion_funnel_daily.sessions IS 'Browsing sessions that sent any event that day.';
COMMENT ON COLUMN reporting.conversion_funnel_daily.product_views IS 'Sessions that viewed at least one product.';
COMMENT ON COLUMN reporting.conversion_funnel_daily.add_to_carts IS 'Sessions that added to a cart.';
COMMENT ON COLUMN reporting.conversion_funnel_daily.checkouts IS 'Sessions that started a checkout.';
COMMENT ON COLUMN reporting.conversion_funnel_daily.orders IS
'Orders placed that day, whatever became of them since (cancelled ones included).';
COMMENT ON COLUMN reporting.conversion_funnel_daily.conversion_rate IS
'orders / sessions, to 4 decimals; NULL on a day without sessions.';

GRANT SELECT ON reporting.conversion_funnel_daily TO postcart_analyst;
GRANT SELECT ON reporting.conversion_funnel_daily TO postcart_dba;

-- == reporting.search_terms_without_results ==========================================================
CREATE MATERIALIZED VIEW IF NOT EXISTS reporting.search_terms_without_results AS
SELECT
    e.query AS term,
    count(*) FILTER (WHERE e.result_count = 0) AS searches,
    count(DISTINCT e.session_id) FILTER (WHERE e.result_count = 0) AS sessions,
    min(e.occurred_at) FILTER (WHERE e.result_count = 0) AS first_searched_at,
    max(e.occurred_at) FILTER (WHERE e.result_count = 0) AS last_searched_at,
    max(e.occurred_at) FILTER (WHERE e.result_count > 0) AS last_found_at
FROM shop.behaviour_events AS e
WHERE
    e.source = 'server'
    AND e.type = 'search'
    -- What looks like an e-mail address or a long number (phone, card, order) is not a product term.
    AND e.query !~ '@'
    AND e.query !~ '[0-9]{6}'
GROUP BY e.query
HAVING count(*) FILTER (WHERE e.result_count = 0) > 0;

CREATE UNIQUE INDEX IF NOT EXISTS search_terms_without_results_term_idx
ON reporting.search_terms_without_results (term);

COMMENT ON MATERIALIZED VIEW reporting.search_terms_without_results IS
'Search terms that found no product (GET /v1/products?q=, recorded by the server whether the answer was '
'cached or not), normalised (lower case, single spaces), with how often; what the catalog lacks or names '
'otherwise. Terms that look like e-mail addresses or contain 6 digits in a row are left out. Materialized: '
'refreshed CONCURRENTLY by the worker every 5 minutes (task refresh_reports). No personal data.';
COMMENT ON COLUMN reporting.search_terms_without_results.term IS 'The search text, normalised.';
COMMENT ON COLUMN reporting.search_terms_without_results.searches IS 'Searches for it that found nothing.';
COMMENT ON COLUMN reporting.search_terms_without_results.sessions IS
'Browsing sessions among those searches (searches without an X-Session-Id header count as none).';
COMMENT ON COLUMN reporting.search_terms_without_results.first_searched_at IS
'The first search that found nothing (within the events kept).';
COMMENT ON COLUMN reporting.search_terms_without_results.last_searched_at IS 'The last search that found nothing.';
COMMENT ON COLUMN reporting.search_terms_without_results.last_found_at IS
'The last search for it that found something, NULL if none: later than last_searched_at means it is fixed.';

GRANT SELECT ON reporting.search_terms_without_results TO postcart_analyst;
GRANT SELECT ON reporting.search_terms_without_results TO postcart_dba;
