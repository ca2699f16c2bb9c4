-- Checkout's rules (docs/orders.md, "Checkout"): reserving stock for every line or none, allocated across
-- warehouses by priority, and the gapless order number. api.checkout (sql/api/checkout.sql) runs them in
-- one transaction with the cart's pricing (shop.price_cart) and the promotions' redemption.

-- == reserving stock ================================================================================
CREATE OR REPLACE FUNCTION shop.reserve_stock(p_variant_ids uuid[], p_quantities integer[], p_item_ids uuid[])
RETURNS TABLE (line integer, variant_id uuid, warehouse_id uuid, quantity integer)
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    one uuid;
    short jsonb;
    -- The allocation, one element per (line, warehouse): arrays rather than a temporary table, which would
    -- cost catalog writes on every checkout.
    a_lines integer[];
    a_variants uuid[];
    a_warehouses uuid[];
    a_quantities integer[];
BEGIN
    -- Every stock row of every variant is locked first, in (variant_id, warehouse_id) order: the one order
    -- every writer of stock rows follows (fulfilment, cancellation, counts), so two checkouts holding the
    -- same SKUs in opposite cart order wait for each other instead of deadlocking. Then the numbers read
    -- are final until commit. (A statement per variant keeps one cached plan; `= ANY(p_variant_ids)` was
    -- planned afresh on every call.)
    FOR one IN SELECT DISTINCT u.id FROM unnest(p_variant_ids) AS u (id) ORDER BY u.id LOOP
        PERFORM FROM shop.stock_levels AS s WHERE s.variant_id = one ORDER BY s.warehouse_id FOR NO KEY UPDATE;
    END LOOP;

    -- Allocation: each line takes physical stock (on_hand - reserved) from the warehouses in priority
    -- order, then, if the variant allows backorders, the backorder allowance in the same order. A line may
    -- split across warehouses. Lines of one variant are added up first (a cart has one line per variant).
    WITH wanted AS (
        SELECT w.n::integer AS line, w.variant_id, w.quantity
        FROM unnest(p_variant_ids, p_quantities) WITH ORDINALITY AS w (variant_id, quantity, n)
    ),

    -- Capacity per stock row in allocation order: physical first (pass 1), then backorders (pass 2).
    capacity AS (
        SELECT
            w.line,
            s.variant_id,
            s.warehouse_id,
            w.quantity AS wanted,
            c.pass,
            c.units,
            h.priority,
            h.code
        FROM wanted AS w
        INNER JOIN shop.stock_levels AS s ON w.variant_id = s.variant_id
        INNER JOIN shop.warehouses AS h ON s.warehouse_id = h.id
        CROSS JOIN LATERAL (
            VALUES
            (1, greatest(s.on_hand - s.reserved, 0)),
            (2, greatest(s.backorder_limit - greatest(s.reserved - s.on_hand, 0), 0))
        ) AS c (pass, units)
        WHERE c.units > 0
    ),

    running AS (
        SELECT
            c.*,
            coalesce(sum(c.units) OVER (
                PARTITION BY c.line ORDER BY c.pass, c.priority, c.code
                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
            ), 0) AS before
        FROM capacity AS c
    ),

    taken AS (
        SELECT r.line, r.variant_id, r.warehouse_id, sum(least(r.units, r.wanted - r.before))::integer AS units
        FROM running AS r
        WHERE r.before < r.wanted
        GROUP BY r.line, r.variant_id, r.warehouse_id
    )

    SELECT
        coalesce(array_agg(t.line ORDER BY t.line, t.warehouse_id), '{}'),
        coalesce(array_agg(t.variant_id ORDER BY t.line, t.warehouse_id), '{}'),
        coalesce(array_agg(t.warehouse_id ORDER BY t.line, t.warehouse_id), '{}'),
        coalesce(array_agg(t.units ORDER BY t.line, t.warehouse_id), '{}')
    INTO a_lines, a_variants, a_warehouses, a_quantities
    FROM taken AS t;

    -- All or nothing: every short line is reported, and nothing has been written yet.
    SELECT jsonb_agg(jsonb_build_object(
        'item_id', p_item_ids[w.n], 'variant_id', w.variant_id, 'sku', v.sku, 'requested', w.quantity,
        'available', coalesce(a.units, 0)
    ) ORDER BY w.n)
    INTO short
    FROM unnest(p_variant_ids, p_quantities) WITH ORDINALITY AS w (variant_id, quantity, n)
    LEFT JOIN shop.product_variants AS v ON w.variant_id = v.id
    LEFT JOIN LATERAL (
        SELECT sum(ca.quantity)::integer AS units
        FROM unnest(a_lines, a_quantities) AS ca (line, quantity)
        WHERE ca.line = w.n
    ) AS a ON TRUE
    WHERE coalesce(a.units, 0) < w.quantity;
    IF short IS NOT NULL THEN
        PERFORM shop.fail(
            409, 'out_of_stock', jsonb_build_object('items', short),
            'Not enough stock for some lines; details.items lists each with what is available.'
        );
    END IF;

    -- The CHECK on stock_levels (reserved - on_hand <= backorder_limit) is the last guard.
    UPDATE shop.stock_levels AS s
    SET reserved = s.reserved + a.quantity, updated_at = now()
    FROM (
        SELECT ca.variant_id, ca.warehouse_id, sum(ca.quantity)::integer AS quantity
        FROM unnest(a_variants, a_warehouses, a_quantities) AS ca (variant_id, warehouse_id, quantity)
        GROUP BY ca.variant_id, ca.warehouse_id
    ) AS a
    WHERE s.variant_id = a.variant_id AND s.warehouse_id = a.warehouse_id;

    RETURN QUERY
    SELECT ca.line, ca.variant_id, ca.warehouse_id, ca.quantity
    FROM unnest(a_lines, a_variants, a_warehouses, a_quantities) AS ca (line, variant_id, warehouse_id, quantity);
END
$$;
COMMENT ON FUNCTION shop.reserve_stock(uuid[], integer[], uuid[]) IS
'Reserves p_quantities[i] units of variant p_variant_ids[i] for every line i (the cart item p_item_ids[i]), '
'or nothing: locks the '
'variants'' stock rows in (variant_id, warehouse_id) order, allocates each line from physical stock '
'(on_hand - reserved) in warehouse priority order (then code), then from the backorder allowance in the '
'same order, and raises reserved. A line may split across warehouses. When any line is short: PT409 '
'out_of_stock with details.items [{item_id, variant_id, sku, requested, available}] for every short line, and '
'nothing changed. Returns the allocation: (line, variant_id, warehouse_id, quantity) rows. Owner only '
'(called by api.checkout).';
REVOKE ALL ON FUNCTION shop.reserve_stock(uuid[], integer[], uuid[]) FROM PUBLIC;

-- == order numbers ==================================================================================
CREATE OR REPLACE FUNCTION shop.next_order_number()
RETURNS bigint
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    taken bigint;
BEGIN
    -- PL/pgSQL for its cached plan: it runs while the counter's lock is held (sql/shop/catalog_version.sql).
    UPDATE shop.order_numbers SET last_number = last_number + 1 RETURNING last_number INTO taken;
    RETURN taken;
END
$$;
COMMENT ON FUNCTION shop.next_order_number() IS
'The next order number: increments the one counter row, whose lock is held until the transaction ends, so '
'numbers are gapless (a rolled-back checkout gives its number back) and increase in commit order. Call it '
'as late as possible in the transaction. Returns bigint. Owner only.';
REVOKE ALL ON FUNCTION shop.next_order_number() FROM PUBLIC;
