-- Customers for analysts: counts, and lifetime value under a pseudonymous key; no personal data leaves
-- auth or shop here.

CREATE OR REPLACE VIEW reporting.customer_signups AS
WITH monthly AS (
    SELECT
        date_trunc('month', a.created_at AT TIME ZONE 'UTC') AS month_start,
        count(*) AS signups
    FROM auth.accounts AS a
    WHERE a.kind = 'customer'
    GROUP BY date_trunc('month', a.created_at AT TIME ZONE 'UTC')
),

months AS (
    SELECT generate_series(
        min(monthly.month_start),
        date_trunc('month', now() AT TIME ZONE 'UTC'),
        interval '1 month'
    ) AS month_start
    FROM monthly
)

SELECT
    m.month_start::date AS month,
    coalesce(mo.signups, 0) AS signups,
    (sum(coalesce(mo.signups, 0)) OVER (ORDER BY m.month_start))::bigint AS customers_to_date
FROM months AS m
LEFT JOIN monthly AS mo ON m.month_start = mo.month_start;

COMMENT ON VIEW reporting.customer_signups IS
'Customer sign-ups per calendar month (UTC), from the first sign-up to the current month, months without '
'sign-ups included as 0. Counts only: no personal data. Staff accounts are not counted.';
COMMENT ON COLUMN reporting.customer_signups.month IS 'First day of the month (UTC), e.g. 2025-03-01.';
COMMENT ON COLUMN reporting.customer_signups.signups IS 'Customer accounts created in that month.';
COMMENT ON COLUMN reporting.customer_signups.customers_to_date IS
'Customer accounts created up to the end of that month (a running total; deleted accounts are not counted).';

GRANT SELECT ON reporting.customer_signups TO postcart_analyst;
GRANT SELECT ON reporting.customer_signups TO postcart_dba;

-- == reporting.customer_lifetime_value ===============================================================
-- Analysts see a customer only as a pseudonymous key: never the account id, e-mail or name.
-- Defined in migrations/0043_reporting_materialized.sql, which needs it before this file runs (the
-- materialized customer_lifetime_value computes its key with it).
COMMENT ON FUNCTION reporting.pseudonymous_key(uuid) IS
'The masked form of a customer for reporting views: 32 hex digits of sha256 over the account id, stable '
'across views and runs, not reversible without the account ids (which analysts cannot read); returns text. '
'tests/sql/33_personal_data.sql checks that reporting columns of customers use it.';

-- A materialized view (migrations/0043_reporting_materialized.sql: definition and unique key), refreshed
-- by the worker (sql/reporting/refresh.sql).
COMMENT ON MATERIALIZED VIEW reporting.customer_lifetime_value IS
'Per customer (pseudonymous key) and currency: first and last order, orders and revenue, cohort (month of '
'the first order), repeat flag and RFM scores with a named segment. Cancelled orders left out, guests not '
'included. An erased customer stays as their key: the orders are kept for accounting. Materialized: as of '
'its refresh (reporting.refreshes), every 5 minutes; recency counts days up to as_of.';
COMMENT ON COLUMN reporting.customer_lifetime_value.customer_key IS
'reporting.pseudonymous_key of the account: the same customer has the same key in every view.';
COMMENT ON COLUMN reporting.customer_lifetime_value.currency IS 'ISO 4217 currency of the orders.';
COMMENT ON COLUMN reporting.customer_lifetime_value.first_order_at IS 'When the first order was placed.';
COMMENT ON COLUMN reporting.customer_lifetime_value.last_order_at IS 'When the latest order was placed.';
COMMENT ON COLUMN reporting.customer_lifetime_value.orders IS 'Orders placed and not cancelled.';
COMMENT ON COLUMN reporting.customer_lifetime_value.revenue IS
'Sum of the orders'' totals before tax, less refunds, in minor units (shipping included).';

COMMENT ON COLUMN reporting.customer_lifetime_value.cohort_month IS
'First day of the month (UTC) of the customer''s first order in this currency: their cohort.';
COMMENT ON COLUMN reporting.customer_lifetime_value.repeat_customer IS
'true when the customer placed more than one order; avg(repeat_customer::int) is the repeat rate.';
COMMENT ON COLUMN reporting.customer_lifetime_value.average_order_value IS 'revenue / orders, rounded (minor units).';
COMMENT ON COLUMN reporting.customer_lifetime_value.recency_days IS
'Days from the last order''s day to as_of (UTC days).';
COMMENT ON COLUMN reporting.customer_lifetime_value.recency_score IS
'1 to 5 from recency_days: 5 up to 30, 4 up to 90, 3 up to 180, 2 up to 365, 1 beyond.';
COMMENT ON COLUMN reporting.customer_lifetime_value.frequency_score IS
'1 to 5 from orders: 1 for 1, 2 for 2, 3 for 3-4, 4 for 5-9, 5 for 10 or more.';
COMMENT ON COLUMN reporting.customer_lifetime_value.monetary_score IS
'1 to 5: the revenue quintile among the customers of this currency (ceil(5 x cume_dist)); equal revenues '
'share a score.';
COMMENT ON COLUMN reporting.customer_lifetime_value.rfm_segment IS
'From the recency (R) and frequency (F) scores, first match: champions (R>=4, F>=4), loyal (R>=3, F>=3), '
'new (R>=4, F=1), promising (R>=3), at_risk (F>=3), hibernating (R=2), lost (R=1).';
COMMENT ON COLUMN reporting.customer_lifetime_value.as_of IS
'The UTC day of the refresh that computed the row: recency is counted up to it.';

REVOKE EXECUTE ON FUNCTION reporting.pseudonymous_key(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION reporting.pseudonymous_key(uuid) TO postcart_analyst;
GRANT EXECUTE ON FUNCTION reporting.pseudonymous_key(uuid) TO postcart_dba;
GRANT SELECT ON reporting.customer_lifetime_value TO postcart_analyst;
GRANT SELECT ON reporting.customer_lifetime_value TO postcart_dba;
