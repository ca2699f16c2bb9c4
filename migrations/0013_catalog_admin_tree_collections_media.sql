-- Staff catalog management, the rest: catalog_manager edits the category tree; collections (ordered
-- manual lists of products); media (URL, alt text, position) per product. Rows that belong to a product
-- carry its visibility (shop.visible_from, kept by the triggers of sql/shop/catalog_admin.sql) so their
-- storefront policies cost O(1) per row.
-- depends: 0012_catalog_admin_products

SET LOCAL ROLE postcart_owner;

-- == tables ==========================================================================================
CREATE TABLE shop.collections (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug text NOT NULL,
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT collections_slug_key UNIQUE (slug),
    CONSTRAINT collections_slug_check CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 100),
    CONSTRAINT collections_name_check CHECK (btrim(name) <> '' AND length(name) <= 200)
);
COMMENT ON TABLE shop.collections IS
'Manual, ordered lists of products ("Summer picks"), chosen by merchandisers. Readable by everyone; the '
'products in them by those who may see the products.';

CREATE TABLE shop.collection_products (
    collection_id uuid NOT NULL REFERENCES shop.collections (id) ON DELETE CASCADE,
    product_id uuid NOT NULL REFERENCES shop.products (id) ON DELETE CASCADE,
    position integer NOT NULL,
    visible_from timestamptz,
    PRIMARY KEY (collection_id, product_id),
    CONSTRAINT collection_products_position_key UNIQUE (collection_id, position) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT collection_products_position_check CHECK (position >= 0)
);
CREATE INDEX collection_products_product_id_idx ON shop.collection_products (product_id);
CREATE INDEX collection_products_visible_from_idx ON shop.collection_products (visible_from);
COMMENT ON TABLE shop.collection_products IS
'The products of a collection, in order (position 0 first). visible_from repeats the product''s '
'shop.visible_from (kept by triggers) for the storefront policy.';
COMMENT ON COLUMN shop.collection_products.visible_from IS
'shop.visible_from() of the product, kept by triggers: when anonymous callers and customers may see the row.';

CREATE TABLE shop.product_media (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    product_id uuid NOT NULL REFERENCES shop.products (id) ON DELETE CASCADE,
    url text NOT NULL,
    alt text NOT NULL DEFAULT '',
    position integer NOT NULL DEFAULT 0,
    visible_from timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT product_media_url_check CHECK (url ~ '^https?://\S+$' AND length(url) <= 2000),
    CONSTRAINT product_media_alt_check CHECK (length(alt) <= 500)
);
CREATE INDEX product_media_product_id_position_idx ON shop.product_media (product_id, position);
CREATE INDEX product_media_visible_from_idx ON shop.product_media (visible_from);
COMMENT ON TABLE shop.product_media IS
'Images of a product in display order (URL, alt text, position). The first one is the product''s '
'image_url (kept by a trigger). visible_from repeats the product''s shop.visible_from for the policy.';
COMMENT ON COLUMN shop.product_media.visible_from IS
'shop.visible_from() of the product, kept by triggers: when anonymous callers and customers may see the row.';

-- == row-level security ==============================================================================
ALTER TABLE shop.collections ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.collections FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.collection_products ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.collection_products FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.product_media ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.product_media FORCE ROW LEVEL SECURITY;

CREATE POLICY categories_insert_catalog ON shop.categories
FOR INSERT TO catalog_manager WITH CHECK (TRUE);
CREATE POLICY categories_update_catalog ON shop.categories
FOR UPDATE TO catalog_manager USING (TRUE) WITH CHECK (TRUE);

CREATE POLICY collections_owner_all ON shop.collections
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY collections_select_all ON shop.collections
FOR SELECT TO postcart_anon, postcart_customer, postcart_staff USING (TRUE);
CREATE POLICY collections_insert_catalog ON shop.collections
FOR INSERT TO catalog_manager WITH CHECK (TRUE);
CREATE POLICY collections_update_catalog ON shop.collections
FOR UPDATE TO catalog_manager USING (TRUE) WITH CHECK (TRUE);

CREATE POLICY collection_products_owner_all ON shop.collection_products
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY collection_products_select_visible ON shop.collection_products
FOR SELECT TO postcart_anon, postcart_customer USING (visible_from <= now());
CREATE POLICY collection_products_select_staff ON shop.collection_products
FOR SELECT TO postcart_staff USING (TRUE);
CREATE POLICY collection_products_insert_catalog ON shop.collection_products
FOR INSERT TO catalog_manager WITH CHECK (TRUE);
CREATE POLICY collection_products_delete_catalog ON shop.collection_products
FOR DELETE TO catalog_manager USING (TRUE);

CREATE POLICY product_media_owner_all ON shop.product_media
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY product_media_select_visible ON shop.product_media
FOR SELECT TO postcart_anon, postcart_customer USING (visible_from <= now());
CREATE POLICY product_media_select_staff ON shop.product_media
FOR SELECT TO postcart_staff USING (TRUE);
CREATE POLICY product_media_insert_catalog ON shop.product_media
FOR INSERT TO catalog_manager WITH CHECK (TRUE);
CREATE POLICY product_media_update_catalog ON shop.product_media
FOR UPDATE TO catalog_manager USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY product_media_delete_catalog ON shop.product_media
FOR DELETE TO catalog_manager USING (TRUE);

-- == grants ==========================================================================================
-- Categories are moved and renamed, not deleted (products and history refer to them).
GRANT INSERT (id, parent_id, slug, name, position) ON shop.categories TO catalog_manager;
GRANT UPDATE (parent_id, slug, name, position) ON shop.categories TO catalog_manager;

GRANT SELECT (id, slug, name) ON shop.collections TO postcart_anon;
GRANT SELECT (id, slug, name) ON shop.collections TO postcart_customer;
GRANT SELECT (id, slug, name, created_at, updated_at) ON shop.collections TO postcart_staff;
GRANT INSERT (id, slug, name) ON shop.collections TO catalog_manager;
GRANT UPDATE (slug, name) ON shop.collections TO catalog_manager;

GRANT SELECT (collection_id, product_id, position) ON shop.collection_products TO postcart_anon;
GRANT SELECT (collection_id, product_id, position) ON shop.collection_products TO postcart_customer;
GRANT SELECT (collection_id, product_id, position, visible_from) ON shop.collection_products TO postcart_staff;
GRANT INSERT (collection_id, product_id, position) ON shop.collection_products TO catalog_manager;
GRANT DELETE ON shop.collection_products TO catalog_manager;

GRANT SELECT (id, product_id, url, alt, position) ON shop.product_media TO postcart_anon;
GRANT SELECT (id, product_id, url, alt, position) ON shop.product_media TO postcart_customer;
GRANT SELECT (id, product_id, url, alt, position, visible_from, created_at) ON shop.product_media TO postcart_staff;
GRANT INSERT (id, product_id, url, alt, position) ON shop.product_media TO catalog_manager;
GRANT UPDATE (url, alt, position) ON shop.product_media TO catalog_manager;
GRANT DELETE ON shop.product_media TO catalog_manager;

RESET ROLE;
