-- The storefront's read model (DESIGN.md "Fast reads"): one row per product with everything a list page,
-- a filter, a sort or a facet needs, and the product's price range per currency and customer group for
-- each span of time between two scheduled price changes. Kept by triggers (sql/shop/product_listings.sql)
-- in the writing transaction; api.list_products reads nothing else.
-- depends: 0013_catalog_admin_tree_collections_media 0017_catalog_schedule_instants

-- The app's queries are short: compiling one with JIT (chosen by cost estimates of plan branches that never
-- run, such as resolve_prices' whole-catalog branch) costs 10-200 ms for a query that runs in one.
-- Analysts keep JIT for their reports. Where the migrating role may not change another role's settings,
-- the DBA runs this line (docs/operations.md).
DO $$
BEGIN
    ALTER ROLE postcart_authenticator SET jit = off;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'not allowed to set jit = off for postcart_authenticator; see docs/operations.md';
END
$$;

SET LOCAL ROLE postcart_owner;

CREATE TABLE shop.product_listings (
    product_id uuid PRIMARY KEY REFERENCES shop.products (id) ON DELETE CASCADE,
    -- shop.visible_from(status, published_at): listed from this instant on; NULL never (draft, archived).
    visible_from timestamptz,
    published_at timestamptz,
    name text NOT NULL,
    -- The product's category first, then its ancestors up to the root: a category filter finds the
    -- products of every category below it.
    category_path uuid[] NOT NULL,
    collection_ids uuid[] NOT NULL,
    -- Sum over the variants and warehouses of on_hand - reserved.
    available bigint NOT NULL,
    -- "name=value" for each scalar attribute.
    facet_values text[] NOT NULL,
    -- Name (weight A), category names and attribute values (B), description (C); lower case, no accents.
    search_document tsvector NOT NULL,
    -- The list item without price and stock: {id, slug, name, description, image_url, category}.
    summary jsonb NOT NULL,
    refreshed_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE shop.product_listings IS
'Read model of the storefront: one row per product, kept by triggers on every table it is derived from '
'(sql/shop/product_listings.sql), read by api.list_products. Listed when visible_from <= now(). No personal '
'data; nobody writes it but the triggers.';

CREATE INDEX product_listings_newest_idx ON shop.product_listings (published_at DESC, product_id)
WHERE visible_from IS NOT NULL;
CREATE INDEX product_listings_name_idx ON shop.product_listings (name, product_id)
WHERE visible_from IS NOT NULL;
CREATE INDEX product_listings_category_path_idx ON shop.product_listings USING gin (category_path);
CREATE INDEX product_listings_collection_ids_idx ON shop.product_listings USING gin (collection_ids);
CREATE INDEX product_listings_facet_values_idx ON shop.product_listings USING gin (facet_values);
CREATE INDEX product_listings_search_document_idx ON shop.product_listings USING gin (search_document);

CREATE TABLE shop.product_listing_prices (
    product_id uuid NOT NULL REFERENCES shop.product_listings (product_id) ON DELETE CASCADE,
    currency char(3) NOT NULL,
    -- NULL: the price for everyone. A group gets rows of its own only where one of its price lists
    -- touches the product; elsewhere its members pay the everyone price.
    customer_group_id uuid,
    -- The span between two instants at which the product's prices change (a sale window, a markdown);
    -- the first span is open to the past, the last to the future.
    valid_during tstzrange NOT NULL,
    min_amount bigint NOT NULL,
    max_amount bigint NOT NULL,
    CONSTRAINT product_listing_prices_amounts_check CHECK (0 <= min_amount AND min_amount <= max_amount),
    CONSTRAINT product_listing_prices_valid_during_check CHECK (NOT isempty(valid_during))
);
COMMENT ON TABLE shop.product_listing_prices IS
'Part of the read model: the lowest and highest unit price (quantity 1) shop.resolve_prices gives a '
'product''s variants in a currency, for everyone (customer_group_id NULL) or a customer group, during '
'valid_during. Rewritten with the product''s listing; a read picks the row whose span holds now().';
CREATE INDEX product_listing_prices_product_idx ON shop.product_listing_prices (product_id, currency);
CREATE INDEX product_listing_prices_everyone_amount_idx
ON shop.product_listing_prices (currency, min_amount, product_id)
WHERE customer_group_id IS NULL;

-- Products whose listing the current transaction must rewrite, and one row per such transaction whose
-- constraint trigger does it. Both are emptied by that trigger, so nothing committed ever stays in them.
CREATE UNLOGGED TABLE shop.product_listing_queue (
    product_id uuid PRIMARY KEY
);
COMMENT ON TABLE shop.product_listing_queue IS
'Products whose listing the writing transaction must rewrite (filled by the triggers of '
'sql/shop/product_listings.sql, emptied by the same transaction). No personal data.';
CREATE UNLOGGED TABLE shop.product_listing_flushes (
    transaction_id xid8 PRIMARY KEY
);
COMMENT ON TABLE shop.product_listing_flushes IS
'One row per transaction with queued listings; its constraint trigger rewrites them (at the end of the '
'statement, or at commit when deferred) and deletes the row. No personal data.';

-- Facet counts of unsearched product lists, kept per catalog version: they depend on the filters, never
-- on the sort or the page, and counting them over a whole catalog costs far more than a page.
CREATE UNLOGGED TABLE shop.listing_facets (
    filter_key text PRIMARY KEY,
    catalog_version text NOT NULL,
    facets jsonb NOT NULL,
    computed_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE shop.listing_facets IS
'Memo of api.list_products facets: for a filter key (currency, customer group, filters), the facets '
'counted at a catalog version; valid only while shop.catalog_version() still equals it. Written by '
'shop.remember_listing_facets; rows of older versions are deleted when a newer one is written. No '
'personal data.';
ALTER TABLE shop.listing_facets ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.listing_facets FORCE ROW LEVEL SECURITY;
CREATE POLICY listing_facets_owner_all ON shop.listing_facets
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);

ALTER TABLE shop.product_listings ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.product_listings FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.product_listing_prices ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.product_listing_prices FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.product_listing_queue ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.product_listing_queue FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.product_listing_flushes ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.product_listing_flushes FORCE ROW LEVEL SECURITY;
CREATE POLICY product_listings_owner_all ON shop.product_listings
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY product_listing_prices_owner_all ON shop.product_listing_prices
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY product_listing_queue_owner_all ON shop.product_listing_queue
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY product_listing_flushes_owner_all ON shop.product_listing_flushes
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
-- Staff may read the read model (to compare it with the catalog); the storefront reads it through
-- api.list_products, which applies the same visibility rule as the products' policy.
CREATE POLICY product_listings_select_staff ON shop.product_listings
FOR SELECT TO postcart_staff USING (TRUE);
CREATE POLICY product_listing_prices_select_staff ON shop.product_listing_prices
FOR SELECT TO postcart_staff USING (TRUE);
GRANT SELECT ON shop.product_listings TO postcart_staff;
GRANT SELECT ON shop.product_listing_prices TO postcart_staff;

-- Nothing searches the plain description form (search uses the compact one): one index less to keep.
DROP INDEX shop.products_search_description_idx;

RESET ROLE;
