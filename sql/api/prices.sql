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
CREATE OR REPLACE FUNCTION shop.price_list_fields(
    args jsonb,
    existing shop.price_lists,
    OUT fields jsonb,
    OUT group_id uuid,
    OUT new_starts timestamptz,
    OUT new_ends timestamptz,
    OUT new_priority integer
)
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    creating boolean := existing.id IS NULL;
BEGIN
    -- Absent members keep the existing list's values (none when creating); null clears them.
    group_id := existing.customer_group_id;
    IF jsonb_typeof(args -> 'customer_group') = 'string' THEN
        SELECT g.id INTO group_id FROM shop.customer_groups AS g WHERE g.code = btrim(args ->> 'customer_group');
    ELSIF args ? 'customer_group' THEN
        group_id := NULL;
    END IF;
    fields := jsonb_strip_nulls(jsonb_build_object(
        'name', auth.text_field_error(args, 'name', creating OR args ? 'name', 200),
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
    IF fields ?| ARRAY['starts_at', 'ends_at', 'priority'] THEN
        RETURN;
    END IF;
    new_starts := CASE WHEN args ? 'starts_at' THEN (args ->> 'starts_at')::timestamptz ELSE existing.starts_at END;
    new_ends := CASE WHEN args ? 'ends_at' THEN (args ->> 'ends_at')::timestamptz ELSE existing.ends_at END;
    new_priority := CASE
        WHEN args ? 'priority' THEN coalesce((args ->> 'priority')::integer, 0) ELSE coalesce(existing.priority, 0)
    END;
    IF new_ends <= new_starts THEN
        fields := fields || jsonb_build_object(
            CASE WHEN args ? 'ends_at' THEN 'ends_at' ELSE 'starts_at' END,
            CASE WHEN args ? 'ends_at' THEN 'must be later than starts_at' ELSE 'must be earlier than ends_at' END
        );
    END IF;
END
$$;
COMMENT ON FUNCTION shop.price_list_fields(jsonb, shop.price_lists) IS
'Validates the members of POST /v1/admin/price-lists (existing NULL) or PATCH /v1/admin/price-lists/{id} '
'(existing: the list): {name, customer_group (code or null), starts_at, ends_at (RFC 3339 or null), '
'priority}. Returns fields ({member: reason}, empty when fine) and the resulting group_id, new_starts, '
'new_ends and new_priority (absent members keep existing values).';
REVOKE ALL ON FUNCTION shop.price_list_fields(jsonb, shop.price_lists) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.price_list_fields(jsonb, shop.price_lists) TO catalog_manager;

CREATE OR REPLACE FUNCTION api.create_price_list(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    checked record;
    new_id uuid;
BEGIN
    SELECT * INTO checked FROM shop.price_list_fields(args, NULL);
    IF checked.fields <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed', jsonb_build_object('fields', checked.fields),
            'Some fields are missing or invalid; see details.fields.'
        );
    END IF;
    BEGIN
        INSERT INTO shop.price_lists (name, customer_group_id, starts_at, ends_at, priority)
        VALUES (btrim(args ->> 'name'), checked.group_id, checked.new_starts, checked.new_ends, checked.new_priority)
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

-- == GET /v1/admin/price-lists =======================================================================
CREATE OR REPLACE FUNCTION api.list_price_lists(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    page_size integer;
    after_name text;
    after_id uuid;
    result jsonb;
BEGIN
    SELECT k.page_size, k.after_name, k.after_id INTO page_size, after_name, after_id FROM shop.name_keyset(args) AS k;

    WITH page AS (
        SELECT l.id, l.name, row_number() OVER (ORDER BY l.name, l.id) AS n
        FROM shop.price_lists AS l
        WHERE after_id IS NULL OR (l.name, l.id) > (after_name, after_id)
        ORDER BY l.name, l.id
        LIMIT page_size + 1
    )

    SELECT jsonb_build_object(
        'items', coalesce((
            SELECT jsonb_agg(
                shop.price_list_json(page.id) || jsonb_build_object(
                    'price_count', (SELECT count(*) FROM shop.price_list_prices AS pp WHERE pp.price_list_id = page.id)
                )
                ORDER BY page.n
            )
            FROM page WHERE page.n <= page_size
        ), '[]'),
        'next_cursor', (
            SELECT shop.encode_cursor(jsonb_build_object('name', page.name, 'id', page.id))
            FROM page
            WHERE page.n = page_size AND EXISTS (SELECT FROM page AS more WHERE more.n > page_size)
        )
    )
    INTO result;
    RETURN result;
END
$$;
COMMENT ON FUNCTION api.list_price_lists(jsonb) IS
'GET /v1/admin/price-lists (catalog_manager): every price list by name, in keyset pages (limit 1..100, '
'default 20; cursor). Returns {items: [{id, name, customer_group, starts_at, ends_at, priority, '
'created_at, price_count}], next_cursor}. Errors: PT400 validation_failed, PT400 invalid_cursor.';
REVOKE ALL ON FUNCTION api.list_price_lists(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.list_price_lists(jsonb) TO catalog_manager;

-- == GET /v1/admin/price-lists/{id} ==================================================================
CREATE OR REPLACE FUNCTION api.get_price_list(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    list_id uuid := shop.uuid_or_null(args ->> 'id');
    list_json jsonb := shop.price_list_json(list_id);
BEGIN
    IF list_json IS NULL THEN
        PERFORM shop.fail(
            404, 'price_list_not_found', jsonb_build_object('id', args ->> 'id'), 'There is no price list with this id.'
        );
    END IF;
    RETURN jsonb_build_object(
        'price_list', list_json,
        'prices', coalesce((
            SELECT jsonb_agg(
                jsonb_build_object(
                    'sku', v.sku,
                    'variant_id', pp.variant_id,
                    'amount', pp.amount,
                    'currency', pp.currency,
                    'min_quantity', pp.min_quantity,
                    'starts_at', auth.to_rfc3339(pp.starts_at),
                    'ends_at', auth.to_rfc3339(pp.ends_at),
                    'window', jsonb_build_object(
                        'starts_at', auth.to_rfc3339(lower(pp.valid_during)),
                        'ends_at', auth.to_rfc3339(upper(pp.valid_during))
                    )
                )
                ORDER BY v.sku, pp.currency, pp.min_quantity, lower(pp.valid_during) NULLS FIRST
            )
            FROM shop.price_list_prices AS pp
            INNER JOIN shop.product_variants AS v ON pp.variant_id = v.id
            WHERE pp.price_list_id = list_id
        ), '[]')
    );
END
$$;
COMMENT ON FUNCTION api.get_price_list(jsonb) IS
'GET /v1/admin/price-lists/{id} (catalog_manager): the list and all its prices, by sku, currency, '
'min_quantity and start. Returns {price_list: {id, name, customer_group, starts_at, ends_at, priority, '
'created_at}, prices: [{sku, variant_id, amount, currency, min_quantity, starts_at, ends_at (the price''s '
'own bounds, null = the list''s), window: {starts_at, ends_at} (when it applies: the list''s window cut by '
'its own; null = open)}]}. Errors: PT404 price_list_not_found.';
REVOKE ALL ON FUNCTION api.get_price_list(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.get_price_list(jsonb) TO catalog_manager;

-- == PATCH /v1/admin/price-lists/{id} ================================================================
CREATE OR REPLACE FUNCTION api.update_price_list(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    list_row shop.price_lists%ROWTYPE;
    checked record;
    stranded jsonb;
BEGIN
    -- Locked first, like PUT .../prices: a replacement of the prices waits for this change, or it for that.
    SELECT l.* INTO list_row FROM shop.price_lists AS l WHERE l.id = shop.uuid_or_null(args ->> 'id') FOR UPDATE;
    IF list_row.id IS NULL THEN
        PERFORM shop.fail(
            404, 'price_list_not_found', jsonb_build_object('id', args ->> 'id'), 'There is no price list with this id.'
        );
    END IF;
    SELECT * INTO checked FROM shop.price_list_fields(args - 'id', list_row);
    IF checked.fields <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed', jsonb_build_object('fields', checked.fields),
            'Some fields are missing or invalid; see details.fields.'
        );
    END IF;

    -- A price whose own window would no longer meet the list's would apply never: refused, naming them
    -- (the row trigger would refuse it too, one row at a time). Two prices of the list cannot come to
    -- overlap: all are cut by the same window, and intervals that meet pairwise meet all together.
    SELECT jsonb_agg(x.price ORDER BY x.n) INTO stranded
    FROM (
        SELECT
            jsonb_build_object(
                'sku', v.sku, 'amount', pp.amount, 'currency', pp.currency, 'min_quantity', pp.min_quantity,
                'starts_at', auth.to_rfc3339(pp.starts_at), 'ends_at', auth.to_rfc3339(pp.ends_at)
            ) AS price,
            row_number() OVER (ORDER BY v.sku, pp.currency, pp.min_quantity, pp.starts_at NULLS FIRST) AS n
        FROM shop.price_list_prices AS pp
        INNER JOIN shop.product_variants AS v ON pp.variant_id = v.id
        WHERE
            pp.price_list_id = list_row.id
            AND greatest(checked.new_starts, pp.starts_at) >= least(checked.new_ends, pp.ends_at)
        ORDER BY n
        LIMIT 20
    ) AS x;
    IF stranded IS NOT NULL THEN
        PERFORM shop.fail(
            422, 'price_outside_list_window',
            jsonb_build_object(
                'fields', (
                    SELECT jsonb_object_agg(k.key, 'leaves prices of the list (details.prices) outside its window')
                    FROM unnest(ARRAY['starts_at', 'ends_at']) AS k (key) WHERE args ? k.key
                ),
                'prices', stranded
            ),
            'Change or remove those prices (PUT /v1/admin/price-lists/{id}/prices) first, or choose a window they meet.'
        );
    END IF;

    BEGIN
        UPDATE shop.price_lists AS l SET
            name = CASE WHEN args ? 'name' THEN btrim(args ->> 'name') ELSE l.name END,
            customer_group_id = checked.group_id,
            starts_at = checked.new_starts,
            ends_at = checked.new_ends,
            priority = checked.new_priority
        WHERE l.id = list_row.id;
    EXCEPTION WHEN unique_violation THEN
        PERFORM shop.fail(
            409, 'price_list_exists', jsonb_build_object('fields', jsonb_build_object(
                'name', 'is the name of another price list'
            )),
            'Price list names are unique; choose another.'
        );
    END;
    RETURN jsonb_build_object('price_list', shop.price_list_json(list_row.id));
END
$$;
COMMENT ON FUNCTION api.update_price_list(jsonb) IS
'PATCH /v1/admin/price-lists/{id} (catalog_manager): any of {name, customer_group (code, or null: '
'everyone), starts_at, ends_at (RFC 3339, or null: open), priority (null: 0)}; absent members are '
'unchanged. The list''s prices follow at once (their copied group, priority and window are re-derived by '
'trigger, and the exclusion constraint rechecked). Returns {price_list}. Errors: PT404 '
'price_list_not_found; PT422 validation_failed; PT422 price_outside_list_window when a price''s own '
'window would not meet the new one (details.prices names up to 20 with their amounts and windows); PT409 '
'price_list_exists.';
REVOKE ALL ON FUNCTION api.update_price_list(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.update_price_list(jsonb) TO catalog_manager;

-- == DELETE /v1/admin/price-lists/{id} ===============================================================
CREATE OR REPLACE FUNCTION api.delete_price_list(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    -- Its prices go with it (ON DELETE CASCADE).
    DELETE FROM shop.price_lists AS l WHERE l.id = shop.uuid_or_null(args ->> 'id');
    IF NOT FOUND THEN
        PERFORM shop.fail(
            404, 'price_list_not_found', jsonb_build_object('id', args ->> 'id'), 'There is no price list with this id.'
        );
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION api.delete_price_list(jsonb) IS
'DELETE /v1/admin/price-lists/{id} (catalog_manager): deletes the list and its prices; buyers get the '
'next applicable price at once. Returns NULL (204). Errors: PT404 price_list_not_found.';
REVOKE ALL ON FUNCTION api.delete_price_list(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.delete_price_list(jsonb) TO catalog_manager;

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

-- == markdowns ======================================================================================
CREATE OR REPLACE FUNCTION shop.markdown_json(p_id uuid)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT jsonb_build_object(
        'id', m.id,
        'name', m.name,
        'percent_off', m.percent_off,
        'category', (
            SELECT jsonb_build_object('id', c.id, 'slug', c.slug, 'name', c.name)
            FROM shop.categories AS c WHERE c.id = m.category_id
        ),
        'product', (
            SELECT jsonb_build_object('id', p.id, 'slug', p.slug, 'name', p.name)
            FROM shop.products AS p WHERE p.id = m.product_id
        ),
        'collection', (
            SELECT jsonb_build_object('id', k.id, 'slug', k.slug, 'name', k.name)
            FROM shop.collections AS k WHERE k.id = m.collection_id
        ),
        'starts_at', auth.to_rfc3339(m.starts_at),
        'ends_at', auth.to_rfc3339(m.ends_at),
        'created_at', auth.to_rfc3339(m.created_at)
    )
    FROM shop.markdowns AS m
    WHERE m.id = p_id
$$;
COMMENT ON FUNCTION shop.markdown_json(uuid) IS
'A markdown as the admin API shows it: {id, name, percent_off, category|null, product|null, '
'collection|null (each {id, slug, name}; exactly one is set), starts_at, ends_at, created_at}; NULL when '
'unknown. Returns jsonb.';
REVOKE ALL ON FUNCTION shop.markdown_json(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.markdown_json(uuid) TO postcart_staff;

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
    scopes text[] := ARRAY(
        SELECT k.key FROM unnest(ARRAY['category', 'product', 'collection']) AS k (key)
        WHERE coalesce(jsonb_typeof(args -> k.key), 'null') <> 'null'
    );
    category_id uuid;
    product_id uuid;
    collection_id uuid;
    new_id uuid;
BEGIN
    IF jsonb_typeof(args -> 'category') = 'string' THEN
        SELECT c.id INTO category_id FROM shop.categories AS c WHERE c.slug = btrim(args ->> 'category');
    END IF;
    IF jsonb_typeof(args -> 'product') = 'string' THEN
        SELECT p.id INTO product_id
        FROM shop.products AS p
        WHERE
            p.slug = btrim(args ->> 'product')
            OR p.id::text = lower(btrim(args ->> 'product'))
        LIMIT 1;
    END IF;
    IF jsonb_typeof(args -> 'collection') = 'string' THEN
        SELECT k.id INTO collection_id FROM shop.collections AS k WHERE k.slug = btrim(args ->> 'collection');
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
            WHEN cardinality(scopes) = 0
                THEN 'give a category (slug), a product (slug or id) or a collection (slug)'
            WHEN cardinality(scopes) > 1 AND 'category' = ANY(scopes)
                THEN 'give only one of category, product and collection'
            WHEN 'category' = ANY(scopes) AND category_id IS NULL THEN 'no category has this slug'
        END,
        'product', CASE
            WHEN cardinality(scopes) > 1 AND 'product' = ANY(scopes)
                THEN 'give only one of category, product and collection'
            WHEN 'product' = ANY(scopes) AND product_id IS NULL THEN 'no product has this slug or id'
        END,
        'collection', CASE
            WHEN cardinality(scopes) > 1 AND 'collection' = ANY(scopes)
                THEN 'give only one of category, product and collection'
            WHEN 'collection' = ANY(scopes) AND collection_id IS NULL THEN 'no collection has this slug'
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
    INSERT INTO shop.markdowns (name, percent_off, category_id, product_id, collection_id, starts_at, ends_at)
    VALUES (
        btrim(args ->> 'name'), (args ->> 'percent_off')::numeric, category_id, product_id, collection_id,
        (args ->> 'starts_at')::timestamptz, (args ->> 'ends_at')::timestamptz
    )
    RETURNING id INTO new_id;
    RETURN jsonb_build_object('markdown', shop.markdown_json(new_id));
END
$$;
COMMENT ON FUNCTION api.create_markdown(jsonb) IS
'POST /v1/admin/markdowns (catalog_manager): {name, percent_off (0.01..100, two decimals at most), one '
'scope: category (slug; its subcategories included), product (slug or id) or collection (slug; the '
'products in it at each instant), starts_at, ends_at} schedules a markdown: during [starts_at, ends_at) '
'the resolved price of every variant in scope is percent_off lower (rounded half up; the largest '
'markdown wins, they do not stack). Returns {markdown: {id, name, percent_off, category|null, '
'product|null, collection|null, starts_at, ends_at, created_at}}. Errors: PT422 validation_failed.';
REVOKE ALL ON FUNCTION api.create_markdown(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.create_markdown(jsonb) TO catalog_manager;

-- == GET /v1/admin/markdowns =========================================================================
CREATE OR REPLACE FUNCTION api.list_markdowns(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    fields jsonb := '{}';
    page_size integer := shop.page_size(args);
    wanted text := nullif(btrim(args ->> 'status'), '');
    last_seen jsonb;
    after_starts timestamptz;
    after_id uuid;
    result jsonb;
BEGIN
    IF page_size IS NULL THEN
        fields := fields || '{"limit": "must be between 1 and 100"}';
    END IF;
    IF wanted NOT IN ('scheduled', 'active', 'ended') THEN
        fields := fields || '{"status": "must be scheduled, active or ended"}';
    END IF;
    IF nullif(args ->> 'cursor', '') IS NOT NULL THEN
        last_seen := shop.decode_cursor(args ->> 'cursor');
        after_starts := shop.timestamp_or_null(last_seen ->> 's');
        after_id := shop.uuid_or_null(last_seen ->> 'id');
        IF after_starts IS NULL OR after_id IS NULL THEN
            fields := fields || '{"cursor": "is not a cursor of this list"}';
        END IF;
    END IF;
    IF fields <> '{}' THEN
        PERFORM shop.fail(
            400, 'validation_failed', jsonb_build_object('fields', fields),
            'Some query parameters are invalid; details.fields says which and why.'
        );
    END IF;

    WITH page AS (
        SELECT m.id, m.starts_at, row_number() OVER (ORDER BY m.starts_at DESC, m.id DESC) AS n
        FROM shop.markdowns AS m
        WHERE
            (
                wanted IS NULL
                OR (wanted = 'scheduled' AND m.starts_at > now())
                OR (wanted = 'active' AND m.active_during @> now())
                OR (wanted = 'ended' AND m.ends_at <= now())
            )
            AND (after_id IS NULL OR (m.starts_at, m.id) < (after_starts, after_id))
        ORDER BY m.starts_at DESC, m.id DESC
        LIMIT page_size + 1
    )

    SELECT jsonb_build_object(
        'items', coalesce((
            SELECT jsonb_agg(shop.markdown_json(page.id) ORDER BY page.n) FROM page WHERE page.n <= page_size
        ), '[]'),
        'next_cursor', (
            SELECT shop.encode_cursor(jsonb_build_object('s', auth.to_rfc3339(page.starts_at), 'id', page.id))
            FROM page
            WHERE page.n = page_size AND EXISTS (SELECT FROM page AS more WHERE more.n > page_size)
        )
    )
    INTO result;
    RETURN result;
END
$$;
COMMENT ON FUNCTION api.list_markdowns(jsonb) IS
'GET /v1/admin/markdowns (catalog_manager): markdowns, latest start first, in keyset pages. Arguments: '
'status (scheduled: not started; active: applies now; ended), limit (1..100, default 20), cursor. '
'Returns {items: [markdown as POST returns it], next_cursor}. Errors: PT400 validation_failed.';
REVOKE ALL ON FUNCTION api.list_markdowns(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.list_markdowns(jsonb) TO catalog_manager;

-- == DELETE /v1/admin/markdowns/{id} =================================================================
CREATE OR REPLACE FUNCTION api.delete_markdown(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    DELETE FROM shop.markdowns AS m WHERE m.id = shop.uuid_or_null(args ->> 'id');
    IF NOT FOUND THEN
        PERFORM shop.fail(
            404, 'markdown_not_found', jsonb_build_object('id', args ->> 'id'), 'There is no markdown with this id.'
        );
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION api.delete_markdown(jsonb) IS
'DELETE /v1/admin/markdowns/{id} (catalog_manager): removes a markdown, scheduled, active or ended; an '
'active one stops applying at once. Returns NULL (204). Errors: PT404 markdown_not_found.';
REVOKE ALL ON FUNCTION api.delete_markdown(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.delete_markdown(jsonb) TO catalog_manager;
