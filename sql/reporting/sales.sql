-- Sales reporting (docs/reporting.md): orders, units and money per day and currency. Runs with the
-- owner's rights like every reporting view; amounts and counts only, no personal data.

-- == reporting.sales_daily ===========================================================================
CREATE OR REPLACE VIEW reporting.sales_daily AS
WITH units AS (
    SELECT i.order_id, sum(i.quantity) AS items
    FROM shop.order_items AS i
    GROUP BY i.order_id
)

SELECT
    -- The order's day in UTC: when it was placed, whatever happened to it since.
    (o.created_at AT TIME ZONE 'UTC')::date AS day,
    o.currency,
    count(*) AS orders,
    coalesce(sum(u.items), 0) AS items,
    sum(o.subtotal) AS gross,
    sum(o.discount_total) AS discounts,
    sum(o.tax_total) AS tax,
    sum(o.shipping_total) AS shipping,
    -- total always contains the tax (included in the prices, or added to them): taking it out gives the
    -- revenue before tax, shipping included.
    sum(o.total - o.tax_total) AS net,
    sum(o.refunded_amount) AS refunds
FROM shop.orders AS o
LEFT JOIN units AS u ON o.id = u.order_id
WHERE o.status <> 'cancelled'
GROUP BY (o.created_at AT TIME ZONE 'UTC')::date, o.currency;

COMMENT ON VIEW reporting.sales_daily IS
'Sales per day (UTC, by when the order was placed) and currency: every order except cancelled ones, '
'paid or not yet (filter on nothing else here; an unpaid order cancelled later drops out). Amounts in '
'minor units of currency; never add different currencies. net + tax = the orders'' totals. No personal '
'data.';
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
