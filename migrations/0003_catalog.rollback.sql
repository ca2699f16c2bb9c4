-- Drops the catalog: its tables (with their data, policies, grants and triggers), the reporting views
-- built on them (CASCADE) and the functions of sql/shop/catalog.sql, sql/shop/demo.sql and
-- sql/api/catalog.sql, which `postcart migrate` re-creates.
SET LOCAL ROLE postcart_owner;

DROP TABLE IF EXISTS shop.stock_levels CASCADE;
DROP TABLE IF EXISTS shop.warehouses CASCADE;
DROP TABLE IF EXISTS shop.variant_prices CASCADE;
DROP TABLE IF EXISTS shop.product_variants CASCADE;
DROP TABLE IF EXISTS shop.products CASCADE;
DROP TABLE IF EXISTS shop.categories CASCADE;

DROP FUNCTION IF EXISTS api.list_products(jsonb);
DROP FUNCTION IF EXISTS api.get_product(jsonb);
DROP FUNCTION IF EXISTS api.list_categories(jsonb);
DROP FUNCTION IF EXISTS shop.load_demo_catalog();
DROP FUNCTION IF EXISTS shop.category_children(uuid);
DROP FUNCTION IF EXISTS shop.variant_availability(uuid[]);
DROP FUNCTION IF EXISTS shop.product_availability(uuid[]);
DROP FUNCTION IF EXISTS shop.currency_problem(text);
DROP FUNCTION IF EXISTS shop.encode_cursor(jsonb);
DROP FUNCTION IF EXISTS shop.decode_cursor(text);
DROP FUNCTION IF EXISTS shop.tg_categories__no_cycle();
DROP FUNCTION IF EXISTS shop.tg_products__published_at();
DROP FUNCTION IF EXISTS shop.tg_variant_prices__product_id();
DROP FUNCTION IF EXISTS shop.search_key(text);

RESET ROLE;
