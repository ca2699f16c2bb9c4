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
CREATE OR REPLACE FUNCTION reporting.pseudonymous_key(p_id uuid)
RETURNS text
LANGUAGE sql
IMMUTABLE
AS $$
    -- A one-way digest: it links a customer's rows across views without naming the account (ids are
    -- random, so there is no dictionary to try); 16 bytes are plenty to keep keys distinct.
    SELECT left(encode(sha256(convert_to('postcart customer ' || p_id::text, 'UTF8')), 'hex'), 32)
$$;
COMMENT ON FUNCTION reporting.pseudonymous_key(uuid) IS
'The masked form of a customer for reporting views: 32 hex digits of sha256 over the account id, stable '
'across views and runs, not reversible without the account ids (which analysts cannot read); returns text. '
'tests/sql/33_personal_data.sql checks that reporting columns of customers use it.';

CREATE OR REPLACE VIEW reporting.customer_lifetime_value AS
SELECT
    reporting.pseudonymous_key(o.customer_id) AS customer_key,
    o.currency,
    min(o.created_at) AS first_order_at,
    max(o.created_at) AS last_order_at,
    count(*) AS orders,
    sum(o.total - o.tax_total - o.refunded_amount) AS revenue
FROM shop.orders AS o
WHERE o.customer_id IS NOT NULL AND o.status <> 'cancelled'
GROUP BY o.customer_id, o.currency;

COMMENT ON VIEW reporting.customer_lifetime_value IS
'Per customer (pseudonymous key) and currency: first and last order, orders and revenue, cancelled orders '
'left out, guests not included. An erased customer stays as their key: the orders are kept for accounting.';
COMMENT ON COLUMN reporting.customer_lifetime_value.customer_key IS
'reporting.pseudonymous_key of the account: the same customer has the same key in every view.';
COMMENT ON COLUMN reporting.customer_lifetime_value.currency IS 'ISO 4217 currency of the orders.';
COMMENT ON COLUMN reporting.customer_lifetime_value.first_order_at IS 'When the first order was placed.';
COMMENT ON COLUMN reporting.customer_lifetime_value.last_order_at IS 'When the latest order was placed.';
COMMENT ON COLUMN reporting.customer_lifetime_value.orders IS 'Orders placed and not cancelled.';
COMMENT ON COLUMN reporting.customer_lifetime_value.revenue IS
'Sum of the orders'' totals before tax, less refunds, in minor units (shipping included).';

REVOKE EXECUTE ON FUNCTION reporting.pseudonymous_key(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION reporting.pseudonymous_key(uuid) TO postcart_analyst;
GRANT EXECUTE ON FUNCTION reporting.pseudonymous_key(uuid) TO postcart_dba;
GRANT SELECT ON reporting.customer_lifetime_value TO postcart_analyst;
GRANT SELECT ON reporting.customer_lifetime_value TO postcart_dba;
