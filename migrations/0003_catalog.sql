-- Catalog: categories, products, variants, prices per currency, warehouses and stock levels.
-- Tables, constraints, indexes, row-level security and grants. Trigger functions, triggers and the
-- catalog API live in sql/shop/catalog.sql and sql/api/catalog.sql.
-- depends: 0001_roles_and_schemas

SET LOCAL ROLE postcart_owner;

-- == functions the indexes are built on ==============================================================
-- Stored generated columns and their indexes freeze this function's results, so it is part of the stored
-- schema: it lives here, not in sql/, and changing it needs a migration that recomputes them.
CREATE FUNCTION shop.search_key(input text)
RETURNS text
LANGUAGE sql
IMMUTABLE
STRICT
PARALLEL SAFE
AS $$
    SELECT extensions.unaccent('extensions.unaccent'::regdictionary, pg_catalog.lower(input))
$$;
COMMENT ON FUNCTION shop.search_key(text) IS
'Search form of a text: lower case without accents ("Crème Hoodie" -> "creme hoodie"). Immutable (the '
'unaccent dictionary is named explicitly), so trigram indexes can be built on it. Returns text.';
REVOKE ALL ON FUNCTION shop.search_key(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.search_key(text) TO postcart_anon;
GRANT EXECUTE ON FUNCTION shop.search_key(text) TO postcart_customer;
GRANT EXECUTE ON FUNCTION shop.search_key(text) TO postcart_staff;

-- == tables ==========================================================================================
CREATE TABLE shop.categories (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    parent_id uuid REFERENCES shop.categories (id) ON DELETE RESTRICT,
    slug text NOT NULL,
    name text NOT NULL,
    position integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT categories_slug_key UNIQUE (slug),
    CONSTRAINT categories_slug_check CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 100),
    CONSTRAINT categories_name_check CHECK (btrim(name) <> '' AND length(name) <= 200),
    CONSTRAINT categories_parent_check CHECK (parent_id <> id)
);
CREATE INDEX categories_parent_id_position_idx ON shop.categories (parent_id, position);
COMMENT ON TABLE shop.categories IS
'The category tree (parent_id NULL = a top-level category). Readable by everyone; cycles are refused '
'by a trigger.';

CREATE TABLE shop.products (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug text NOT NULL,
    name text NOT NULL,
    description text NOT NULL DEFAULT '',
    attributes jsonb NOT NULL DEFAULT '{}',
    category_id uuid REFERENCES shop.categories (id) ON DELETE SET NULL,
    image_url text,
    status text NOT NULL DEFAULT 'draft',
    published_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- Search forms, stored: computed once per write instead of once per row read.
    search_name text GENERATED ALWAYS AS (shop.search_key(name)) STORED,
    search_description text GENERATED ALWAYS AS (shop.search_key(description)) STORED,
    CONSTRAINT products_slug_key UNIQUE (slug),
    CONSTRAINT products_slug_check CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 200),
    CONSTRAINT products_name_check CHECK (btrim(name) <> '' AND length(name) <= 200),
    CONSTRAINT products_description_check CHECK (length(description) <= 20000),
    CONSTRAINT products_attributes_check CHECK (jsonb_typeof(attributes) = 'object'),
    CONSTRAINT products_image_url_check CHECK (image_url ~ '^https?://\S+$'),
    CONSTRAINT products_status_check CHECK (status IN ('draft', 'published', 'archived')),
    -- A trigger fills published_at on publication; newest-first sorting relies on it.
    CONSTRAINT products_published_at_check CHECK (status <> 'published' OR published_at IS NOT NULL)
);
-- RLS filters by status; the storefront lists published products newest first.
CREATE INDEX products_status_published_at_idx ON shop.products (status, published_at DESC, id DESC);
CREATE INDEX products_category_id_idx ON shop.products (category_id);
-- Typo-tolerant search: trigrams of the unaccented lower-case name and description.
CREATE INDEX products_search_name_idx ON shop.products USING gin (search_name extensions.gin_trgm_ops);
CREATE INDEX products_search_description_idx ON shop.products
USING gin (search_description extensions.gin_trgm_ops);
COMMENT ON TABLE shop.products IS
'Products. Only published ones are visible to anonymous callers and customers (RLS); staff see all. '
'attributes is a JSON object of descriptive facts (material, care, ...); prices live on variants.';

CREATE TABLE shop.product_variants (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    product_id uuid NOT NULL REFERENCES shop.products (id) ON DELETE CASCADE,
    sku text NOT NULL,
    name text NOT NULL,
    options jsonb NOT NULL DEFAULT '{}',
    position integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT product_variants_sku_key UNIQUE (sku),
    -- Target of variant_prices' (variant_id, product_id) foreign key.
    CONSTRAINT product_variants_id_product_id_key UNIQUE (id, product_id),
    CONSTRAINT product_variants_sku_check CHECK (sku ~ '^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$'),
    CONSTRAINT product_variants_name_check CHECK (btrim(name) <> '' AND length(name) <= 200),
    CONSTRAINT product_variants_options_check CHECK (jsonb_typeof(options) = 'object')
);
CREATE INDEX product_variants_product_id_position_idx ON shop.product_variants (product_id, position);
COMMENT ON TABLE shop.product_variants IS
'Sellable variants of a product (a size, a colour), each with its own SKU, prices and stock. Visible '
'to anonymous callers and customers when their product is published.';

CREATE TABLE shop.variant_prices (
    variant_id uuid NOT NULL,
    -- The variant's product, filled in by a trigger and kept right by the composite foreign key: the
    -- storefront's lowest-price-per-product and the RLS policy then need no join through variants.
    product_id uuid NOT NULL,
    currency char(3) NOT NULL,
    amount bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (variant_id, currency),
    CONSTRAINT variant_prices_variant_fkey FOREIGN KEY (variant_id, product_id)
    REFERENCES shop.product_variants (id, product_id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT variant_prices_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT variant_prices_amount_check CHECK (amount >= 0)
);
CREATE INDEX variant_prices_product_id_currency_amount_idx ON shop.variant_prices (product_id, currency, amount);
CREATE INDEX variant_prices_currency_amount_idx ON shop.variant_prices (currency, amount);
COMMENT ON TABLE shop.variant_prices IS
'The price of a variant in one currency, in minor units (1999 = 19.99). A variant without a price in a '
'currency is not sold in it. product_id repeats the variant''s product (set by a trigger).';

CREATE TABLE shop.warehouses (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    code text NOT NULL,
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT warehouses_code_key UNIQUE (code),
    CONSTRAINT warehouses_code_check CHECK (code ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(code) <= 32),
    CONSTRAINT warehouses_name_check CHECK (btrim(name) <> '' AND length(name) <= 200)
);
COMMENT ON TABLE shop.warehouses IS 'Places that hold stock. Staff only.';

CREATE TABLE shop.stock_levels (
    variant_id uuid NOT NULL REFERENCES shop.product_variants (id) ON DELETE CASCADE,
    warehouse_id uuid NOT NULL REFERENCES shop.warehouses (id) ON DELETE RESTRICT,
    on_hand integer NOT NULL DEFAULT 0,
    reserved integer NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (variant_id, warehouse_id),
    CONSTRAINT stock_levels_on_hand_check CHECK (on_hand >= 0),
    CONSTRAINT stock_levels_reserved_check CHECK (reserved >= 0),
    -- No backorders: a reservation never exceeds what is physically there.
    CONSTRAINT stock_levels_reserved_le_on_hand CHECK (reserved <= on_hand)
);
CREATE INDEX stock_levels_warehouse_id_idx ON shop.stock_levels (warehouse_id);
COMMENT ON TABLE shop.stock_levels IS
'Stock of a variant in a warehouse: on_hand is physically there, reserved is promised to orders; '
'available = on_hand - reserved. Staff only; the storefront sees availability through '
'shop.variant_availability() and shop.product_availability().';

-- == row-level security ==============================================================================
-- FORCE makes the owner obey the policies too, so it gets an explicit allow-all policy: SECURITY DEFINER
-- helpers and reporting views run as the owner. Write policies for catalog_manager and
-- inventory_manager are added next to these when the admin API arrives.
ALTER TABLE shop.categories ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.categories FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.products ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.products FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.product_variants ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.product_variants FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.variant_prices ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.variant_prices FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.warehouses ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.warehouses FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.stock_levels ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.stock_levels FORCE ROW LEVEL SECURITY;

CREATE POLICY categories_owner_all ON shop.categories
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY categories_select_all ON shop.categories
FOR SELECT TO postcart_anon, postcart_customer, postcart_staff USING (TRUE);

CREATE POLICY products_owner_all ON shop.products
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY products_select_published ON shop.products
FOR SELECT TO postcart_anon, postcart_customer USING (status = 'published');
CREATE POLICY products_select_staff ON shop.products
FOR SELECT TO postcart_staff USING (TRUE);

CREATE POLICY product_variants_owner_all ON shop.product_variants
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
-- Uncorrelated IN (not a correlated EXISTS on a join): the planner hashes the published product ids once
-- per statement.
CREATE POLICY product_variants_select_published ON shop.product_variants
FOR SELECT TO postcart_anon, postcart_customer
USING (
    product_id IN (
        SELECT p.id FROM shop.products AS p
        WHERE p.status = 'published'
    )
);
CREATE POLICY product_variants_select_staff ON shop.product_variants
FOR SELECT TO postcart_staff USING (TRUE);

CREATE POLICY variant_prices_owner_all ON shop.variant_prices
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY variant_prices_select_published ON shop.variant_prices
FOR SELECT TO postcart_anon, postcart_customer
USING (
    product_id IN (
        SELECT p.id FROM shop.products AS p
        WHERE p.status = 'published'
    )
);
CREATE POLICY variant_prices_select_staff ON shop.variant_prices
FOR SELECT TO postcart_staff USING (TRUE);

CREATE POLICY warehouses_owner_all ON shop.warehouses
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY warehouses_select_staff ON shop.warehouses
FOR SELECT TO postcart_staff USING (TRUE);

CREATE POLICY stock_levels_owner_all ON shop.stock_levels
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY stock_levels_select_staff ON shop.stock_levels
FOR SELECT TO postcart_staff USING (TRUE);

-- == grants ==========================================================================================
-- Read-only for now, column by column. Anonymous callers and customers never touch warehouses or
-- stock_levels.
GRANT SELECT (id, parent_id, slug, name, position) ON shop.categories TO postcart_anon;
GRANT SELECT (id, parent_id, slug, name, position) ON shop.categories TO postcart_customer;
GRANT SELECT (id, parent_id, slug, name, position, created_at, updated_at)
ON shop.categories TO postcart_staff;

GRANT SELECT (
    id, slug, name, description, attributes, category_id, image_url, status, published_at, search_name,
    search_description
) ON shop.products TO postcart_anon;
GRANT SELECT (
    id, slug, name, description, attributes, category_id, image_url, status, published_at, search_name,
    search_description
) ON shop.products TO postcart_customer;
GRANT SELECT (
    id, slug, name, description, attributes, category_id, image_url, status, published_at, created_at,
    updated_at, search_name, search_description
) ON shop.products TO postcart_staff;

GRANT SELECT (id, product_id, sku, name, options, position) ON shop.product_variants TO postcart_anon;
GRANT SELECT (id, product_id, sku, name, options, position) ON shop.product_variants TO postcart_customer;
GRANT SELECT (id, product_id, sku, name, options, position, created_at, updated_at)
ON shop.product_variants TO postcart_staff;

GRANT SELECT (variant_id, product_id, currency, amount) ON shop.variant_prices TO postcart_anon;
GRANT SELECT (variant_id, product_id, currency, amount) ON shop.variant_prices TO postcart_customer;
GRANT SELECT (variant_id, product_id, currency, amount, updated_at) ON shop.variant_prices TO postcart_staff;

GRANT SELECT (id, code, name, created_at) ON shop.warehouses TO postcart_staff;
GRANT SELECT (variant_id, warehouse_id, on_hand, reserved, updated_at) ON shop.stock_levels TO postcart_staff;

RESET ROLE;
