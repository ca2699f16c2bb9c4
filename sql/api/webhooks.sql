-- Webhook routes (/v1/admin/webhooks..., docs/webhooks.md): store admins' subscriptions and their delivery
-- history. SECURITY INVOKER: EXECUTE is granted to store_admin alone, and migration 0029's grants and
-- policies decide the rest. The signing secret is never here: the answers carry secret_version, from which
-- the layer derives the secret it shows once (create, rotate-secret). Rules are in
-- sql/integration/webhooks.sql.

-- == shapes =========================================================================================
CREATE OR REPLACE FUNCTION integration.webhook_json(s integration.webhook_subscriptions)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT jsonb_build_object(
        'id', s.id,
        'url', s.url,
        'events', to_jsonb(s.event_types),
        'description', s.description,
        'active', s.active,
        'secret_version', s.secret_version,
        'secret_rotated_at', auth.to_rfc3339(s.secret_rotated_at),
        'created_at', auth.to_rfc3339(s.created_at),
        'updated_at', auth.to_rfc3339(s.updated_at)
    )
$$;
COMMENT ON FUNCTION integration.webhook_json(integration.webhook_subscriptions) IS
'A subscription as the API shows it (never a secret): {id, url, events, description, active, '
'secret_version, secret_rotated_at, created_at, updated_at}. Returns jsonb.';

CREATE OR REPLACE FUNCTION integration.webhook_delivery_json(d integration.webhook_deliveries)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT jsonb_build_object(
        'id', d.id,
        'event_id', d.event_id,
        'event_type', (SELECT e.type FROM integration.events AS e WHERE e.id = d.event_id),
        'status', d.status,
        'attempts', d.attempts,
        'in_flight', coalesce(d.locked_until > now(), FALSE),
        'next_attempt_at', auth.to_rfc3339(d.next_attempt_at),
        'last_attempt_at', auth.to_rfc3339(d.last_attempt_at),
        'last_response_status', d.last_response_status,
        'last_error', d.last_error,
        'delivered_at', auth.to_rfc3339(d.delivered_at),
        'created_at', auth.to_rfc3339(d.created_at),
        'attempt_history', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'attempt', a.attempt,
                'attempted_at', auth.to_rfc3339(a.attempted_at),
                'duration_ms', a.duration_ms,
                'response_status', a.response_status,
                'error', a.error
            ) ORDER BY a.id DESC)
            FROM (
                SELECT h.*
                FROM integration.webhook_attempts AS h
                WHERE h.delivery_id = d.id
                ORDER BY h.id DESC
                LIMIT 20
            ) AS a
        ), '[]')
    )
$$;
COMMENT ON FUNCTION integration.webhook_delivery_json(integration.webhook_deliveries) IS
'A delivery as the API shows it: {id, event_id, event_type, status, attempts, in_flight, next_attempt_at '
'(null when delivered or dead; while its subscription is inactive, it waits past it), last_attempt_at, '
'last_response_status, last_error, delivered_at, created_at, attempt_history: the last 20 attempts, newest '
'first, [{attempt, attempted_at, duration_ms, response_status, error}]}. Returns jsonb.';

CREATE OR REPLACE FUNCTION integration.request_webhook(args jsonb, p_lock boolean)
RETURNS integration.webhook_subscriptions
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    found_row integration.webhook_subscriptions;
BEGIN
    IF p_lock THEN
        SELECT s.* INTO found_row
        FROM integration.webhook_subscriptions AS s
        WHERE s.id = shop.uuid_or_null(args ->> 'id')
        FOR NO KEY UPDATE;
    ELSE
        SELECT s.* INTO found_row FROM integration.webhook_subscriptions AS s WHERE s.id = shop.uuid_or_null(args ->> 'id');
    END IF;
    IF NOT FOUND THEN
        PERFORM shop.fail(404, 'webhook_not_found', '{}'::jsonb, 'No webhook subscription has this id.');
    END IF;
    RETURN found_row;
END
$$;
COMMENT ON FUNCTION integration.request_webhook(jsonb, boolean) IS
'The subscription a route names (args.id; a malformed id is simply not found), locked when p_lock. '
'PT404 webhook_not_found. Returns the row.';

CREATE OR REPLACE FUNCTION integration.keyset_page(p_rows jsonb, p_page_size integer)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT jsonb_build_object(
        'items', coalesce((
            SELECT jsonb_agg(r.value -> 'item' ORDER BY r.n)
            FROM jsonb_array_elements(coalesce(p_rows, '[]')) WITH ORDINALITY AS r (value, n)
            WHERE r.n <= p_page_size
        ), '[]'),
        'next_cursor', CASE WHEN jsonb_array_length(coalesce(p_rows, '[]')) > p_page_size THEN
            shop.encode_cursor(jsonb_build_object(
                'at', p_rows -> (p_page_size - 1) -> 'at', 'id', p_rows -> (p_page_size - 1) -> 'id'
            ))
        END
    )
$$;
COMMENT ON FUNCTION integration.keyset_page(jsonb, integer) IS
'A list page from up to p_page_size + 1 rows in list order, each {at, id, item}: {items: the first '
'p_page_size items, next_cursor: the position of the last of them when there are more, else null}. '
'Returns jsonb.';

CREATE OR REPLACE FUNCTION integration.webhook_input_errors(args jsonb, p_partial boolean)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'url', CASE
            WHEN p_partial AND NOT args ? 'url' THEN NULL
            WHEN jsonb_typeof(args -> 'url') IS DISTINCT FROM 'string' THEN 'is required: an http(s) URL'
        END,
        'events', CASE
            WHEN p_partial AND NOT args ? 'events' THEN NULL
            WHEN jsonb_typeof(args -> 'events') IS DISTINCT FROM 'array'
                THEN 'is required: a list of event types, or ["*"]'
            WHEN EXISTS (SELECT FROM jsonb_array_elements(args -> 'events') AS e WHERE jsonb_typeof(e) <> 'string')
                THEN 'must be a list of strings'
        END,
        'description', auth.text_field_error(args, 'description', FALSE, 500),
        'active', CASE
            WHEN args ? 'active' AND jsonb_typeof(args -> 'active') IS DISTINCT FROM 'boolean' THEN 'must be true or false'
        END
    ))
$$;
COMMENT ON FUNCTION integration.webhook_input_errors(jsonb, boolean) IS
'The JSON types of a subscription request: url a string, events a list of strings (both required unless '
'p_partial), description a string of at most 500 characters, active a boolean. Returns {field: reason}.';

-- == POST /v1/admin/webhooks =========================================================================
CREATE OR REPLACE FUNCTION api.admin_create_webhook(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    fields jsonb := integration.webhook_input_errors(args, FALSE);
    v_events text[];
    created integration.webhook_subscriptions;
BEGIN
    IF NOT fields ? 'events' THEN
        v_events := ARRAY(SELECT jsonb_array_elements_text(args -> 'events'));
    END IF;
    IF NOT fields ? 'url' THEN
        fields := integration.webhook_subscription_errors(btrim(args ->> 'url'), coalesce(v_events, '{*}')) || fields;
    END IF;
    IF NOT fields ? 'events' THEN
        fields := integration.webhook_subscription_errors('https://example.com', v_events) || fields;
    END IF;
    PERFORM shop.fail_fields(fields);
    INSERT INTO integration.webhook_subscriptions (url, event_types, description, active)
    VALUES (btrim(args ->> 'url'), v_events, nullif(btrim(args ->> 'description'), ''), coalesce((args ->> 'active')::boolean, TRUE))
    RETURNING * INTO created;
    RETURN integration.webhook_json(created);
END
$$;
COMMENT ON FUNCTION api.admin_create_webhook(jsonb) IS
'Subscribes a URL to events (store_admin): {url (http or https, no credentials), events: [types] or ["*"], '
'description?, active? (default true)} -> the subscription {id, url, events, description, active, '
'secret_version, ...}; the layer adds its signing secret (whsec_..., shown this once). Only events written '
'from now on are delivered. 422 validation_failed (details.fields).';

-- == GET /v1/admin/webhooks, GET /v1/admin/webhooks/{id} =============================================
CREATE OR REPLACE FUNCTION api.admin_list_webhooks(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    page_size integer := shop.page_size(args);
    last_seen jsonb;
BEGIN
    PERFORM shop.fail_fields(CASE WHEN page_size IS NULL THEN '{"limit": "must be between 1 and 100"}'::jsonb END);
    last_seen := shop.cursor_after(args, '{"at": "timestamptz", "id": "uuid"}');
    RETURN integration.keyset_page((
        SELECT jsonb_agg(jsonb_build_object(
            'at', auth.to_rfc3339(p.created_at), 'id', p.id, 'item', integration.webhook_json(p.s)
        ) ORDER BY p.created_at DESC, p.id DESC)
        FROM (
            SELECT s, s.created_at, s.id
            FROM integration.webhook_subscriptions AS s
            WHERE last_seen IS NULL
                OR (s.created_at, s.id) < ((last_seen ->> 'at')::timestamptz, (last_seen ->> 'id')::uuid)
            ORDER BY s.created_at DESC, s.id DESC
            LIMIT page_size + 1
        ) AS p
    ), page_size);
END
$$;
COMMENT ON FUNCTION api.admin_list_webhooks(jsonb) IS
'Webhook subscriptions, newest first, in keyset pages (store_admin): limit (1-100, default 20), cursor -> '
'{items: [{id, url, events, description, active, secret_version, ...}], next_cursor}; no secrets. 422 '
'validation_failed (limit); 400 invalid_cursor.';

CREATE OR REPLACE FUNCTION api.admin_get_webhook(args jsonb)
RETURNS jsonb
LANGUAGE sql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    SELECT integration.webhook_json(integration.request_webhook(args, FALSE))
$$;
COMMENT ON FUNCTION api.admin_get_webhook(jsonb) IS
'One webhook subscription (store_admin), without its secret. 404 webhook_not_found.';

-- == PATCH / DELETE /v1/admin/webhooks/{id} ==========================================================
CREATE OR REPLACE FUNCTION api.admin_update_webhook(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    current integration.webhook_subscriptions := integration.request_webhook(args, TRUE);
    fields jsonb := integration.webhook_input_errors(args, TRUE);
    v_url text := current.url;
    v_events text[] := current.event_types;
BEGIN
    IF args ? 'url' AND NOT fields ? 'url' THEN
        v_url := btrim(args ->> 'url');
        fields := (integration.webhook_subscription_errors(v_url, '{*}') - 'events') || fields;
    END IF;
    IF args ? 'events' AND NOT fields ? 'events' THEN
        v_events := ARRAY(SELECT jsonb_array_elements_text(args -> 'events'));
        fields := (integration.webhook_subscription_errors('https://example.com', v_events) - 'url') || fields;
    END IF;
    PERFORM shop.fail_fields(fields);
    UPDATE integration.webhook_subscriptions AS s SET
        url = v_url,
        event_types = v_events,
        description = CASE WHEN args ? 'description' THEN nullif(btrim(args ->> 'description'), '') ELSE s.description END,
        active = coalesce((args ->> 'active')::boolean, s.active)
    WHERE s.id = current.id
    RETURNING * INTO current;
    RETURN integration.webhook_json(current);
END
$$;
COMMENT ON FUNCTION api.admin_update_webhook(jsonb) IS
'Changes a subscription (store_admin): {url?, events?, description?, active?} -> the subscription. '
'Deactivated, it gets no new deliveries and its pending ones wait until it is active again. 404 '
'webhook_not_found; 422 validation_failed (details.fields).';

CREATE OR REPLACE FUNCTION api.admin_delete_webhook(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    gone integration.webhook_subscriptions := integration.request_webhook(args, TRUE);
BEGIN
    DELETE FROM integration.webhook_subscriptions AS s WHERE s.id = gone.id;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION api.admin_delete_webhook(jsonb) IS
'Removes a subscription with its deliveries and their history (store_admin): nothing pending is sent any '
'more (an attempt already in flight may still arrive). Returns NULL (204). 404 webhook_not_found.';

-- == POST /v1/admin/webhooks/{id}/rotate-secret ======================================================
CREATE OR REPLACE FUNCTION api.admin_rotate_webhook_secret(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    current integration.webhook_subscriptions := integration.request_webhook(args, TRUE);
BEGIN
    UPDATE integration.webhook_subscriptions AS s SET secret_version = s.secret_version + 1
    WHERE s.id = current.id
    RETURNING * INTO current;
    RETURN integration.webhook_json(current);
END
$$;
COMMENT ON FUNCTION api.admin_rotate_webhook_secret(jsonb) IS
'Replaces a subscription''s signing secret (store_admin): secret_version + 1 -> the subscription; the layer '
'adds the new secret (shown this once). For 24 hours deliveries carry signatures by the old and the new '
'secret. 404 webhook_not_found.';

-- == GET /v1/admin/webhooks/{id}/deliveries ==========================================================
CREATE OR REPLACE FUNCTION api.admin_list_webhook_deliveries(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    subscription integration.webhook_subscriptions := integration.request_webhook(args, FALSE);
    v_status text := nullif(args ->> 'status', '');
    page_size integer := shop.page_size(args);
    last_seen jsonb;
BEGIN
    PERFORM shop.fail_fields(jsonb_strip_nulls(jsonb_build_object(
        'limit', CASE WHEN page_size IS NULL THEN 'must be between 1 and 100' END,
        'status', CASE WHEN v_status NOT IN ('pending', 'delivered', 'dead') THEN 'must be pending, delivered or dead' END
    )));
    last_seen := shop.cursor_after(args, '{"at": "timestamptz", "id": "uuid"}');
    -- Newest first, down (subscription_id, created_at, id), or its partial twin for pending and dead.
    RETURN integration.keyset_page((
        SELECT jsonb_agg(jsonb_build_object(
            'at', auth.to_rfc3339(p.created_at), 'id', p.id, 'item', integration.webhook_delivery_json(p.d)
        ) ORDER BY p.created_at DESC, p.id DESC)
        FROM (
            SELECT d, d.created_at, d.id
            FROM integration.webhook_deliveries AS d
            WHERE d.subscription_id = subscription.id
                AND (v_status IS NULL OR d.status = v_status)
                AND (last_seen IS NULL
                     OR (d.created_at, d.id) < ((last_seen ->> 'at')::timestamptz, (last_seen ->> 'id')::uuid))
            ORDER BY d.created_at DESC, d.id DESC
            LIMIT page_size + 1
        ) AS p
    ), page_size);
END
$$;
COMMENT ON FUNCTION api.admin_list_webhook_deliveries(jsonb) IS
'A subscription''s deliveries, newest first, in keyset pages (store_admin): ?status=pending|delivered|dead, '
'limit (1-100, default 20), cursor -> {items: [{id, event_id, event_type, status, attempts, in_flight, '
'next_attempt_at, last_response_status, last_error, delivered_at, attempt_history: [{attempt, '
'attempted_at, duration_ms, response_status, error}], ...}], next_cursor}. 404 webhook_not_found; 422 '
'validation_failed (limit, status); 400 invalid_cursor.';

-- == POST /v1/admin/webhooks/{id}/deliveries/{delivery_id}/replay ====================================
CREATE OR REPLACE FUNCTION api.admin_replay_webhook_delivery(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    subscription integration.webhook_subscriptions := integration.request_webhook(args, FALSE);
    delivery_id uuid := shop.uuid_or_null(args ->> 'delivery_id');
BEGIN
    IF delivery_id IS NULL THEN
        PERFORM shop.fail(404, 'delivery_not_found', '{}'::jsonb, 'No such delivery for this webhook.');
    END IF;
    RETURN integration.webhook_delivery_json(integration.replay_webhook_delivery(subscription.id, delivery_id));
END
$$;
COMMENT ON FUNCTION api.admin_replay_webhook_delivery(jsonb) IS
'Sends a dead or delivered delivery again (store_admin): back to pending with attempts 0, due at once -> '
'202 with the delivery. 404 webhook_not_found / delivery_not_found; 409 delivery_pending.';

-- == GET /v1/admin/webhook-event-types ===============================================================
CREATE OR REPLACE FUNCTION api.admin_list_webhook_event_types(args jsonb)
RETURNS jsonb
LANGUAGE sql
STABLE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    SELECT jsonb_build_object('items', coalesce(
        jsonb_agg(jsonb_build_object('type', t.type, 'description', t.description) ORDER BY t.type), '[]'
    ))
    FROM integration.event_types AS t
$$;
COMMENT ON FUNCTION api.admin_list_webhook_event_types(jsonb) IS
'The event types a subscription may name (store_admin), by name: {items: [{type, description}]}; "*" '
'subscribes to all of them.';

REVOKE ALL ON FUNCTION integration.webhook_json(integration.webhook_subscriptions) FROM PUBLIC;
REVOKE ALL ON FUNCTION integration.webhook_delivery_json(integration.webhook_deliveries) FROM PUBLIC;
REVOKE ALL ON FUNCTION integration.request_webhook(jsonb, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION integration.webhook_input_errors(jsonb, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION integration.keyset_page(jsonb, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.admin_create_webhook(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.admin_list_webhooks(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.admin_get_webhook(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.admin_update_webhook(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.admin_delete_webhook(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.admin_rotate_webhook_secret(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.admin_list_webhook_deliveries(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.admin_replay_webhook_delivery(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.admin_list_webhook_event_types(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION integration.webhook_json(integration.webhook_subscriptions) TO store_admin;
GRANT EXECUTE ON FUNCTION integration.webhook_delivery_json(integration.webhook_deliveries) TO store_admin;
GRANT EXECUTE ON FUNCTION integration.request_webhook(jsonb, boolean) TO store_admin;
GRANT EXECUTE ON FUNCTION integration.webhook_input_errors(jsonb, boolean) TO store_admin;
GRANT EXECUTE ON FUNCTION integration.keyset_page(jsonb, integer) TO store_admin;
GRANT EXECUTE ON FUNCTION api.admin_create_webhook(jsonb) TO store_admin;
GRANT EXECUTE ON FUNCTION api.admin_list_webhooks(jsonb) TO store_admin;
GRANT EXECUTE ON FUNCTION api.admin_get_webhook(jsonb) TO store_admin;
GRANT EXECUTE ON FUNCTION api.admin_update_webhook(jsonb) TO store_admin;
GRANT EXECUTE ON FUNCTION api.admin_delete_webhook(jsonb) TO store_admin;
GRANT EXECUTE ON FUNCTION api.admin_rotate_webhook_secret(jsonb) TO store_admin;
GRANT EXECUTE ON FUNCTION api.admin_list_webhook_deliveries(jsonb) TO store_admin;
GRANT EXECUTE ON FUNCTION api.admin_replay_webhook_delivery(jsonb) TO store_admin;
GRANT EXECUTE ON FUNCTION api.admin_list_webhook_event_types(jsonb) TO store_admin;
