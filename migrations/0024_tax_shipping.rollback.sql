-- Drops tax classes, rates, the store settings, shipping zones, methods and tiers (with their data), the
-- tax_class column of shop.products and the weight_grams column of shop.product_variants, and the
-- functions of sql/shop/tax_shipping.sql, sql/shop/demo_tax_shipping.sql and sql/api/tax_shipping.sql,
-- which `postcart migrate` re-creates.
SET LOCAL ROLE postcart_owner;

DROP FUNCTION IF EXISTS api.admin_create_shipping_method(jsonb);
DROP FUNCTION IF EXISTS api.admin_list_shipping_methods(jsonb);
DROP FUNCTION IF EXISTS api.admin_create_tax_rate(jsonb);
DROP FUNCTION IF EXISTS api.admin_list_tax_rates(jsonb);
DROP FUNCTION IF EXISTS shop.shipping_method_json(uuid);
DROP FUNCTION IF EXISTS shop.tax_rate_json(shop.tax_rates);
DROP FUNCTION IF EXISTS shop.whole_number_error(jsonb, bigint, bigint);
DROP FUNCTION IF EXISTS shop.require_tax_class(text);
DROP FUNCTION IF EXISTS shop.load_demo_tax_shipping();
DROP FUNCTION IF EXISTS shop.shipping_options(char, text, bigint, bigint, char);
DROP FUNCTION IF EXISTS shop.compute_tax(bigint[], text[], char, text, boolean, timestamptz);
DROP FUNCTION IF EXISTS shop.prices_include_tax();

DROP TABLE IF EXISTS shop.shipping_method_tiers;
DROP TABLE IF EXISTS shop.shipping_methods;
DROP TABLE IF EXISTS shop.shipping_zone_countries;
DROP TABLE IF EXISTS shop.shipping_zones;
DROP TABLE IF EXISTS shop.store_settings;
DROP TABLE IF EXISTS shop.tax_rates;
ALTER TABLE shop.product_variants DROP COLUMN IF EXISTS weight_grams;
ALTER TABLE shop.products DROP COLUMN IF EXISTS tax_class;
DROP TABLE IF EXISTS shop.tax_classes;

DROP FUNCTION IF EXISTS shop.tg_store_settings__keep_row();

RESET ROLE;
