-- Carrier labels and tracking (migration 0032, docs/carriers.md): what a parcel is for a carrier's quote
-- or label, the answers of the carrier stored as postcart_carrier (label bought or refused), and tracking
-- reports applied once per carrier event along the tracking status machine, completing an order once every
-- shipment of it is delivered. The carrier calls themselves are made in Python between these calls, never
-- inside a transaction (src/postcart/http/carriers.py).
--
-- Locking, as everywhere with orders: the order row first, then its fulfilments.

-- == the parcel a carrier is asked about =============================================================
CREATE OR REPLACE FUNCTION shop.parcel_json(
    p_order shop.orders, p_item_ids uuid[], p_quantities integer[], p_warehouse_ids uuid[]
)
RETURNS jsonb
LANGUAGE sql
STABLE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    WITH units AS (
        SELECT u.item_id, u.quantity, u.warehouse_id
        FROM unnest(p_item_ids, p_quantities, p_warehouse_ids) AS u (item_id, quantity, warehouse_id)
    ),

    lines AS (
        SELECT
            sum(u.quantity * coalesce(v.weight_grams, 0))::bigint AS weight,
            -- What the units cost the customer after discounts (rounded down per line): the insured value.
            sum(i.line_total * u.quantity / i.quantity)::bigint AS value
        FROM units AS u
        INNER JOIN shop.order_items AS i ON u.item_id = i.id
        LEFT JOIN shop.product_variants AS v ON i.variant_id = v.id
    )

    SELECT jsonb_build_object(
        'order_id', p_order.id,
        'order_number', p_order.number,
        'currency', p_order.currency,
        'weight_grams', coalesce(l.weight, 0),
        'declared_value', coalesce(l.value, 0),
        -- The warehouse most of the units leave from is where the parcel starts.
        'origin', (
            SELECT jsonb_build_object(
                'name', w.name, 'line1', w.line1, 'city', w.city, 'postal_code', w.postal_code,
                'country', w.country
            )
            FROM units AS u
            INNER JOIN shop.warehouses AS w ON u.warehouse_id = w.id
            GROUP BY w.id
            ORDER BY sum(u.quantity) DESC, w.priority, w.code
            LIMIT 1
        ),
        'destination', p_order.shipping_address
    )
    FROM lines AS l
$$;
COMMENT ON FUNCTION shop.parcel_json(shop.orders, uuid[], integer[], uuid[]) IS
'A parcel as a carrier adapter needs it: units p_quantities[i] of order line p_item_ids[i] leaving warehouse '
'p_warehouse_ids[i] (NULL: not yet known). Returns {order_id, order_number, currency, weight_grams (variants'' '
'weight x units), declared_value (the units'' share of their lines after discounts), origin (the warehouse most '
'units leave from: name, line1, city, postal_code, country; NULL when unknown), destination (the '
'order''s shipping address)}. Owner only.';
REVOKE ALL ON FUNCTION shop.parcel_json(shop.orders, uuid[], integer[], uuid[]) FROM PUBLIC;

CREATE OR REPLACE FUNCTION shop.fulfillment_parcel(p_fulfillment shop.fulfillments)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    target shop.orders;
    parcel jsonb;
BEGIN
    SELECT o.* INTO target FROM shop.orders AS o WHERE o.id = p_fulfillment.order_id;
    SELECT shop.parcel_json(
        target, array_agg(fi.order_item_id), array_agg(fi.quantity), array_agg(fi.warehouse_id)
    )
    INTO parcel
    FROM shop.fulfillment_items AS fi
    WHERE fi.fulfillment_id = p_fulfillment.id;
    RETURN parcel || jsonb_build_object(
        'fulfillment_id', p_fulfillment.id,
        'carrier', p_fulfillment.carrier,
        'service', p_fulfillment.carrier_service,
        'label_status', p_fulfillment.label_status,
        -- The purchase's idempotency key is made of these two: see label_attempt's comment.
        'label_attempt', p_fulfillment.label_attempt
    );
END
$$;
COMMENT ON FUNCTION shop.fulfillment_parcel(shop.fulfillments) IS
'The parcel of one fulfilment (shop.parcel_json of its units and warehouses) with fulfillment_id, carrier, '
'service, label_status and label_attempt: what the layer sends the carrier to buy its label. Owner only.';
REVOKE ALL ON FUNCTION shop.fulfillment_parcel(shop.fulfillments) FROM PUBLIC;

-- == the carrier's answers (postcart_carrier) ========================================================
CREATE OR REPLACE FUNCTION shop.lock_fulfillment(p_fulfillment_id uuid)
RETURNS shop.fulfillments
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    found_row shop.fulfillments;
BEGIN
    -- The order first (every order change's first lock), then the fulfilment.
    PERFORM FROM shop.orders AS o
    WHERE o.id = (SELECT f.order_id FROM shop.fulfillments AS f WHERE f.id = p_fulfillment_id)
    FOR UPDATE;
    SELECT f.* INTO found_row FROM shop.fulfillments AS f WHERE f.id = p_fulfillment_id FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM shop.fail(
            404, 'fulfillment_not_found', jsonb_build_object('id', p_fulfillment_id), 'There is no such fulfilment.'
        );
    END IF;
    RETURN found_row;
END
$$;
COMMENT ON FUNCTION shop.lock_fulfillment(uuid) IS
'Locks a fulfilment''s order row, then the fulfilment, and returns the fulfilment; PT404 '
'fulfillment_not_found. Owner only.';
REVOKE ALL ON FUNCTION shop.lock_fulfillment(uuid) FROM PUBLIC;

CREATE OR REPLACE FUNCTION shop.label_purchased(p_fulfillment_id uuid, p_label jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    shipment shop.fulfillments := shop.lock_fulfillment(p_fulfillment_id);
    target shop.orders;
BEGIN
    -- A second answer for a label already stored (two retries at once, both answered by the carrier's
    -- idempotency with the same label) changes nothing.
    IF shipment.label_status <> 'purchased' THEN
        UPDATE shop.fulfillments AS f
        SET
            label_status = 'purchased',
            label_error = NULL,
            tracking_number = p_label ->> 'tracking_number',
            label_url = p_label ->> 'label_url',
            label_reference = p_label ->> 'reference',
            label_provider = lower(p_label ->> 'provider'),
            carrier_service = coalesce(p_label ->> 'service', f.carrier_service),
            label_amount = (p_label ->> 'amount')::bigint,
            label_currency = upper(p_label ->> 'currency'),
            updated_at = now()
        WHERE f.id = shipment.id
        RETURNING * INTO shipment;
        SELECT o.* INTO target FROM shop.orders AS o WHERE o.id = shipment.order_id;
        PERFORM integration.emit('fulfillment.label_purchased', shipment.id, jsonb_build_object(
            'fulfillment_id', shipment.id, 'order_id', target.id, 'number', target.number,
            'carrier', shipment.carrier, 'service', shipment.carrier_service,
            'tracking_number', shipment.tracking_number, 'label_url', shipment.label_url
        ));
    END IF;
    RETURN shop.order_json(shipment.order_id);
END
$$;
COMMENT ON FUNCTION shop.label_purchased(uuid, jsonb) IS
'Stores the label the carrier sold for a fulfilment (postcart_carrier only): p_label {tracking_number, '
'label_url, reference (the carrier''s transaction id), provider, service, amount, currency}; label_status '
'becomes purchased and fulfillment.label_purchased is written. A label already stored is kept (a second '
'answer changes nothing). Returns the order JSON. PT404 fulfillment_not_found.';
REVOKE ALL ON FUNCTION shop.label_purchased(uuid, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.label_purchased(uuid, jsonb) TO postcart_carrier;

CREATE OR REPLACE FUNCTION shop.label_failed(p_fulfillment_id uuid, p_code text, p_refused boolean)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    shipment shop.fulfillments := shop.lock_fulfillment(p_fulfillment_id);
BEGIN
    -- A racing retry may have stored the label meanwhile: it stays.
    IF shipment.label_status <> 'purchased' THEN
        UPDATE shop.fulfillments AS f
        SET
            label_status = 'failed',
            label_error = left(coalesce(nullif(p_code, ''), 'carrier_error'), 100),
            -- Only a definite refusal moves to a new idempotency key; after a lost answer the retry must
            -- repeat the same key, so the carrier answers with the label it may have sold.
            label_attempt = f.label_attempt + CASE WHEN p_refused THEN 1 ELSE 0 END,
            updated_at = now()
        WHERE f.id = shipment.id;
    END IF;
    RETURN shop.order_json(shipment.order_id);
END
$$;
COMMENT ON FUNCTION shop.label_failed(uuid, text, boolean) IS
'Records that buying a fulfilment''s label failed (postcart_carrier only): label_status failed, label_error '
'p_code; p_refused (the carrier said no, nothing was bought) also counts label_attempt up so the next try '
'is a new request, while a timeout or 5xx keeps the idempotency key. No change once purchased. Returns the '
'order JSON. PT404 fulfillment_not_found.';
REVOKE ALL ON FUNCTION shop.label_failed(uuid, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.label_failed(uuid, text, boolean) TO postcart_carrier;

-- == tracking reports ================================================================================
CREATE OR REPLACE FUNCTION shop.apply_carrier_event(p_carrier text, p_event jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    new_status text := p_event ->> 'status';
    status_at timestamptz := (p_event ->> 'status_at')::timestamptz;
    tracking text := p_event ->> 'tracking_number';
    provider text := lower(p_event ->> 'provider');
    recorded boolean;
    shipment shop.fulfillments;
    target shop.orders;
    moved integer := 0;
    matched integer := 0;
BEGIN
    -- Once per event: a concurrent delivery of the same event waits here for the first to commit, then
    -- finds the row and changes nothing.
    INSERT INTO integration.carrier_events (carrier, event_id, tracking_number, status, status_at)
    VALUES (p_carrier, p_event ->> 'id', tracking, new_status, status_at)
    ON CONFLICT (carrier, event_id) DO NOTHING
    RETURNING TRUE INTO recorded;
    IF recorded IS NULL THEN
        RETURN jsonb_build_object('duplicate', TRUE);
    END IF;

    -- Every fulfilment sent under this tracking number (one box may carry two shipments), orders first.
    PERFORM FROM shop.orders AS o
    WHERE o.id IN (
        SELECT f.order_id FROM shop.fulfillments AS f
        WHERE f.tracking_number = tracking AND (f.label_provider IS NULL OR f.label_provider = provider)
    )
    ORDER BY o.id
    FOR UPDATE;
    FOR shipment IN
        SELECT f.* FROM shop.fulfillments AS f
        WHERE f.tracking_number = tracking AND (f.label_provider IS NULL OR f.label_provider = provider)
        ORDER BY f.id
        FOR UPDATE
    LOOP
        matched := matched + 1;
        -- Forward only: an allowed change, and no older than what is recorded (a late TRANSIT after
        -- DELIVERED, or after a newer FAILURE, is ignored).
        CONTINUE WHEN NOT EXISTS (
            SELECT FROM shop.fulfillment_tracking_transitions AS t
            WHERE t.from_status = shipment.tracking_status AND t.to_status = new_status
        );
        CONTINUE WHEN status_at < shipment.tracking_status_at;
        UPDATE shop.fulfillments AS f
        SET
            tracking_status = new_status,
            tracking_status_at = coalesce(status_at, now()),
            delivered_at = CASE WHEN new_status = 'delivered' THEN coalesce(status_at, now()) END,
            updated_at = now()
        WHERE f.id = shipment.id;
        moved := moved + 1;
        IF new_status = 'delivered' THEN
            SELECT o.* INTO target FROM shop.orders AS o WHERE o.id = shipment.order_id;
            PERFORM integration.emit('fulfillment.delivered', shipment.id, jsonb_build_object(
                'fulfillment_id', shipment.id, 'order_id', target.id, 'number', target.number,
                'carrier', shipment.carrier, 'tracking_number', shipment.tracking_number,
                'delivered_at', auth.to_rfc3339(coalesce(status_at, now()))
            ));
            -- Every unit shipped and every shipment delivered: nothing more is expected. The status
            -- trigger checks the change and writes order.completed.
            IF target.status = 'fulfilled' AND target.fulfillment_status = 'fulfilled' AND NOT EXISTS (
                SELECT FROM shop.fulfillments AS f
                WHERE f.order_id = target.id AND f.tracking_status <> 'delivered'
            ) THEN
                UPDATE shop.orders SET status = 'completed' WHERE id = target.id;
            END IF;
        END IF;
    END LOOP;

    UPDATE integration.carrier_events AS e
    SET outcome = CASE WHEN moved > 0 THEN 'applied' WHEN matched > 0 THEN 'ignored' ELSE 'unknown' END
    WHERE e.carrier = p_carrier AND e.event_id = p_event ->> 'id';
    RETURN jsonb_build_object('duplicate', FALSE, 'fulfillments', matched, 'moved', moved);
END
$$;
COMMENT ON FUNCTION shop.apply_carrier_event(text, jsonb) IS
'Applies a verified carrier tracking report once per (p_carrier, event id) (postcart_carrier only): p_event '
'{id, tracking_number, provider, status (shipped, in_transit, delivered, failure, returned), status_at}. Every '
'fulfilment with that tracking number (and that provider, when its label was bought) moves along '
'shop.fulfillment_tracking_transitions, never to a report older than its current one; delivered writes '
'fulfillment.delivered, and an order fully fulfilled whose every fulfilment is delivered becomes completed '
'(order.completed by the status trigger). Returns {duplicate: true} for an event already applied, else '
'{duplicate: false, fulfillments (matched), moved}.';
REVOKE ALL ON FUNCTION shop.apply_carrier_event(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.apply_carrier_event(text, jsonb) TO postcart_carrier;
