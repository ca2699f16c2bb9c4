-- Undoes 0012: the storefront policies go back to checking the product's status, catalog_manager loses its
-- writes, and product types, slug history and the carried visibility are dropped with their data. The
-- triggers and functions of sql/shop/catalog_admin.sql and sql/api/catalog_admin.sql go too; `postcart
-- migrate` re-creates them.
SET LOCAL ROLE postcart_owner;

DROP TRIGGER IF EXISTS _100_attributes ON shop.products;
DROP TRIGGER IF EXISTS _210_slug ON shop.products;
DROP TRIGGER IF EXISTS zz_slug_history ON shop.products;
DROP TRIGGER IF EXISTS zz_visibility ON shop.products;
DROP TRIGGER IF EXISTS _210_visible_from ON shop.product_variants;
DROP TRIGGER IF EXISTS _210_visible_from ON shop.variant_prices;
DROP TRIGGER IF EXISTS zz_revalidate ON shop.product_types;

DROP POLICY IF EXISTS products_insert_catalog ON shop.products;
DROP POLICY IF EXISTS products_update_catalog ON shop.products;
DROP POLICY IF EXISTS product_variants_insert_catalog ON shop.product_variants;
DROP POLICY IF EXISTS product_variants_update_catalog ON shop.product_variants;
DROP POLICY IF EXISTS variant_prices_insert_catalog ON shop.variant_prices;
DROP POLICY IF EXISTS variant_prices_update_catalog ON shop.variant_prices;
DROP POLICY IF EXISTS variant_prices_delete_catalog ON shop.variant_prices;

ALTER POLICY products_select_published ON shop.products USING (status = 'published');
ALTER POLICY product_variants_select_published ON shop.product_variants
USING (
    product_id IN (
        SELECT p.id FROM shop.products AS p
        WHERE p.status = 'published'
    )
);
ALTER POLICY variant_prices_select_published ON shop.variant_prices
USING (
    product_id IN (
        SELECT p.id FROM shop.products AS p
        WHERE p.status = 'published'
    )
);

REVOKE INSERT, UPDATE ON shop.products FROM catalog_manager;
REVOKE INSERT, UPDATE ON shop.product_variants FROM catalog_manager;
REVOKE INSERT, UPDATE, DELETE ON shop.variant_prices FROM catalog_manager;

ALTER TABLE shop.variant_prices DROP COLUMN IF EXISTS visible_from;
ALTER TABLE shop.product_variants DROP COLUMN IF EXISTS visible_from;
DROP TABLE IF EXISTS shop.product_slugs;
ALTER TABLE shop.products DROP COLUMN IF EXISTS product_type_id;
DROP INDEX IF EXISTS shop.products_updated_at_id_idx;
DROP TABLE IF EXISTS shop.product_types;
COMMENT ON COLUMN shop.products.published_at IS NULL;

DROP FUNCTION IF EXISTS api.admin_create_product_type(jsonb);
DROP FUNCTION IF EXISTS api.admin_update_product_type(jsonb);
DROP FUNCTION IF EXISTS api.admin_create_product(jsonb);
DROP FUNCTION IF EXISTS api.admin_update_product(jsonb);
DROP FUNCTION IF EXISTS api.admin_list_products(jsonb);
DROP FUNCTION IF EXISTS api.admin_get_product(jsonb);
DROP FUNCTION IF EXISTS shop.write_product(uuid, jsonb);
DROP FUNCTION IF EXISTS shop.admin_product(uuid);
DROP FUNCTION IF EXISTS shop.product_type_json(uuid);
DROP FUNCTION IF EXISTS shop.write_product_type(uuid, jsonb);
DROP FUNCTION IF EXISTS shop.uuid_or_null(text);
DROP FUNCTION IF EXISTS shop.timestamp_or_null(text);
DROP FUNCTION IF EXISTS api.admin_export_products(jsonb);
DROP FUNCTION IF EXISTS api.admin_import_products(jsonb);
DROP FUNCTION IF EXISTS shop.is_json_of(text, text);
DROP FUNCTION IF EXISTS shop.csv_line(text[]);
DROP FUNCTION IF EXISTS shop.product_id_by_former_slug(text);
DROP FUNCTION IF EXISTS shop.free_slug(text, text, uuid);
DROP FUNCTION IF EXISTS shop.slugify(text);
DROP FUNCTION IF EXISTS shop.attribute_problems(jsonb, jsonb);
DROP FUNCTION IF EXISTS shop.tg_products__attributes();
DROP FUNCTION IF EXISTS shop.tg_products__slug();
DROP FUNCTION IF EXISTS shop.tg_products__slug_history();
DROP FUNCTION IF EXISTS shop.tg_products__visibility();
DROP FUNCTION IF EXISTS shop.tg__visible_from_product();
DROP FUNCTION IF EXISTS shop.tg_product_types__revalidate();
DROP FUNCTION IF EXISTS shop.visible_from(text, timestamptz);
DROP FUNCTION IF EXISTS shop.attribute_definition_problems(jsonb);

RESET ROLE;
