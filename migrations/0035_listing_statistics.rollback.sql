-- Undoes 0035. The stock trigger and the function that bumps stock_version go first; the previous
-- sql/shop/catalog_version.sql puts the stock trigger back on tg__bump_catalog_version when applied.
SET LOCAL ROLE postcart_owner;

DROP TRIGGER IF EXISTS zz_catalog_version ON shop.stock_levels;
DROP FUNCTION IF EXISTS shop.tg__bump_stock_version();
DROP FUNCTION IF EXISTS shop.catalog_content_version();
ALTER TABLE shop.catalog_version_shards DROP COLUMN stock_version;
ALTER TABLE shop.product_listings FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.product_listing_prices FORCE ROW LEVEL SECURITY;

RESET ROLE;
