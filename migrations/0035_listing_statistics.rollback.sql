-- Undoes 0035. The stock trigger (it bumps stock_version) goes first; the previous
-- sql/shop/catalog_version.sql puts it back, counting stock writes with the others, when applied.
SET LOCAL ROLE postcart_owner;

DROP TRIGGER IF EXISTS zz_catalog_version ON shop.stock_levels;
DROP FUNCTION IF EXISTS shop.catalog_content_version();
ALTER TABLE shop.catalog_version_shards DROP COLUMN stock_version;
ALTER TABLE shop.product_listings FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.product_listing_prices FORCE ROW LEVEL SECURITY;

RESET ROLE;
