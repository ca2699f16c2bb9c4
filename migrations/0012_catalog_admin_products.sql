-- Staff catalog management, products: product types with typed attributes, slug history, scheduled
-- publication, the visibility that variant and price rows carry for their policies, and the write grants
-- and policies of catalog_manager. Trigger functions and the admin API live in sql/shop/catalog_admin.sql
-- and sql/api/catalog_admin.sql.
-- depends: 0009_compact_search

SET LOCAL ROLE postcart_owner;

-- == functions the constraints are built on ==========================================================
-- A CHECK constraint freezes this function's verdicts on stored rows: it is part of the stored schema.
CREATE FUNCTION shop.attribute_definition_problems(definition jsonb)
RETURNS jsonb
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN definition IS NULL OR jsonb_typeof(definition) <> 'object'
            THEN jsonb_build_object('attributes', 'must be an object of attribute definitions')
        ELSE (
            SELECT nullif(coalesce(jsonb_object_agg(problems.field, problems.reason), '{}'), '{}')
            FROM (
                SELECT
                    'attributes.' || d.key AS field,
                    CASE
                        WHEN d.key !~ '^[a-z][a-z0-9_]{0,62}$'
                            THEN 'attribute names are lower-case letters, digits and underscores, '
                            || 'starting with a letter'
                        WHEN jsonb_typeof(d.value) <> 'object'
                            THEN 'must be an object such as {"type": "text"}'
                        WHEN NOT coalesce(d.value ->> 'type' IN ('text', 'number', 'boolean', 'enum'), FALSE)
                            THEN 'type must be one of text, number, boolean, enum'
                        WHEN EXISTS (
                            SELECT FROM jsonb_object_keys(d.value) AS k (name)
                            WHERE k.name NOT IN ('type', 'values', 'required')
                        )
                            THEN 'may only hold type, values and required'
                        WHEN d.value ? 'required' AND jsonb_typeof(d.value -> 'required') <> 'boolean'
                            THEN 'required must be true or false'
                        WHEN d.value ->> 'type' = 'enum' AND NOT coalesce(
                            jsonb_typeof(d.value -> 'values') = 'array'
                            AND jsonb_array_length(d.value -> 'values') BETWEEN 1 AND 500
                            AND (
                                SELECT bool_and(jsonb_typeof(v.value) = 'string' AND btrim(v.value #>> '{}') <> '')
                                    AND count(DISTINCT v.value) = count(*)
                                FROM jsonb_array_elements(d.value -> 'values') AS v (value)
                            ),
                            FALSE
                        )
                            THEN 'an enum needs values: 1 to 500 distinct non-empty strings'
                        WHEN d.value ->> 'type' <> 'enum' AND d.value ? 'values'
                            THEN 'values are for enum attributes only'
                    END AS reason
                FROM jsonb_each(definition) AS d (key, value)
            ) AS problems
            WHERE problems.reason IS NOT NULL
        )
    END
$$;
COMMENT ON FUNCTION shop.attribute_definition_problems(jsonb) IS
'Checks a product type''s attribute definitions: an object {name: {type: text|number|boolean|enum, '
'values: [strings] (enum only), required: boolean}}. Returns NULL when it is well formed, else a JSON '
'object {"attributes.<name>": "human reason"}. Immutable: the CHECK on shop.product_types uses it.';
REVOKE ALL ON FUNCTION shop.attribute_definition_problems(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.attribute_definition_problems(jsonb) TO postcart_staff;

-- Whether a product in this status from this instant is visible to the storefront: the instant it
-- becomes visible, or NULL. Rows that belong to a product carry this value for their policies.
CREATE FUNCTION shop.visible_from(status text, published_at timestamptz)
RETURNS timestamptz
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT CASE WHEN status = 'published' THEN published_at END
$$;
COMMENT ON FUNCTION shop.visible_from(text, timestamptz) IS
'The instant a product with this status and published_at becomes visible to anonymous callers and '
'customers (published_at when published, else NULL: never). Returns timestamptz.';
REVOKE ALL ON FUNCTION shop.visible_from(text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.visible_from(text, timestamptz) TO postcart_anon;
GRANT EXECUTE ON FUNCTION shop.visible_from(text, timestamptz) TO postcart_customer;
GRANT EXECUTE ON FUNCTION shop.visible_from(text, timestamptz) TO postcart_staff;

-- == tables ==========================================================================================
CREATE TABLE shop.product_types (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    code text NOT NULL,
    name text NOT NULL,
    attributes jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT product_types_code_key UNIQUE (code),
    CONSTRAINT product_types_code_check CHECK (code ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(code) <= 64),
    CONSTRAINT product_types_name_check CHECK (btrim(name) <> '' AND length(name) <= 200),
    CONSTRAINT product_types_attributes_check CHECK (shop.attribute_definition_problems(attributes) IS NULL)
);
COMMENT ON TABLE shop.product_types IS
'Kinds of product (t-shirt, book, ...), each defining typed attributes: {name: {type: text|number|'
'boolean|enum, values: [...] for enum, required: bool}}. A product of a type may only hold its type''s '
'attributes, with values of their types (checked by a trigger on shop.products, whoever writes); a '
'product without a type keeps free attributes. Staff only.';

ALTER TABLE shop.products
ADD COLUMN product_type_id uuid REFERENCES shop.product_types (id) ON DELETE RESTRICT;
CREATE INDEX products_product_type_id_idx ON shop.products (product_type_id);
-- The staff list: newest changes first.
CREATE INDEX products_updated_at_id_idx ON shop.products (updated_at DESC, id DESC);
COMMENT ON COLUMN shop.products.product_type_id IS
'The product''s type, whose definitions its attributes must follow; NULL: free attributes.';
COMMENT ON COLUMN shop.products.published_at IS
'When the product is (or was) published. A published product with published_at in the future is '
'scheduled: the policies compare it with now(), so it becomes visible at that instant without any job.';

CREATE TABLE shop.product_slugs (
    slug text PRIMARY KEY,
    product_id uuid NOT NULL REFERENCES shop.products (id) ON DELETE CASCADE,
    retired_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT product_slugs_slug_check CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 200)
);
CREATE INDEX product_slugs_product_id_idx ON shop.product_slugs (product_id);
COMMENT ON TABLE shop.product_slugs IS
'Former slugs of products, written by a trigger when a slug changes: GET /v1/products/{old-slug} '
'redirects to the current one. A slug is never both current and former, nor former for two products.';

-- Visibility carried on the rows the storefront policies guard (DESIGN.md, "Fast reads"): a policy then
-- compares one column of the row with now(), O(1) per row, and scheduled products appear on time.
ALTER TABLE shop.product_variants ADD COLUMN visible_from timestamptz;
ALTER TABLE shop.variant_prices ADD COLUMN visible_from timestamptz;
COMMENT ON COLUMN shop.product_variants.visible_from IS
'shop.visible_from() of the variant''s product, kept by triggers: when anonymous callers and customers '
'may see the row (NULL: never).';
COMMENT ON COLUMN shop.variant_prices.visible_from IS
'shop.visible_from() of the price''s product, kept by triggers: when anonymous callers and customers '
'may see the row (NULL: never).';
UPDATE shop.product_variants AS v SET visible_from = shop.visible_from(p.status, p.published_at)
FROM shop.products AS p
WHERE v.product_id = p.id;
UPDATE shop.variant_prices AS vp SET visible_from = shop.visible_from(p.status, p.published_at)
FROM shop.products AS p
WHERE vp.product_id = p.id;
CREATE INDEX product_variants_visible_from_idx ON shop.product_variants (visible_from);
CREATE INDEX variant_prices_visible_from_idx ON shop.variant_prices (visible_from);

-- == row-level security ==============================================================================
ALTER TABLE shop.product_types ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.product_types FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.product_slugs ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.product_slugs FORCE ROW LEVEL SECURITY;

CREATE POLICY product_types_owner_all ON shop.product_types
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY product_types_select_staff ON shop.product_types
FOR SELECT TO postcart_staff USING (TRUE);
CREATE POLICY product_types_insert_catalog ON shop.product_types
FOR INSERT TO catalog_manager WITH CHECK (TRUE);
CREATE POLICY product_types_update_catalog ON shop.product_types
FOR UPDATE TO catalog_manager USING (TRUE) WITH CHECK (TRUE);

CREATE POLICY product_slugs_owner_all ON shop.product_slugs
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY product_slugs_select_staff ON shop.product_slugs
FOR SELECT TO postcart_staff USING (TRUE);

-- Published and due: a scheduled product stays hidden until its instant.
ALTER POLICY products_select_published ON shop.products
USING (status = 'published' AND published_at <= now());
ALTER POLICY product_variants_select_published ON shop.product_variants
USING (visible_from <= now());
ALTER POLICY variant_prices_select_published ON shop.variant_prices
USING (visible_from <= now());

CREATE POLICY products_insert_catalog ON shop.products
FOR INSERT TO catalog_manager WITH CHECK (TRUE);
CREATE POLICY products_update_catalog ON shop.products
FOR UPDATE TO catalog_manager USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY product_variants_insert_catalog ON shop.product_variants
FOR INSERT TO catalog_manager WITH CHECK (TRUE);
CREATE POLICY product_variants_update_catalog ON shop.product_variants
FOR UPDATE TO catalog_manager USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY variant_prices_insert_catalog ON shop.variant_prices
FOR INSERT TO catalog_manager WITH CHECK (TRUE);
CREATE POLICY variant_prices_update_catalog ON shop.variant_prices
FOR UPDATE TO catalog_manager USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY variant_prices_delete_catalog ON shop.variant_prices
FOR DELETE TO catalog_manager USING (TRUE);

-- == grants ==========================================================================================
-- catalog_manager writes the catalog, column by column; derived columns (product_id of prices,
-- visible_from, search forms, timestamps) are kept by triggers and never written by callers. Products and
-- variants are archived, not deleted (orders will refer to them); a variant's price in a currency may be
-- removed (it is then not sold in that currency).
GRANT SELECT (id, code, name, attributes, created_at, updated_at) ON shop.product_types TO postcart_staff;
GRANT INSERT (id, code, name, attributes) ON shop.product_types TO catalog_manager;
GRANT UPDATE (code, name, attributes) ON shop.product_types TO catalog_manager;

GRANT SELECT (slug, product_id, retired_at) ON shop.product_slugs TO postcart_staff;

GRANT SELECT (product_type_id) ON shop.products TO postcart_staff;
GRANT INSERT (
    id, slug, name, description, attributes, category_id, product_type_id, status, published_at
) ON shop.products TO catalog_manager;
GRANT UPDATE (
    slug, name, description, attributes, category_id, product_type_id, status, published_at
) ON shop.products TO catalog_manager;

GRANT SELECT (visible_from) ON shop.product_variants TO postcart_staff;
GRANT INSERT (id, product_id, sku, name, options, position) ON shop.product_variants TO catalog_manager;
GRANT UPDATE (sku, name, options, position) ON shop.product_variants TO catalog_manager;

GRANT SELECT (visible_from) ON shop.variant_prices TO postcart_staff;
GRANT INSERT (variant_id, currency, amount) ON shop.variant_prices TO catalog_manager;
GRANT UPDATE (amount) ON shop.variant_prices TO catalog_manager;
GRANT DELETE ON shop.variant_prices TO catalog_manager;

RESET ROLE;
