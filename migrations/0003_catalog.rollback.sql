-- Drops the catalog tables (with their data, policies and grants) and the search function. The
-- functions and views of sql/ that use them are dropped with CASCADE.
SET LOCAL ROLE postcart_owner;

DROP TABLE IF EXISTS shop.stock_levels CASCADE;
DROP TABLE IF EXISTS shop.warehouses CASCADE;
DROP TABLE IF EXISTS shop.variant_prices CASCADE;
DROP TABLE IF EXISTS shop.product_variants CASCADE;
DROP TABLE IF EXISTS shop.products CASCADE;
DROP TABLE IF EXISTS shop.categories CASCADE;
DROP FUNCTION IF EXISTS shop.search_key(text) CASCADE;

RESET ROLE;
