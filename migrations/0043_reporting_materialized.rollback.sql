-- Undoes 0043. The previous sql/reporting/sales.sql and customers.sql put back sales_daily and
-- customer_lifetime_value as plain views when applied.
SET LOCAL ROLE postcart_owner;

REVOKE USAGE ON SCHEMA reporting FROM postcart_worker;
DROP FUNCTION IF EXISTS reporting.refresh_views(integer);
DROP TABLE IF EXISTS reporting.refreshes;
DROP MATERIALIZED VIEW IF EXISTS reporting.variant_sell_through;
DROP MATERIALIZED VIEW IF EXISTS reporting.coupon_performance;
DROP MATERIALIZED VIEW IF EXISTS reporting.customer_lifetime_value;
DROP MATERIALIZED VIEW IF EXISTS reporting.top_products;
DROP MATERIALIZED VIEW IF EXISTS reporting.sales_daily;

RESET ROLE;
