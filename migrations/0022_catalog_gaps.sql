-- The staff catalog gaps (issue 6): markdowns on a collection; deletes of categories, collections,
-- products never shown on the storefront and their variants; the first instant a product was visible
-- (what makes it undeletable); an index for the staff list of places. Rules and API live in
-- sql/shop/catalog_admin.sql, sql/shop/prices.sql and sql/api/{catalog_admin,prices,stores}.sql.
-- depends: 0011_prices 0013_catalog_admin_tree_collections_media 0017_catalog_schedule_instants

SET LOCAL ROLE postcart_owner;

-- == markdowns on a collection =======================================================================
ALTER TABLE shop.markdowns
ADD COLUMN collection_id uuid REFERENCES shop.collections (id) ON DELETE CASCADE,
DROP CONSTRAINT markdowns_scope_check,
ADD CONSTRAINT markdowns_scope_check CHECK (num_nonnulls(category_id, product_id, collection_id) = 1);
CREATE INDEX markdowns_collection_id_idx ON shop.markdowns (collection_id);
COMMENT ON TABLE shop.markdowns IS
'Scheduled markdowns: percent_off off the resolved price of every variant of a product, of every product '
'in a category and its descendants, or of every product in a collection, during [starts_at, ends_at). '
'When several apply, the largest percentage wins (they do not stack). Staff only.';
COMMENT ON COLUMN shop.markdowns.collection_id IS
'Scope: the products of this collection (while they are in it). Exactly one of category_id, product_id '
'and collection_id is set; deleting the collection deletes its markdowns.';

GRANT SELECT (collection_id) ON shop.markdowns TO postcart_staff;
GRANT INSERT (collection_id) ON shop.markdowns TO catalog_manager;

-- == products: deletable until first visible =========================================================
-- A product that has been on the storefront stays (orders will name it): it is archived, never deleted.
-- The visible state is only known while it lasts (a scheduled product becomes visible by time alone),
-- so a trigger records it when a product leaves it, and the rule also looks at the present state.
CREATE FUNCTION shop.ever_visible(status text, published_at timestamptz, first_visible_at timestamptz)
RETURNS boolean
LANGUAGE sql
STABLE
PARALLEL SAFE
AS $$
    SELECT first_visible_at IS NOT NULL OR coalesce(status = 'published' AND published_at <= now(), FALSE)
$$;
COMMENT ON FUNCTION shop.ever_visible(text, timestamptz, timestamptz) IS
'Whether a product with this status, published_at and first_visible_at has ever been visible to the '
'storefront (recorded before, or published and due now). Such a product is archived, not deleted. '
'Returns boolean.';
REVOKE ALL ON FUNCTION shop.ever_visible(text, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.ever_visible(text, timestamptz, timestamptz) TO postcart_staff;

ALTER TABLE shop.products ADD COLUMN first_visible_at timestamptz;
COMMENT ON COLUMN shop.products.first_visible_at IS
'The first instant the product was visible to the storefront (published and due), recorded by a trigger '
'when it leaves that state or is written in it; never written by callers. NULL: not recorded (a draft, or '
'a scheduled product before its instant). See shop.ever_visible().';
-- Every product with a past publication time counts as shown. Without the row triggers: updated_at
-- must not move, and nothing a trigger derives depends on this column.
ALTER TABLE shop.products DISABLE TRIGGER USER;
UPDATE shop.products SET first_visible_at = published_at
WHERE published_at <= now();
ALTER TABLE shop.products ENABLE TRIGGER USER;

GRANT SELECT (first_visible_at) ON shop.products TO postcart_staff;

GRANT DELETE ON shop.products TO catalog_manager;
CREATE POLICY products_delete_catalog ON shop.products
FOR DELETE TO catalog_manager
USING (NOT shop.ever_visible(status, published_at, first_visible_at));

-- A variant goes with its product, or alone while its product has never been visible. One index probe
-- of the product per row.
GRANT DELETE ON shop.product_variants TO catalog_manager;
CREATE POLICY product_variants_delete_catalog ON shop.product_variants
FOR DELETE TO catalog_manager
USING (
    EXISTS (
        SELECT FROM shop.products AS p
        WHERE p.id = product_variants.product_id AND NOT shop.ever_visible(p.status, p.published_at, p.first_visible_at)
    )
);

-- == categories and collections ======================================================================
-- A category is deleted only while empty (no subcategory, no product): a trigger refuses it for every
-- writer (sql/shop/catalog_admin.sql). Its markdowns go with it (ON DELETE CASCADE since 0011).
GRANT DELETE ON shop.categories TO catalog_manager;
CREATE POLICY categories_delete_catalog ON shop.categories
FOR DELETE TO catalog_manager USING (TRUE);

-- A collection takes its entries and markdowns along (ON DELETE CASCADE); its products stay.
GRANT DELETE ON shop.collections TO catalog_manager;
CREATE POLICY collections_delete_catalog ON shop.collections
FOR DELETE TO catalog_manager USING (TRUE);

-- == places ==========================================================================================
-- The staff list of every place, listed or not, by name (keyset on (name, id)).
CREATE INDEX warehouses_name_id_idx ON shop.warehouses (name, id);

RESET ROLE;
