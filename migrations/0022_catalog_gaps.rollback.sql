SET LOCAL ROLE postcart_owner;

DROP INDEX IF EXISTS shop.warehouses_name_id_idx;

DROP POLICY IF EXISTS collections_delete_catalog ON shop.collections;
REVOKE DELETE ON shop.collections FROM catalog_manager;
DROP POLICY IF EXISTS categories_delete_catalog ON shop.categories;
REVOKE DELETE ON shop.categories FROM catalog_manager;
DROP TRIGGER IF EXISTS _050_delete_only_empty ON shop.categories;
DROP FUNCTION IF EXISTS shop.tg_categories__delete_only_empty();

DROP POLICY IF EXISTS product_variants_delete_catalog ON shop.product_variants;
REVOKE DELETE ON shop.product_variants FROM catalog_manager;
DROP POLICY IF EXISTS products_delete_catalog ON shop.products;
REVOKE DELETE ON shop.products FROM catalog_manager;
DROP TRIGGER IF EXISTS _220_first_visible ON shop.products;
DROP FUNCTION IF EXISTS shop.tg_products__first_visible();
ALTER TABLE shop.products DROP COLUMN IF EXISTS first_visible_at;
DROP FUNCTION IF EXISTS shop.ever_visible(text, timestamptz, timestamptz);

-- Markdowns on collections cannot be kept without the column.
DELETE FROM shop.markdowns
WHERE collection_id IS NOT NULL;
ALTER TABLE shop.markdowns
DROP CONSTRAINT markdowns_scope_check,
DROP COLUMN collection_id,
ADD CONSTRAINT markdowns_scope_check CHECK (num_nonnulls(category_id, product_id) = 1);
COMMENT ON TABLE shop.markdowns IS
'Scheduled markdowns: percent_off off the resolved price of every variant of a product, or of every '
'product in a category and its descendants, during [starts_at, ends_at). When several apply, the largest '
'percentage wins (they do not stack). Staff only.';

RESET ROLE;
