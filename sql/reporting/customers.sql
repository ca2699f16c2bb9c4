-- Customer counts for analysts: no personal data leaves auth here.

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
