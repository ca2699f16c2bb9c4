-- Inventory reporting (docs/reporting.md): what is at or below its low-stock threshold. Runs with the
-- owner's rights like every reporting view; no personal data.

-- == reporting.low_stock =============================================================================
CREATE OR REPLACE VIEW reporting.low_stock AS
WITH stock AS (
    SELECT
        s.variant_id,
        sum(s.on_hand) AS on_hand,
        sum(s.reserved) AS reserved,
        sum(shop.stock_available(s.on_hand, s.reserved)) AS available
    FROM shop.stock_levels AS s
    WHERE s.variant_id IN (
        SELECT v.id FROM shop.product_variants AS v
        WHERE v.low_stock_threshold IS NOT NULL
    )
    GROUP BY s.variant_id
)

SELECT
    p.slug AS product_slug,
    p.name AS product_name,
    v.sku,
    v.name AS variant_name,
    coalesce(st.available, 0) AS available,
    v.low_stock_threshold,
    coalesce(st.on_hand, 0) AS on_hand,
    coalesce(st.reserved, 0) AS reserved,
    a.created_at AS alerted_at,
    p.status AS product_status,
    p.id AS product_id,
    v.id AS variant_id
FROM shop.product_variants AS v
INNER JOIN shop.products AS p ON v.product_id = p.id
LEFT JOIN stock AS st ON v.id = st.variant_id
LEFT JOIN shop.low_stock_alerts AS a ON v.id = a.variant_id
WHERE v.low_stock_threshold IS NOT NULL AND coalesce(st.available, 0) <= v.low_stock_threshold;

COMMENT ON VIEW reporting.low_stock IS
'Variants whose available quantity (all warehouses together) is at or below their low-stock threshold, '
'one row each; variants without a threshold never appear. The storefront''s stock.low events are written '
'when a variant enters this list. Least available first: ORDER BY available - low_stock_threshold.';
COMMENT ON COLUMN reporting.low_stock.product_slug IS 'URL name of the product (unique).';
COMMENT ON COLUMN reporting.low_stock.product_name IS 'Display name of the product.';
COMMENT ON COLUMN reporting.low_stock.sku IS 'Stock keeping unit of the variant (unique).';
COMMENT ON COLUMN reporting.low_stock.variant_name IS 'Display name of the variant, e.g. Medium or Black.';
COMMENT ON COLUMN reporting.low_stock.available IS
'Units that can still be sold over all warehouses: on_hand - reserved (negative while backorders wait).';
COMMENT ON COLUMN reporting.low_stock.low_stock_threshold IS
'The variant''s threshold: at or below it, the variant is low on stock.';
COMMENT ON COLUMN reporting.low_stock.on_hand IS 'Units physically in all warehouses, including reserved ones.';
COMMENT ON COLUMN reporting.low_stock.reserved IS 'Units promised to orders that have not shipped yet.';
COMMENT ON COLUMN reporting.low_stock.alerted_at IS
'When the stock.low event for this crossing was written (UTC).';
COMMENT ON COLUMN reporting.low_stock.product_status IS
'draft (not yet on sale), published (on sale) or archived (withdrawn).';
COMMENT ON COLUMN reporting.low_stock.product_id IS 'Id of the product (uuid), stable across renames.';
COMMENT ON COLUMN reporting.low_stock.variant_id IS 'Id of the variant (uuid), stable across renames.';

GRANT SELECT ON reporting.low_stock TO postcart_analyst;
GRANT SELECT ON reporting.low_stock TO postcart_dba;
