-- Inventory rules (migration 0023, docs/inventory.md): the stock ledger moves on_hand, the balance check
-- refuses any on_hand that is not the ledger's sum, stock rows carry their variant's backorder limit, and
-- low-stock alerts write one stock.low event per crossing. Repeatable: applied after the migrations.
--
-- Triggers that read their statement's rows use transition tables (bulk loads stay set-based). PL/pgSQL
-- plans such a query once per session, sized for the first call's rows, so every query over a transition
-- table is written to stay cheap at any size: aggregates and set operations rather than joins between
-- transition tables, LATERAL index probes into the big tables, and EXECUTE where a join must be planned
-- for the rows at hand.

-- == the ledger: append-only, and the only way on_hand moves =========================================
CREATE OR REPLACE FUNCTION shop.tg_stock_movements__append_only()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'insufficient_privilege',
        MESSAGE = 'shop.stock_movements is append-only: movements are never changed or deleted',
        HINT = 'Record a movement of kind correction that undoes the wrong one.';
END
$$;
COMMENT ON FUNCTION shop.tg_stock_movements__append_only() IS
'BEFORE UPDATE/DELETE statement trigger on shop.stock_movements: refuses every change of the ledger, the '
'owner''s included (SQLSTATE 42501). Never returns.';

CREATE OR REPLACE FUNCTION shop.tg_stock__truncate()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    -- Emptying one of the two keeps on_hand equal to the ledger's sums only when the other is empty too
    -- (stock rows may stay, holding nothing): TRUNCATE shop.stock_levels, shop.stock_movements, or
    -- TRUNCATE shop.products CASCADE, which reaches both.
    IF EXISTS (SELECT FROM shop.stock_movements) OR EXISTS (SELECT FROM shop.stock_levels AS s WHERE s.on_hand <> 0) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'integrity_constraint_violation',
            MESSAGE = 'shop.stock_levels and shop.stock_movements can only be emptied together',
            HINT = 'TRUNCATE shop.stock_levels, shop.stock_movements resets all stock at once.';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION shop.tg_stock__truncate() IS
'AFTER TRUNCATE trigger on shop.stock_levels and shop.stock_movements: refuses (23000) unless afterwards '
'the ledger is empty and nothing is on hand, i.e. both were emptied together. Returns NULL.';

CREATE OR REPLACE FUNCTION shop.tg_stock_movements__apply()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    short_variant uuid;
    short_warehouse uuid;
BEGIN
    -- Stock coming in: added to the row, which is created when the pair is new (the new row carries its
    -- variant's backorder limit; the foreign key refuses an unknown variant). Skipped when nothing comes
    -- in: even an INSERT of no rows fires the stock table's statement triggers, and the catalog version's
    -- would then lock its counter before the stock row, the reverse of every other writer (a deadlock
    -- between an outgoing and an incoming movement of the same stock).
    IF EXISTS (SELECT FROM new_movements AS m WHERE m.quantity > 0) THEN
        INSERT INTO shop.stock_levels AS s (variant_id, warehouse_id, on_hand, backorder_limit)
        SELECT d.variant_id, d.warehouse_id, d.delta, coalesce(v.backorder_limit, 0)
        FROM (
            SELECT m.variant_id, m.warehouse_id, sum(m.quantity) AS delta
            FROM new_movements AS m
            GROUP BY m.variant_id, m.warehouse_id
        ) AS d
        LEFT JOIN LATERAL (
            SELECT pv.backorder_limit FROM shop.product_variants AS pv WHERE pv.id = d.variant_id LIMIT 1
        ) AS v ON TRUE
        WHERE d.delta > 0
        ORDER BY d.variant_id, d.warehouse_id
        ON CONFLICT (variant_id, warehouse_id) DO UPDATE SET on_hand = s.on_hand + excluded.on_hand;
    END IF;

    -- Stock going out: taken from existing rows, whose CHECKs refuse to go below zero or below what is
    -- reserved (beyond the backorder limit). In a statement of its own: an UPDATE in INSERT … ON CONFLICT
    -- would first check the proposed row, whose on_hand (the negative delta) always fails. Planned on each
    -- call (EXECUTE): it joins the stock table, and a hash join planned for one bulk load would otherwise
    -- be kept for every single movement after it in this session.
    IF NOT EXISTS (SELECT FROM new_movements AS m WHERE m.quantity < 0) THEN
        RETURN NULL;
    END IF;
    EXECUTE $sql$
        WITH outgoing AS (
            SELECT m.variant_id, m.warehouse_id, sum(m.quantity) AS delta
            FROM new_movements AS m
            GROUP BY m.variant_id, m.warehouse_id
            HAVING sum(m.quantity) < 0
        ),

        taken AS (
            UPDATE shop.stock_levels AS s SET on_hand = s.on_hand + o.delta
            FROM outgoing AS o
            WHERE s.variant_id = o.variant_id AND s.warehouse_id = o.warehouse_id
            RETURNING s.variant_id, s.warehouse_id
        )

        SELECT o.variant_id, o.warehouse_id FROM outgoing AS o
        EXCEPT
        SELECT t.variant_id, t.warehouse_id FROM taken AS t
        LIMIT 1
    $sql$ INTO short_variant, short_warehouse;
    IF short_variant IS NOT NULL THEN
        -- Nothing on hand to take from: the same refusal as the on_hand >= 0 CHECK.
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            CONSTRAINT = 'stock_levels_on_hand_check',
            SCHEMA = 'shop',
            TABLE = 'stock_levels',
            MESSAGE = format(
                'no stock of variant %s in warehouse %s to take from', short_variant, short_warehouse
            );
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION shop.tg_stock_movements__apply() IS
'AFTER INSERT statement trigger on shop.stock_movements: adds each (variant, warehouse)''s movements to '
'its stock row''s on_hand in the same statement (creating the row for stock coming in). The stock CHECKs '
'refuse what would go below zero or below the reserved units (23514). Returns NULL.';

-- == stock levels: on_hand is the ledger's sum ========================================================
CREATE OR REPLACE FUNCTION shop.ledger_on_hand(p_variant_id uuid, p_warehouse_id uuid)
RETURNS TABLE (on_hand bigint)
LANGUAGE sql
STABLE
ROWS 1
AS $$
    SELECT coalesce(sum(m.quantity), 0)
    FROM shop.stock_movements AS m
    WHERE m.variant_id = p_variant_id AND m.warehouse_id = p_warehouse_id
$$;
COMMENT ON FUNCTION shop.ledger_on_hand(uuid, uuid) IS
'What the ledger says is on hand for a variant in a warehouse: the sum of its movements (0 without any), '
'read from the (variant_id, created_at, id) index alone. Returns one row (on_hand bigint); a table function '
'so that it is inlined where it is joined LATERAL.';

CREATE OR REPLACE FUNCTION shop.tg_stock_levels__ledger_balance()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    wrong record;
BEGIN
    -- The rows whose on_hand this statement set: new rows with stock (an empty new row matches an empty
    -- ledger), updated rows whose on_hand changed (a row moved to another pair counts for both), and
    -- deleted rows that held stock (their pair's on_hand becomes 0; the ledger says otherwise).
    IF TG_OP = 'DELETE' THEN
        SELECT o.variant_id, o.warehouse_id, 0 AS on_hand, o.on_hand AS total INTO wrong
        FROM old_levels AS o
        WHERE o.on_hand <> 0
        LIMIT 1;
    ELSIF TG_OP = 'INSERT' THEN
        SELECT n.variant_id, n.warehouse_id, n.on_hand, l.total INTO wrong
        FROM new_levels AS n
        CROSS JOIN LATERAL shop.ledger_on_hand(n.variant_id, n.warehouse_id) AS l (total)
        WHERE n.on_hand <> 0 AND n.on_hand <> l.total
        LIMIT 1;
    ELSE
        SELECT c.variant_id, c.warehouse_id, c.on_hand, l.total INTO wrong
        FROM (
            SELECT r.variant_id, r.warehouse_id, coalesce(max(r.on_hand) FILTER (WHERE r.is_new), 0) AS on_hand
            FROM (
                SELECT n.variant_id, n.warehouse_id, n.on_hand, TRUE AS is_new FROM new_levels AS n
                UNION ALL
                SELECT o.variant_id, o.warehouse_id, o.on_hand, FALSE FROM old_levels AS o
            ) AS r
            GROUP BY r.variant_id, r.warehouse_id
            HAVING max(r.on_hand) FILTER (WHERE r.is_new) IS DISTINCT FROM max(r.on_hand) FILTER (WHERE NOT r.is_new)
        ) AS c
        CROSS JOIN LATERAL shop.ledger_on_hand(c.variant_id, c.warehouse_id) AS l (total)
        WHERE c.on_hand <> l.total
        LIMIT 1;
    END IF;
    IF FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'integrity_constraint_violation',
            MESSAGE = format(
                'on_hand of variant %s in warehouse %s would be %s, but its movements add up to %s',
                wrong.variant_id, wrong.warehouse_id, wrong.on_hand, wrong.total
            ),
            HINT = 'on_hand changes only by inserting into shop.stock_movements.';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION shop.tg_stock_levels__ledger_balance() IS
'AFTER INSERT/UPDATE/DELETE statement trigger on shop.stock_levels: every stock row whose on_hand the '
'statement set (or removed) must equal the sum of its movements in shop.stock_movements, whoever writes '
'(23000 otherwise), so on_hand moves only with the ledger. Reads the ledger with the owner''s rights. '
'Returns NULL.';

CREATE OR REPLACE FUNCTION shop.tg_stock_levels__backorder_limit()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    SELECT v.backorder_limit INTO NEW.backorder_limit FROM shop.product_variants AS v WHERE v.id = NEW.variant_id;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION shop.tg_stock_levels__backorder_limit() IS
'BEFORE INSERT trigger on shop.stock_levels (when backorder_limit is not given): copies the variant''s '
'backorder_limit onto the new row; the composite foreign key keeps it equal afterwards. Returns the row.';

-- == low stock: one stock.low event per crossing ======================================================
CREATE OR REPLACE FUNCTION shop.refresh_low_stock(variant_ids uuid[])
RETURNS void
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    one uuid;
BEGIN
    -- One writer at a time per variant, in a fixed order, until commit: the statement below then sees the
    -- stock every earlier writer of these variants committed (READ COMMITTED takes a new snapshot per
    -- statement), so two concurrent sales cannot both miss, or both report, the same crossing.
    FOR one IN SELECT DISTINCT u.id FROM unnest(variant_ids) AS u (id) ORDER BY u.id LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended('postcart.low_stock:' || one::text, 0));
    END LOOP;

    WITH now_low AS (
        SELECT
            v.id AS variant_id,
            v.product_id,
            v.sku,
            v.low_stock_threshold,
            a.available,
            coalesce(a.available <= v.low_stock_threshold, FALSE) AS is_low,
            EXISTS (SELECT FROM shop.low_stock_alerts AS l WHERE l.variant_id = v.id) AS was_low
        FROM shop.product_variants AS v
        INNER JOIN shop.variant_availability(variant_ids) AS a ON v.id = a.variant_id
        WHERE v.id = ANY(variant_ids)
    ),

    rearmed AS (
        DELETE FROM shop.low_stock_alerts AS l
        USING now_low AS n
        WHERE l.variant_id = n.variant_id AND NOT n.is_low
    )

    INSERT INTO shop.low_stock_alerts (variant_id, event_id, available, low_stock_threshold)
    SELECT
        n.variant_id,
        integration.emit('stock.low', n.variant_id, jsonb_build_object(
            'variant_id', n.variant_id, 'product_id', n.product_id, 'sku', n.sku,
            'available', n.available, 'low_stock_threshold', n.low_stock_threshold
        )),
        n.available,
        n.low_stock_threshold
    FROM now_low AS n
    WHERE n.is_low AND NOT n.was_low;
END
$$;
COMMENT ON FUNCTION shop.refresh_low_stock(uuid[]) IS
'Re-evaluates the low-stock state of the given variants: one that is now at or below its threshold '
'(shop.variant_availability) and was not gets a row in shop.low_stock_alerts and one stock.low event; one '
'that is above again (or has no threshold) loses its row, re-arming the alert. Serialised per variant by '
'a transaction advisory lock. Internal (no grants): called by the stock and variant triggers. Returns nothing.';

CREATE OR REPLACE FUNCTION shop.tg_stock_levels__low_stock()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
-- Its lookups take arrays (= ANY), for which PostgreSQL would plan afresh on every sale: the cached
-- generic plans use the same indexes.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    touched uuid[];
BEGIN
    -- The variants whose availability this statement changed …
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT n.variant_id) INTO touched
        FROM new_levels AS n
        WHERE shop.stock_available(n.on_hand, n.reserved) <> 0;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT o.variant_id) INTO touched
        FROM old_levels AS o
        WHERE shop.stock_available(o.on_hand, o.reserved) <> 0;
    ELSE
        SELECT array_agg(DISTINCT c.variant_id) INTO touched
        FROM (
            SELECT r.variant_id
            FROM (
                SELECT n.variant_id, n.warehouse_id, shop.stock_available(n.on_hand, n.reserved) AS available,
                    TRUE AS is_new
                FROM new_levels AS n
                UNION ALL
                SELECT o.variant_id, o.warehouse_id, shop.stock_available(o.on_hand, o.reserved), FALSE
                FROM old_levels AS o
            ) AS r
            GROUP BY r.variant_id, r.warehouse_id
            HAVING max(r.available) FILTER (WHERE r.is_new) IS DISTINCT FROM max(r.available) FILTER (WHERE NOT r.is_new)
        ) AS c;
    END IF;
    -- … of those, the ones with a threshold (from the small partial index).
    SELECT array_agg(v.id) INTO touched
    FROM shop.product_variants AS v
    WHERE v.low_stock_threshold IS NOT NULL AND v.id = ANY(touched);
    IF touched IS NOT NULL THEN
        PERFORM shop.refresh_low_stock(touched);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION shop.tg_stock_levels__low_stock() IS
'AFTER INSERT/UPDATE/DELETE statement trigger on shop.stock_levels: re-evaluates the low-stock state '
'(shop.refresh_low_stock) of the variants with a threshold whose available quantity the statement '
'changed. Returns NULL.';

CREATE OR REPLACE FUNCTION shop.tg_product_variants__low_stock()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    PERFORM shop.refresh_low_stock(ARRAY[NEW.id]);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION shop.tg_product_variants__low_stock() IS
'AFTER INSERT/UPDATE trigger on shop.product_variants (when low_stock_threshold is set or changed): '
're-evaluates the variant''s low-stock state, so raising a threshold above the available quantity alerts '
'and removing one re-arms. Returns NULL.';

-- == for the inventory API ============================================================================
CREATE OR REPLACE FUNCTION shop.lock_stock_level(p_variant_id uuid, p_warehouse_id uuid)
RETURNS shop.stock_levels
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    level shop.stock_levels;
BEGIN
    INSERT INTO shop.stock_levels (variant_id, warehouse_id) VALUES (p_variant_id, p_warehouse_id)
    ON CONFLICT (variant_id, warehouse_id) DO NOTHING;
    SELECT s.* INTO level
    FROM shop.stock_levels AS s
    WHERE s.variant_id = p_variant_id AND s.warehouse_id = p_warehouse_id
    FOR UPDATE;
    RETURN level;
END
$$;
COMMENT ON FUNCTION shop.lock_stock_level(uuid, uuid) IS
'Locks the stock row of a variant in a warehouse until the end of the transaction (creating it empty when '
'missing) and returns it: a count that sets on_hand computes its difference from a value nobody else can '
'change meanwhile. For inventory managers, whose grants do not allow locking stock rows themselves.';

CREATE OR REPLACE FUNCTION shop.whole_number_error(
    p_args jsonb, p_key text, p_required boolean, p_min bigint, p_max bigint
)
RETURNS text
LANGUAGE sql
STABLE
AS $$
    SELECT CASE
        WHEN jsonb_typeof(p_args -> p_key) IS NULL OR jsonb_typeof(p_args -> p_key) = 'null'
            THEN CASE WHEN p_required THEN 'is required' END
        WHEN jsonb_typeof(p_args -> p_key) <> 'number' OR (p_args ->> p_key) !~ '^-?[0-9]{1,18}$'
            OR NOT (p_args ->> p_key)::bigint BETWEEN p_min AND p_max
            THEN format('must be a whole number from %s to %s', p_min, p_max)
    END
$$;
COMMENT ON FUNCTION shop.whole_number_error(jsonb, text, boolean, bigint, bigint) IS
'Validates one integer member of an api argument object (present when required, a JSON number without '
'fraction or exponent, within p_min..p_max); returns the problem as a short phrase, or NULL when fine.';

CREATE OR REPLACE FUNCTION shop.inventory_variant(p_sku text)
RETURNS shop.product_variants
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    variant shop.product_variants;
BEGIN
    SELECT v.* INTO variant FROM shop.product_variants AS v WHERE v.sku = p_sku;
    IF NOT FOUND THEN
        PERFORM shop.fail(
            404, 'sku_not_found', jsonb_build_object('sku', p_sku), 'There is no variant with this SKU.'
        );
    END IF;
    RETURN variant;
END
$$;
COMMENT ON FUNCTION shop.inventory_variant(text) IS
'The variant with this SKU (exact match), as the caller may read it; raises PT404 sku_not_found. Returns '
'its shop.product_variants row.';

CREATE OR REPLACE FUNCTION shop.inventory_warehouse(p_code text)
RETURNS shop.warehouses
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    place shop.warehouses;
BEGIN
    SELECT w.* INTO place FROM shop.warehouses AS w WHERE upper(w.code) = upper(btrim(p_code));
    IF NOT FOUND THEN
        PERFORM shop.fail(
            404, 'warehouse_not_found',
            jsonb_build_object('fields', jsonb_build_object('warehouse', 'is not the code of a warehouse')),
            'Name a warehouse by its code, e.g. eu-central (GET /v1/admin/warehouses lists them).'
        );
    END IF;
    RETURN place;
END
$$;
COMMENT ON FUNCTION shop.inventory_warehouse(text) IS
'The warehouse (any place holding stock) with this code, regardless of case, as the caller may read it; '
'raises PT404 warehouse_not_found naming details.fields.warehouse. Returns its shop.warehouses row.';

CREATE OR REPLACE FUNCTION shop.stock_level_json(p_variant_id uuid, p_warehouse_id uuid)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT jsonb_build_object(
        'sku', v.sku,
        'warehouse', w.code,
        'on_hand', coalesce(s.on_hand, 0),
        'reserved', coalesce(s.reserved, 0),
        'available', coalesce(shop.stock_available(s.on_hand, s.reserved), 0)
    )
    FROM shop.product_variants AS v
    CROSS JOIN shop.warehouses AS w
    LEFT JOIN shop.stock_levels AS s ON v.id = s.variant_id AND w.id = s.warehouse_id
    WHERE v.id = p_variant_id AND w.id = p_warehouse_id
$$;
COMMENT ON FUNCTION shop.stock_level_json(uuid, uuid) IS
'The stock of a variant in one warehouse as the inventory API shows it: {sku, warehouse (code), on_hand, '
'reserved, available} (zeros when the warehouse never held it). Returns jsonb.';

CREATE OR REPLACE FUNCTION shop.inventory_json(p_variant_id uuid)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT jsonb_build_object(
        'sku', v.sku,
        'variant_id', v.id,
        'product_id', v.product_id,
        'on_hand', coalesce((SELECT sum(s.on_hand) FROM shop.stock_levels AS s WHERE s.variant_id = v.id), 0),
        'reserved', coalesce((SELECT sum(s.reserved) FROM shop.stock_levels AS s WHERE s.variant_id = v.id), 0),
        'available', (SELECT a.available FROM shop.variant_availability(ARRAY[v.id]) AS a),
        'backorder_limit', v.backorder_limit,
        'low_stock_threshold', v.low_stock_threshold,
        'low_stock', EXISTS (SELECT FROM shop.low_stock_alerts AS l WHERE l.variant_id = v.id),
        'warehouses', coalesce((
            SELECT jsonb_agg(
                jsonb_build_object(
                    'warehouse', w.code, 'priority', w.priority, 'on_hand', s.on_hand, 'reserved', s.reserved,
                    'available', shop.stock_available(s.on_hand, s.reserved)
                )
                ORDER BY w.priority, w.code
            )
            FROM shop.stock_levels AS s
            INNER JOIN shop.warehouses AS w ON s.warehouse_id = w.id
            WHERE s.variant_id = v.id
        ), '[]')
    )
    FROM shop.product_variants AS v
    WHERE v.id = p_variant_id
$$;
COMMENT ON FUNCTION shop.inventory_json(uuid) IS
'A variant''s stock as the inventory API shows it: {sku, variant_id, product_id, on_hand, reserved, '
'available (shop.variant_availability), backorder_limit, low_stock_threshold, low_stock (its stock.low '
'alert is raised), warehouses: [{warehouse, priority, on_hand, reserved, available}] in allocation order}. '
'Returns jsonb.';

CREATE OR REPLACE FUNCTION shop.record_stock_movement(
    p_variant shop.product_variants, p_place shop.warehouses, p_kind text, p_quantity bigint, p_reference text,
    p_note text
)
RETURNS shop.stock_movements
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    movement shop.stock_movements;
    failed text;
    level shop.stock_levels;
BEGIN
    INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity, reference, note)
    VALUES (p_variant.id, p_place.id, p_kind, p_quantity, p_reference, p_note)
    RETURNING * INTO movement;
    RETURN movement;
EXCEPTION
    WHEN check_violation THEN
        GET STACKED DIAGNOSTICS failed = CONSTRAINT_NAME;
        IF failed NOT IN ('stock_levels_on_hand_check', 'stock_levels_reserved_within_backorder_limit') THEN
            RAISE;
        END IF;
        SELECT s.* INTO level FROM shop.stock_levels AS s
        WHERE s.variant_id = p_variant.id AND s.warehouse_id = p_place.id;
        PERFORM shop.fail(
            409, 'insufficient_stock',
            jsonb_build_object(
                'sku', p_variant.sku, 'warehouse', p_place.code, 'quantity', p_quantity,
                'on_hand', coalesce(level.on_hand, 0), 'reserved', coalesce(level.reserved, 0),
                'backorder_limit', p_variant.backorder_limit
            ),
            'On hand may not fall below zero, nor below the units reserved for orders beyond the backorder limit.'
        );
    WHEN numeric_value_out_of_range THEN
        PERFORM shop.fail(
            422, 'validation_failed',
            jsonb_build_object('fields', jsonb_build_object('quantity', 'would take on_hand past 2147483647')),
            'A stock row holds at most 2,147,483,647 units.'
        );
END
$$;
COMMENT ON FUNCTION shop.record_stock_movement(
    shop.product_variants, shop.warehouses, text, bigint, text, text
) IS
'Inserts one movement into the ledger as the caller (its grants and policies apply), which moves on_hand. '
'A movement the stock CHECKs refuse is PT409 insufficient_stock with details {sku, warehouse, quantity, '
'on_hand, reserved, backorder_limit}; one that would overflow on_hand PT422 (details.fields.quantity). '
'Returns the movement.';

CREATE OR REPLACE FUNCTION shop.warehouse_json(p_place shop.warehouses)
RETURNS jsonb
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT jsonb_build_object(
        'id', p_place.id, 'code', p_place.code, 'name', p_place.name, 'priority', p_place.priority,
        'pickup', p_place.pickup, 'listed', p_place.listed
    )
$$;
COMMENT ON FUNCTION shop.warehouse_json(shop.warehouses) IS
'A place that holds stock as the inventory API shows it: {id, code, name, priority, pickup, listed}. '
'Returns jsonb.';

-- == triggers ========================================================================================
CREATE OR REPLACE TRIGGER _100_append_only
BEFORE UPDATE OR DELETE ON shop.stock_movements
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg_stock_movements__append_only();
CREATE OR REPLACE TRIGGER _500_apply
AFTER INSERT ON shop.stock_movements
REFERENCING NEW TABLE AS new_movements
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg_stock_movements__apply();
CREATE OR REPLACE TRIGGER _500_truncate
AFTER TRUNCATE ON shop.stock_movements
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg_stock__truncate();

CREATE OR REPLACE TRIGGER _200_backorder_limit
BEFORE INSERT ON shop.stock_levels
FOR EACH ROW WHEN (new.backorder_limit IS NULL) EXECUTE FUNCTION shop.tg_stock_levels__backorder_limit();
-- AFTER triggers fire by name: the balance check before the low-stock alerts and the catalog version.
CREATE OR REPLACE TRIGGER _100_ledger_balance_insert
AFTER INSERT ON shop.stock_levels
REFERENCING NEW TABLE AS new_levels
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg_stock_levels__ledger_balance();
CREATE OR REPLACE TRIGGER _100_ledger_balance_update
AFTER UPDATE ON shop.stock_levels
REFERENCING OLD TABLE AS old_levels NEW TABLE AS new_levels
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg_stock_levels__ledger_balance();
CREATE OR REPLACE TRIGGER _100_ledger_balance_delete
AFTER DELETE ON shop.stock_levels
REFERENCING OLD TABLE AS old_levels
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg_stock_levels__ledger_balance();
CREATE OR REPLACE TRIGGER _100_truncate
AFTER TRUNCATE ON shop.stock_levels
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg_stock__truncate();
CREATE OR REPLACE TRIGGER _500_low_stock_insert
AFTER INSERT ON shop.stock_levels
REFERENCING NEW TABLE AS new_levels
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg_stock_levels__low_stock();
CREATE OR REPLACE TRIGGER _500_low_stock_update
AFTER UPDATE ON shop.stock_levels
REFERENCING OLD TABLE AS old_levels NEW TABLE AS new_levels
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg_stock_levels__low_stock();
CREATE OR REPLACE TRIGGER _500_low_stock_delete
AFTER DELETE ON shop.stock_levels
REFERENCING OLD TABLE AS old_levels
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg_stock_levels__low_stock();

CREATE OR REPLACE TRIGGER _600_low_stock_insert
AFTER INSERT ON shop.product_variants
FOR EACH ROW WHEN (new.low_stock_threshold IS NOT NULL) EXECUTE FUNCTION shop.tg_product_variants__low_stock();
CREATE OR REPLACE TRIGGER _600_low_stock_update
AFTER UPDATE OF low_stock_threshold ON shop.product_variants
FOR EACH ROW WHEN (old.low_stock_threshold IS DISTINCT FROM new.low_stock_threshold)
EXECUTE FUNCTION shop.tg_product_variants__low_stock();

-- == grants ==========================================================================================
REVOKE ALL ON FUNCTION shop.tg_stock_movements__append_only() FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.tg_stock__truncate() FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.tg_stock_movements__apply() FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.ledger_on_hand(uuid, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.tg_stock_levels__ledger_balance() FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.tg_stock_levels__backorder_limit() FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.tg_stock_levels__low_stock() FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.tg_product_variants__low_stock() FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.refresh_low_stock(uuid[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.lock_stock_level(uuid, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.whole_number_error(jsonb, text, boolean, bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.inventory_variant(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.inventory_warehouse(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.stock_level_json(uuid, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.inventory_json(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.lock_stock_level(uuid, uuid) TO inventory_manager;
GRANT EXECUTE ON FUNCTION shop.ledger_on_hand(uuid, uuid) TO inventory_manager, order_manager;
GRANT EXECUTE ON FUNCTION shop.whole_number_error(jsonb, text, boolean, bigint, bigint) TO postcart_staff;
GRANT EXECUTE ON FUNCTION shop.inventory_variant(text) TO postcart_staff;
GRANT EXECUTE ON FUNCTION shop.inventory_warehouse(text) TO postcart_staff;
GRANT EXECUTE ON FUNCTION shop.stock_level_json(uuid, uuid) TO postcart_staff;
GRANT EXECUTE ON FUNCTION shop.inventory_json(uuid) TO postcart_staff;
REVOKE ALL ON FUNCTION shop.record_stock_movement(
    shop.product_variants, shop.warehouses, text, bigint, text, text
) FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.warehouse_json(shop.warehouses) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.record_stock_movement(
    shop.product_variants, shop.warehouses, text, bigint, text, text
) TO inventory_manager;
GRANT EXECUTE ON FUNCTION shop.warehouse_json(shop.warehouses) TO inventory_manager, order_manager;
