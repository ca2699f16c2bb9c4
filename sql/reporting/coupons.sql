-- Promotions and coupons (docs/reporting.md): how often each was used, what it gave away and what the
-- orders that used it brought in. A materialized view (migrations/0043_reporting_materialized.sql),
-- refreshed by the worker (sql/reporting/refresh.sql); comments and grants here.

-- == reporting.coupon_performance ====================================================================
COMMENT ON MATERIALIZED VIEW reporting.coupon_performance IS
'Per promotion (coupon or automatic) and currency of the orders that redeemed it: redemptions, live '
'orders, customers, discount given and those orders'' revenue, with the promotion''s usage against its '
'limit. A promotion never redeemed has one row with currency NULL and zeros. Materialized: as of its '
'refresh (reporting.refreshes), every 5 minutes. No personal data: customers is a count.';
COMMENT ON COLUMN reporting.coupon_performance.promotion_id IS 'Id of the promotion (uuid).';
COMMENT ON COLUMN reporting.coupon_performance.coupon_code IS
'The code customers type; NULL for an automatic promotion.';
COMMENT ON COLUMN reporting.coupon_performance.promotion_name IS 'The promotion''s internal name.';
COMMENT ON COLUMN reporting.coupon_performance.kind IS 'percent, fixed or free_shipping.';
COMMENT ON COLUMN reporting.coupon_performance.value IS
'Percent off (percent), minor units off (fixed) or NULL (free_shipping).';
COMMENT ON COLUMN reporting.coupon_performance.currency IS
'ISO 4217 currency of the orders counted in this row; NULL on the row of a promotion never redeemed.';
COMMENT ON COLUMN reporting.coupon_performance.redemptions IS
'Times an order redeemed it, including orders cancelled since.';
COMMENT ON COLUMN reporting.coupon_performance.orders IS 'Orders that redeemed it and are not cancelled.';
COMMENT ON COLUMN reporting.coupon_performance.customers IS
'Distinct signed-in customers among those orders (guests are not counted).';
COMMENT ON COLUMN reporting.coupon_performance.discount_given IS
'Discount this promotion gave on those orders (minor units).';
COMMENT ON COLUMN reporting.coupon_performance.revenue IS
'Those orders'' totals before tax, shipping included, refunds not deducted (minor units): the sales the '
'promotion came with, all of them, not only its eligible lines.';
COMMENT ON COLUMN reporting.coupon_performance.times_used IS
'Live redemptions over all currencies, as counted against usage_limit.';
COMMENT ON COLUMN reporting.coupon_performance.usage_limit IS 'Cap on live redemptions in total; NULL: none.';
COMMENT ON COLUMN reporting.coupon_performance.usage_percent IS
'times_used as a percentage of usage_limit (one decimal); NULL without a limit.';
COMMENT ON COLUMN reporting.coupon_performance.per_customer_limit IS 'Cap per customer; NULL: none.';
COMMENT ON COLUMN reporting.coupon_performance.active IS 'Whether staff left it switched on.';
COMMENT ON COLUMN reporting.coupon_performance.starts_at IS 'Start of its window; NULL: from creation.';
COMMENT ON COLUMN reporting.coupon_performance.ends_at IS 'End of its window (exclusive); NULL: open-ended.';

GRANT SELECT ON reporting.coupon_performance TO postcart_analyst;
GRANT SELECT ON reporting.coupon_performance TO postcart_dba;
