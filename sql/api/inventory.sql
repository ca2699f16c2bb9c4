-- Inventory API (docs/inventory.md): stock per SKU and warehouse, counts and movements through the ledger,
-- backorder limits and low-stock thresholds, warehouse priorities. SECURITY INVOKER throughout: EXECUTE is
-- granted per permission role (inventory_manager writes; order_manager also reads), and the grants and
-- policies of migration 0023 decide the rest. Helpers and JSON shapes are in sql/shop/inventory.sql.

-- == shapes =========================================================================================
-- Here rather than in sql/shop/inventory.sql: it formats times with auth.to_rfc3339, defined after sql/shop.
CREATE OR REPLACE FUNCTION shop.stock_movement_json(m shop.stock_movements)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT jsonb_build_object(
        'id', m.id,
        'sku', (SELECT v.sku FROM shop.product_variants AS v WHERE v.id = m.variant_id),
        'warehouse', (SELECT w.code FROM shop.warehouses AS w WHERE w.id = m.warehouse_id),
        'kind', m.kind,
        'quantity', m.quantity,
        'reference', m.reference,
        'note', m.note,
        'staff_id', m.staff_id,
        'created_at', auth.to_rfc3339(m.created_at)
    )
$$;
COMMENT ON FUNCTION shop.stock_movement_json(shop.stock_movements) IS
'A ledger line as the inventory API shows it: {id, sku, warehouse (code), kind, quantity, reference, note, '
'staff_id, created_at}. Returns jsonb.';

-- == GET /v1/admin/inventory/{sku} ===================================================================
CREATE OR REPLACE FUNCTION api.admin_get_inventory(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    RETURN shop.inventory_json((shop.inventory_variant(args ->> 'sku')).id);
END
$$;
COMMENT ON FUNCTION api.admin_get_inventory(jsonb) IS
'A SKU''s stock (inventory_manager, order_manager): {sku, variant_id, product_id, on_hand, reserved, '
'available, backorder_limit, low_stock_threshold, low_stock, warehouses: [{warehouse, priority, on_hand, '
'reserved, available}] in allocation order}. 404 sku_not_found.';

-- == PUT /v1/admin/inventory/{sku} ===================================================================
CREATE OR REPLACE FUNCTION api.admin_set_inventory(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    variant shop.product_variants := shop.inventory_variant(args ->> 'sku');
    place shop.warehouses;
    level shop.stock_levels;
    difference bigint;
    fields jsonb;
BEGIN
    fields := jsonb_strip_nulls(jsonb_build_object(
        'warehouse', auth.text_field_error(args, 'warehouse', TRUE, 32),
        'on_hand', shop.whole_number_error(args, 'on_hand', TRUE, 0, 1000000000),
        'note', auth.text_field_error(args, 'note', FALSE, 1000)
    ));
    IF fields <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed', jsonb_build_object('fields', fields),
            'Send the warehouse code and the counted on_hand; details.fields says what is wrong.'
        );
    END IF;
    place := shop.inventory_warehouse(args ->> 'warehouse');

    -- Locked first, so the difference is taken from a value no one else changes before this commits.
    level := shop.lock_stock_level(variant.id, place.id);
    difference := (args ->> 'on_hand')::bigint - level.on_hand;
    IF difference <> 0 THEN
        PERFORM shop.record_stock_movement(
            variant, place, 'adjustment', difference, NULL, nullif(btrim(args ->> 'note'), '')
        );
    END IF;
    RETURN shop.stock_level_json(variant.id, place.id);
END
$$;
COMMENT ON FUNCTION api.admin_set_inventory(jsonb) IS
'Sets a SKU''s on_hand in one warehouse to a counted value (inventory_manager): {warehouse (code), '
'on_hand, note?} records an adjustment movement of the difference (none when equal) -> {sku, warehouse, '
'on_hand, reserved, available}. 404 sku_not_found / warehouse_not_found; 422 validation_failed '
'(details.fields); 409 insufficient_stock when on_hand would fall below what is reserved beyond the '
'backorder limit.';

-- == POST /v1/admin/inventory/{sku}/movements ========================================================
CREATE OR REPLACE FUNCTION api.admin_record_stock_movement(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    variant shop.product_variants := shop.inventory_variant(args ->> 'sku');
    place shop.warehouses;
    movement shop.stock_movements;
    v_kind text := args ->> 'kind';
    fields jsonb;
BEGIN
    fields := jsonb_strip_nulls(jsonb_build_object(
        'warehouse', auth.text_field_error(args, 'warehouse', TRUE, 32),
        'kind', CASE
            WHEN jsonb_typeof(args -> 'kind') IS DISTINCT FROM 'string' THEN 'is required: receipt, adjustment or correction'
            WHEN v_kind IN ('sale', 'return') THEN 'sales and returns are recorded by orders, not by hand'
            WHEN v_kind NOT IN ('receipt', 'adjustment', 'correction') THEN 'must be receipt, adjustment or correction'
        END,
        'quantity', coalesce(
            shop.whole_number_error(args, 'quantity', TRUE, -1000000000, 1000000000),
            CASE
                WHEN (args ->> 'quantity')::bigint = 0 THEN 'must not be 0'
                WHEN v_kind = 'receipt' AND (args ->> 'quantity')::bigint < 0 THEN 'must be positive for a receipt'
            END
        ),
        'note', auth.text_field_error(args, 'note', FALSE, 1000),
        'reference', auth.text_field_error(args, 'reference', FALSE, 200)
    ));
    IF fields <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed', jsonb_build_object('fields', fields),
            'Send the warehouse code, a kind and a non-zero whole quantity; details.fields says what is wrong.'
        );
    END IF;
    place := shop.inventory_warehouse(args ->> 'warehouse');

    movement := shop.record_stock_movement(
        variant, place, v_kind, (args ->> 'quantity')::bigint, nullif(btrim(args ->> 'reference'), ''),
        nullif(btrim(args ->> 'note'), '')
    );
    RETURN jsonb_build_object(
        'movement', shop.stock_movement_json(movement),
        'stock', shop.stock_level_json(variant.id, place.id)
    );
END
$$;
COMMENT ON FUNCTION api.admin_record_stock_movement(jsonb) IS
'Records a stock movement of a SKU (inventory_manager): {warehouse (code), kind: receipt | adjustment | '
'correction, quantity (whole, not 0; > 0 for a receipt), reference?, note?} -> {movement: {id, sku, '
'warehouse, kind, quantity, reference, note, staff_id, created_at}, stock: {sku, warehouse, on_hand, '
'reserved, available}}. 404 sku_not_found / warehouse_not_found; 422 validation_failed (details.fields); '
'409 insufficient_stock when on_hand would fall below zero or below the reserved units beyond the '
'backorder limit.';

-- == GET /v1/admin/inventory/{sku}/movements =========================================================
CREATE OR REPLACE FUNCTION api.admin_list_stock_movements(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    variant shop.product_variants := shop.inventory_variant(args ->> 'sku');
    place_id uuid;
    page_size integer := shop.page_size(args);
    last_seen jsonb;
    after_at timestamptz;
    after_id uuid;
    items jsonb;
    next_cursor text;
BEGIN
    IF page_size IS NULL THEN
        PERFORM shop.fail(
            400, 'validation_failed', '{"fields": {"limit": "must be between 1 and 100"}}',
            'Ask for 1 to 100 movements per page.'
        );
    END IF;
    IF nullif(btrim(args ->> 'warehouse'), '') IS NOT NULL THEN
        place_id := (shop.inventory_warehouse(args ->> 'warehouse')).id;
    END IF;
    last_seen := shop.cursor_after(args, '{"at": "timestamptz", "id": "uuid"}');
    after_at := (last_seen ->> 'at')::timestamptz;
    after_id := (last_seen ->> 'id')::uuid;

    -- Newest first, down the (variant_id, created_at, id) index.
    WITH page AS (
        SELECT m.created_at, m.id, shop.stock_movement_json(m) AS item,
            row_number() OVER (ORDER BY m.created_at DESC, m.id DESC) AS n
        FROM shop.stock_movements AS m
        WHERE m.variant_id = variant.id
            AND (place_id IS NULL OR m.warehouse_id = place_id)
            AND (after_id IS NULL OR (m.created_at, m.id) < (after_at, after_id))
        ORDER BY m.created_at DESC, m.id DESC
        LIMIT page_size + 1
    )

    SELECT
        coalesce(jsonb_agg(p.item ORDER BY p.n) FILTER (WHERE p.n <= page_size), '[]'),
        CASE WHEN count(*) > page_size THEN
            shop.encode_cursor((
                SELECT jsonb_build_object('at', auth.to_rfc3339(last_row.created_at), 'id', last_row.id)
                FROM page AS last_row WHERE last_row.n = page_size
            ))
        END
    INTO items, next_cursor
    FROM page AS p;
    RETURN jsonb_build_object('items', items, 'next_cursor', next_cursor);
END
$$;
COMMENT ON FUNCTION api.admin_list_stock_movements(jsonb) IS
'A SKU''s ledger, newest first, in keyset pages (inventory_manager, order_manager): ?warehouse= (code) '
'narrows to one warehouse, limit (1-100, default 20), cursor -> {items: [{id, sku, warehouse, kind, '
'quantity, reference, note, staff_id, created_at}], next_cursor}. 404 sku_not_found / '
'warehouse_not_found; 400 validation_failed (limit) or invalid_cursor.';

-- == PATCH /v1/admin/inventory/{sku} =================================================================
CREATE OR REPLACE FUNCTION api.admin_update_inventory(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    variant shop.product_variants := shop.inventory_variant(args ->> 'sku');
    failed text;
    fields jsonb;
BEGIN
    fields := jsonb_strip_nulls(jsonb_build_object(
        'backorder_limit', CASE WHEN args ? 'backorder_limit' THEN
            coalesce(
                shop.whole_number_error(args, 'backorder_limit', FALSE, 0, 1000000000),
                CASE WHEN jsonb_typeof(args -> 'backorder_limit') = 'null' THEN 'must be a number (0: no backorders)' END
            )
        END,
        'low_stock_threshold', shop.whole_number_error(args, 'low_stock_threshold', FALSE, 0, 1000000000)
    ));
    IF fields <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed', jsonb_build_object('fields', fields),
            'backorder_limit and low_stock_threshold are whole numbers (the threshold may be null: no alert).'
        );
    END IF;

    BEGIN
        UPDATE shop.product_variants AS v SET
            backorder_limit = CASE WHEN args ? 'backorder_limit'
                THEN (args ->> 'backorder_limit')::integer ELSE v.backorder_limit END,
            low_stock_threshold = CASE WHEN args ? 'low_stock_threshold'
                THEN (args ->> 'low_stock_threshold')::integer ELSE v.low_stock_threshold END
        WHERE v.id = variant.id;
    EXCEPTION WHEN check_violation THEN
        GET STACKED DIAGNOSTICS failed = CONSTRAINT_NAME;
        IF failed = 'stock_levels_reserved_within_backorder_limit' THEN
            PERFORM shop.fail(
                409, 'backorders_exceed_limit',
                jsonb_build_object('fields', jsonb_build_object(
                    'backorder_limit', 'is below the units already reserved beyond on_hand in a warehouse'
                )),
                'Reservations beyond on_hand already exceed this limit; fulfil or cancel them first.'
            );
        END IF;
        RAISE;
    END;
    RETURN shop.inventory_json(variant.id);
END
$$;
COMMENT ON FUNCTION api.admin_update_inventory(jsonb) IS
'Changes a SKU''s stock settings (inventory_manager): {backorder_limit? (units that may be reserved '
'beyond on_hand per warehouse), low_stock_threshold? (null: no alert)} -> the SKU''s stock as GET shows '
'it. Raising the threshold to or above what is available writes a stock.low event. 404 sku_not_found; '
'422 validation_failed; 409 backorders_exceed_limit when more is already reserved beyond on_hand.';

-- == GET /v1/admin/warehouses, PATCH /v1/admin/warehouses/{code} ======================================
CREATE OR REPLACE FUNCTION api.admin_list_warehouses(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    page_size integer := shop.page_size(args);
    last_seen jsonb;
    after_priority integer;
    after_code text;
    items jsonb;
    next_cursor text;
BEGIN
    IF page_size IS NULL THEN
        PERFORM shop.fail(
            400, 'validation_failed', '{"fields": {"limit": "must be between 1 and 100"}}',
            'Ask for 1 to 100 warehouses per page.'
        );
    END IF;
    last_seen := shop.cursor_after(args, '{"priority": "integer", "code": "text"}');
    after_priority := (last_seen ->> 'priority')::integer;
    after_code := last_seen ->> 'code';

    WITH page AS (
        SELECT w.priority, w.code, shop.warehouse_json(w) AS item, row_number() OVER (ORDER BY w.priority, w.code) AS n
        FROM shop.warehouses AS w
        WHERE after_code IS NULL OR (w.priority, w.code) > (after_priority, after_code)
        ORDER BY w.priority, w.code
        LIMIT page_size + 1
    )

    SELECT
        coalesce(jsonb_agg(p.item ORDER BY p.n) FILTER (WHERE p.n <= page_size), '[]'),
        CASE WHEN count(*) > page_size THEN
            shop.encode_cursor((
                SELECT jsonb_build_object('priority', last_row.priority, 'code', last_row.code)
                FROM page AS last_row WHERE last_row.n = page_size
            ))
        END
    INTO items, next_cursor
    FROM page AS p;
    RETURN jsonb_build_object('items', items, 'next_cursor', next_cursor);
END
$$;
COMMENT ON FUNCTION api.admin_list_warehouses(jsonb) IS
'Every place that can hold stock, in allocation order (priority, then code), in keyset pages '
'(inventory_manager, order_manager): {items: [{id, code, name, priority, pickup, listed}], next_cursor}. '
'400 validation_failed (limit) or invalid_cursor.';

CREATE OR REPLACE FUNCTION api.admin_update_warehouse(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    place shop.warehouses := shop.inventory_warehouse(args ->> 'code');
    problem text := shop.whole_number_error(args, 'priority', TRUE, 0, 1000000);
BEGIN
    IF problem IS NOT NULL THEN
        PERFORM shop.fail(
            422, 'validation_failed', jsonb_build_object('fields', jsonb_build_object('priority', problem)),
            'priority is a whole number from 0 to 1000000; stock is allocated from the lowest first.'
        );
    END IF;
    UPDATE shop.warehouses AS w SET priority = (args ->> 'priority')::integer
    WHERE w.id = place.id
    RETURNING w.* INTO place;
    RETURN shop.warehouse_json(place);
END
$$;
COMMENT ON FUNCTION api.admin_update_warehouse(jsonb) IS
'Sets a place''s allocation priority (inventory_manager): {priority: 0..1000000, lowest allocated first} '
'-> {id, code, name, priority, pickup, listed}. 404 warehouse_not_found; 422 validation_failed.';

REVOKE ALL ON FUNCTION shop.stock_movement_json(shop.stock_movements) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.admin_get_inventory(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.admin_set_inventory(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.admin_record_stock_movement(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.admin_list_stock_movements(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.admin_update_inventory(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.admin_list_warehouses(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.admin_update_warehouse(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.stock_movement_json(shop.stock_movements) TO inventory_manager, order_manager;
GRANT EXECUTE ON FUNCTION api.admin_get_inventory(jsonb) TO inventory_manager, order_manager;
GRANT EXECUTE ON FUNCTION api.admin_set_inventory(jsonb) TO inventory_manager;
GRANT EXECUTE ON FUNCTION api.admin_record_stock_movement(jsonb) TO inventory_manager;
GRANT EXECUTE ON FUNCTION api.admin_list_stock_movements(jsonb) TO inventory_manager, order_manager;
GRANT EXECUTE ON FUNCTION api.admin_update_inventory(jsonb) TO inventory_manager;
GRANT EXECUTE ON FUNCTION api.admin_list_warehouses(jsonb) TO inventory_manager, order_manager;
GRANT EXECUTE ON FUNCTION api.admin_update_warehouse(jsonb) TO inventory_manager;
