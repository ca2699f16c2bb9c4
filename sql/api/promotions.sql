-- Staff API for promotions and coupons: POST /v1/admin/coupons, and /v1/admin/promotions (list, create,
-- read, change, delete). SECURITY INVOKER: EXECUTE is granted to catalog_manager alone and the policies and
-- grants of migration 0025 let only it write; the table's constraints hold the rules. The rules that
-- use them (stacking, redemption) are in sql/shop/promotions.sql; docs/orders.md explains them.

-- == helpers =========================================================================================
CREATE OR REPLACE FUNCTION shop.promotion_json(p_id uuid)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT jsonb_build_object(
        'id', p.id,
        'code', p.code,
        'name', p.name,
        'kind', p.kind,
        'value', trim_scale(p.value),
        'currency', p.currency,
        'min_subtotal', p.min_subtotal,
        'starts_at', auth.to_rfc3339(p.starts_at),
        'ends_at', auth.to_rfc3339(p.ends_at),
        'usage_limit', p.usage_limit,
        'per_customer_limit', p.per_customer_limit,
        'times_used', p.times_used,
        'active', p.active,
        'targets', jsonb_build_object(
            'category_ids', coalesce((
                SELECT jsonb_agg(t.category_id ORDER BY t.category_id) FROM shop.promotion_targets AS t
                WHERE t.promotion_id = p.id AND t.category_id IS NOT NULL
            ), '[]'),
            'collection_ids', coalesce((
                SELECT jsonb_agg(t.collection_id ORDER BY t.collection_id) FROM shop.promotion_targets AS t
                WHERE t.promotion_id = p.id AND t.collection_id IS NOT NULL
            ), '[]'),
            'product_ids', coalesce((
                SELECT jsonb_agg(t.product_id ORDER BY t.product_id) FROM shop.promotion_targets AS t
                WHERE t.promotion_id = p.id AND t.product_id IS NOT NULL
            ), '[]')
        ),
        'created_at', auth.to_rfc3339(p.created_at),
        'updated_at', auth.to_rfc3339(p.updated_at)
    )
    FROM shop.promotions AS p
    WHERE p.id = p_id
$$;
COMMENT ON FUNCTION shop.promotion_json(uuid) IS
'A promotion as the admin API shows it: {id, code, name, kind, value, currency, min_subtotal, starts_at, '
'ends_at, usage_limit, per_customer_limit, times_used, active, targets: {category_ids, collection_ids, '
'product_ids}, created_at, updated_at}; NULL when there is none. Returns jsonb.';
REVOKE ALL ON FUNCTION shop.promotion_json(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.promotion_json(uuid) TO catalog_manager;

CREATE OR REPLACE FUNCTION shop.promotion_errors(args jsonb, p_kind text, p_creating boolean)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    fields jsonb := '{}';
    given_value jsonb := args -> 'value';
BEGIN
    -- On a change (not p_creating) only the members present are checked.
    IF p_creating OR args ? 'name' THEN
        fields := fields || jsonb_strip_nulls(jsonb_build_object(
            'name', auth.text_field_error(args, 'name', p_creating AND nullif(args ->> 'code', '') IS NULL, 200)
        ));
    END IF;
    IF p_creating THEN
        fields := fields || jsonb_strip_nulls(jsonb_build_object(
            'code', CASE
                WHEN coalesce(jsonb_typeof(args -> 'code'), 'null') = 'null' THEN NULL
                WHEN jsonb_typeof(args -> 'code') <> 'string' THEN 'must be a string'
                WHEN args ->> 'code' !~ '^[A-Za-z0-9][A-Za-z0-9_-]{1,63}$'
                    THEN 'must be 2 to 64 letters, digits, _ or -, starting with a letter or digit'
            END,
            'kind', CASE WHEN p_kind IS NULL THEN 'is required'
                WHEN p_kind NOT IN ('percent', 'fixed', 'free_shipping')
                    THEN 'must be percent, fixed or free_shipping' END
        ));
    END IF;
    IF p_creating OR args ? 'value' THEN
        fields := fields || jsonb_strip_nulls(jsonb_build_object('value', CASE
            WHEN p_kind = 'free_shipping' THEN
                CASE WHEN coalesce(jsonb_typeof(given_value), 'null') <> 'null' THEN 'must be left out for free_shipping' END
            WHEN p_kind NOT IN ('percent', 'fixed') THEN NULL
            WHEN coalesce(jsonb_typeof(given_value), 'null') = 'null' THEN 'is required'
            WHEN jsonb_typeof(given_value) <> 'number' THEN 'must be a number'
            WHEN p_kind = 'percent' AND NOT (given_value::text::numeric > 0 AND given_value::text::numeric <= 100
                AND scale(given_value::text::numeric) <= 4) THEN 'must be a percentage above 0, at most 100, 4 decimals'
            WHEN p_kind = 'fixed' THEN shop.whole_number_error(args, 'value', TRUE, 1, 100000000000)
        END));
    END IF;
    fields := fields || jsonb_strip_nulls(jsonb_build_object(
        'currency', CASE
            WHEN NOT args ? 'currency' OR jsonb_typeof(args -> 'currency') = 'null' THEN NULL
            WHEN jsonb_typeof(args -> 'currency') <> 'string' OR args ->> 'currency' !~ '^[A-Z]{3}$'
                THEN 'must be an ISO 4217 code such as EUR'
        END,
        'min_subtotal', shop.whole_number_error(args, 'min_subtotal', FALSE, 0, 100000000000),
        'usage_limit', shop.whole_number_error(args, 'usage_limit', FALSE, 1, 1000000000),
        'per_customer_limit', shop.whole_number_error(args, 'per_customer_limit', FALSE, 1, 1000000000),
        'starts_at', CASE WHEN coalesce(jsonb_typeof(args -> 'starts_at'), 'null') <> 'null'
            AND shop.timestamp_or_null(args ->> 'starts_at') IS NULL
            THEN 'must be an RFC 3339 date-time with an offset' END,
        'ends_at', CASE WHEN coalesce(jsonb_typeof(args -> 'ends_at'), 'null') <> 'null'
            AND shop.timestamp_or_null(args ->> 'ends_at') IS NULL
            THEN 'must be an RFC 3339 date-time with an offset' END,
        'active', CASE WHEN coalesce(jsonb_typeof(args -> 'active'), 'boolean') NOT IN ('boolean', 'null')
            THEN 'must be true or false' END,
        'targets', CASE WHEN coalesce(jsonb_typeof(args -> 'targets'), 'null') NOT IN ('object', 'null')
            THEN 'must be an object {category_ids, collection_ids, product_ids}' END
    ));
    -- Each target must exist.
    IF jsonb_typeof(args -> 'targets') = 'object' THEN
        SELECT fields || coalesce(jsonb_object_agg(t.field, t.problem), '{}')
        INTO fields
        FROM (
            SELECT format('targets.%s', k.key) AS field, 'must be a list of ids' AS problem
            FROM jsonb_each(args -> 'targets') AS k
            WHERE k.key IN ('category_ids', 'collection_ids', 'product_ids') AND jsonb_typeof(k.value) <> 'array'
            UNION ALL
            SELECT format('targets.%s.%s', k.key, e.n - 1), 'no such ' || CASE k.key
                WHEN 'category_ids' THEN 'category' WHEN 'collection_ids' THEN 'collection' ELSE 'product' END
            FROM jsonb_each(args -> 'targets') AS k
            CROSS JOIN LATERAL jsonb_array_elements_text(
                CASE WHEN jsonb_typeof(k.value) = 'array' THEN k.value ELSE '[]' END
            ) WITH ORDINALITY AS e (id, n)
            WHERE NOT CASE k.key
                WHEN 'category_ids' THEN EXISTS (
                    SELECT FROM shop.categories AS c WHERE c.id = shop.uuid_or_null(e.id)
                )
                WHEN 'collection_ids' THEN EXISTS (
                    SELECT FROM shop.collections AS c WHERE c.id = shop.uuid_or_null(e.id)
                )
                WHEN 'product_ids' THEN EXISTS (
                    SELECT FROM shop.products AS p WHERE p.id = shop.uuid_or_null(e.id)
                )
                ELSE TRUE
            END
        ) AS t;
    END IF;
    RETURN fields;
END
$$;
COMMENT ON FUNCTION shop.promotion_errors(jsonb, text, boolean) IS
'Validates a promotion''s members in an api argument object for kind p_kind: on creation (p_creating) '
'kind, code (optional pattern), name (required without a code) and value (by kind) are checked; on a '
'change only the members present. Also currency, min_subtotal, usage_limit, per_customer_limit, '
'starts_at, ends_at, active and targets (ids that exist). Returns {field: reason}, {} when fine.';
REVOKE ALL ON FUNCTION shop.promotion_errors(jsonb, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.promotion_errors(jsonb, text, boolean) TO catalog_manager;

CREATE OR REPLACE FUNCTION shop.set_promotion_targets(p_promotion_id uuid, p_targets jsonb)
RETURNS void
LANGUAGE sql
VOLATILE
AS $$
    DELETE FROM shop.promotion_targets AS t WHERE t.promotion_id = p_promotion_id;
    INSERT INTO shop.promotion_targets (promotion_id, category_id, collection_id, product_id)
    SELECT DISTINCT
        p_promotion_id,
        CASE WHEN k.key = 'category_ids' THEN e.id::uuid END,
        CASE WHEN k.key = 'collection_ids' THEN e.id::uuid END,
        CASE WHEN k.key = 'product_ids' THEN e.id::uuid END
    FROM jsonb_each(coalesce(p_targets, '{}')) AS k
    CROSS JOIN LATERAL jsonb_array_elements_text(k.value) AS e (id)
    WHERE k.key IN ('category_ids', 'collection_ids', 'product_ids');
$$;
COMMENT ON FUNCTION shop.set_promotion_targets(uuid, jsonb) IS
'Replaces a promotion''s targets with {category_ids, collection_ids, product_ids} (validated ids; none or '
'{}: every line). Returns nothing.';
REVOKE ALL ON FUNCTION shop.set_promotion_targets(uuid, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.set_promotion_targets(uuid, jsonb) TO catalog_manager;

CREATE OR REPLACE FUNCTION shop.create_promotion(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    kind text := args ->> 'kind';
    created uuid;
BEGIN
    PERFORM shop.fail_fields(shop.promotion_errors(args, kind, TRUE));
    IF EXISTS (SELECT FROM shop.promotions AS p WHERE p.code = (args ->> 'code')::citext) THEN
        PERFORM shop.fail(
            409, 'coupon_code_taken', '{"fields": {"code": "is already used by another promotion"}}',
            'Choose another code; codes are case-insensitive.'
        );
    END IF;
    INSERT INTO shop.promotions AS p (
        code, name, kind, value, currency, min_subtotal, starts_at, ends_at, usage_limit, per_customer_limit,
        active
    ) VALUES (
        args ->> 'code',
        coalesce(nullif(btrim(args ->> 'name'), ''), args ->> 'code'),
        kind,
        CASE WHEN kind <> 'free_shipping' THEN (args ->> 'value')::numeric END,
        args ->> 'currency',
        (args ->> 'min_subtotal')::bigint,
        shop.timestamp_or_null(args ->> 'starts_at'),
        shop.timestamp_or_null(args ->> 'ends_at'),
        (args ->> 'usage_limit')::integer,
        (args ->> 'per_customer_limit')::integer,
        coalesce((args ->> 'active')::boolean, TRUE)
    )
    RETURNING p.id INTO created;
    PERFORM shop.set_promotion_targets(created, args -> 'targets');
    RETURN shop.promotion_json(created);
END
$$;
COMMENT ON FUNCTION shop.create_promotion(jsonb) IS
'Creates a promotion from validated arguments (shop.promotion_errors; PT422 validation_failed otherwise, '
'PT409 coupon_code_taken for a code in use): code (none: automatic), name (default the code), kind, value, '
'currency, min_subtotal, starts_at, ends_at, usage_limit, per_customer_limit, active, targets. Rules the '
'table''s CHECKs hold (a fixed amount or minimum needs a currency, ends after starts) answer PT422 too. '
'Returns the promotion (shop.promotion_json).';
REVOKE ALL ON FUNCTION shop.create_promotion(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.create_promotion(jsonb) TO catalog_manager;

-- == POST /v1/admin/coupons, POST /v1/admin/promotions ===============================================
CREATE OR REPLACE FUNCTION api.admin_create_coupon(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    IF coalesce(jsonb_typeof(args -> 'code'), 'null') = 'null' THEN
        PERFORM shop.fail_fields('{"code": "is required"}');
    END IF;
    RETURN shop.create_promotion(args);
END
$$;
COMMENT ON FUNCTION api.admin_create_coupon(jsonb) IS
'POST /v1/admin/coupons (catalog_manager): {code, kind: percent | fixed | free_shipping, value, currency?, '
'name?, usage_limit?, per_customer_limit?, starts_at?, ends_at?, min_subtotal?, active?, targets?: '
'{category_ids, collection_ids, product_ids}}. Returns the promotion (201). Errors: PT422 '
'validation_failed (details.fields), PT409 coupon_code_taken.';
REVOKE ALL ON FUNCTION api.admin_create_coupon(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.admin_create_coupon(jsonb) TO catalog_manager;

CREATE OR REPLACE FUNCTION api.admin_create_promotion(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    RETURN shop.create_promotion(args);
END
$$;
COMMENT ON FUNCTION api.admin_create_promotion(jsonb) IS
'POST /v1/admin/promotions (catalog_manager): the body of POST /v1/admin/coupons with code optional; '
'without a code the promotion is automatic (applied to every cart it fits; name required). Returns the '
'promotion (201). Errors: PT422 validation_failed, PT409 coupon_code_taken.';
REVOKE ALL ON FUNCTION api.admin_create_promotion(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.admin_create_promotion(jsonb) TO catalog_manager;

-- == GET /v1/admin/promotions ========================================================================
CREATE OR REPLACE FUNCTION api.admin_list_promotions(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    page_size integer := shop.page_size(args);
    after jsonb := shop.cursor_after(args, '{"created_at": "timestamptz", "id": "uuid"}');
BEGIN
    IF page_size IS NULL THEN
        PERFORM shop.fail(
            400, 'validation_failed', '{"fields": {"limit": "must be between 1 and 100"}}',
            'Some query parameters are invalid; details.fields says which and why.'
        );
    END IF;
    RETURN (
        WITH page AS (
            SELECT p.id, p.created_at, row_number() OVER (ORDER BY p.created_at DESC, p.id DESC) AS n
            FROM shop.promotions AS p
            WHERE after IS NULL
                OR (p.created_at, p.id) < ((after ->> 'created_at')::timestamptz, (after ->> 'id')::uuid)
            ORDER BY p.created_at DESC, p.id DESC
            LIMIT page_size + 1
        )

        SELECT jsonb_build_object(
            'items', coalesce((
                SELECT jsonb_agg(shop.promotion_json(page.id) ORDER BY page.n) FROM page WHERE page.n <= page_size
            ), '[]'),
            'next_cursor', (
                SELECT shop.encode_cursor(jsonb_build_object('created_at', page.created_at, 'id', page.id))
                FROM page
                WHERE page.n = page_size AND EXISTS (SELECT FROM page AS more WHERE more.n > page_size)
            )
        )
    );
END
$$;
COMMENT ON FUNCTION api.admin_list_promotions(jsonb) IS
'GET /v1/admin/promotions?limit=&cursor= (catalog_manager): promotions and coupons, newest first, in keyset '
'pages. Returns {items: [promotion], next_cursor}. Errors: PT400 validation_failed (limit), PT400 '
'invalid_cursor.';
REVOKE ALL ON FUNCTION api.admin_list_promotions(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.admin_list_promotions(jsonb) TO catalog_manager;

-- == GET / PATCH / DELETE /v1/admin/promotions/{id} ==================================================
CREATE OR REPLACE FUNCTION shop.promotion_not_found(args jsonb)
RETURNS void
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    PERFORM shop.fail(
        404, 'promotion_not_found', jsonb_build_object('id', args ->> 'id'), 'There is no promotion with this id.'
    );
END
$$;
COMMENT ON FUNCTION shop.promotion_not_found(jsonb) IS
'Raises PT404 promotion_not_found for args.id. Never returns.';
REVOKE ALL ON FUNCTION shop.promotion_not_found(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.promotion_not_found(jsonb) TO catalog_manager;

CREATE OR REPLACE FUNCTION api.admin_get_promotion(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    result jsonb := shop.promotion_json(shop.uuid_or_null(args ->> 'id'));
BEGIN
    IF result IS NULL THEN
        PERFORM shop.promotion_not_found(args);
    END IF;
    RETURN result;
END
$$;
COMMENT ON FUNCTION api.admin_get_promotion(jsonb) IS
'GET /v1/admin/promotions/{id} (catalog_manager): the promotion. Errors: PT404 promotion_not_found.';
REVOKE ALL ON FUNCTION api.admin_get_promotion(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.admin_get_promotion(jsonb) TO catalog_manager;

CREATE OR REPLACE FUNCTION api.admin_update_promotion(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    promotion shop.promotions;
    live_uses bigint;
    limit_given boolean := args ? 'usage_limit';
BEGIN
    SELECT p.* INTO promotion FROM shop.promotions AS p WHERE p.id = shop.uuid_or_null(args ->> 'id') FOR UPDATE;
    IF promotion.id IS NULL THEN
        PERFORM shop.promotion_not_found(args);
    END IF;
    PERFORM shop.fail_fields(shop.promotion_errors(args, promotion.kind, FALSE));
    -- times_used is kept only while there is a usage_limit: a new limit starts from the live uses.
    SELECT count(*) INTO live_uses
    FROM shop.promotion_redemptions AS r
    WHERE r.promotion_id = promotion.id AND r.released_at IS NULL;
    IF limit_given AND (args ->> 'usage_limit')::bigint < live_uses THEN
        PERFORM shop.fail_fields(jsonb_build_object(
            'usage_limit', format('is below the %s uses already made', live_uses)
        ));
    END IF;
    UPDATE shop.promotions AS p
    SET
        name = CASE WHEN args ? 'name' THEN btrim(args ->> 'name') ELSE p.name END,
        value = CASE WHEN args ? 'value' THEN (args ->> 'value')::numeric ELSE p.value END,
        currency = CASE WHEN args ? 'currency' THEN args ->> 'currency' ELSE p.currency END,
        min_subtotal = CASE WHEN args ? 'min_subtotal' THEN (args ->> 'min_subtotal')::bigint ELSE p.min_subtotal END,
        starts_at = CASE WHEN args ? 'starts_at' THEN shop.timestamp_or_null(args ->> 'starts_at') ELSE p.starts_at END,
        ends_at = CASE WHEN args ? 'ends_at' THEN shop.timestamp_or_null(args ->> 'ends_at') ELSE p.ends_at END,
        usage_limit = CASE WHEN limit_given THEN (args ->> 'usage_limit')::integer ELSE p.usage_limit END,
        times_used = CASE
            WHEN NOT limit_given THEN p.times_used
            WHEN args ->> 'usage_limit' IS NULL THEN 0
            ELSE live_uses
        END,
        per_customer_limit = CASE WHEN args ? 'per_customer_limit'
            THEN (args ->> 'per_customer_limit')::integer ELSE p.per_customer_limit END,
        active = CASE WHEN args ? 'active' THEN coalesce((args ->> 'active')::boolean, p.active) ELSE p.active END
    WHERE p.id = promotion.id;
    IF args ? 'targets' THEN
        PERFORM shop.set_promotion_targets(promotion.id, args -> 'targets');
    END IF;
    RETURN shop.promotion_json(promotion.id);
END
$$;
COMMENT ON FUNCTION api.admin_update_promotion(jsonb) IS
'PATCH /v1/admin/promotions/{id} (catalog_manager): changes the members sent (name, value, currency, '
'min_subtotal, starts_at, ends_at, usage_limit, per_customer_limit, active, targets; null clears an '
'optional one). active=false retires a redeemed promotion. A new usage_limit recounts times_used from the '
'live redemptions and may not be below them. Returns the promotion. Errors: PT404 promotion_not_found, '
'PT422 validation_failed.';
REVOKE ALL ON FUNCTION api.admin_update_promotion(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.admin_update_promotion(jsonb) TO catalog_manager;

CREATE OR REPLACE FUNCTION api.admin_delete_promotion(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    doomed uuid;
BEGIN
    SELECT p.id INTO doomed FROM shop.promotions AS p WHERE p.id = shop.uuid_or_null(args ->> 'id') FOR UPDATE;
    IF doomed IS NULL THEN
        PERFORM shop.promotion_not_found(args);
    END IF;
    IF EXISTS (SELECT FROM shop.promotion_redemptions AS r WHERE r.promotion_id = doomed) THEN
        PERFORM shop.fail(
            409, 'promotion_redeemed', jsonb_build_object('id', doomed),
            'Orders used this promotion, which they keep referring to; deactivate it (active: false) instead.'
        );
    END IF;
    DELETE FROM shop.promotions AS p WHERE p.id = doomed;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION api.admin_delete_promotion(jsonb) IS
'DELETE /v1/admin/promotions/{id} (catalog_manager): deletes a promotion no order has used (carts holding '
'it as their coupon lose it). Returns null (204). Errors: PT404 promotion_not_found, PT409 '
'promotion_redeemed (deactivate it instead).';
REVOKE ALL ON FUNCTION api.admin_delete_promotion(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.admin_delete_promotion(jsonb) TO catalog_manager;
