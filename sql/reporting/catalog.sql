-- Reporting views over the catalog and stock, for analysts (postcart_analyst) and DBAs. The views run
-- with their owner's rights, so the analyst reads them without any access to shop.*; they carry no
-- personal data. Documented for analysts in docs/reporting.md.

-- == reporting.catalog_stock =========================================================================
CREATE OR REPLACE VIEW reporting.catalog_stock AS
SELECT
    p.slug AS product_slug,
    p.name AS product_name,
    v.sku,
    w.code AS warehouse_code,
    coalesce(s.on_hand, 0) AS on_hand,
    coalesce(s.reserved, 0) AS reserved,
    coalesce(shop.stock_available(s.on_hand, s.reserved), 0) AS available,
    p.status AS product_status,
    v.name AS variant_name,
    w.name AS warehouse_name,
    s.updated_at AS stock_updated_at,
    p.id AS product_id,
    v.id AS variant_id
FROM shop.product_variants AS v
INNER JOIN shop.products AS p ON v.product_id = p.id
CROSS JOIN shop.warehouses AS w
LEFT JOIN shop.stock_levels AS s ON v.id = s.variant_id AND w.id = s.warehouse_id;

COMMENT ON VIEW reporting.catalog_stock IS
'Stock per variant and warehouse: one row for every combination of a variant and a warehouse (zeros '
'where the warehouse has never held the variant). Sum available over warehouses for a variant''s total.';
COMMENT ON COLUMN reporting.catalog_stock.product_slug IS 'URL name of the product (unique).';
COMMENT ON COLUMN reporting.catalog_stock.product_name IS 'Display name of the product.';
COMMENT ON COLUMN reporting.catalog_stock.sku IS 'Stock keeping unit of the variant (unique).';
COMMENT ON COLUMN reporting.catalog_stock.warehouse_code IS 'Short code of the warehouse (unique), e.g. eu-central.';
COMMENT ON COLUMN reporting.catalog_stock.on_hand IS 'Units physically in the warehouse, including reserved ones.';
COMMENT ON COLUMN reporting.catalog_stock.reserved IS
'Units promised to orders that have not shipped yet (more than on_hand only for backorders).';
COMMENT ON COLUMN reporting.catalog_stock.available IS
'Units that can still be sold: on_hand - reserved (negative while backorders wait for stock).';
COMMENT ON COLUMN reporting.catalog_stock.product_status IS
'draft (not yet on sale), published (on sale) or archived (withdrawn).';
COMMENT ON COLUMN reporting.catalog_stock.variant_name IS 'Display name of the variant, e.g. Medium or Black.';
COMMENT ON COLUMN reporting.catalog_stock.warehouse_name IS 'Display name of the warehouse.';
COMMENT ON COLUMN reporting.catalog_stock.stock_updated_at IS
'When this stock row last changed (UTC); NULL when the warehouse has never held the variant.';
COMMENT ON COLUMN reporting.catalog_stock.product_id IS 'Id of the product (uuid), stable across renames.';
COMMENT ON COLUMN reporting.catalog_stock.variant_id IS 'Id of the variant (uuid), stable across renames.';

GRANT SELECT ON reporting.catalog_stock TO postcart_analyst;
GRANT SELECT ON reporting.catalog_stock TO postcart_dba;

-- == reporting.product_catalog =======================================================================
CREATE OR REPLACE VIEW reporting.product_catalog AS
WITH RECURSIVE category_paths AS (
    SELECT c.id, c.name::text AS path
    FROM shop.categories AS c
    WHERE c.parent_id IS NULL
    UNION ALL
    SELECT c.id, cp.path || ' > ' || c.name AS path
    FROM shop.categories AS c
    INNER JOIN category_paths AS cp ON c.parent_id = cp.id
),

variant_counts AS (
    SELECT v.product_id, count(*) AS variant_count
    FROM shop.product_variants AS v
    GROUP BY v.product_id
),

price_ranges AS (
    SELECT
        vp.product_id,
        vp.currency::text AS currency,
        min(vp.amount) AS min_price,
        max(vp.amount) AS max_price,
        count(*) AS priced_variant_count
    FROM shop.variant_prices AS vp
    GROUP BY vp.product_id, vp.currency
)

SELECT
    p.slug AS product_slug,
    p.name AS product_name,
    c.slug AS category_slug,
    c.name AS category_name,
    cp.path AS category_path,
    p.status,
    coalesce(vc.variant_count, 0) AS variant_count,
    pr.currency,
    pr.min_price,
    pr.max_price,
    pr.priced_variant_count,
    p.published_at,
    p.created_at,
    p.updated_at,
    p.id AS product_id
FROM shop.products AS p
LEFT JOIN shop.categories AS c ON p.category_id = c.id
LEFT JOIN category_paths AS cp ON p.category_id = cp.id
LEFT JOIN variant_counts AS vc ON p.id = vc.product_id
LEFT JOIN price_ranges AS pr ON p.id = pr.product_id;

COMMENT ON VIEW reporting.product_catalog IS
'The catalog, one row per product and currency it is priced in (one row with currency NULL for a product '
'without any price): category, status, number of variants and the lowest and highest variant price.';
COMMENT ON COLUMN reporting.product_catalog.product_slug IS 'URL name of the product (unique).';
COMMENT ON COLUMN reporting.product_catalog.product_name IS 'Display name of the product.';
COMMENT ON COLUMN reporting.product_catalog.category_slug IS 'URL name of the product''s category; NULL if none.';
COMMENT ON COLUMN reporting.product_catalog.category_name IS 'Display name of the product''s category.';
COMMENT ON COLUMN reporting.product_catalog.category_path IS
'The category with its ancestors, top first, e.g. Apparel > Hoodies.';
COMMENT ON COLUMN reporting.product_catalog.status IS
'draft (not yet on sale), published (on sale) or archived (withdrawn).';
COMMENT ON COLUMN reporting.product_catalog.variant_count IS 'Number of variants (sizes, colours) of the product.';
COMMENT ON COLUMN reporting.product_catalog.currency IS
'ISO 4217 currency of min_price and max_price, e.g. EUR; NULL when the product has no price at all.';
COMMENT ON COLUMN reporting.product_catalog.min_price IS
'Lowest variant price in currency, in minor units (1999 = 19.99). The storefront shows this as the price.';
COMMENT ON COLUMN reporting.product_catalog.max_price IS 'Highest variant price in currency, in minor units.';
COMMENT ON COLUMN reporting.product_catalog.priced_variant_count IS
'Number of variants that have a price in currency (variants without one are not sold in it).';
COMMENT ON COLUMN reporting.product_catalog.published_at IS
'When the product first went on sale (UTC); NULL for products never published.';
COMMENT ON COLUMN reporting.product_catalog.created_at IS 'When the product was created (UTC).';
COMMENT ON COLUMN reporting.product_catalog.updated_at IS 'When the product''s own fields last changed (UTC).';
COMMENT ON COLUMN reporting.product_catalog.product_id IS 'Id of the product (uuid), stable across renames.';

GRANT SELECT ON reporting.product_catalog TO postcart_analyst;
GRANT SELECT ON reporting.product_catalog TO postcart_dba;
