-- Sales reporting (docs/reporting.md): orders, units and money per day and currency. Runs with the
-- owner's rights like every reporting view; amounts and counts only, no personal data.

-- == reporting.sales_daily ===========================================================================
-- A materialized view (migrations/0043_reporting_materialized.sql: its definition and unique key),
-- refreshed by the worker (sql/reporting/refresh.sql); its comments and grants are kept here.
COMMENT ON MATERIALIZED VIEW reporting.sales_daily IS
'Sales per day (UTC, by when the order was placed) and currency: every order except cancelled ones, '
'paid or not yet (filter on nothing else here; an unpaid order cancelled later drops out). Amounts in '
'minor units of currency; never add different currencies. net + tax = the orders'' totals. No personal '
'data. Materialized: as of its refresh (reporting.refreshes), every 5 minutes.';
COMMENT ON COLUMN reporting.sales_daily.day IS 'The day the orders were placed (UTC).';
COMMENT ON COLUMN reporting.sales_daily.currency IS 'ISO 4217 currency of the amounts in this row.';
COMMENT ON COLUMN reporting.sales_daily.orders IS 'Orders placed that day in this currency and not cancelled.';
COMMENT ON COLUMN reporting.sales_daily.items IS 'Units ordered in those orders (sum of line quantities).';
COMMENT ON COLUMN reporting.sales_daily.gross IS
'Lines at their unit prices before discounts (minor units; tax included when the store''s prices include it).';
COMMENT ON COLUMN reporting.sales_daily.discounts IS 'Discounts given by promotions and coupons (minor units).';
COMMENT ON COLUMN reporting.sales_daily.tax IS 'Tax on lines and shipping (minor units).';
COMMENT ON COLUMN reporting.sales_daily.shipping IS 'Shipping charged (minor units).';
COMMENT ON COLUMN reporting.sales_daily.net IS
'Revenue before tax: order totals minus their tax, shipping included, refunds not deducted (minor units).';
COMMENT ON COLUMN reporting.sales_daily.refunds IS
'Refunds recorded so far on those orders (returns), whenever they happened (minor units).';

GRANT SELECT ON reporting.sales_daily TO postcart_analyst;
GRANT SELECT ON reporting.sales_daily TO postcart_dba;
