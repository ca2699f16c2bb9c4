-- Pricing admin API: customer groups and who is in them, price lists and their prices, markdowns.
-- SECURITY INVOKER where the caller's table grants and RLS decide (catalog_manager writes price lists
-- and markdowns); SECURITY DEFINER only to set a customer's group, a column no role may write directly.
-- The rules of resolution are in sql/shop/prices.sql; docs/pricing.md explains them.

-- == input helpers ===================================================================================
CREATE OR REPLACE FUNCTION shop.timestamp_field_error(args jsonb, key text)
RETURNS text
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    parsed timestamptz;
BEGIN
    IF jsonb_typeof(args -> key) IS NULL OR jsonb_typeof(args -> key) = 'null' THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(args -> key) <> 'string'
        OR args ->> key !~ '^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([Zz]|[+-]\d{2}(:?\d{2})?)$' THEN
        RETURN 'must be an RFC 3339 time with an offset, e.g. 2026-01-31T12:00:00Z';
    END IF;
    BEGIN
        parsed := (args ->> key)::timestamptz;
    EXCEPTION WHEN OTHERS THEN
        RETURN 'is not a valid time';
    END;
    RETURN CASE WHEN parsed IS NULL THEN 'is not a valid time' END;
END
$$;
COMMENT ON FUNCTION shop.timestamp_field_error(jsonb, text) IS
'Validates an optional time member of an api argument object: absent or null is fine, else it must be '
'an RFC 3339 string with an offset. Returns the problem as a short phrase, or NULL when fine (then '
'(args ->> key)::timestamptz is safe).';
REVOKE ALL ON FUNCTION shop.timestamp_field_error(jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.timestamp_field_error(jsonb, text) TO postcart_staff;

CREATE OR REPLACE FUNCTION shop.price_list_json(p_id uuid)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT jsonb_build_object(
        'id', l.id,
        'name', l.name,
        'customer_group', g.code,
        'starts_at', auth.to_rfc3339(l.starts_at),
        'ends_at', auth.to_rfc3339(l.ends_at),
        'priority', l.priority,
        'created_at', auth.to_rfc3339(l.created_at)
    )
    FROM shop.price_lists AS l
    LEFT JOIN shop.customer_groups AS g ON l.customer_group_id = g.id
    WHERE l.id = p_id
$$;
COMMENT ON FUNCTION shop.price_list_json(uuid) IS
'A price list as the admin API shows it: {id, name, customer_group (code)|null, starts_at|null, '
'ends_at|null, priority, created_at}; NULL when the caller cannot see it. Returns jsonb.';
REVOKE ALL ON FUNCTION shop.price_list_json(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.price_list_json(uuid) TO postcart_staff;

CREATE OR REPLACE FUNCTION shop.price_rows(prices jsonb, list_starts timestamptz, list_ends timestamptz)
RETURNS TABLE (
    idx integer,
    sku text,
    variant_id uuid,
    has_base boolean,
    currency char(3),
    amount bigint,
    min_quantity integer,
    starts_at timestamptz,
    ends_at timestamptz,
    lower_bound timestamptz,
    upper_bound timestamptz
)
LANGUAGE sql
STABLE
AS $$
    SELECT
        (e.ord - 1)::integer,
        btrim(e.item ->> 'sku'),
        v.id,
        EXISTS (
            SELECT FROM shop.variant_prices AS vp
            WHERE vp.variant_id = v.id AND vp.currency = (e.item ->> 'currency')::bpchar
        ),
        (e.item ->> 'currency')::bpchar,
        (e.item ->> 'amount')::bigint,
        coalesce((e.item ->> 'min_quantity')::integer, 1),
        (e.item ->> 'starts_at')::timestamptz,
        (e.item ->> 'ends_at')::timestamptz,
        greatest(list_starts, (e.item ->> 'starts_at')::timestamptz),
        least(list_ends, (e.item ->> 'ends_at')::timestamptz)
    FROM jsonb_array_elements(prices) WITH ORDINALITY AS e (item, ord)
    LEFT JOIN shop.product_variants AS v ON btrim(e.item ->> 'sku') = v.sku
$$;
COMMENT ON FUNCTION shop.price_rows(jsonb, timestamptz, timestamptz) IS
'The prices array of PUT /v1/admin/price-lists/{id}/prices, already checked for shape, as rows: idx '
'(0-based), sku, variant_id (NULL for an unknown SKU), has_base (the variant has a base price in the '
'currency), currency, amount, min_quantity (default 1), the row''s own starts_at/ends_at and its window '
'inside the list''s [list_starts, list_ends) as lower_bound/upper_bound (NULL = open). Returns a set.';
REVOKE ALL ON FUNCTION shop.price_rows(jsonb, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.price_rows(jsonb, timestamptz, timestamptz) TO catalog_manager;

-- == POST /v1/admin/customer-groups ==================================================================
CREATE OR REPLACE FUNCTION api.create_customer_group(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    fields jsonb;
    group_row shop.customer_groups%ROWTYPE;
BEGIN
    fields := jsonb_strip_nulls(jsonb_build_object(
        'code', coalesce(
            auth.text_field_error(args, 'code', TRUE, 64),
            CASE WHEN btrim(args ->> 'code') !~ '^[a-z0-9]+(-[a-z0-9]+)*$'
                THEN 'must be lower-case letters and digits in words joined by hyphens, e.g. wholesale' END
        ),
        'name', auth.text_field_error(args, 'name', TRUE, 200)
    ));
    IF fields <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed', jsonb_build_object('fields', fields),
            'Some fields are missing or invalid; see details.fields.'
        );
    END IF;
    BEGIN
        INSERT INTO shop.customer_groups (code, name)
        VALUES (btrim(args ->> 'code'), btrim(args ->> 'name'))
        RETURNING id, code, name INTO group_row.id, group_row.code, group_row.name;
    EXCEPTION WHEN unique_violation THEN
        PERFORM shop.fail(
            409, 'customer_group_exists', jsonb_build_object('code', btrim(args ->> 'code')),
            'A customer group with this code already exists.'
        );
    END;
    RETURN jsonb_build_object(
        'customer_group', jsonb_build_object('id', group_row.id, 'code', group_row.code, 'name', group_row.name)
    );
END
$$;
COMMENT ON FUNCTION api.create_customer_group(jsonb) IS
'POST /v1/admin/customer-groups (catalog_manager or store_admin): {code, name} creates a customer group '
'(code: lower-case words joined by hyphens, e.g. wholesale). Returns {customer_group: {id, code, name}}. '
'Errors: PT422 validation_failed, PT409 customer_group_exists.';
REVOKE ALL ON FUNCTION api.create_customer_group(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.create_customer_group(jsonb) TO catalog_manager;
GRANT EXECUTE ON FUNCTION api.create_customer_group(jsonb) TO store_admin;

-- == PUT /v1/admin/customers/{id}/customer-group =====================================================
CREATE OR REPLACE FUNCTION api.set_customer_group(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    account_id uuid;
    group_row shop.customer_groups%ROWTYPE;
BEGIN
    -- Definer rights: nobody has a grant on auth.accounts.customer_group_id; EXECUTE on this function
    -- (catalog_manager, store_admin) is the permission.
    IF args ->> 'id' ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$' THEN
        account_id := (args ->> 'id')::uuid;
    END IF;
    IF NOT EXISTS (SELECT FROM auth.accounts AS a WHERE a.id = account_id AND a.kind = 'customer') THEN
        PERFORM shop.fail(
            404, 'customer_not_found', jsonb_build_object('id', args ->> 'id'), 'There is no customer with this id.'
        );
    END IF;
    IF NOT args ? 'customer_group' THEN
        PERFORM shop.fail(
            422, 'validation_failed',
            jsonb_build_object('fields', jsonb_build_object(
                'customer_group', 'is required (a group code, or null for none)'
            )),
            'Some fields are missing or invalid; see details.fields.'
        );
    END IF;
    IF jsonb_typeof(args -> 'customer_group') <> 'null' THEN
        SELECT g.* INTO group_row
        FROM shop.customer_groups AS g
        WHERE jsonb_typeof(args -> 'customer_group') = 'string' AND g.code = btrim(args ->> 'customer_group');
        IF group_row.id IS NULL THEN
            PERFORM shop.fail(
                422, 'validation_failed',
                jsonb_build_object('fields', jsonb_build_object('customer_group', 'no customer group has this code')),
                'Some fields are missing or invalid; see details.fields.'
            );
        END IF;
    END IF;
    UPDATE auth.accounts AS a SET customer_group_id = group_row.id WHERE a.id = account_id;
    RETURN jsonb_build_object('customer', jsonb_build_object(
        'id', account_id,
        'customer_group', CASE WHEN group_row.id IS NOT NULL THEN
            jsonb_build_object('id', group_row.id, 'code', group_row.code, 'name', group_row.name)
        END
    ));
END
$$;
COMMENT ON FUNCTION api.set_customer_group(jsonb) IS
'PUT /v1/admin/customers/{id}/customer-group (catalog_manager or store_admin): {customer_group: code or '
'null} puts the customer in that group (or in none); its price lists apply to the customer from the next '
'request. Returns {customer: {id, customer_group: {id, code, name}|null}}. Errors: PT404 '
'customer_not_found, PT422 validation_failed.';
REVOKE ALL ON FUNCTION api.set_customer_group(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.set_customer_group(jsonb) TO catalog_manager;
GRANT EXECUTE ON FUNCTION api.set_customer_group(jsonb) TO store_admin;

-- == POST /v1/admin/price-lists ======================================================================
CREATE OR REPLACE FUNCTION api.create_price_list(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    fields jsonb;
    group_id uuid;
    new_id uuid;
BEGIN
    IF jsonb_typeof(args -> 'customer_group') = 'string' THEN
        SELECT g.id INTO group_id FROM shop.customer_groups AS g WHERE g.code = btrim(args ->> 'customer_group');
    END IF;
    fields := jsonb_strip_nulls(jsonb_build_object(
        'name', auth.text_field_error(args, 'name', TRUE, 200),
        'customer_group', CASE
            WHEN coalesce(jsonb_typeof(args -> 'customer_group'), 'null') = 'null' THEN NULL
            WHEN jsonb_typeof(args -> 'customer_group') <> 'string' THEN 'must be a customer group code'
            WHEN group_id IS NULL THEN 'no customer group has this code'
        END,
        'starts_at', shop.timestamp_field_error(args, 'starts_at'),
        'ends_at', shop.timestamp_field_error(args, 'ends_at'),
        'priority', CASE
            WHEN coalesce(jsonb_typeof(args -> 'priority'), 'null') = 'null' THEN NULL
            WHEN jsonb_typeof(args -> 'priority') <> 'number' OR (args ->> 'priority') !~ '^-?\d{1,7}$'
                THEN 'must be a whole number between -1000000 and 1000000'
            WHEN abs((args ->> 'priority')::integer) > 1000000
                THEN 'must be a whole number between -1000000 and 1000000'
        END
    ));
    IF NOT fields ?| ARRAY['starts_at', 'ends_at']
        AND (args ->> 'ends_at')::timestamptz <= (args ->> 'starts_at')::timestamptz THEN
        fields := fields || '{"ends_at": "must be later than starts_at"}';
    END IF;
    IF fields <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed', jsonb_build_object('fields', fields),
            'Some fields are missing or invalid; see details.fields.'
        );
    END IF;
    BEGIN
        INSERT INTO shop.price_lists (name, customer_group_id, starts_at, ends_at, priority)
        VALUES (
            btrim(args ->> 'name'), group_id, (args ->> 'starts_at')::timestamptz,
            (args ->> 'ends_at')::timestamptz, coalesce((args ->> 'priority')::integer, 0)
        )
        RETURNING id INTO new_id;
    EXCEPTION WHEN unique_violation THEN
        PERFORM shop.fail(
            409, 'price_list_exists', jsonb_build_object('name', btrim(args ->> 'name')),
            'A price list with this name already exists.'
        );
    END;
    RETURN jsonb_build_object('price_list', shop.price_list_json(new_id));
END
$$;
COMMENT ON FUNCTION api.create_price_list(jsonb) IS
'POST /v1/admin/price-lists (catalog_manager): {name, customer_group? (code), starts_at?, ends_at?, '
'priority? (default 0)} creates an empty price list; it applies to members of the customer group (or to '
'everyone without one) during [starts_at, ends_at) (a missing bound is open). Returns {price_list: {id, '
'name, customer_group, starts_at, ends_at, priority, created_at}}. Errors: PT422 validation_failed, '
'PT409 price_list_exists (names are unique).';
REVOKE ALL ON FUNCTION api.create_price_list(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.create_price_list(jsonb) TO catalog_manager;

-- == PUT /v1/admin/price-lists/{id}/prices ===========================================================
CREATE OR REPLACE FUNCTION api.replace_price_list_prices(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    list_id uuid;
    list_row shop.price_lists%ROWTYPE;
    fields jsonb := '{}';
    item jsonb;
    i integer;
    n integer;
    key text;
    problem text;
BEGIN
    IF args ->> 'id' ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$' THEN
        list_id := (args ->> 'id')::uuid;
    END IF;
    -- Locked first: concurrent replacements of one list run one after the other.
    SELECT l.* INTO list_row FROM shop.price_lists AS l WHERE l.id = list_id FOR UPDATE;
    IF list_row.id IS NULL THEN
        PERFORM shop.fail(
            404, 'price_list_not_found', jsonb_build_object('id', args ->> 'id'), 'There is no price list with this id.'
        );
    END IF;
    IF jsonb_typeof(args -> 'prices') IS DISTINCT FROM 'array' OR jsonb_array_length(args -> 'prices') > 10000 THEN
        PERFORM shop.fail(
            422, 'validation_failed',
            jsonb_build_object('fields', jsonb_build_object('prices', 'must be an array of at most 10000 prices')),
            'Some fields are missing or invalid; see details.fields.'
        );
    END IF;

    -- -- each row on its own: shapes and values --------------------------------------------------------
    n := jsonb_array_length(args -> 'prices');
    FOR i IN 0 .. n - 1 LOOP
        item := args -> 'prices' -> i;
        key := 'prices.' || i;
        IF jsonb_typeof(item) <> 'object' THEN
            fields := fields || jsonb_build_object(key, 'must be an object');
            CONTINUE;
        END IF;
        problem := auth.text_field_error(item, 'sku', TRUE, 64);
        IF problem IS NOT NULL THEN
            fields := fields || jsonb_build_object(key || '.sku', problem);
        END IF;
        IF jsonb_typeof(item -> 'amount') IS DISTINCT FROM 'number' OR (item ->> 'amount') !~ '^\d{1,15}$' THEN
            fields := fields || jsonb_build_object(
                key || '.amount', 'must be a whole number of minor units, 0 or more (1999 = 19.99)'
            );
        END IF;
        IF jsonb_typeof(item -> 'currency') IS DISTINCT FROM 'string' OR (item ->> 'currency') !~ '^[A-Z]{3}$' THEN
            fields := fields || jsonb_build_object(key || '.currency', 'must be a three-letter ISO 4217 code such as EUR');
        END IF;
        problem := NULL;
        IF coalesce(jsonb_typeof(item -> 'min_quantity'), 'null') <> 'null' THEN
            IF jsonb_typeof(item -> 'min_quantity') <> 'number' OR (item ->> 'min_quantity') !~ '^\d{1,7}$' THEN
                problem := 'must be a whole number from 1 to 1000000';
            ELSIF (item ->> 'min_quantity')::integer NOT BETWEEN 1 AND 1000000 THEN
                problem := 'must be a whole number from 1 to 1000000';
            END IF;
            IF problem IS NOT NULL THEN
                fields := fields || jsonb_build_object(key || '.min_quantity', problem);
            END IF;
        END IF;
        problem := shop.timestamp_field_error(item, 'starts_at');
        IF problem IS NOT NULL THEN
            fields := fields || jsonb_build_object(key || '.starts_at', problem);
        END IF;
        problem := shop.timestamp_field_error(item, 'ends_at');
        IF problem IS NOT NULL THEN
            fields := fields || jsonb_build_object(key || '.ends_at', problem);
        END IF;
    END LOOP;
    IF fields <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed', jsonb_build_object('fields', fields),
            'Some prices are invalid; details.fields names each by its index in prices.'
        );
    END IF;

    -- -- rows against the catalog, the list's window and each other -----------------------------------
    SELECT coalesce(jsonb_object_agg(f.k, f.msg), '{}') INTO fields
    FROM (
        SELECT format('prices.%s.sku', r.idx) AS k, 'no variant has this SKU' AS msg
        FROM shop.price_rows(args -> 'prices', list_row.starts_at, list_row.ends_at) AS r
        WHERE r.variant_id IS NULL
        UNION ALL
        SELECT format('prices.%s.currency', r.idx), 'the variant has no base price in this currency'
        FROM shop.price_rows(args -> 'prices', list_row.starts_at, list_row.ends_at) AS r
        WHERE r.variant_id IS NOT NULL AND NOT r.has_base
        UNION ALL
        SELECT format('prices.%s.ends_at', r.idx), 'must be later than starts_at'
        FROM shop.price_rows(args -> 'prices', list_row.starts_at, list_row.ends_at) AS r
        WHERE r.ends_at <= r.starts_at
        UNION ALL
        SELECT format('prices.%s.starts_at', r.idx), 'the window must overlap the price list''s window'
        FROM shop.price_rows(args -> 'prices', list_row.starts_at, list_row.ends_at) AS r
        WHERE r.lower_bound >= r.upper_bound AND NOT r.ends_at <= r.starts_at
        UNION ALL
        -- Two rows for one variant, currency and tier whose windows overlap: the later one is named.
        SELECT DISTINCT ON (b.idx)
            format('prices.%s', b.idx),
            format('overlaps prices.%s: same sku, currency and min_quantity at the same time', a.idx)
        FROM shop.price_rows(args -> 'prices', list_row.starts_at, list_row.ends_at) AS a
        INNER JOIN shop.price_rows(args -> 'prices', list_row.starts_at, list_row.ends_at) AS b
            ON
                a.variant_id = b.variant_id AND a.currency = b.currency AND a.min_quantity = b.min_quantity
                AND a.idx < b.idx
        WHERE
            (a.upper_bound IS NULL OR b.lower_bound IS NULL OR b.lower_bound < a.upper_bound)
            AND (b.upper_bound IS NULL OR a.lower_bound IS NULL OR a.lower_bound < b.upper_bound)
    ) AS f;
    IF fields <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed', jsonb_build_object('fields', fields),
            'Some prices are invalid; details.fields names each by its index in prices.'
        );
    END IF;

    -- -- all or nothing: the old prices go, the new ones come ----------------------------------------
    DELETE FROM shop.price_list_prices AS pp WHERE pp.price_list_id = list_row.id;
    INSERT INTO shop.price_list_prices (
        price_list_id, variant_id, currency, min_quantity, amount, starts_at, ends_at
    )
    SELECT list_row.id, r.variant_id, r.currency, r.min_quantity, r.amount, r.starts_at, r.ends_at
    FROM shop.price_rows(args -> 'prices', list_row.starts_at, list_row.ends_at) AS r
    ORDER BY r.idx;

    RETURN jsonb_build_object(
        'price_list', shop.price_list_json(list_row.id),
        'prices', coalesce((
            SELECT jsonb_agg(
                jsonb_build_object(
                    'sku', r.sku,
                    'variant_id', r.variant_id,
                    'amount', r.amount,
                    'currency', r.currency,
                    'min_quantity', r.min_quantity,
                    'starts_at', auth.to_rfc3339(r.starts_at),
                    'ends_at', auth.to_rfc3339(r.ends_at)
                )
                ORDER BY r.idx
            )
            FROM shop.price_rows(args -> 'prices', list_row.starts_at, list_row.ends_at) AS r
        ), '[]')
    );
END
$$;
COMMENT ON FUNCTION api.replace_price_list_prices(jsonb) IS
'PUT /v1/admin/price-lists/{id}/prices (catalog_manager): {prices: [{sku, amount, currency, '
'min_quantity? (default 1), starts_at?, ends_at?}]} replaces all the list''s prices at once (an empty '
'array clears it). Each price applies from min_quantity units up, within the list''s window narrowed by '
'its own starts_at/ends_at. All or nothing: any bad row rejects the whole request. Returns {price_list, '
'prices: [{sku, variant_id, amount, currency, min_quantity, starts_at, ends_at}]}. Errors: PT404 '
'price_list_not_found; PT422 validation_failed with details.fields naming rows by index ("prices.3.sku": '
'unknown SKU; "prices.3.currency": no base price in it; "prices.3": overlaps another row).';
REVOKE ALL ON FUNCTION api.replace_price_list_prices(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.replace_price_list_prices(jsonb) TO catalog_manager;

-- == POST /v1/admin/markdowns ========================================================================
CREATE OR REPLACE FUNCTION api.create_markdown(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    fields jsonb;
    category_row shop.categories%ROWTYPE;
    product_row shop.products%ROWTYPE;
    has_category boolean := coalesce(jsonb_typeof(args -> 'category'), 'null') <> 'null';
    has_product boolean := coalesce(jsonb_typeof(args -> 'product'), 'null') <> 'null';
    markdown_row shop.markdowns%ROWTYPE;
BEGIN
    IF jsonb_typeof(args -> 'category') = 'string' THEN
        SELECT c.id, c.slug, c.name INTO category_row.id, category_row.slug, category_row.name
        FROM shop.categories AS c
        WHERE c.slug = btrim(args ->> 'category');
    END IF;
    IF jsonb_typeof(args -> 'product') = 'string' THEN
        SELECT p.id, p.slug, p.name INTO product_row.id, product_row.slug, product_row.name
        FROM shop.products AS p
        WHERE
            p.slug = btrim(args ->> 'product')
            OR p.id::text = lower(btrim(args ->> 'product'))
        LIMIT 1;
    END IF;
    fields := jsonb_strip_nulls(jsonb_build_object(
        'name', auth.text_field_error(args, 'name', TRUE, 200),
        'percent_off', CASE
            WHEN jsonb_typeof(args -> 'percent_off') IS DISTINCT FROM 'number'
                OR (args ->> 'percent_off') !~ '^\d{1,3}(\.\d{1,2})?$'
                THEN 'must be a number above 0 and at most 100, with at most two decimals'
            WHEN (args ->> 'percent_off')::numeric NOT BETWEEN 0.01 AND 100
                THEN 'must be a number above 0 and at most 100, with at most two decimals'
        END,
        'category', CASE
            WHEN has_category AND has_product THEN 'give either category or product, not both'
            WHEN NOT has_category AND NOT has_product THEN 'give a category (slug) or a product (slug or id)'
            WHEN has_category AND category_row.id IS NULL THEN 'no category has this slug'
        END,
        'product', CASE
            WHEN has_product AND NOT has_category AND product_row.id IS NULL THEN 'no product has this slug or id'
        END,
        'starts_at', coalesce(
            shop.timestamp_field_error(args, 'starts_at'),
            CASE WHEN coalesce(jsonb_typeof(args -> 'starts_at'), 'null') = 'null' THEN 'is required' END
        ),
        'ends_at', coalesce(
            shop.timestamp_field_error(args, 'ends_at'),
            CASE WHEN coalesce(jsonb_typeof(args -> 'ends_at'), 'null') = 'null' THEN 'is required' END
        )
    ));
    IF NOT fields ?| ARRAY['starts_at', 'ends_at']
        AND (args ->> 'ends_at')::timestamptz <= (args ->> 'starts_at')::timestamptz THEN
        fields := fields || '{"ends_at": "must be later than starts_at"}';
    END IF;
    IF fields <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed', jsonb_build_object('fields', fields),
            'Some fields are missing or invalid; see details.fields.'
        );
    END IF;
    INSERT INTO shop.markdowns (name, percent_off, category_id, product_id, starts_at, ends_at)
    VALUES (
        btrim(args ->> 'name'), (args ->> 'percent_off')::numeric, category_row.id, product_row.id,
        (args ->> 'starts_at')::timestamptz, (args ->> 'ends_at')::timestamptz
    )
    RETURNING id, name, percent_off, starts_at, ends_at, created_at
    INTO markdown_row.id, markdown_row.name, markdown_row.percent_off, markdown_row.starts_at,
    markdown_row.ends_at, markdown_row.created_at;
    RETURN jsonb_build_object('markdown', jsonb_build_object(
        'id', markdown_row.id,
        'name', markdown_row.name,
        'percent_off', markdown_row.percent_off,
        'category', CASE WHEN category_row.id IS NOT NULL THEN
            jsonb_build_object('id', category_row.id, 'slug', category_row.slug, 'name', category_row.name)
        END,
        'product', CASE WHEN product_row.id IS NOT NULL THEN
            jsonb_build_object('id', product_row.id, 'slug', product_row.slug, 'name', product_row.name)
        END,
        'starts_at', auth.to_rfc3339(markdown_row.starts_at),
        'ends_at', auth.to_rfc3339(markdown_row.ends_at),
        'created_at', auth.to_rfc3339(markdown_row.created_at)
    ));
END
$$;
COMMENT ON FUNCTION api.create_markdown(jsonb) IS
'POST /v1/admin/markdowns (catalog_manager): {name, percent_off (0.01..100, two decimals at most), '
'category (slug; its subcategories included) or product (slug or id), starts_at, ends_at} schedules a '
'markdown: during [starts_at, ends_at) the resolved price of every variant in scope is percent_off '
'lower (rounded half up; the largest markdown wins, they do not stack). Returns {markdown: {id, name, '
'percent_off, category|null, product|null, starts_at, ends_at, created_at}}. Errors: PT422 '
'validation_failed.';
REVOKE ALL ON FUNCTION api.create_markdown(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.create_markdown(jsonb) TO catalog_manager;
