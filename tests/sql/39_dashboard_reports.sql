-- Staff reports (api.admin_report, docs/dashboard.md): only the reporting roles may call it; only the
-- allowlisted views are reports, each read only once it exists (so a view added later is picked up without
-- a change here); filters, order, pages and CSV follow the view's own columns.
BEGIN;
SELECT plan(15);

SELECT is(
    (SELECT p.prosecdef AND p.proconfig @> ARRAY['search_path=pg_catalog, extensions, pg_temp']
     FROM pg_proc AS p WHERE p.oid = 'api.admin_report(jsonb)'::regprocedure),
    TRUE,
    'api.admin_report runs as its owner with a fixed search_path (staff hold no grant on reporting)'
);

-- Staff members as migrations make them: postcart_staff plus their permission roles.
CREATE ROLE tst39_support NOLOGIN IN ROLE postcart_staff, support_agent;
CREATE ROLE tst39_orders NOLOGIN IN ROLE postcart_staff, order_manager;
CREATE ROLE tst39_admin NOLOGIN IN ROLE postcart_staff, store_admin;
CREATE ROLE tst39_stock NOLOGIN IN ROLE postcart_staff, inventory_manager;

SET LOCAL ROLE tst39_support;
SELECT throws_ok(
    $$SELECT api.admin_report('{"name": "sales_daily"}')$$, '42501', NULL,
    'support_agent may not read reports: the database refuses the call'
);
RESET ROLE;
SET LOCAL ROLE postcart_customer;
SELECT throws_ok(
    $$SELECT api.admin_report('{"name": "sales_daily"}')$$, '42501', NULL, 'nor may a customer'
);
RESET ROLE;

-- What the view holds, read before switching: staff have no access to reporting themselves.
SELECT set_config('tst39.sales', (
    SELECT coalesce(jsonb_agg(to_jsonb(v) ORDER BY v.day, v.currency), '[]')::text
    FROM (SELECT * FROM reporting.sales_daily ORDER BY day, currency LIMIT 100) AS v
), TRUE);
SET LOCAL ROLE tst39_orders;
SELECT throws_ok('SELECT * FROM reporting.sales_daily', '42501', NULL, 'staff cannot read the view itself');
SELECT is(
    api.admin_report('{"name": "sales_daily", "limit": "100"}') -> 'items',
    current_setting('tst39.sales')::jsonb,
    'order_manager reads sales_daily: the view''s rows by day and currency'
);
SELECT throws_ok(
    $$SELECT api.admin_report('{"name": "audit_log"}')$$, 'PT404', 'report_not_found',
    'a reporting view that is not on the allowlist is no report'
);
SELECT throws_ok(
    $$SELECT api.admin_report('{"name": "sales_daily\"; DROP TABLE shop.orders; --"}')$$, 'PT404', 'report_not_found',
    'a name is looked up in the allowlist, never put into SQL'
);
RESET ROLE;

-- An allowlisted report whose view is missing (here: dropped for this transaction, whatever its kind).
DO $$
BEGIN
    IF to_regclass('reporting.top_products') IS NOT NULL THEN
        EXECUTE CASE (SELECT relkind FROM pg_class WHERE oid = 'reporting.top_products'::regclass)
            WHEN 'm' THEN 'DROP MATERIALIZED VIEW reporting.top_products CASCADE'
            ELSE 'DROP VIEW reporting.top_products CASCADE'
        END;
    END IF;
END
$$;
SET LOCAL ROLE tst39_admin;
SELECT throws_ok(
    $$SELECT api.admin_report('{"name": "top_products"}')$$, 'PT404', 'report_not_found',
    'an allowlisted report whose view does not exist yet is 404 report_not_found'
);
RESET ROLE;

-- Once the view exists it is a report, read with its own columns (made as migrations make views).
SET LOCAL ROLE postcart_owner;
CREATE VIEW reporting.top_products AS
SELECT * FROM (VALUES
    ('month', date '2026-01-01', 'EUR', 'Mug', 5, 5000),
    ('month', date '2026-02-01', 'EUR', 'Mug', 1, 1000),
    ('month', date '2026-02-01', 'EUR', 'Tee', 2, 4000),
    ('day', date '2026-02-03', 'EUR', 'Tee', 2, 4000)
) AS t (period, period_start, currency, product_name, units, revenue);
RESET ROLE;
SET LOCAL ROLE tst39_stock;
SELECT is(
    (SELECT jsonb_agg(jsonb_build_array(i ->> 'period_start', i ->> 'product_name'))
     FROM jsonb_array_elements(api.admin_report('{"name": "top_products", "period": "month"}') -> 'items') AS i),
    '[["2026-02-01", "Tee"], ["2026-02-01", "Mug"], ["2026-01-01", "Mug"]]'::jsonb,
    'a view created later is picked up: newest period first, then by revenue; period filters'
);
SELECT is(
    api.admin_report('{"name": "top_products", "period": "month", "until": "2026-01-31"}') -> 'items',
    '[{"period": "month", "period_start": "2026-01-01", "currency": "EUR", "product_name": "Mug", "units": 5, "revenue": 5000}]'::jsonb,
    'until is inclusive and applies to the report''s date column'
);
SELECT is(
    api.admin_report('{"name": "top_products", "limit": "2"}') - 'items',
    jsonb_build_object(
        'report', 'top_products',
        'columns', '["period", "period_start", "currency", "product_name", "units", "revenue"]'::jsonb,
        'next_cursor', shop.encode_cursor('{"offset": 2}')
    ),
    'a page names the columns and where the next page starts'
);
SELECT is(
    api.admin_report(jsonb_build_object('name', 'top_products', 'limit', '3', 'cursor', shop.encode_cursor('{"offset": 2}')))
    -> 'items' -> 0 ->> 'period_start',
    '2026-02-01',
    'the next page continues after the first'
);
SELECT is(
    api.admin_report('{"name": "top_products", "format": "csv", "since": "2026-02-02"}') #>> '{}',
    E'period,period_start,currency,product_name,units,revenue\r\nday,2026-02-03,EUR,Tee,2,4000\r\n',
    'format csv: a header row and every matching row'
);
SELECT throws_ok(
    $$SELECT api.admin_report('{"name": "low_stock", "since": "2026-01-01", "until": "2026-13-01", "limit": "101"}')$$,
    'PT400', 'validation_failed', 'bad parameters are refused'
);
RESET ROLE;
SELECT is(
    shop.date_field_error('{"d": "2026-02-29"}', 'd') = 'is not a valid date'
    AND shop.date_field_error('{"d": "2028-02-29"}', 'd') IS NULL
    AND shop.date_field_error('{"d": "29.02.2028"}', 'd') LIKE 'must be a date%',
    TRUE,
    'dates are YYYY-MM-DD and real days'
);

SELECT * FROM finish();
ROLLBACK;
