-- Dynamic pricing signals (issue 10, part 5; docs/reporting.md): recent demand per variant against its
-- stock, which a merchandiser reads to schedule markdowns (docs/pricing.md). A materialized view
-- (migrations/0043_reporting_materialized.sql), refreshed by the worker (sql/reporting/refresh.sql).

-- == reporting.variant_sell_through ==================================================================
COMMENT ON MATERIALIZED VIEW reporting.variant_sell_through IS
'Per variant: units ordered in the 7 and 30 days before window_end (cancelled orders left out), daily '
'rates, 30-day sell-through and stock cover in days at the 30-day rate, with on-hand, reserved and '
'available stock over all warehouses. Slow sellers with high cover are markdown candidates. Materialized: '
'as of window_end, refreshed every 5 minutes. No personal data.';
COMMENT ON COLUMN reporting.variant_sell_through.sku IS 'Stock keeping unit of the variant (unique).';
COMMENT ON COLUMN reporting.variant_sell_through.product_slug IS 'URL name of the product.';
COMMENT ON COLUMN reporting.variant_sell_through.product_name IS 'Display name of the product.';
COMMENT ON COLUMN reporting.variant_sell_through.variant_name IS 'Display name of the variant, e.g. Medium.';
COMMENT ON COLUMN reporting.variant_sell_through.product_status IS 'draft, published or archived.';
COMMENT ON COLUMN reporting.variant_sell_through.on_hand IS 'Units physically in all warehouses at window_end.';
COMMENT ON COLUMN reporting.variant_sell_through.reserved IS 'Units promised to orders not yet shipped.';
COMMENT ON COLUMN reporting.variant_sell_through.available IS
'on_hand - reserved: units that can still be sold (negative while backorders wait).';
COMMENT ON COLUMN reporting.variant_sell_through.units_sold_7d IS 'Units ordered in the 7 days before window_end.';
COMMENT ON COLUMN reporting.variant_sell_through.units_sold_30d IS 'Units ordered in the 30 days before window_end.';
COMMENT ON COLUMN reporting.variant_sell_through.daily_rate_7d IS 'units_sold_7d / 7 (two decimals).';
COMMENT ON COLUMN reporting.variant_sell_through.daily_rate_30d IS 'units_sold_30d / 30 (two decimals).';
COMMENT ON COLUMN reporting.variant_sell_through.sell_through_30d IS
'units_sold_30d / (units_sold_30d + available, negatives as 0): the share of what there was to sell over '
'30 days that sold, 0 to 1 (four decimals); NULL with nothing sold and nothing available.';
COMMENT ON COLUMN reporting.variant_sell_through.stock_cover_days IS
'Days the available units last at daily_rate_30d (one decimal); NULL when nothing sold in 30 days.';
COMMENT ON COLUMN reporting.variant_sell_through.last_sold_at IS
'When the latest order of it in the 30 days was placed; NULL when none.';
COMMENT ON COLUMN reporting.variant_sell_through.window_end IS 'The refresh''s time: the windows end here.';
COMMENT ON COLUMN reporting.variant_sell_through.product_id IS 'Id of the product (uuid), stable across renames.';
COMMENT ON COLUMN reporting.variant_sell_through.variant_id IS 'Id of the variant (uuid), stable across renames.';

GRANT SELECT ON reporting.variant_sell_through TO postcart_analyst;
GRANT SELECT ON reporting.variant_sell_through TO postcart_dba;
