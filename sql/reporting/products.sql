-- Best sellers (docs/reporting.md): units and revenue per product and period. A materialized view
-- (migrations/0043_reporting_materialized.sql: definition and keys), refreshed by the worker
-- (sql/reporting/refresh.sql); comments and grants here.

-- == reporting.top_products ==========================================================================
COMMENT ON MATERIALIZED VIEW reporting.top_products IS
'Units and revenue per product, currency and period: one row per product sold in the period, for periods '
'of three kinds (period = week (ISO, from Monday) or month, all time; day, the last 7 days (UTC) only; '
'period_start its first day, UTC). '
'Cancelled orders and lines of deleted products left out. Top 10 of a month: WHERE period = ''month'' AND '
'period_start = ... AND currency = ... ORDER BY revenue DESC LIMIT 10 (indexed). All time: sum the month '
'rows. Materialized: as of its refresh (reporting.refreshes), every 5 '
'minutes. No personal data.';
COMMENT ON COLUMN reporting.top_products.period IS
'Kind of period: week or month (all time), or day (today and the 6 days before, UTC, at the refresh).';
COMMENT ON COLUMN reporting.top_products.period_start IS
'First day of the period (UTC): the day, the Monday of the ISO week, or the 1st of the month.';
COMMENT ON COLUMN reporting.top_products.currency IS 'ISO 4217 currency of revenue.';
COMMENT ON COLUMN reporting.top_products.product_id IS 'Id of the product (uuid), stable across renames.';
COMMENT ON COLUMN reporting.top_products.product_slug IS 'URL name of the product (as of the refresh).';
COMMENT ON COLUMN reporting.top_products.product_name IS 'Display name of the product (as of the refresh).';
COMMENT ON COLUMN reporting.top_products.units IS 'Units ordered in the period (sum of line quantities).';
COMMENT ON COLUMN reporting.top_products.revenue IS
'The lines after discounts, without tax (whether prices include it or not), in minor units; shipping and '
'later refunds are not in it.';

GRANT SELECT ON reporting.top_products TO postcart_analyst;
GRANT SELECT ON reporting.top_products TO postcart_dba;
