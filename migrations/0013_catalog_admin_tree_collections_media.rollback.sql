-- Undoes 0013: collections and media are dropped with their data, catalog_manager no longer edits the
-- category tree. The functions of sql/ that use them go too; `postcart migrate` re-creates them.
SET LOCAL ROLE postcart_owner;

DROP TRIGGER IF EXISTS _090_tree_lock ON shop.categories;
DROP TRIGGER IF EXISTS _210_slug ON shop.categories;
DROP POLICY IF EXISTS categories_insert_catalog ON shop.categories;
DROP POLICY IF EXISTS categories_update_catalog ON shop.categories;
REVOKE INSERT, UPDATE ON shop.categories FROM catalog_manager;

DROP TABLE IF EXISTS shop.product_media;
DROP TABLE IF EXISTS shop.collection_products;
DROP TABLE IF EXISTS shop.collections;

DROP FUNCTION IF EXISTS api.admin_create_category(jsonb);
DROP FUNCTION IF EXISTS api.admin_update_category(jsonb);
DROP FUNCTION IF EXISTS api.admin_create_collection(jsonb);
DROP FUNCTION IF EXISTS api.admin_set_collection_products(jsonb);
DROP FUNCTION IF EXISTS api.get_collection(jsonb);
DROP FUNCTION IF EXISTS shop.write_category(uuid, jsonb);
DROP FUNCTION IF EXISTS shop.category_json(uuid);
DROP FUNCTION IF EXISTS shop.admin_collection(uuid);
DROP FUNCTION IF EXISTS shop.tg_categories__tree_lock();
DROP FUNCTION IF EXISTS shop.tg_categories__slug();
DROP FUNCTION IF EXISTS shop.tg_product_media__image_url();

RESET ROLE;
