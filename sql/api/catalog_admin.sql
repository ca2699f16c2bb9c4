-- Staff catalog management API: product types, products with variants, base prices, attributes,
-- publication and scheduling, media; categories and collections. SECURITY INVOKER throughout: the
-- database refuses callers without catalog_manager (EXECUTE is granted to it alone, and the tables grant
-- writes to it alone). The rules themselves (typed attributes, slugs, visibility) are triggers in
-- sql/shop/catalog_admin.sql, so they hold for every writer.

-- == helpers =========================================================================================
CREATE OR REPLACE FUNCTION shop.uuid_or_null(input text)
RETURNS uuid
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN input ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$' THEN input::uuid
    END
$$;
COMMENT ON FUNCTION shop.uuid_or_null(text) IS
'The uuid a text spells, or NULL when it is not shaped like one (so a malformed id is simply not found). '
'Returns uuid.';
REVOKE ALL ON FUNCTION shop.uuid_or_null(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.uuid_or_null(text) TO postcart_anon;
GRANT EXECUTE ON FUNCTION shop.uuid_or_null(text) TO postcart_customer;
GRANT EXECUTE ON FUNCTION shop.uuid_or_null(text) TO postcart_staff;

CREATE OR REPLACE FUNCTION shop.timestamp_or_null(input text)
RETURNS timestamptz
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    IF input !~ '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|z|[+-]\d{2}(:?\d{2})?)$' THEN
        RETURN NULL;
    END IF;
    RETURN input::timestamptz;
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION shop.timestamp_or_null(text) IS
'The instant an RFC 3339 date-time with a UTC offset spells ("2026-12-01T09:00:00Z"), or NULL when the '
'text is not one. Returns timestamptz.';
REVOKE ALL ON FUNCTION shop.timestamp_or_null(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.timestamp_or_null(text) TO postcart_staff;

-- == product types ===================================================================================
CREATE OR REPLACE FUNCTION shop.product_type_json(type_id uuid)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT jsonb_build_object(
        'id', t.id, 'code', t.code, 'name', t.name, 'attributes', t.attributes,
        'created_at', auth.to_rfc3339(t.created_at), 'updated_at', auth.to_rfc3339(t.updated_at)
    )
    FROM shop.product_types AS t
    WHERE t.id = type_id
$$;
COMMENT ON FUNCTION shop.product_type_json(uuid) IS
'A product type as the admin API shows it: {id, code, name, attributes, created_at, updated_at}; NULL when '
'unknown. Returns jsonb.';
REVOKE ALL ON FUNCTION shop.product_type_json(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.product_type_json(uuid) TO postcart_staff;

CREATE OR REPLACE FUNCTION shop.write_product_type(target uuid, args jsonb)
RETURNS uuid
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    creating boolean := target IS NULL;
    fields jsonb := '{}';
    problem text;
    new_code text;
BEGIN
    problem := auth.text_field_error(args, 'name', creating, 200);
    IF problem IS NOT NULL THEN
        fields := fields || jsonb_build_object('name', problem);
    END IF;
    IF args ? 'code' THEN
        new_code := args ->> 'code';
        IF jsonb_typeof(args -> 'code') <> 'string' OR new_code !~ '^[a-z0-9]+(-[a-z0-9]+)*$'
            OR length(new_code) > 64 THEN
            fields := fields || '{"code": "must be lower-case letters and digits in hyphenated words, at most 64"}';
        END IF;
    ELSIF creating THEN
        new_code := coalesce(left(shop.slugify(args ->> 'name'), 64), 'type');
    END IF;
    IF args ? 'attributes' OR creating THEN
        fields := fields || coalesce(shop.attribute_definition_problems(coalesce(args -> 'attributes', '{}')), '{}');
    END IF;
    IF fields <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed', jsonb_build_object('fields', fields),
            'Some fields are invalid; details.fields says which and why.'
        );
    END IF;
    IF NOT creating AND NOT EXISTS (SELECT FROM shop.product_types AS t WHERE t.id = target) THEN
        PERFORM shop.fail(
            404, 'product_type_not_found', jsonb_build_object('id', target), 'No product type has this id.'
        );
    END IF;
    BEGIN
        IF creating THEN
            INSERT INTO shop.product_types (code, name, attributes)
            VALUES (new_code, btrim(args ->> 'name'), coalesce(args -> 'attributes', '{}'))
            RETURNING id INTO target;
        ELSE
            UPDATE shop.product_types AS t SET
                code = coalesce(new_code, t.code),
                name = CASE WHEN args ? 'name' THEN btrim(args ->> 'name') ELSE t.name END,
                attributes = coalesce(args -> 'attributes', t.attributes)
            WHERE t.id = target;
        END IF;
    EXCEPTION WHEN unique_violation THEN
        PERFORM shop.fail(
            409, 'code_taken', jsonb_build_object('fields', jsonb_build_object('code', 'is used by another type')),
            'Another product type has this code.'
        );
    END;
    RETURN target;
END
$$;
COMMENT ON FUNCTION shop.write_product_type(uuid, jsonb) IS
'Creates (target NULL) or changes a product type from admin API arguments {code?, name, attributes}. '
'Errors: PT422 validation_failed, PT404 product_type_not_found, PT409 code_taken, PT409 '
'product_type_in_use. Returns the type''s id.';
REVOKE ALL ON FUNCTION shop.write_product_type(uuid, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.write_product_type(uuid, jsonb) TO catalog_manager;

CREATE OR REPLACE FUNCTION api.admin_create_product_type(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    written uuid;
BEGIN
    -- Two statements: the reading function (STABLE) sees the write only from a later statement.
    written := shop.write_product_type(NULL, args);
    RETURN shop.product_type_json(written);
END
$$;
COMMENT ON FUNCTION api.admin_create_product_type(jsonb) IS
'POST /v1/admin/product-types (catalog_manager): {code? (made from the name when absent), name, '
'attributes: {name: {type: "text"|"number"|"boolean"|"enum", values?: [strings, enum only], required?: '
'bool}}}. Products of the type may then hold only these attributes, typed. Returns {id, code, name, '
'attributes, created_at, updated_at}. Errors: PT422 validation_failed (details.fields), PT409 code_taken.';
REVOKE ALL ON FUNCTION api.admin_create_product_type(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.admin_create_product_type(jsonb) TO catalog_manager;

CREATE OR REPLACE FUNCTION api.admin_update_product_type(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    written uuid;
BEGIN
    -- Two statements: the reading function (STABLE) sees the write only from a later statement.
    written := shop.write_product_type(
        coalesce(shop.uuid_or_null(args ->> 'id'), '00000000-0000-0000-0000-000000000000'), args - 'id'
    );
    RETURN shop.product_type_json(written);
END
$$;
COMMENT ON FUNCTION api.admin_update_product_type(jsonb) IS
'PATCH /v1/admin/product-types/{id} (catalog_manager): any of {code, name, attributes}; new attribute '
'definitions must still accept every product of the type. Returns the type like POST. Errors: PT404 '
'product_type_not_found, PT422 validation_failed, PT409 code_taken, PT409 product_type_in_use '
'(details.products: [{slug, fields}]).';
REVOKE ALL ON FUNCTION api.admin_update_product_type(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.admin_update_product_type(jsonb) TO catalog_manager;

-- == products ========================================================================================
CREATE OR REPLACE FUNCTION shop.admin_product(product_id uuid)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT jsonb_build_object(
        'id', p.id,
        'slug', p.slug,
        'former_slugs', coalesce((
            SELECT jsonb_agg(h.slug ORDER BY h.retired_at DESC, h.slug)
            FROM shop.product_slugs AS h WHERE h.product_id = p.id
        ), '[]'),
        'name', p.name,
        'description', p.description,
        'status', p.status,
        'published_at', auth.to_rfc3339(p.published_at),
        'scheduled', coalesce(p.status = 'published' AND p.published_at > now(), FALSE),
        'product_type', (
            SELECT jsonb_build_object('id', t.id, 'code', t.code, 'name', t.name)
            FROM shop.product_types AS t WHERE t.id = p.product_type_id
        ),
        'attributes', p.attributes,
        'tax_class', p.tax_class,
        'category', (
            SELECT jsonb_build_object('id', c.id, 'slug', c.slug, 'name', c.name)
            FROM shop.categories AS c WHERE c.id = p.category_id
        ),
        'image_url', p.image_url,
        'media', coalesce((
            SELECT jsonb_agg(
                jsonb_build_object('id', m.id, 'url', m.url, 'alt', m.alt, 'position', m.position)
                ORDER BY m.position, m.id
            )
            FROM shop.product_media AS m WHERE m.product_id = p.id
        ), '[]'),
        'variants', coalesce((
            SELECT jsonb_agg(
                jsonb_build_object(
                    'id', v.id, 'sku', v.sku, 'name', v.name, 'options', v.options, 'position', v.position,
                    'weight_grams', v.weight_grams,
                    'prices', coalesce((
                        SELECT jsonb_agg(
                            jsonb_build_object('amount', vp.amount, 'currency', vp.currency) ORDER BY vp.currency
                        )
                        FROM shop.variant_prices AS vp WHERE vp.variant_id = v.id
                    ), '[]')
                )
                ORDER BY v.position, v.sku
            )
            FROM shop.product_variants AS v WHERE v.product_id = p.id
        ), '[]'),
        'created_at', auth.to_rfc3339(p.created_at),
        'updated_at', auth.to_rfc3339(p.updated_at)
    )
    FROM shop.products AS p
    WHERE p.id = admin_product.product_id
$$;
COMMENT ON FUNCTION shop.admin_product(uuid) IS
'A product as staff see it, whatever its status: {id, slug, former_slugs, name, description, status, '
'published_at, scheduled, product_type: {id, code, name}|null, attributes, tax_class, category: {id, slug, '
'name}|null, image_url, media: [{id, url, alt, position}], variants: [{id, sku, name, options, position, '
'weight_grams, prices: [{amount, currency}]}], created_at, updated_at}; NULL when the caller cannot see it. '
'Returns jsonb.';
REVOKE ALL ON FUNCTION shop.admin_product(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.admin_product(uuid) TO postcart_staff;

CREATE OR REPLACE FUNCTION shop.write_product(target uuid, args jsonb)
RETURNS uuid
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    creating boolean := target IS NULL;
    fields jsonb := '{}';
    problem text;
    existing shop.products%ROWTYPE;
    new_slug text;
    new_status text;
    new_publish timestamptz;
    new_category uuid;
    new_type uuid;
    variant jsonb;
    price jsonb;
    media_item jsonb;
    i bigint;
    j bigint;
    prefix text;
    vid uuid;
    variant_ids uuid[] := '{}';
    removals text[] := '{}';
    skus text[] := '{}';
    currencies text[];
    conflict text;
BEGIN
    IF NOT creating THEN
        SELECT * INTO existing FROM shop.products AS p WHERE p.id = target FOR UPDATE;
        IF existing.id IS NULL THEN
            PERFORM shop.fail(404, 'product_not_found', jsonb_build_object('id', target), 'No product has this id.');
        END IF;
    END IF;

    -- -- validate every member, then report all problems at once --------------------------------------
    problem := auth.text_field_error(args, 'name', creating, 200);
    IF problem IS NOT NULL THEN
        fields := fields || jsonb_build_object('name', problem);
    END IF;
    IF args ? 'slug' AND jsonb_typeof(args -> 'slug') <> 'null' THEN
        new_slug := args ->> 'slug';
        IF jsonb_typeof(args -> 'slug') <> 'string' OR new_slug !~ '^[a-z0-9]+(-[a-z0-9]+)*$'
            OR length(new_slug) > 200 THEN
            fields := fields || '{"slug": "must be lower-case letters and digits in hyphenated words (leave it out to have one made from the name)"}';
        END IF;
    END IF;
    problem := auth.text_field_error(args, 'description', FALSE, 20000);
    IF problem IS NOT NULL THEN
        fields := fields || jsonb_build_object('description', problem);
    END IF;
    IF args ? 'attributes' AND jsonb_typeof(args -> 'attributes') <> 'object' THEN
        fields := fields || '{"attributes": "must be an object"}';
    END IF;
    IF args ? 'status' THEN
        new_status := args ->> 'status';
        IF jsonb_typeof(args -> 'status') <> 'string' OR new_status NOT IN ('draft', 'published', 'archived') THEN
            fields := fields || '{"status": "must be draft, published or archived"}';
        END IF;
    END IF;
    IF args ? 'publish_at' AND jsonb_typeof(args -> 'publish_at') <> 'null' THEN
        new_publish := shop.timestamp_or_null(args ->> 'publish_at');
        IF jsonb_typeof(args -> 'publish_at') <> 'string' OR new_publish IS NULL THEN
            fields := fields || '{"publish_at": "must be an RFC 3339 date-time with an offset, e.g. 2026-12-01T09:00:00Z"}';
        ELSIF coalesce(new_status, 'published') <> 'published' THEN
            fields := fields || '{"publish_at": "only a published product has a publication time"}';
        END IF;
        new_status := 'published';
    END IF;
    IF args ? 'category_id' AND jsonb_typeof(args -> 'category_id') <> 'null' THEN
        new_category := shop.uuid_or_null(args ->> 'category_id');
        IF jsonb_typeof(args -> 'category_id') <> 'string' OR new_category IS NULL THEN
            fields := fields || '{"category_id": "must be the id of a category"}';
        END IF;
    END IF;
    IF args ? 'product_type' AND jsonb_typeof(args -> 'product_type') <> 'null'
        AND jsonb_typeof(args -> 'product_type') <> 'string' THEN
        fields := fields || '{"product_type": "must be the code of a product type"}';
    END IF;
    IF args ? 'tax_class' AND jsonb_typeof(args -> 'tax_class') <> 'string' THEN
        fields := fields || '{"tax_class": "must be the code of a tax class, e.g. standard or reduced"}';
    END IF;
    IF args ? 'variants' THEN
        IF jsonb_typeof(args -> 'variants') <> 'array' THEN
            fields := fields || '{"variants": "must be an array"}';
        ELSE
            FOR variant, i IN SELECT e.value, e.n - 1 FROM jsonb_array_elements(args -> 'variants') WITH ORDINALITY AS e (value, n) LOOP
                prefix := 'variants.' || i;
                IF jsonb_typeof(variant) <> 'object' THEN
                    fields := fields || jsonb_build_object(prefix, 'must be an object');
                    CONTINUE;
                END IF;
                vid := NULL;
                IF variant ? 'id' THEN
                    vid := shop.uuid_or_null(variant ->> 'id');
                    IF vid IS NULL OR NOT EXISTS (
                        SELECT FROM shop.product_variants AS v WHERE v.id = vid AND v.product_id = target
                    ) THEN
                        fields := fields || jsonb_build_object(prefix || '.id', 'is not a variant of this product');
                    END IF;
                ELSIF jsonb_typeof(variant -> 'sku') = 'string' AND NOT creating THEN
                    SELECT v.id INTO vid
                    FROM shop.product_variants AS v WHERE v.sku = variant ->> 'sku' AND v.product_id = target;
                END IF;
                variant_ids := variant_ids || vid;
                IF variant ? 'remove' THEN
                    IF jsonb_typeof(variant -> 'remove') <> 'boolean' THEN
                        fields := fields || jsonb_build_object(prefix || '.remove', 'must be true or false');
                    ELSIF (variant ->> 'remove')::boolean THEN
                        -- Removed, nothing else of the item applies.
                        removals := removals || prefix;
                        IF vid IS NULL AND NOT fields ? (prefix || '.id') THEN
                            fields := fields || jsonb_build_object(
                                prefix, 'names no variant of this product: give the id or sku of the one to remove'
                            );
                        END IF;
                        CONTINUE;
                    END IF;
                END IF;
                problem := auth.text_field_error(variant, 'sku', vid IS NULL, 64);
                IF problem IS NULL AND variant ? 'sku' AND (variant ->> 'sku') !~ '^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$' THEN
                    problem := 'must be letters, digits and . _ / -, starting with a letter or digit';
                END IF;
                IF problem IS NULL AND variant ? 'sku' THEN
                    IF (variant ->> 'sku') = ANY(skus) THEN
                        problem := 'is given twice';
                    ELSIF EXISTS (
                        SELECT FROM shop.product_variants AS v
                        WHERE v.sku = variant ->> 'sku' AND v.product_id IS DISTINCT FROM target
                    ) THEN
                        conflict := prefix || '.sku';
                    END IF;
                    skus := skus || (variant ->> 'sku');
                END IF;
                IF problem IS NOT NULL THEN
                    fields := fields || jsonb_build_object(prefix || '.sku', problem);
                END IF;
                problem := auth.text_field_error(variant, 'name', vid IS NULL, 200);
                IF problem IS NOT NULL THEN
                    fields := fields || jsonb_build_object(prefix || '.name', problem);
                END IF;
                IF variant ? 'options' AND jsonb_typeof(variant -> 'options') <> 'object' THEN
                    fields := fields || jsonb_build_object(prefix || '.options', 'must be an object');
                END IF;
                IF variant ? 'position' AND NOT coalesce(
                    jsonb_typeof(variant -> 'position') = 'number'
                    AND (variant ->> 'position') ~ '^-?[0-9]{1,9}$', FALSE
                ) THEN
                    fields := fields || jsonb_build_object(prefix || '.position', 'must be a whole number');
                END IF;
                -- In parentheses: PL/pgSQL would end the IF condition at the CASE's THEN.
                IF variant ? 'weight_grams' AND NOT (CASE
                    WHEN jsonb_typeof(variant -> 'weight_grams') = 'number' AND (variant ->> 'weight_grams') ~ '^[0-9]{1,8}$'
                        THEN (variant ->> 'weight_grams')::integer <= 10000000
                    ELSE FALSE
                END) THEN
                    fields := fields || jsonb_build_object(
                        prefix || '.weight_grams', 'must be a whole number of grams from 0 to 10000000'
                    );
                END IF;
                IF variant ? 'prices' THEN
                    IF jsonb_typeof(variant -> 'prices') <> 'array' THEN
                        fields := fields || jsonb_build_object(prefix || '.prices', 'must be an array of {amount, currency}');
                    ELSE
                        currencies := '{}';
                        FOR price, j IN SELECT e.value, e.n - 1 FROM jsonb_array_elements(variant -> 'prices') WITH ORDINALITY AS e (value, n) LOOP
                            IF jsonb_typeof(price) <> 'object' THEN
                                fields := fields || jsonb_build_object(prefix || '.prices.' || j, 'must be {amount, currency}');
                                CONTINUE;
                            END IF;
                            IF NOT coalesce(
                                jsonb_typeof(price -> 'amount') = 'number' AND (price ->> 'amount') ~ '^[0-9]{1,15}$', FALSE
                            ) THEN
                                fields := fields || jsonb_build_object(
                                    prefix || '.prices.' || j || '.amount',
                                    'must be a whole number of minor units, 0 or more (1999 = 19.99)'
                                );
                            END IF;
                            IF NOT coalesce(
                                jsonb_typeof(price -> 'currency') = 'string' AND (price ->> 'currency') ~ '^[A-Z]{3}$', FALSE
                            ) THEN
                                fields := fields || jsonb_build_object(
                                    prefix || '.prices.' || j || '.currency', 'must be a three-letter ISO 4217 code such as EUR'
                                );
                            ELSIF (price ->> 'currency') = ANY(currencies) THEN
                                fields := fields || jsonb_build_object(
                                    prefix || '.prices.' || j || '.currency', 'is given twice for this variant'
                                );
                            ELSE
                                currencies := currencies || (price ->> 'currency');
                            END IF;
                        END LOOP;
                    END IF;
                END IF;
            END LOOP;
            -- One item per variant: a later item naming a variant again (by id or sku) is refused.
            fields := fields || coalesce((
                SELECT jsonb_object_agg('variants.' || (d.n - 1), format('names the same variant as variants.%s', d.first_n - 1))
                FROM (
                    SELECT x.n, min(x.n) OVER (PARTITION BY x.vid) AS first_n
                    FROM unnest(variant_ids) WITH ORDINALITY AS x (vid, n)
                    WHERE x.vid IS NOT NULL
                ) AS d
                WHERE d.n > d.first_n
            ), '{}');
        END IF;
    END IF;
    IF args ? 'media' THEN
        IF jsonb_typeof(args -> 'media') <> 'array' THEN
            fields := fields || '{"media": "must be an array of {url, alt}"}';
        ELSE
            FOR media_item, i IN SELECT e.value, e.n - 1 FROM jsonb_array_elements(args -> 'media') WITH ORDINALITY AS e (value, n) LOOP
                prefix := 'media.' || i;
                IF jsonb_typeof(media_item) <> 'object' THEN
                    fields := fields || jsonb_build_object(prefix, 'must be {url, alt}');
                    CONTINUE;
                END IF;
                problem := auth.text_field_error(media_item, 'url', TRUE, 2000);
                IF problem IS NULL AND (media_item ->> 'url') !~ '^https?://\S+$' THEN
                    problem := 'must be an http or https URL';
                END IF;
                IF problem IS NOT NULL THEN
                    fields := fields || jsonb_build_object(prefix || '.url', problem);
                END IF;
                problem := auth.text_field_error(media_item, 'alt', FALSE, 500);
                IF problem IS NOT NULL THEN
                    fields := fields || jsonb_build_object(prefix || '.alt', problem);
                END IF;
            END LOOP;
        END IF;
    END IF;
    IF fields <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed', jsonb_build_object('fields', fields),
            'Some fields are invalid; details.fields says which and why.'
        );
    END IF;

    -- -- what the ids and codes refer to ------------------------------------------------------------
    IF cardinality(removals) > 0 AND shop.ever_visible(existing.status, existing.published_at, existing.first_visible_at) THEN
        PERFORM shop.fail(
            409, 'product_was_published',
            jsonb_build_object('fields', (
                SELECT jsonb_object_agg(r.prefix || '.remove', 'the product has been on the storefront: its variants stay')
                FROM unnest(removals) AS r (prefix)
            )),
            'Variants of a product that has been shown stay for the orders that name them; to stop selling one, '
            || 'remove its prices (prices: []).'
        );
    END IF;
    IF new_category IS NOT NULL AND NOT EXISTS (SELECT FROM shop.categories AS c WHERE c.id = new_category) THEN
        PERFORM shop.fail(
            404, 'category_not_found', jsonb_build_object('fields', jsonb_build_object('category_id', 'no category has this id')),
            'No category has this id.'
        );
    END IF;
    IF jsonb_typeof(args -> 'product_type') = 'string' THEN
        SELECT t.id INTO new_type FROM shop.product_types AS t WHERE t.code = args ->> 'product_type';
        IF new_type IS NULL THEN
            PERFORM shop.fail(
                404, 'product_type_not_found',
                jsonb_build_object('fields', jsonb_build_object('product_type', 'no product type has this code')),
                'No product type has this code.'
            );
        END IF;
    END IF;
    IF jsonb_typeof(args -> 'tax_class') = 'string' THEN
        PERFORM shop.require_tax_class(args ->> 'tax_class');
    END IF;
    IF conflict IS NOT NULL THEN
        PERFORM shop.fail(
            409, 'sku_taken', jsonb_build_object('fields', jsonb_build_object(conflict, 'is the SKU of another product''s variant')),
            'SKUs are unique across the catalog.'
        );
    END IF;
    IF new_slug IS NOT NULL AND EXISTS (
        SELECT FROM shop.products AS p WHERE p.slug = new_slug AND p.id IS DISTINCT FROM target
    ) THEN
        PERFORM shop.fail(
            409, 'slug_taken', jsonb_build_object('fields', jsonb_build_object('slug', 'is another product''s slug')),
            'Choose another slug, or leave it out to have one made from the name.'
        );
    END IF;

    -- -- write ----------------------------------------------------------------------------------------
    BEGIN
        IF creating THEN
            INSERT INTO shop.products (
                slug, name, description, attributes, category_id, product_type_id, status, published_at
            )
            VALUES (
                new_slug, btrim(args ->> 'name'), coalesce(args ->> 'description', ''),
                coalesce(args -> 'attributes', '{}'), new_category, new_type, coalesce(new_status, 'draft'),
                new_publish
            )
            RETURNING id INTO target;
        ELSE
            UPDATE shop.products AS p SET
                name = CASE WHEN args ? 'name' THEN btrim(args ->> 'name') ELSE p.name END,
                -- A rename makes a new slug from the new name unless one is given; the old one keeps
                -- resolving (shop.product_slugs).
                slug = CASE
                    WHEN new_slug IS NOT NULL THEN new_slug
                    WHEN args ? 'name' AND btrim(args ->> 'name') <> p.name THEN NULL
                    ELSE p.slug
                END,
                description = CASE WHEN args ? 'description' THEN coalesce(args ->> 'description', '') ELSE p.description END,
                attributes = coalesce(args -> 'attributes', p.attributes),
                category_id = CASE WHEN args ? 'category_id' THEN new_category ELSE p.category_id END,
                product_type_id = CASE WHEN args ? 'product_type' THEN new_type ELSE p.product_type_id END,
                status = coalesce(new_status, p.status),
                -- Publishing without a time publishes now; an already published (or scheduled) product
                -- keeps its time unless given a new one.
                published_at = CASE
                    WHEN new_publish IS NOT NULL THEN new_publish
                    WHEN new_status = 'published' AND p.status <> 'published' THEN now()
                    ELSE p.published_at
                END
            WHERE p.id = target;
        END IF;
        IF jsonb_typeof(args -> 'tax_class') = 'string' THEN
            UPDATE shop.products AS p SET tax_class = args ->> 'tax_class'
            WHERE p.id = target AND p.tax_class <> args ->> 'tax_class';
        END IF;

        IF jsonb_typeof(args -> 'variants') = 'array' THEN
            FOR variant, i IN SELECT e.value, e.n FROM jsonb_array_elements(args -> 'variants') WITH ORDINALITY AS e (value, n) LOOP
                vid := variant_ids[i];
                IF coalesce(variant ->> 'remove', '') = 'true' THEN
                    -- Its prices, price list prices and stock rows go with it (ON DELETE CASCADE).
                    DELETE FROM shop.product_variants AS v WHERE v.id = vid;
                    CONTINUE;
                END IF;
                IF vid IS NULL THEN
                    INSERT INTO shop.product_variants (product_id, sku, name, options, position, weight_grams)
                    VALUES (
                        target, variant ->> 'sku', btrim(variant ->> 'name'), coalesce(variant -> 'options', '{}'),
                        coalesce((variant ->> 'position')::integer, i::integer - 1),
                        coalesce((variant ->> 'weight_grams')::integer, 0)
                    )
                    RETURNING id INTO vid;
                ELSE
                    UPDATE shop.product_variants AS v SET
                        sku = coalesce(variant ->> 'sku', v.sku),
                        name = coalesce(btrim(variant ->> 'name'), v.name),
                        options = coalesce(variant -> 'options', v.options),
                        position = coalesce((variant ->> 'position')::integer, v.position),
                        weight_grams = coalesce((variant ->> 'weight_grams')::integer, v.weight_grams)
                    WHERE v.id = vid;
                END IF;
                IF variant ? 'prices' THEN
                    DELETE FROM shop.variant_prices AS vp
                    WHERE vp.variant_id = vid
                        AND vp.currency::text NOT IN (
                            SELECT e.value ->> 'currency' FROM jsonb_array_elements(variant -> 'prices') AS e (value)
                        );
                    INSERT INTO shop.variant_prices (variant_id, currency, amount)
                    SELECT vid, e.value ->> 'currency', (e.value ->> 'amount')::bigint
                    FROM jsonb_array_elements(variant -> 'prices') AS e (value)
                    ON CONFLICT ON CONSTRAINT variant_prices_pkey DO UPDATE SET amount = excluded.amount;
                END IF;
            END LOOP;
        END IF;

        IF jsonb_typeof(args -> 'media') = 'array' THEN
            DELETE FROM shop.product_media AS m WHERE m.product_id = target;
            INSERT INTO shop.product_media (product_id, url, alt, position)
            SELECT target, btrim(e.value ->> 'url'), coalesce(btrim(e.value ->> 'alt'), ''), e.n - 1
            FROM jsonb_array_elements(args -> 'media') WITH ORDINALITY AS e (value, n);
        END IF;
    EXCEPTION WHEN unique_violation THEN
        GET STACKED DIAGNOSTICS conflict = CONSTRAINT_NAME;
        IF conflict = 'product_variants_sku_key' THEN
            PERFORM shop.fail(409, 'sku_taken', '{}', 'SKUs are unique across the catalog.');
        END IF;
        PERFORM shop.fail(
            409, 'slug_taken', jsonb_build_object('fields', jsonb_build_object('slug', 'is another product''s slug')),
            'Another product took this slug at the same moment; try again.'
        );
    END;
    RETURN target;
END
$$;
COMMENT ON FUNCTION shop.write_product(uuid, jsonb) IS
'Creates (target NULL) or changes a product from admin API arguments (see api.admin_create_product). '
'Validates every member first and reports all problems at once; the triggers then apply the rules every '
'writer meets (typed attributes, slugs, visibility). Errors: PT422 validation_failed, PT404 '
'product_not_found / category_not_found / product_type_not_found / tax_class_not_found, PT409 sku_taken / '
'slug_taken. Returns the product''s id.';
REVOKE ALL ON FUNCTION shop.write_product(uuid, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.write_product(uuid, jsonb) TO catalog_manager;

CREATE OR REPLACE FUNCTION api.admin_create_product(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    written uuid;
BEGIN
    -- Two statements: the reading function (STABLE) sees the write only from a later statement.
    written := shop.write_product(NULL, args);
    RETURN shop.admin_product(written);
END
$$;
COMMENT ON FUNCTION api.admin_create_product(jsonb) IS
'POST /v1/admin/products (catalog_manager): {name, slug? (made from the name when absent: unaccented, '
'lower case, hyphenated, -2, -3 on collision), description?, product_type? (code), attributes? (typed by '
'the product type), tax_class? (code, default standard), category_id?, status? (draft [default], '
'published, archived), publish_at? (RFC 3339: published and visible from that instant; implies status '
'published), variants?: [{sku, name, options?, position?, weight_grams? (default 0), prices?: [{amount, '
'currency}]}], media?: [{url, alt?}] (in display order)}. Returns the product as GET '
'/v1/admin/products/{id}. Errors: PT422 validation_failed (details.fields names each bad member, e.g. '
'"attributes.size" or "variants.0.sku"), PT404 category_not_found, PT404 product_type_not_found, PT404 '
'tax_class_not_found, PT409 sku_taken, PT409 slug_taken.';
REVOKE ALL ON FUNCTION api.admin_create_product(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.admin_create_product(jsonb) TO catalog_manager;

CREATE OR REPLACE FUNCTION api.admin_update_product(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    written uuid;
BEGIN
    -- Two statements: the reading function (STABLE) sees the write only from a later statement.
    written := shop.write_product(
        coalesce(shop.uuid_or_null(args ->> 'id'), '00000000-0000-0000-0000-000000000000'), args - 'id'
    );
    RETURN shop.admin_product(written);
END
$$;
COMMENT ON FUNCTION api.admin_update_product(jsonb) IS
'PATCH /v1/admin/products/{id} (catalog_manager): any member of POST /v1/admin/products; absent members '
'are unchanged. A new name makes a new slug unless slug is given; the former slug keeps resolving (301). '
'status published without publish_at publishes now (a product already published keeps its time); '
'publish_at reschedules. variants: each item updates the variant with its id, or with its sku on this '
'product, or else adds one; variants not listed are kept; a variant''s prices, when given, replace its '
'prices (a currency left out is no longer sold); {id or sku, remove: true} deletes a variant of a product '
'never shown on the storefront (else PT409 product_was_published: remove its prices instead). media, '
'when given, replaces the list. Returns the product as GET /v1/admin/products/{id}. Errors: PT404 '
'product_not_found, PT409 product_was_published, and those of POST.';
REVOKE ALL ON FUNCTION api.admin_update_product(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.admin_update_product(jsonb) TO catalog_manager;

CREATE OR REPLACE FUNCTION api.admin_get_product(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    result jsonb := shop.admin_product(shop.uuid_or_null(args ->> 'id'));
BEGIN
    IF result IS NULL THEN
        PERFORM shop.fail(404, 'product_not_found', jsonb_build_object('id', args ->> 'id'), 'No product has this id.');
    END IF;
    RETURN result;
END
$$;
COMMENT ON FUNCTION api.admin_get_product(jsonb) IS
'GET /v1/admin/products/{id} (catalog_manager): one product whatever its status, with status, '
'published_at, scheduled, former slugs, every variant with all its prices and media. Errors: PT404 '
'product_not_found. Returns jsonb (see shop.admin_product).';
REVOKE ALL ON FUNCTION api.admin_get_product(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.admin_get_product(jsonb) TO catalog_manager;

CREATE OR REPLACE FUNCTION api.admin_list_products(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    fields jsonb := '{}';
    wanted text := nullif(btrim(args ->> 'status'), '');
    q text := nullif(btrim(args ->> 'q'), '');
    q_key text;
    page_size integer;
    last_seen jsonb;
    after_at timestamptz;
    after_id uuid;
    result jsonb;
BEGIN
    page_size := shop.page_size(args);
    IF page_size IS NULL THEN
        fields := fields || '{"limit": "must be between 1 and 100"}';
    END IF;
    IF wanted NOT IN ('draft', 'published', 'scheduled', 'archived') THEN
        fields := fields || '{"status": "must be draft, published, scheduled or archived"}';
    END IF;
    IF length(q) > 200 THEN
        fields := fields || '{"q": "must be at most 200 characters"}';
    END IF;
    IF nullif(args ->> 'cursor', '') IS NOT NULL THEN
        last_seen := shop.decode_cursor(args ->> 'cursor');
        after_at := shop.timestamp_or_null(last_seen ->> 'u');
        after_id := shop.uuid_or_null(last_seen ->> 'id');
        IF after_at IS NULL OR after_id IS NULL THEN
            fields := fields || '{"cursor": "is not a cursor of this list"}';
        END IF;
    END IF;
    IF fields <> '{}' THEN
        PERFORM shop.fail(
            400, 'validation_failed', jsonb_build_object('fields', fields),
            'Some query parameters are invalid; details.fields says which and why.'
        );
    END IF;
    q_key := shop.search_key(q);

    WITH page AS (
        SELECT p.id, p.updated_at, row_number() OVER (ORDER BY p.updated_at DESC, p.id DESC) AS n
        FROM shop.products AS p
        WHERE
            (
                wanted IS NULL
                OR (wanted = 'scheduled' AND p.status = 'published' AND p.published_at > now())
                OR (wanted = 'published' AND p.status = 'published' AND p.published_at <= now())
                OR (wanted IN ('draft', 'archived') AND p.status = wanted)
            )
            AND (
                q IS NULL
                OR p.search_name LIKE '%' || q_key || '%'
                OR p.slug = q
                OR p.id IN (SELECT v.product_id FROM shop.product_variants AS v WHERE v.sku = q)
            )
            AND (after_id IS NULL OR (p.updated_at, p.id) < (after_at, after_id))
        ORDER BY p.updated_at DESC, p.id DESC
        LIMIT page_size + 1
    )

    SELECT jsonb_build_object(
        'items', coalesce((
            SELECT jsonb_agg(
                jsonb_build_object(
                    'id', p.id,
                    'slug', p.slug,
                    'name', p.name,
                    'status', p.status,
                    'published_at', auth.to_rfc3339(p.published_at),
                    'scheduled', coalesce(p.status = 'published' AND p.published_at > now(), FALSE),
                    'product_type', (SELECT t.code FROM shop.product_types AS t WHERE t.id = p.product_type_id),
                    'category', (
                        SELECT jsonb_build_object('id', c.id, 'slug', c.slug, 'name', c.name)
                        FROM shop.categories AS c WHERE c.id = p.category_id
                    ),
                    'image_url', p.image_url,
                    'variant_count', (SELECT count(*) FROM shop.product_variants AS v WHERE v.product_id = p.id),
                    'updated_at', auth.to_rfc3339(p.updated_at)
                )
                ORDER BY page.n
            )
            FROM page
            INNER JOIN shop.products AS p ON page.id = p.id
            WHERE page.n <= page_size
        ), '[]'),
        'next_cursor', (
            SELECT shop.encode_cursor(jsonb_build_object('u', auth.to_rfc3339(page.updated_at), 'id', page.id))
            FROM page
            WHERE page.n = page_size AND EXISTS (SELECT FROM page AS more WHERE more.n > page_size)
        )
    )
    INTO result;
    RETURN result;
END
$$;
COMMENT ON FUNCTION api.admin_list_products(jsonb) IS
'GET /v1/admin/products (catalog_manager): every product whatever its status, most recently changed first. '
'Arguments: status (draft, published [visible now], scheduled [published, visible later], archived), q '
'(part of the name, accents and case ignored, or an exact slug or SKU), limit (1..100, default 20), cursor. '
'Returns {items: [{id, slug, name, status, published_at, scheduled, product_type, category, image_url, '
'variant_count, updated_at}], next_cursor}. Errors: PT400 validation_failed.';
REVOKE ALL ON FUNCTION api.admin_list_products(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.admin_list_products(jsonb) TO catalog_manager;

CREATE OR REPLACE FUNCTION api.admin_delete_product(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    product record;
BEGIN
    -- Locked: a concurrent publication waits for the delete, or the delete for it and then refuses.
    SELECT p.id, p.status, p.published_at, p.first_visible_at INTO product
    FROM shop.products AS p WHERE p.id = shop.uuid_or_null(args ->> 'id') FOR UPDATE;
    IF product.id IS NULL THEN
        PERFORM shop.fail(404, 'product_not_found', jsonb_build_object('id', args ->> 'id'), 'No product has this id.');
    END IF;
    IF shop.ever_visible(product.status, product.published_at, product.first_visible_at) THEN
        PERFORM shop.fail(
            409, 'product_was_published',
            jsonb_build_object(
                'id', product.id,
                'first_visible_at', auth.to_rfc3339(coalesce(product.first_visible_at, product.published_at))
            ),
            'A product that has been on the storefront stays for the orders that name it: archive it instead '
            || '(PATCH with status archived).'
        );
    END IF;
    -- Variants, prices, media, collection entries, former slugs and markdowns of the product go with it
    -- (ON DELETE CASCADE); the policy products_delete_catalog refuses the same rows for direct SQL.
    DELETE FROM shop.products AS p WHERE p.id = product.id;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION api.admin_delete_product(jsonb) IS
'DELETE /v1/admin/products/{id} (catalog_manager): deletes a product that has never been visible on the '
'storefront (a draft, or a scheduled product before its instant), with its variants, prices, media, '
'collection entries and markdowns. Returns NULL (204). Errors: PT404 product_not_found; PT409 '
'product_was_published (details.first_visible_at) for one that has been shown: archive it instead.';
REVOKE ALL ON FUNCTION api.admin_delete_product(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.admin_delete_product(jsonb) TO catalog_manager;

CREATE OR REPLACE FUNCTION api.admin_delete_product_media(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    -- The product's image_url follows (trigger zz_image_url).
    DELETE FROM shop.product_media AS m
    WHERE m.id = shop.uuid_or_null(args ->> 'media_id') AND m.product_id = shop.uuid_or_null(args ->> 'id');
    IF NOT FOUND THEN
        PERFORM shop.fail(
            404, 'media_not_found', jsonb_build_object('id', args ->> 'id', 'media_id', args ->> 'media_id'),
            'This product has no image with this id.'
        );
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION api.admin_delete_product_media(jsonb) IS
'DELETE /v1/admin/products/{id}/media/{media_id} (catalog_manager): removes one image of a product, '
'whatever its status; the next image becomes image_url. Returns NULL (204). Errors: PT404 media_not_found '
'(unknown product, unknown image, or an image of another product).';
REVOKE ALL ON FUNCTION api.admin_delete_product_media(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.admin_delete_product_media(jsonb) TO catalog_manager;

-- == categories ======================================================================================
CREATE OR REPLACE FUNCTION shop.category_json(category_id uuid)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT jsonb_build_object(
        'id', c.id, 'parent_id', c.parent_id, 'slug', c.slug, 'name', c.name, 'position', c.position,
        'created_at', auth.to_rfc3339(c.created_at), 'updated_at', auth.to_rfc3339(c.updated_at)
    )
    FROM shop.categories AS c
    WHERE c.id = category_json.category_id
$$;
COMMENT ON FUNCTION shop.category_json(uuid) IS
'A category as the admin API shows it: {id, parent_id, slug, name, position, created_at, updated_at}; NULL '
'when unknown. Returns jsonb.';
REVOKE ALL ON FUNCTION shop.category_json(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.category_json(uuid) TO postcart_staff;

CREATE OR REPLACE FUNCTION shop.write_category(target uuid, args jsonb)
RETURNS uuid
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    creating boolean := target IS NULL;
    fields jsonb := '{}';
    problem text;
    new_slug text;
    new_parent uuid;
BEGIN
    IF NOT creating AND NOT EXISTS (SELECT FROM shop.categories AS c WHERE c.id = target) THEN
        PERFORM shop.fail(404, 'category_not_found', jsonb_build_object('id', target), 'No category has this id.');
    END IF;
    problem := auth.text_field_error(args, 'name', creating, 200);
    IF problem IS NOT NULL THEN
        fields := fields || jsonb_build_object('name', problem);
    END IF;
    IF args ? 'slug' AND jsonb_typeof(args -> 'slug') <> 'null' THEN
        new_slug := args ->> 'slug';
        IF jsonb_typeof(args -> 'slug') <> 'string' OR new_slug !~ '^[a-z0-9]+(-[a-z0-9]+)*$'
            OR length(new_slug) > 100 THEN
            fields := fields || '{"slug": "must be lower-case letters and digits in hyphenated words, at most 100"}';
        END IF;
    END IF;
    IF args ? 'parent_id' AND jsonb_typeof(args -> 'parent_id') <> 'null' THEN
        new_parent := shop.uuid_or_null(args ->> 'parent_id');
        IF jsonb_typeof(args -> 'parent_id') <> 'string' OR new_parent IS NULL THEN
            fields := fields || '{"parent_id": "must be the id of a category, or null for the top level"}';
        END IF;
    END IF;
    IF args ? 'position' AND NOT coalesce(
        jsonb_typeof(args -> 'position') = 'number' AND (args ->> 'position') ~ '^-?[0-9]{1,9}$', FALSE
    ) THEN
        fields := fields || '{"position": "must be a whole number"}';
    END IF;
    IF fields <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed', jsonb_build_object('fields', fields),
            'Some fields are invalid; details.fields says which and why.'
        );
    END IF;
    IF new_parent IS NOT NULL AND NOT EXISTS (SELECT FROM shop.categories AS c WHERE c.id = new_parent) THEN
        PERFORM shop.fail(
            404, 'category_not_found',
            jsonb_build_object('fields', jsonb_build_object('parent_id', 'no category has this id')),
            'No category has this id.'
        );
    END IF;
    BEGIN
        IF creating THEN
            INSERT INTO shop.categories (parent_id, slug, name, position)
            VALUES (new_parent, new_slug, btrim(args ->> 'name'), coalesce((args ->> 'position')::integer, 0))
            RETURNING id INTO target;
        ELSE
            UPDATE shop.categories AS c SET
                name = CASE WHEN args ? 'name' THEN btrim(args ->> 'name') ELSE c.name END,
                slug = coalesce(new_slug, c.slug),
                -- Moving a category moves its subtree: children keep pointing at it.
                parent_id = CASE WHEN args ? 'parent_id' THEN new_parent ELSE c.parent_id END,
                position = coalesce((args ->> 'position')::integer, c.position)
            WHERE c.id = target;
        END IF;
    EXCEPTION WHEN unique_violation THEN
        PERFORM shop.fail(
            409, 'slug_taken', jsonb_build_object('fields', jsonb_build_object('slug', 'is another category''s slug')),
            'Choose another slug, or leave it out to have one made from the name.'
        );
    END;
    RETURN target;
END
$$;
COMMENT ON FUNCTION shop.write_category(uuid, jsonb) IS
'Creates (target NULL) or changes a category from admin API arguments {name, slug?, parent_id?, '
'position?}. Errors: PT422 validation_failed, PT404 category_not_found (the category or its new parent), '
'PT409 slug_taken, PT422 category_cycle (a move below itself or one of its descendants). Returns its id.';
REVOKE ALL ON FUNCTION shop.write_category(uuid, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.write_category(uuid, jsonb) TO catalog_manager;

CREATE OR REPLACE FUNCTION api.admin_create_category(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    written uuid;
BEGIN
    -- Two statements: the reading function (STABLE) sees the write only from a later statement.
    written := shop.write_category(NULL, args);
    RETURN shop.category_json(written);
END
$$;
COMMENT ON FUNCTION api.admin_create_category(jsonb) IS
'POST /v1/admin/categories (catalog_manager): {name, slug? (made from the name when absent, -2, -3 on '
'collision), parent_id? (null: top level), position? (order among siblings, default 0)}. Returns {id, '
'parent_id, slug, name, position, created_at, updated_at}. Errors: PT422 validation_failed, PT404 '
'category_not_found (parent), PT409 slug_taken.';
REVOKE ALL ON FUNCTION api.admin_create_category(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.admin_create_category(jsonb) TO catalog_manager;

CREATE OR REPLACE FUNCTION api.admin_update_category(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    written uuid;
BEGIN
    -- Two statements: the reading function (STABLE) sees the write only from a later statement.
    written := shop.write_category(
        coalesce(shop.uuid_or_null(args ->> 'id'), '00000000-0000-0000-0000-000000000000'), args - 'id'
    );
    RETURN shop.category_json(written);
END
$$;
COMMENT ON FUNCTION api.admin_update_category(jsonb) IS
'PATCH /v1/admin/categories/{id} (catalog_manager): any of {name, slug, parent_id, position}. A new '
'parent_id moves the category with its whole subtree; its products are then found under the new '
'ancestors. Returns the category like POST. Errors: PT404 category_not_found, PT422 category_cycle (below '
'itself or a descendant), PT422 validation_failed, PT409 slug_taken.';
REVOKE ALL ON FUNCTION api.admin_update_category(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.admin_update_category(jsonb) TO catalog_manager;

CREATE OR REPLACE FUNCTION api.admin_delete_category(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    -- Refused while not empty by the trigger _050_delete_only_empty (PT409 category_not_empty).
    DELETE FROM shop.categories AS c WHERE c.id = shop.uuid_or_null(args ->> 'id');
    IF NOT FOUND THEN
        PERFORM shop.fail(404, 'category_not_found', jsonb_build_object('id', args ->> 'id'), 'No category has this id.');
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION api.admin_delete_category(jsonb) IS
'DELETE /v1/admin/categories/{id} (catalog_manager): deletes an empty category (no subcategories, no '
'products) and the markdowns on it. Returns NULL (204). Errors: PT404 category_not_found; PT409 '
'category_not_empty (details: subcategories, products) otherwise: move them first.';
REVOKE ALL ON FUNCTION api.admin_delete_category(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.admin_delete_category(jsonb) TO catalog_manager;

-- == collections =====================================================================================
CREATE OR REPLACE FUNCTION shop.admin_collection(collection_id uuid)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT jsonb_build_object(
        'id', c.id, 'slug', c.slug, 'name', c.name,
        'products', coalesce((
            SELECT jsonb_agg(
                jsonb_build_object('id', p.id, 'slug', p.slug, 'name', p.name, 'status', p.status)
                ORDER BY cp.position
            )
            FROM shop.collection_products AS cp
            INNER JOIN shop.products AS p ON cp.product_id = p.id
            WHERE cp.collection_id = c.id
        ), '[]'),
        'created_at', auth.to_rfc3339(c.created_at), 'updated_at', auth.to_rfc3339(c.updated_at)
    )
    FROM shop.collections AS c
    WHERE c.id = admin_collection.collection_id
$$;
COMMENT ON FUNCTION shop.admin_collection(uuid) IS
'A collection as staff see it: {id, slug, name, products: [{id, slug, name, status}] in order, created_at, '
'updated_at}; NULL when unknown. Returns jsonb.';
REVOKE ALL ON FUNCTION shop.admin_collection(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.admin_collection(uuid) TO postcart_staff;

CREATE OR REPLACE FUNCTION api.admin_create_collection(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    fields jsonb := '{}';
    problem text;
    new_slug text;
    created uuid;
BEGIN
    problem := auth.text_field_error(args, 'name', TRUE, 200);
    IF problem IS NOT NULL THEN
        fields := fields || jsonb_build_object('name', problem);
    END IF;
    IF args ? 'slug' AND jsonb_typeof(args -> 'slug') <> 'null' THEN
        new_slug := args ->> 'slug';
        IF jsonb_typeof(args -> 'slug') <> 'string' OR new_slug !~ '^[a-z0-9]+(-[a-z0-9]+)*$'
            OR length(new_slug) > 100 THEN
            fields := fields || '{"slug": "must be lower-case letters and digits in hyphenated words, at most 100"}';
        END IF;
    END IF;
    IF fields <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed', jsonb_build_object('fields', fields),
            'Some fields are invalid; details.fields says which and why.'
        );
    END IF;
    BEGIN
        INSERT INTO shop.collections (slug, name)
        VALUES (
            coalesce(new_slug, shop.free_slug('collection', coalesce(left(shop.slugify(args ->> 'name'), 90), 'collection'), NULL)),
            btrim(args ->> 'name')
        )
        RETURNING id INTO created;
    EXCEPTION WHEN unique_violation THEN
        PERFORM shop.fail(
            409, 'slug_taken', jsonb_build_object('fields', jsonb_build_object('slug', 'is another collection''s slug')),
            'Choose another slug, or leave it out to have one made from the name.'
        );
    END;
    RETURN shop.admin_collection(created);
END
$$;
COMMENT ON FUNCTION api.admin_create_collection(jsonb) IS
'POST /v1/admin/collections (catalog_manager): {name, slug? (made from the name when absent, -2, -3 on '
'collision)}. Returns {id, slug, name, products: [], created_at, updated_at}. Errors: PT422 '
'validation_failed, PT409 slug_taken.';
REVOKE ALL ON FUNCTION api.admin_create_collection(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.admin_create_collection(jsonb) TO catalog_manager;

CREATE OR REPLACE FUNCTION api.admin_set_collection_products(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    target uuid := shop.uuid_or_null(args ->> 'id');
    ids uuid[];
    unknown jsonb;
BEGIN
    PERFORM FROM shop.collections AS c WHERE c.id = target FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM shop.fail(404, 'collection_not_found', jsonb_build_object('id', args ->> 'id'), 'No collection has this id.');
    END IF;
    IF NOT coalesce(
        jsonb_typeof(args -> 'product_ids') = 'array'
        AND jsonb_array_length(args -> 'product_ids') <= 1000
        AND (
            SELECT coalesce(bool_and(jsonb_typeof(e.value) = 'string' AND shop.uuid_or_null(e.value #>> '{}') IS NOT NULL), TRUE)
            FROM jsonb_array_elements(args -> 'product_ids') AS e (value)
        ),
        FALSE
    ) THEN
        PERFORM shop.fail(
            422, 'validation_failed',
            jsonb_build_object('fields', jsonb_build_object('product_ids', 'must be an array of at most 1000 product ids')),
            'Send {"product_ids": [...]} in display order.'
        );
    END IF;
    ids := ARRAY(
        SELECT (e.value #>> '{}')::uuid FROM jsonb_array_elements(args -> 'product_ids') WITH ORDINALITY AS e (value, n)
        ORDER BY e.n
    );
    IF cardinality(ids) <> (SELECT count(DISTINCT x) FROM unnest(ids) AS x) THEN
        PERFORM shop.fail(
            422, 'validation_failed',
            jsonb_build_object('fields', jsonb_build_object('product_ids', 'must not list a product twice')),
            'Each product appears once in a collection.'
        );
    END IF;
    SELECT jsonb_agg(x.id ORDER BY x.n) INTO unknown
    FROM unnest(ids) WITH ORDINALITY AS x (id, n)
    WHERE NOT EXISTS (SELECT FROM shop.products AS p WHERE p.id = x.id);
    IF unknown IS NOT NULL THEN
        PERFORM shop.fail(
            404, 'product_not_found', jsonb_build_object('product_ids', unknown), 'Some product ids are unknown.'
        );
    END IF;
    DELETE FROM shop.collection_products AS cp WHERE cp.collection_id = target;
    INSERT INTO shop.collection_products (collection_id, product_id, position)
    SELECT target, x.id, x.n - 1 FROM unnest(ids) WITH ORDINALITY AS x (id, n);
    UPDATE shop.collections AS c SET name = c.name WHERE c.id = target;  -- stamps updated_at
    RETURN shop.admin_collection(target);
END
$$;
COMMENT ON FUNCTION api.admin_set_collection_products(jsonb) IS
'PUT /v1/admin/collections/{id}/products (catalog_manager): {product_ids: [...]} replaces the collection''s '
'products with these, in this order (any status; the storefront shows the published ones). Returns the '
'collection like POST. Errors: PT404 collection_not_found, PT404 product_not_found (details.product_ids), '
'PT422 validation_failed.';
REVOKE ALL ON FUNCTION api.admin_set_collection_products(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.admin_set_collection_products(jsonb) TO catalog_manager;

CREATE OR REPLACE FUNCTION api.admin_delete_collection(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    -- Its entries and markdowns go with it (ON DELETE CASCADE); the products stay.
    DELETE FROM shop.collections AS c WHERE c.id = shop.uuid_or_null(args ->> 'id');
    IF NOT FOUND THEN
        PERFORM shop.fail(404, 'collection_not_found', jsonb_build_object('id', args ->> 'id'), 'No collection has this id.');
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION api.admin_delete_collection(jsonb) IS
'DELETE /v1/admin/collections/{id} (catalog_manager): deletes a collection with its list of products and '
'its markdowns (the products themselves stay; a markdown on the collection stops applying). Returns NULL '
'(204). Errors: PT404 collection_not_found.';
REVOKE ALL ON FUNCTION api.admin_delete_collection(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.admin_delete_collection(jsonb) TO catalog_manager;

CREATE OR REPLACE FUNCTION api.get_collection(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    collection shop.collections%ROWTYPE;
    req_currency text := upper(coalesce(nullif(btrim(args ->> 'currency'), ''), 'EUR'));
    fields jsonb := '{}';
    problem text;
    page_size integer;
    after_position integer;
    last_seen jsonb;
    result jsonb;
BEGIN
    page_size := shop.page_size(args);
    IF page_size IS NULL THEN
        fields := fields || '{"limit": "must be between 1 and 100"}';
    END IF;
    problem := shop.currency_problem(req_currency);
    IF problem IS NOT NULL THEN
        fields := fields || jsonb_build_object('currency', problem);
    END IF;
    IF nullif(args ->> 'cursor', '') IS NOT NULL THEN
        last_seen := shop.decode_cursor(args ->> 'cursor');
        IF coalesce(last_seen ->> 'pos', '') !~ '^[0-9]{1,9}$' THEN
            fields := fields || '{"cursor": "is not a cursor of this list"}';
        ELSE
            after_position := (last_seen ->> 'pos')::integer;
        END IF;
    END IF;
    IF fields <> '{}' THEN
        PERFORM shop.fail(
            400, 'validation_failed', jsonb_build_object('fields', fields),
            'Some query parameters are invalid; details.fields says which and why.'
        );
    END IF;
    SELECT c.id, c.slug, c.name INTO collection.id, collection.slug, collection.name
    FROM shop.collections AS c WHERE c.slug = args ->> 'slug';
    IF collection.id IS NULL THEN
        PERFORM shop.fail(
            404, 'collection_not_found', jsonb_build_object('slug', args ->> 'slug'), 'No collection has this slug.'
        );
    END IF;

    WITH page AS (
        SELECT
            p.id, p.slug, p.name, p.description, p.image_url, p.category_id, cp.position,
            row_number() OVER (ORDER BY cp.position) AS n
        FROM shop.collection_products AS cp
        INNER JOIN shop.products AS p ON cp.product_id = p.id
        WHERE
            cp.collection_id = collection.id
            -- The storefront shows published products to everyone, staff included; RLS additionally
            -- keeps anything else away from anonymous callers and customers.
            AND p.status = 'published' AND p.published_at <= now()
            AND (after_position IS NULL OR cp.position > after_position)
        ORDER BY cp.position
        LIMIT page_size + 1
    )

    SELECT jsonb_build_object(
        'id', collection.id,
        'slug', collection.slug,
        'name', collection.name,
        'items', coalesce((
            SELECT jsonb_agg(
                jsonb_build_object(
                    'id', page.id,
                    'slug', page.slug,
                    'name', page.name,
                    'description', page.description,
                    'price', (
                        SELECT jsonb_build_object('amount', min(vp.amount), 'currency', req_currency)
                        FROM shop.variant_prices AS vp
                        WHERE vp.product_id = page.id AND vp.currency = req_currency::bpchar
                        HAVING count(*) > 0
                    ),
                    'in_stock', coalesce(a.available > 0, FALSE),
                    'image_url', page.image_url,
                    'category', (
                        SELECT jsonb_build_object('id', c.id, 'slug', c.slug, 'name', c.name)
                        FROM shop.categories AS c WHERE c.id = page.category_id
                    )
                )
                ORDER BY page.n
            )
            FROM page
            LEFT JOIN shop.product_availability(
                ARRAY(SELECT pg.id FROM page AS pg WHERE pg.n <= page_size)
            ) AS a ON page.id = a.product_id
            WHERE page.n <= page_size
        ), '[]'),
        'next_cursor', (
            SELECT shop.encode_cursor(jsonb_build_object('pos', page.position))
            FROM page
            WHERE page.n = page_size AND EXISTS (SELECT FROM page AS more WHERE more.n > page_size)
        )
    )
    INTO result;
    RETURN result;
END
$$;
COMMENT ON FUNCTION api.get_collection(jsonb) IS
'GET /v1/collections/{slug}: a collection with its published products in the merchandiser''s order, a '
'page at a time. Arguments: slug, currency (default EUR), limit (1..100, default 20), cursor. Returns {id, '
'slug, name, items: [{id, slug, name, description, price: {amount, currency}|null (lowest variant price), '
'in_stock, image_url, category}], next_cursor}. Errors: PT404 collection_not_found, PT400 validation_failed.';
REVOKE ALL ON FUNCTION api.get_collection(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.get_collection(jsonb) TO postcart_anon;
GRANT EXECUTE ON FUNCTION api.get_collection(jsonb) TO postcart_customer;
GRANT EXECUTE ON FUNCTION api.get_collection(jsonb) TO postcart_staff;

-- == CSV import and export ===========================================================================
-- One row per variant (a product without variants: one row with empty variant cells); the product's
-- columns repeat on each of its rows. Columns: product_slug, name, description, status, publish_at,
-- category (slug), product_type (code), attributes (JSON object), media (JSON array of {url, alt}), sku,
-- variant_name, options (JSON object), position, and price_<CUR> per currency (minor units). The HTTP layer
-- decodes text/csv into {"rows": [[cell, ...], ...]}, header first; rows are numbered as in a spreadsheet
-- (the header is row 1).
CREATE OR REPLACE FUNCTION shop.is_json_of(input text, kind text)
RETURNS boolean
LANGUAGE plpgsql
IMMUTABLE
PARALLEL SAFE
AS $$
BEGIN
    RETURN jsonb_typeof(input::jsonb) = kind;
EXCEPTION WHEN OTHERS THEN
    RETURN FALSE;
END
$$;
COMMENT ON FUNCTION shop.is_json_of(text, text) IS
'Whether a text is JSON of the given kind (object, array, string, number, boolean, null); FALSE when it '
'is not JSON at all. Returns boolean.';
REVOKE ALL ON FUNCTION shop.is_json_of(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.is_json_of(text, text) TO postcart_staff;

CREATE OR REPLACE FUNCTION shop.csv_line(cells text[])
RETURNS text
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT string_agg(
        CASE
            WHEN c.cell IS NULL THEN ''
            WHEN c.cell ~ '[",\r\n]' OR c.cell <> btrim(c.cell) THEN '"' || replace(c.cell, '"', '""') || '"'
            ELSE c.cell
        END,
        ',' ORDER BY c.n
    )
    FROM unnest(cells) WITH ORDINALITY AS c (cell, n)
$$;
COMMENT ON FUNCTION shop.csv_line(text[]) IS
'One CSV line (RFC 4180, without the line break) of the given cells: a cell holding a comma, quote, line '
'break or surrounding spaces is quoted, quotes doubled; NULL is an empty cell. Returns text.';
REVOKE ALL ON FUNCTION shop.csv_line(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.csv_line(text[]) TO postcart_staff;

CREATE OR REPLACE FUNCTION api.admin_export_products(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    currencies text[] := ARRAY(SELECT DISTINCT vp.currency::text FROM shop.variant_prices AS vp ORDER BY 1);
    header text[] := ARRAY[
        'product_slug', 'name', 'description', 'status', 'publish_at', 'category', 'product_type', 'attributes',
        'media', 'sku', 'variant_name', 'options', 'position'
    ] || ARRAY(SELECT 'price_' || c FROM unnest(currencies) AS c);
    body text;
BEGIN
    SELECT string_agg(line, E'\r\n' ORDER BY slug, pos, sku)
    INTO body
    FROM (
        SELECT
            p.slug,
            v.position AS pos,
            v.sku,
            shop.csv_line(ARRAY[
                p.slug, p.name, p.description, p.status,
                CASE WHEN p.status = 'published' THEN auth.to_rfc3339(p.published_at) END,
                c.slug, t.code, p.attributes::text,
                (
                    SELECT jsonb_agg(jsonb_build_object('url', m.url, 'alt', m.alt) ORDER BY m.position, m.id)::text
                    FROM shop.product_media AS m WHERE m.product_id = p.id
                ),
                v.sku, v.name, v.options::text, v.position::text
            ] || ARRAY(
                SELECT vp.amount::text
                FROM unnest(currencies) WITH ORDINALITY AS cur (code, n)
                LEFT JOIN shop.variant_prices AS vp ON vp.variant_id = v.id AND vp.currency = cur.code::bpchar
                ORDER BY cur.n
            )) AS line
        FROM shop.products AS p
        LEFT JOIN shop.product_variants AS v ON p.id = v.product_id
        LEFT JOIN shop.categories AS c ON p.category_id = c.id
        LEFT JOIN shop.product_types AS t ON p.product_type_id = t.id
    ) AS lines;
    RETURN to_jsonb(shop.csv_line(header) || E'\r\n' || coalesce(body || E'\r\n', ''));
END
$$;
COMMENT ON FUNCTION api.admin_export_products(jsonb) IS
'GET /v1/admin/products/export (catalog_manager): every product (any status) as CSV, one line per variant, '
'with the columns POST /v1/admin/products/import reads: product_slug, name, description, status, '
'publish_at, category, product_type, attributes, media, sku, variant_name, options, position, then '
'price_<CUR> for every currency in use. Takes no arguments. Returns the CSV text as a JSON string (the '
'layer sends it as text/csv).';
REVOKE ALL ON FUNCTION api.admin_export_products(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.admin_export_products(jsonb) TO catalog_manager;

CREATE OR REPLACE FUNCTION api.admin_import_products(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    known text[] := ARRAY[
        'product_slug', 'name', 'description', 'status', 'publish_at', 'category', 'product_type', 'attributes',
        'media', 'sku', 'variant_name', 'options', 'position'
    ];
    header text[];
    currencies text[];
    lines jsonb;
    problems jsonb;
    imported jsonb;
    created integer;
    updated integer;
BEGIN
    -- The imported products' listings are rewritten once, at commit, not once per table written.
    SET CONSTRAINTS shop.product_listings_flush DEFERRED;
    -- -- the header ------------------------------------------------------------------------------------
    IF jsonb_typeof(args -> 'rows') IS DISTINCT FROM 'array' OR jsonb_array_length(args -> 'rows') = 0
        OR jsonb_typeof(args -> 'rows' -> 0) <> 'array' THEN
        PERFORM shop.fail(
            422, 'import_failed',
            jsonb_build_object('rows', jsonb_build_array(jsonb_build_object(
                'row', 1, 'field', '', 'message', 'the CSV needs a header row naming its columns'
            ))),
            'Send a header row, then one row per variant.'
        );
    END IF;
    IF jsonb_array_length(args -> 'rows') > 10001 THEN
        PERFORM shop.fail(
            422, 'import_failed',
            jsonb_build_object('rows', jsonb_build_array(jsonb_build_object(
                'row', 10002, 'field', '', 'message', 'an import takes at most 10,000 rows'
            ))),
            'Split the file into imports of at most 10,000 rows.'
        );
    END IF;
    header := ARRAY(SELECT btrim(h) FROM jsonb_array_elements_text(args -> 'rows' -> 0) AS h);
    SELECT jsonb_agg(jsonb_build_object('row', 1, 'field', x.col, 'message', x.message) ORDER BY x.n)
    INTO problems
    FROM (
        SELECT h.col, h.n, CASE
            WHEN NOT (h.col = ANY(known) OR h.col ~ '^price_[A-Z]{3}$') THEN 'is not a column of the import'
            WHEN (SELECT count(*) FROM unnest(header) AS o WHERE o = h.col) > 1 THEN 'is given twice'
        END AS message
        FROM unnest(header) WITH ORDINALITY AS h (col, n)
        UNION ALL
        SELECT r.col, 0, 'is a required column'
        FROM unnest(ARRAY['name', 'sku', 'variant_name']) AS r (col)
        WHERE NOT r.col = ANY(header)
    ) AS x
    WHERE x.message IS NOT NULL;
    IF problems IS NOT NULL THEN
        PERFORM shop.fail(422, 'import_failed', jsonb_build_object('rows', problems), 'The header is not right.');
    END IF;
    currencies := ARRAY(SELECT substr(h, 7) FROM unnest(header) AS h WHERE h LIKE 'price\_%');

    -- -- the rows as objects, grouped by product (product_slug, else name) -----------------------------
    -- A later row of a product carries its first row's cells (first_cells), to be compared with them.
    SELECT coalesce(jsonb_agg(
        jsonb_build_object(
            'row', y.n, 'width', y.width, 'key', y.product_key, 'first', y.first_row, 'cells', y.cells,
            'first_cells', CASE WHEN y.first_row <> y.n THEN y.first_cells END
        )
        ORDER BY y.n
    ), '[]')
    INTO lines
    FROM (
        SELECT
            x.*,
            first_value(x.n) OVER product_rows AS first_row,
            first_value(x.cells) OVER product_rows AS first_cells
        FROM (
            SELECT
                e.n,
                CASE WHEN jsonb_typeof(e.value) = 'array' THEN jsonb_array_length(e.value) END AS width,
                coalesce(
                    nullif(btrim(e.value ->> (array_position(header, 'product_slug') - 1)), ''),
                    ' ' || btrim(e.value ->> (array_position(header, 'name') - 1))
                ) AS product_key,
                (
                    SELECT jsonb_object_agg(h.col, nullif(btrim(e.value ->> (h.n::integer - 1)), ''))
                    FROM unnest(header) WITH ORDINALITY AS h (col, n)
                ) AS cells
            FROM jsonb_array_elements(args -> 'rows') WITH ORDINALITY AS e (value, n)
            WHERE e.n > 1
        ) AS x
        WINDOW product_rows AS (PARTITION BY x.product_key ORDER BY x.n)
    ) AS y;

    -- -- every problem of every row, at once -----------------------------------------------------------
    WITH l AS (
        SELECT
            (x.value ->> 'row')::integer AS row_no,
            (x.value ->> 'first')::integer AS first_row,
            x.value ->> 'key' AS product_key,
            (x.value ->> 'width')::integer AS width,
            x.value -> 'cells' AS c,
            x.value -> 'first_cells' AS first_c,
            min((x.value ->> 'row')::integer) OVER (PARTITION BY x.value -> 'cells' ->> 'sku') AS sku_first
        FROM jsonb_array_elements(lines) AS x (value)
    ),

    -- Each product column of each later row of a product beside the same column of its first row.
    product_cells AS (
        SELECT l.row_no, l.first_row, col, l.c ->> col AS value, l.first_c ->> col AS first_value
        FROM l
        CROSS JOIN unnest(ARRAY[
            'name', 'description', 'status', 'publish_at', 'category', 'product_type', 'attributes', 'media'
        ]) AS col
        WHERE l.row_no <> l.first_row
    ),

    checks AS (
        SELECT l.row_no, 'row' AS field, format('has %s cells, the header %s', l.width, cardinality(header)) AS message
        FROM l WHERE l.width IS DISTINCT FROM cardinality(header)
        UNION ALL
        SELECT l.row_no, 'name', 'is required' FROM l WHERE l.c ->> 'name' IS NULL AND l.row_no = l.first_row
        UNION ALL
        SELECT l.row_no, 'name', 'must be at most 200 characters' FROM l WHERE length(l.c ->> 'name') > 200
        UNION ALL
        SELECT l.row_no, 'product_slug', 'must be lower-case letters and digits in hyphenated words'
        FROM l WHERE l.c ->> 'product_slug' !~ '^[a-z0-9]+(-[a-z0-9]+)*$' OR length(l.c ->> 'product_slug') > 200
        UNION ALL
        SELECT l.row_no, 'product_slug', 'was the slug of another product and still redirects to it'
        FROM l
        INNER JOIN shop.product_slugs AS h ON l.c ->> 'product_slug' = h.slug
        WHERE NOT EXISTS (SELECT FROM shop.products AS p WHERE p.slug = l.c ->> 'product_slug')
        UNION ALL
        SELECT l.row_no, 'status', 'must be draft, published or archived'
        FROM l WHERE l.c ->> 'status' NOT IN ('draft', 'published', 'archived')
        UNION ALL
        SELECT l.row_no, 'publish_at', 'must be an RFC 3339 date-time with an offset, e.g. 2026-12-01T09:00:00Z'
        FROM l WHERE l.c ->> 'publish_at' IS NOT NULL AND shop.timestamp_or_null(l.c ->> 'publish_at') IS NULL
        UNION ALL
        SELECT l.row_no, 'publish_at', 'only a published product has a publication time'
        FROM l WHERE l.c ->> 'publish_at' IS NOT NULL AND coalesce(l.c ->> 'status', 'published') <> 'published'
        UNION ALL
        SELECT l.row_no, 'category', 'no category has this slug'
        FROM l
        WHERE l.c ->> 'category' IS NOT NULL
            AND NOT EXISTS (SELECT FROM shop.categories AS k WHERE k.slug = l.c ->> 'category')
        UNION ALL
        SELECT l.row_no, 'product_type', 'no product type has this code'
        FROM l
        WHERE l.c ->> 'product_type' IS NOT NULL
            AND NOT EXISTS (SELECT FROM shop.product_types AS t WHERE t.code = l.c ->> 'product_type')
        UNION ALL
        SELECT l.row_no, 'attributes', 'must be a JSON object'
        FROM l WHERE l.c ->> 'attributes' IS NOT NULL AND NOT shop.is_json_of(l.c ->> 'attributes', 'object')
        UNION ALL
        SELECT l.row_no, a.key, a.value #>> '{}'
        FROM l
        INNER JOIN shop.product_types AS t ON l.c ->> 'product_type' = t.code
        CROSS JOIN LATERAL jsonb_each(coalesce(shop.attribute_problems(
            t.attributes,
            CASE WHEN shop.is_json_of(l.c ->> 'attributes', 'object') THEN (l.c ->> 'attributes')::jsonb ELSE '{}' END
        ), '{}')) AS a
        WHERE l.row_no = l.first_row
            AND (l.c ->> 'attributes' IS NULL OR shop.is_json_of(l.c ->> 'attributes', 'object'))
        UNION ALL
        SELECT l.row_no, 'media', 'must be a JSON array of {"url": "https://...", "alt": "..."}'
        FROM l
        WHERE l.c ->> 'media' IS NOT NULL AND NOT (
            shop.is_json_of(l.c ->> 'media', 'array')
            AND (
                SELECT coalesce(bool_and(
                    jsonb_typeof(m.value) = 'object' AND coalesce(m.value ->> 'url' ~ '^https?://\S+$', FALSE)
                    AND length(m.value ->> 'url') <= 2000
                    AND coalesce(jsonb_typeof(m.value -> 'alt') IN ('string', 'null'), TRUE)
                    AND coalesce(length(m.value ->> 'alt'), 0) <= 500
                ), TRUE)
                FROM jsonb_array_elements((l.c ->> 'media')::jsonb) AS m (value)
            )
        )
        UNION ALL
        SELECT l.row_no, 'sku', 'is required when the row has a variant'
        FROM l
        WHERE l.c ->> 'sku' IS NULL AND (
            l.c ->> 'variant_name' IS NOT NULL OR l.c ->> 'options' IS NOT NULL OR l.c ->> 'position' IS NOT NULL
            OR EXISTS (SELECT FROM unnest(currencies) AS cur WHERE l.c ->> ('price_' || cur) IS NOT NULL)
        )
        UNION ALL
        SELECT l.row_no, 'sku', 'must be letters, digits and . _ / -, starting with a letter or digit'
        FROM l WHERE l.c ->> 'sku' !~ '^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$'
        UNION ALL
        SELECT l.row_no, 'sku', format('is on row %s too', l.sku_first)
        FROM l WHERE l.c ->> 'sku' IS NOT NULL AND l.sku_first < l.row_no
        UNION ALL
        SELECT l.row_no, 'sku', 'is the SKU of another product''s variant'
        FROM l
        INNER JOIN shop.product_variants AS v ON l.c ->> 'sku' = v.sku
        INNER JOIN shop.products AS p ON v.product_id = p.id
        WHERE p.slug IS DISTINCT FROM l.c ->> 'product_slug'
        UNION ALL
        SELECT l.row_no, 'variant_name', 'is required when the row has a variant'
        FROM l WHERE l.c ->> 'sku' IS NOT NULL AND l.c ->> 'variant_name' IS NULL
        UNION ALL
        SELECT l.row_no, 'variant_name', 'must be at most 200 characters'
        FROM l WHERE length(l.c ->> 'variant_name') > 200
        UNION ALL
        SELECT l.row_no, 'options', 'must be a JSON object'
        FROM l WHERE l.c ->> 'options' IS NOT NULL AND NOT shop.is_json_of(l.c ->> 'options', 'object')
        UNION ALL
        SELECT l.row_no, 'position', 'must be a whole number'
        FROM l WHERE l.c ->> 'position' !~ '^-?[0-9]{1,9}$'
        UNION ALL
        SELECT l.row_no, 'price_' || cur, 'must be a whole number of minor units, 0 or more (1999 = 19.99)'
        FROM l CROSS JOIN unnest(currencies) AS cur
        WHERE l.c ->> ('price_' || cur) !~ '^[0-9]{1,15}$'
        UNION ALL
        -- A product's columns are read from its first row; its other rows repeat them or leave them empty.
        SELECT pc.row_no, pc.col, format('differs from row %s, the product''s first row', pc.first_row)
        FROM product_cells AS pc
        WHERE pc.value IS NOT NULL AND pc.value IS DISTINCT FROM pc.first_value
    )

    SELECT jsonb_agg(jsonb_build_object('row', c.row_no, 'field', c.field, 'message', c.message)
                     ORDER BY c.row_no, c.field)
    INTO problems
    FROM (SELECT * FROM checks ORDER BY checks.row_no, checks.field LIMIT 1000) AS c;
    IF problems IS NOT NULL THEN
        PERFORM shop.fail(
            422, 'import_failed', jsonb_build_object('rows', problems),
            'Nothing was imported; details.rows lists each problem (at most 1,000) by row and column.'
        );
    END IF;

    -- -- write: products, then variants, prices and media ------------------------------------------------
    -- Only what changes is written: an unchanged row costs no trigger, no new row version and no index
    -- entry (re-importing an export is mostly unchanged rows). Each table takes an UPDATE of the rows that
    -- differ and an INSERT of the new ones. Imports take turns, so the rows one finds existing stay so.
    PERFORM pg_advisory_xact_lock(hashtextextended('shop.products import', 0));

    -- key -> {id, inserted, c}: each product from its first row, with its id (its slug's, or a new one).
    -- Ids and keys are then looked up in this object: the planner cannot estimate the size of jsonb sets,
    -- and joins between them could become nested loops.
    SELECT coalesce(jsonb_object_agg(
        f.product_key, jsonb_build_object('id', coalesce(p.id, gen_random_uuid()), 'inserted', p.id IS NULL, 'c', f.c)
    ), '{}')
    INTO imported
    FROM (
        SELECT x.value ->> 'key' AS product_key, x.value -> 'cells' AS c
        FROM jsonb_array_elements(lines) AS x (value)
        WHERE x.value ->> 'row' = x.value ->> 'first'
    ) AS f
    LEFT JOIN shop.products AS p ON f.c ->> 'product_slug' = p.slug;

    BEGIN
        -- Existing products: columns the file has replace the stored ones (absent columns are kept).
        UPDATE shop.products AS p SET
            name = n.name,
            description = n.description,
            attributes = n.attributes,
            category_id = n.category_id,
            product_type_id = n.product_type_id,
            status = n.status,
            published_at = n.published_at
        FROM (
            SELECT
                o.id,
                i.value -> 'c' ->> 'name' AS name,
                CASE
                    WHEN header @> '{description}' THEN coalesce(i.value -> 'c' ->> 'description', '') ELSE o.description
                END AS description,
                CASE
                    WHEN header @> '{attributes}' THEN coalesce((i.value -> 'c' ->> 'attributes')::jsonb, '{}')
                    ELSE o.attributes
                END AS attributes,
                CASE
                    WHEN header @> '{category}'
                        THEN (SELECT k.id FROM shop.categories AS k WHERE k.slug = i.value -> 'c' ->> 'category')
                    ELSE o.category_id
                END AS category_id,
                CASE
                    WHEN header @> '{product_type}'
                        THEN (SELECT t.id FROM shop.product_types AS t WHERE t.code = i.value -> 'c' ->> 'product_type')
                    ELSE o.product_type_id
                END AS product_type_id,
                s.status,
                CASE
                    WHEN i.value -> 'c' ->> 'publish_at' IS NOT NULL THEN shop.timestamp_or_null(i.value -> 'c' ->> 'publish_at')
                    -- Publishing without a time publishes now; a published product keeps its time.
                    WHEN s.status = 'published' AND o.status <> 'published' THEN now()
                    ELSE o.published_at
                END AS published_at
            FROM jsonb_each(imported) AS i
            INNER JOIN shop.products AS o ON (i.value ->> 'id')::uuid = o.id
            CROSS JOIN LATERAL (
                SELECT CASE
                    WHEN NOT header && '{status,publish_at}' THEN o.status
                    WHEN i.value -> 'c' ->> 'publish_at' IS NOT NULL THEN 'published'
                    ELSE coalesce(i.value -> 'c' ->> 'status', 'draft')
                END AS status
            ) AS s
            WHERE NOT (i.value ->> 'inserted')::boolean
        ) AS n
        WHERE
            p.id = n.id
            AND (p.name, p.description, p.attributes, p.category_id, p.product_type_id, p.status, p.published_at)
            IS DISTINCT FROM (n.name, n.description, n.attributes, n.category_id, n.product_type_id, n.status, n.published_at);

        INSERT INTO shop.products (
            id, slug, name, description, attributes, category_id, product_type_id, status, published_at
        )
        SELECT
            (i.value ->> 'id')::uuid,
            i.value -> 'c' ->> 'product_slug',
            i.value -> 'c' ->> 'name',
            coalesce(i.value -> 'c' ->> 'description', ''),
            coalesce((i.value -> 'c' ->> 'attributes')::jsonb, '{}'),
            (SELECT k.id FROM shop.categories AS k WHERE k.slug = i.value -> 'c' ->> 'category'),
            (SELECT t.id FROM shop.product_types AS t WHERE t.code = i.value -> 'c' ->> 'product_type'),
            CASE
                WHEN i.value -> 'c' ->> 'publish_at' IS NOT NULL THEN 'published'
                ELSE coalesce(i.value -> 'c' ->> 'status', 'draft')
            END,
            shop.timestamp_or_null(i.value -> 'c' ->> 'publish_at')
        FROM jsonb_each(imported) AS i
        WHERE (i.value ->> 'inserted')::boolean;

        -- Variants by SKU (the checks made sure an existing SKU is this product's): changed ones, then new ones.
        UPDATE shop.product_variants AS v SET
            name = n.name,
            options = coalesce(n.options, v.options),
            position = coalesce(n.position, v.position)
        FROM (
            SELECT
                x.value -> 'cells' ->> 'sku' AS sku,
                x.value -> 'cells' ->> 'variant_name' AS name,
                CASE WHEN header @> '{options}' THEN coalesce((x.value -> 'cells' ->> 'options')::jsonb, '{}') END AS options,
                CASE WHEN header @> '{position}' THEN coalesce((x.value -> 'cells' ->> 'position')::integer, 0) END AS position
            FROM jsonb_array_elements(lines) AS x (value)
            WHERE x.value -> 'cells' ->> 'sku' IS NOT NULL
        ) AS n
        WHERE
            v.sku = n.sku
            AND (v.name, v.options, v.position)
            IS DISTINCT FROM (n.name, coalesce(n.options, v.options), coalesce(n.position, v.position));

        INSERT INTO shop.product_variants (product_id, sku, name, options, position)
        SELECT
            (imported -> (x.value ->> 'key') ->> 'id')::uuid,
            x.value -> 'cells' ->> 'sku',
            x.value -> 'cells' ->> 'variant_name',
            coalesce((x.value -> 'cells' ->> 'options')::jsonb, '{}'),
            coalesce((x.value -> 'cells' ->> 'position')::integer, 0)
        FROM jsonb_array_elements(lines) AS x (value)
        WHERE
            x.value -> 'cells' ->> 'sku' IS NOT NULL
            AND NOT EXISTS (SELECT FROM shop.product_variants AS v WHERE v.sku = x.value -> 'cells' ->> 'sku')
        ORDER BY (x.value ->> 'row')::integer;

        -- Prices: an empty price_<CUR> cell removes that price, a changed amount is updated, a new one added;
        -- currencies without a column are left alone.
        DELETE FROM shop.variant_prices AS vp
        USING jsonb_array_elements(lines) AS x (value), unnest(currencies) AS cur, shop.product_variants AS v
        WHERE
            v.sku = x.value -> 'cells' ->> 'sku'
            AND vp.variant_id = v.id
            AND vp.currency = cur::bpchar
            AND x.value -> 'cells' ->> ('price_' || cur) IS NULL;
        UPDATE shop.variant_prices AS vp SET amount = n.amount
        FROM (
            SELECT v.id AS variant_id, cur::bpchar AS currency, (x.value -> 'cells' ->> ('price_' || cur))::bigint AS amount
            FROM jsonb_array_elements(lines) AS x (value)
            CROSS JOIN unnest(currencies) AS cur
            INNER JOIN shop.product_variants AS v ON x.value -> 'cells' ->> 'sku' = v.sku
            WHERE x.value -> 'cells' ->> ('price_' || cur) IS NOT NULL
        ) AS n
        WHERE vp.variant_id = n.variant_id AND vp.currency = n.currency AND vp.amount <> n.amount;
        INSERT INTO shop.variant_prices (variant_id, currency, amount)
        SELECT v.id, cur, (x.value -> 'cells' ->> ('price_' || cur))::bigint
        FROM jsonb_array_elements(lines) AS x (value)
        CROSS JOIN unnest(currencies) AS cur
        INNER JOIN shop.product_variants AS v ON x.value -> 'cells' ->> 'sku' = v.sku
        WHERE
            x.value -> 'cells' ->> ('price_' || cur) IS NOT NULL
            AND NOT EXISTS (SELECT FROM shop.variant_prices AS vp WHERE vp.variant_id = v.id AND vp.currency = cur::bpchar);
    EXCEPTION WHEN unique_violation THEN
        PERFORM shop.fail(
            409, 'import_conflict', '{}',
            'Another change created some of these products or SKUs at the same moment; nothing was imported. '
            || 'Send the file again.'
        );
    END;

    -- Media: a product whose list of images differs from the file's gets the file's.
    IF header @> '{media}' THEN
        WITH wanted AS (
            SELECT
                (i.value ->> 'id')::uuid AS product_id,
                (
                    SELECT jsonb_agg(jsonb_build_object('url', m.value ->> 'url', 'alt', coalesce(m.value ->> 'alt', '')) ORDER BY m.n)
                    FROM jsonb_array_elements(coalesce((i.value -> 'c' ->> 'media')::jsonb, '[]')) WITH ORDINALITY AS m (value, n)
                ) AS media
            FROM jsonb_each(imported) AS i
        ),

        changed AS (
            SELECT w.product_id, w.media
            FROM wanted AS w
            WHERE w.media IS DISTINCT FROM (
                SELECT jsonb_agg(jsonb_build_object('url', m.url, 'alt', m.alt) ORDER BY m.position, m.id)
                FROM shop.product_media AS m WHERE m.product_id = w.product_id
            )
        ),

        removed AS (
            DELETE FROM shop.product_media AS m
            USING changed AS c
            WHERE m.product_id = c.product_id
        )

        INSERT INTO shop.product_media (product_id, url, alt, position)
        SELECT c.product_id, m.value ->> 'url', m.value ->> 'alt', m.n - 1
        FROM changed AS c
        CROSS JOIN LATERAL jsonb_array_elements(c.media) WITH ORDINALITY AS m (value, n);
    END IF;

    SELECT
        count(*) FILTER (WHERE (i.value ->> 'inserted')::boolean),
        count(*) FILTER (WHERE NOT (i.value ->> 'inserted')::boolean)
    INTO created, updated
    FROM jsonb_each(imported) AS i;
    RETURN jsonb_build_object('created', created, 'updated', updated);
END
$$;
COMMENT ON FUNCTION api.admin_import_products(jsonb) IS
'POST /v1/admin/products/import (catalog_manager): a CSV of up to 10,000 rows, decoded by the layer into '
'{rows: [[cell, ...], ...]} with the header first (columns as in the export; name, sku and variant_name '
'are required columns). A row''s product is its product_slug (an existing one is updated, else created), '
'or when empty its name (a new product with a slug made from the name). Empty cells: no value (a '
'price_<CUR> cell left empty removes that price); absent columns leave existing values alone. All or '
'nothing: every row is checked first (the same rules as the API and the triggers, attributes by type). '
'Returns {created, updated} (products). Errors: PT422 import_failed with details.rows: [{row (the header '
'is row 1), field, message}], at most 1,000.';
REVOKE ALL ON FUNCTION api.admin_import_products(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.admin_import_products(jsonb) TO catalog_manager;
