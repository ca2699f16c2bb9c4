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

-- == reporting.inventory_valuation ===================================================================
-- postcart records no purchase cost, so stock is valued at the variants' base prices (retail value).
CREATE OR REPLACE VIEW reporting.inventory_valuation AS
WITH currencies AS (
    SELECT DISTINCT vp.currency FROM shop.variant_prices AS vp
)

SELECT
    w.code AS warehouse_code,
    w.name AS warehouse_name,
    c.currency,
    count(vp.variant_id) FILTER (WHERE s.on_hand > 0) AS variants,
    coalesce(sum(s.on_hand) FILTER (WHERE vp.variant_id IS NOT NULL), 0) AS units,
    coalesce(sum(s.on_hand::bigint * vp.amount), 0) AS value_at_base_price,
    coalesce(sum((s.on_hand - s.reserved)::bigint * vp.amount) FILTER (WHERE s.on_hand > s.reserved), 0)
    AS available_value_at_base_price,
    coalesce(sum(s.on_hand) FILTER (WHERE vp.variant_id IS NULL), 0) AS unpriced_units,
    w.id AS warehouse_id
FROM shop.warehouses AS w
CROSS JOIN currencies AS c
LEFT JOIN shop.stock_levels AS s ON w.id = s.warehouse_id
LEFT JOIN shop.variant_prices AS vp ON s.variant_id = vp.variant_id AND c.currency = vp.currency
GROUP BY w.id, w.code, w.name, c.currency;

COMMENT ON VIEW reporting.inventory_valuation IS
'Stock value per warehouse and currency at base price: on-hand units times the variant''s base price in '
'that currency (variant_prices, before price lists and markdowns; tax included as the store''s prices '
'are). postcart records no purchase cost, so this is retail value, not cost. Units of variants without a '
'price in the currency are counted apart (unpriced_units). Live; no personal data.';
COMMENT ON COLUMN reporting.inventory_valuation.warehouse_code IS 'Short code of the warehouse (unique).';
COMMENT ON COLUMN reporting.inventory_valuation.warehouse_name IS 'Display name of the warehouse.';
COMMENT ON COLUMN reporting.inventory_valuation.currency IS 'ISO 4217 currency of the values.';
COMMENT ON COLUMN reporting.inventory_valuation.variants IS
'Variants with units on hand here and a base price in currency.';
COMMENT ON COLUMN reporting.inventory_valuation.units IS 'Units on hand here of variants priced in currency.';
COMMENT ON COLUMN reporting.inventory_valuation.value_at_base_price IS
'Sum of on_hand x base price (minor units).';
COMMENT ON COLUMN reporting.inventory_valuation.available_value_at_base_price IS
'Sum of (on_hand - reserved) x base price over rows with units available (minor units): the part not yet '
'promised to orders.';
COMMENT ON COLUMN reporting.inventory_valuation.unpriced_units IS
'Units on hand here of variants with no base price in currency (not valued).';
COMMENT ON COLUMN reporting.inventory_valuation.warehouse_id IS 'Id of the warehouse (uuid).';

GRANT SELECT ON reporting.inventory_valuation TO postcart_analyst;
GRANT SELECT ON reporting.inventory_valuation TO postcart_dba;
