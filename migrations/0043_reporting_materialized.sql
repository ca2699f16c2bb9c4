-- Reporting on a large shop (issue 10, parts 2 and 5; docs/reporting.md): the views that aggregate every
-- order become MATERIALIZED views, so an analyst's query reads a few thousand precomputed rows instead of
-- a million orders. The worker refreshes them CONCURRENTLY (readers never wait) through
-- reporting.refresh_views (sql/reporting/refresh.sql), which records each refresh in reporting.refreshes.
-- Definitions live here, not in sql/reporting/, because a materialized view cannot be CREATE OR REPLACEd;
-- their comments and grants stay in the repeatable files. A change of definition is a new migration.
-- depends: 0025_carts_orders 0027_orders_lifecycle 0041_audit_erasure

SET LOCAL ROLE postcart_owner;

-- The materialized views need the masking function before the repeatable files run (a fresh database
-- applies every migration first); sql/reporting/customers.sql keeps its comment and grants.
CREATE OR REPLACE FUNCTION reporting.pseudonymous_key(p_id uuid)
RETURNS text
LANGUAGE sql
IMMUTABLE
AS $$
    -- A one-way digest: it links a customer's rows across views without naming the account (ids are
    -- random, so there is no dictionary to try); 16 bytes are plenty to keep keys distinct.
    SELECT left(encode(sha256(convert_to('postcart customer ' || p_id::text, 'UTF8')), 'hex'), 32)
$$;

-- == reporting.sales_daily ===========================================================================
DROP VIEW IF EXISTS reporting.sales_daily;
CREATE MATERIALIZED VIEW reporting.sales_daily AS
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
CREATE UNIQUE INDEX sales_daily_key ON reporting.sales_daily (day, currency);

-- == reporting.top_products ==========================================================================
-- Per period (ISO week and month for all time, day for the last 7 days), currency and product. Days are
-- kept for a week only: a row per product and day would be most of the rows (a million orders over a
-- year make some 700,000) and each refresh compares every row. Lines of deleted products (product_id
-- set NULL) are left out: a product with orders is archived, not deleted, in normal use.
CREATE MATERIALIZED VIEW reporting.top_products AS
WITH daily AS (
    SELECT
        (o.created_at AT TIME ZONE 'UTC')::date AS day,
        o.currency,
        i.product_id,
        sum(i.quantity) AS units,
        -- The line after its discounts, without tax whether the prices included it or not.
        sum(i.line_total - CASE WHEN o.prices_include_tax THEN i.tax ELSE 0 END) AS revenue
    FROM shop.order_items AS i
    INNER JOIN shop.orders AS o ON i.order_id = o.id
    WHERE o.status <> 'cancelled' AND i.product_id IS NOT NULL
    GROUP BY (o.created_at AT TIME ZONE 'UTC')::date, o.currency, i.product_id
),

periods AS (
    SELECT 'day' AS period, d.day AS period_start, d.currency, d.product_id, d.units, d.revenue
    FROM daily AS d
    WHERE d.day >= (now() AT TIME ZONE 'UTC')::date - 6
    UNION ALL
    SELECT
        'week' AS period, date_trunc('week', d.day)::date AS period_start, d.currency, d.product_id,
        sum(d.units) AS units, sum(d.revenue) AS revenue
    FROM daily AS d
    GROUP BY date_trunc('week', d.day)::date, d.currency, d.product_id
    UNION ALL
    SELECT
        'month' AS period, date_trunc('month', d.day)::date AS period_start, d.currency, d.product_id,
        sum(d.units) AS units, sum(d.revenue) AS revenue
    FROM daily AS d
    GROUP BY date_trunc('month', d.day)::date, d.currency, d.product_id
)

SELECT
    pe.period,
    pe.period_start,
    pe.currency,
    pe.product_id,
    p.slug AS product_slug,
    p.name AS product_name,
    pe.units,
    pe.revenue
FROM periods AS pe
INNER JOIN shop.products AS p ON pe.product_id = p.id;
CREATE UNIQUE INDEX top_products_key ON reporting.top_products (period, period_start, currency, product_id);
-- "The top 10 of a period" (ORDER BY revenue DESC LIMIT 10) reads the first rows of one index range.
CREATE INDEX top_products_revenue_idx ON reporting.top_products (period, period_start, currency, revenue DESC);

-- == reporting.customer_lifetime_value ===============================================================
-- Recency is counted in days up to the refresh's day (UTC), so a row changes once a day or when the
-- customer orders, and a concurrent refresh rewrites only those rows.
DROP VIEW IF EXISTS reporting.customer_lifetime_value;
CREATE MATERIALIZED VIEW reporting.customer_lifetime_value AS
WITH per_customer AS (
    SELECT
        o.customer_id,
        o.currency,
        min(o.created_at) AS first_order_at,
        max(o.created_at) AS last_order_at,
        count(*) AS orders,
        sum(o.total - o.tax_total - o.refunded_amount) AS revenue
    FROM shop.orders AS o
    WHERE o.customer_id IS NOT NULL AND o.status <> 'cancelled'
    GROUP BY o.customer_id, o.currency
),

scored AS (
    SELECT
        pc.*,
        (now() AT TIME ZONE 'UTC')::date - (pc.last_order_at AT TIME ZONE 'UTC')::date AS recency_days,
        CASE
            WHEN pc.orders >= 10 THEN 5 WHEN pc.orders >= 5 THEN 4 WHEN pc.orders >= 3 THEN 3
            WHEN pc.orders = 2 THEN 2 ELSE 1
        END AS frequency_score,
        -- Quintiles of revenue within the currency; equal revenues share a score.
        ceil(5 * cume_dist() OVER (PARTITION BY pc.currency ORDER BY pc.revenue))::integer AS monetary_score
    FROM per_customer AS pc
),

rfm AS (
    SELECT
        s.*,
        CASE
            WHEN s.recency_days <= 30 THEN 5 WHEN s.recency_days <= 90 THEN 4 WHEN s.recency_days <= 180 THEN 3
            WHEN s.recency_days <= 365 THEN 2 ELSE 1
        END AS recency_score
    FROM scored AS s
)

SELECT
    reporting.pseudonymous_key(r.customer_id) AS customer_key,
    r.currency,
    r.first_order_at,
    r.last_order_at,
    r.orders,
    r.revenue,
    date_trunc('month', r.first_order_at AT TIME ZONE 'UTC')::date AS cohort_month,
    r.orders > 1 AS repeat_customer,
    round(r.revenue / r.orders) AS average_order_value,
    r.recency_days,
    r.recency_score,
    r.frequency_score,
    r.monetary_score,
    CASE
        WHEN r.recency_score >= 4 AND r.frequency_score >= 4 THEN 'champions'
        WHEN r.recency_score >= 3 AND r.frequency_score >= 3 THEN 'loyal'
        WHEN r.recency_score >= 4 AND r.frequency_score = 1 THEN 'new'
        WHEN r.recency_score >= 3 THEN 'promising'
        WHEN r.frequency_score >= 3 THEN 'at_risk'
        WHEN r.recency_score = 2 THEN 'hibernating'
        ELSE 'lost'
    END AS rfm_segment,
    (now() AT TIME ZONE 'UTC')::date AS as_of
FROM rfm AS r;
CREATE UNIQUE INDEX customer_lifetime_value_key ON reporting.customer_lifetime_value (customer_key, currency);
CREATE INDEX customer_lifetime_value_segment_idx ON reporting.customer_lifetime_value (currency, rfm_segment);

-- == reporting.coupon_performance ====================================================================
-- One row per promotion and currency of the orders that redeemed it; a promotion never redeemed has one
-- row with currency NULL and zeros.
CREATE MATERIALIZED VIEW reporting.coupon_performance AS
WITH used AS (
    SELECT
        r.promotion_id,
        o.currency,
        count(*) AS redemptions,
        count(*) FILTER (WHERE r.released_at IS NULL) AS orders,
        count(DISTINCT r.customer_id) FILTER (WHERE r.released_at IS NULL) AS customers,
        coalesce(sum(r.amount) FILTER (WHERE r.released_at IS NULL), 0) AS discount_given,
        coalesce(sum(o.total - o.tax_total) FILTER (WHERE r.released_at IS NULL), 0) AS revenue
    FROM shop.promotion_redemptions AS r
    INNER JOIN shop.orders AS o ON r.order_id = o.id
    GROUP BY r.promotion_id, o.currency
)

SELECT
    p.id AS promotion_id,
    p.code::text AS coupon_code,
    p.name AS promotion_name,
    p.kind,
    p.value,
    u.currency,
    coalesce(u.redemptions, 0) AS redemptions,
    coalesce(u.orders, 0) AS orders,
    coalesce(u.customers, 0) AS customers,
    coalesce(u.discount_given, 0) AS discount_given,
    coalesce(u.revenue, 0) AS revenue,
    p.times_used,
    p.usage_limit,
    round(100.0 * p.times_used / p.usage_limit, 1) AS usage_percent,
    p.per_customer_limit,
    p.active,
    p.starts_at,
    p.ends_at
FROM shop.promotions AS p
LEFT JOIN used AS u ON p.id = u.promotion_id;
CREATE UNIQUE INDEX coupon_performance_key ON reporting.coupon_performance (promotion_id, currency);

-- == reporting.variant_sell_through ==================================================================
-- Pricing signals (issue 10, part 5): the last 7 and 30 days of demand per variant against its stock, as
-- of the refresh (window_end).
CREATE MATERIALIZED VIEW reporting.variant_sell_through AS
WITH sold AS (
    SELECT
        i.variant_id,
        sum(i.quantity) FILTER (WHERE o.created_at >= now() - interval '7 days') AS units_7d,
        sum(i.quantity) AS units_30d,
        max(o.created_at) AS last_sold_at
    FROM shop.orders AS o
    INNER JOIN shop.order_items AS i ON o.id = i.order_id
    WHERE o.created_at >= now() - interval '30 days' AND o.status <> 'cancelled' AND i.variant_id IS NOT NULL
    GROUP BY i.variant_id
),

stock AS (
    SELECT s.variant_id, sum(s.on_hand) AS on_hand, sum(s.reserved) AS reserved
    FROM shop.stock_levels AS s
    GROUP BY s.variant_id
),

measured AS (
    SELECT
        v.id AS variant_id,
        v.product_id,
        v.sku,
        v.name AS variant_name,
        coalesce(st.on_hand, 0) AS on_hand,
        coalesce(st.reserved, 0) AS reserved,
        coalesce(st.on_hand, 0) - coalesce(st.reserved, 0) AS available,
        coalesce(so.units_7d, 0) AS units_sold_7d,
        coalesce(so.units_30d, 0) AS units_sold_30d,
        so.last_sold_at
    FROM shop.product_variants AS v
    LEFT JOIN sold AS so ON v.id = so.variant_id
    LEFT JOIN stock AS st ON v.id = st.variant_id
)

SELECT
    m.sku,
    p.slug AS product_slug,
    p.name AS product_name,
    m.variant_name,
    p.status AS product_status,
    m.on_hand,
    m.reserved,
    m.available,
    m.units_sold_7d,
    m.units_sold_30d,
    round(m.units_sold_7d / 7.0, 2) AS daily_rate_7d,
    round(m.units_sold_30d / 30.0, 2) AS daily_rate_30d,
    -- Of what there was to sell over the 30 days (sold since, plus still available), the share sold.
    round(m.units_sold_30d / nullif(m.units_sold_30d + greatest(m.available, 0), 0)::numeric, 4) AS sell_through_30d,
    -- Days the available units last at the 30-day rate; NULL without sales (no rate to divide by).
    round(greatest(m.available, 0) / nullif(m.units_sold_30d / 30.0, 0), 1) AS stock_cover_days,
    m.last_sold_at,
    now() AS window_end,
    m.product_id,
    m.variant_id
FROM measured AS m
INNER JOIN shop.products AS p ON m.product_id = p.id;
CREATE UNIQUE INDEX variant_sell_through_key ON reporting.variant_sell_through (variant_id);

-- == refresh bookkeeping =============================================================================
CREATE TABLE reporting.refreshes (
    materialized_view text PRIMARY KEY,
    refreshed_at timestamptz NOT NULL DEFAULT now(),
    duration_ms integer,
    CONSTRAINT refreshes_materialized_view_check CHECK (materialized_view ~ '^reporting\.[a-z_]+$')
);
ALTER TABLE reporting.refreshes ENABLE ROW LEVEL SECURITY;
ALTER TABLE reporting.refreshes FORCE ROW LEVEL SECURITY;
CREATE POLICY refreshes_owner_all ON reporting.refreshes FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY refreshes_read ON reporting.refreshes FOR SELECT TO postcart_analyst, postcart_dba USING (TRUE);
GRANT SELECT ON reporting.refreshes TO postcart_analyst, postcart_dba;
COMMENT ON TABLE reporting.refreshes IS
'When each materialized reporting view was last refreshed (by the worker''s refresh_reports task, '
'reporting.refresh_views) and how long it took: a view shows the shop as of refreshed_at.';
COMMENT ON COLUMN reporting.refreshes.materialized_view IS 'The view, schema-qualified, e.g. reporting.sales_daily.';
COMMENT ON COLUMN reporting.refreshes.refreshed_at IS 'When its latest refresh started: its data are as of then.';
COMMENT ON COLUMN reporting.refreshes.duration_ms IS 'How long that refresh took (ms); NULL for the first build.';
INSERT INTO reporting.refreshes (materialized_view) VALUES
('reporting.sales_daily'), ('reporting.top_products'), ('reporting.customer_lifetime_value'),
('reporting.coupon_performance'), ('reporting.variant_sell_through');

-- The worker calls reporting.refresh_views (granted to it alone); it reads no view.
GRANT USAGE ON SCHEMA reporting TO postcart_worker;

RESET ROLE;
