-- The catalog's read model at 100,000 products (issue 6): planner statistics for its two tables, and a
-- count of stock writes kept apart from the other catalog writes, so that sales do not throw away the
-- facets memoised per catalog version (sql/shop/catalog_version.sql, api.list_products).
-- depends: 0014_catalog_version 0018_product_listings

SET LOCAL ROLE postcart_owner;

-- shop.product_listings and shop.product_listing_prices hold catalog rows only, no customer or staff
-- data; only their owner and staff may read them at all (grants), and api.list_products (definer rights)
-- applies the storefront's rule itself. Under forced row security PostgreSQL does not let the planner use
-- column statistics with operators that are not leakproof (range and array containment): it guessed
-- 0.5 % for "valid now" and "in this category", and a category of 36,000 products took 400 ms where the
-- newest-first index stops after its first rows. Row security stays enabled (staff still go through it);
-- it is no longer forced on the owner. tests/sql/07_guards_and_idempotency.sql names these two exceptions.
ALTER TABLE shop.product_listings NO FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.product_listing_prices NO FORCE ROW LEVEL SECURITY;

ALTER TABLE shop.catalog_version_shards ADD COLUMN stock_version bigint NOT NULL DEFAULT 0;
ALTER TABLE shop.catalog_version_shards ADD CONSTRAINT catalog_version_shards_stock_version_check
CHECK (stock_version >= 0);
COMMENT ON COLUMN shop.catalog_version_shards.stock_version IS
'Writes to shop.stock_levels (reservations, receipts): part of the catalog version, but not of the '
'content version that memoised facets are keyed by (they do not depend on stock).';

RESET ROLE;
