-- Staff routes of carriers (docs/carriers.md), order_manager only (EXECUTE is granted to nobody else). The
-- layer calls the carrier between these calls and stores its answers with shop.label_purchased /
-- shop.label_failed (sql/shop/carriers.sql).

-- == GET /v1/admin/orders/{id}/shipping-rates ========================================================
CREATE OR REPLACE FUNCTION api.admin_order_parcel(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    target shop.orders;
    parcel jsonb;
BEGIN
    SELECT o.* INTO target FROM shop.orders AS o WHERE o.id = shop.order_id_arg(args);
    IF NOT FOUND THEN
        PERFORM shop.fail(404, 'order_not_found', jsonb_build_object('id', args ->> 'id'), 'There is no such order.');
    END IF;
    -- The units not yet shipped, from the warehouses holding them for the order.
    SELECT shop.parcel_json(
        target,
        array_agg(a.order_item_id),
        array_agg(a.quantity - a.quantity_fulfilled - a.quantity_released),
        array_agg(a.warehouse_id)
    )
    INTO parcel
    FROM shop.order_allocations AS a
    INNER JOIN shop.order_items AS i ON a.order_item_id = i.id
    WHERE i.order_id = target.id AND a.quantity > a.quantity_fulfilled + a.quantity_released;
    IF target.status NOT IN ('paid', 'pending_payment') OR (parcel ->> 'weight_grams') IS NULL
        OR parcel -> 'origin' = 'null' THEN
        PERFORM shop.fail(
            409, 'nothing_to_ship', jsonb_build_object('status', target.status, 'fulfillment_status', target.fulfillment_status),
            'Every unit of this order has shipped, or it is cancelled.'
        );
    END IF;
    RETURN parcel || jsonb_build_object('table_rates', coalesce((
        SELECT jsonb_agg(jsonb_build_object(
            'code', o.code, 'name', o.name, 'amount', o.amount, 'zone', o.zone_code
        ) ORDER BY o.amount, o.code)
        FROM shop.shipping_options(
            upper(target.shipping_address ->> 'country'), nullif(target.shipping_address ->> 'region', ''),
            (parcel ->> 'weight_grams')::bigint, (parcel ->> 'declared_value')::bigint, target.currency
        ) AS o
    ), '[]'));
END
$$;
COMMENT ON FUNCTION api.admin_order_parcel(jsonb) IS
'GET /v1/admin/orders/{id}/shipping-rates, the database''s part (order_manager): the parcel of the units not '
'yet shipped (shop.parcel_json: weight, declared value, origin warehouse, destination) with table_rates, the '
'built-in methods for it from shop.shipping_options [{code, name, amount, zone}]. The layer adds the '
'quotes of an HTTP carrier. 404 order_not_found; 409 nothing_to_ship (all shipped, or cancelled).';

-- == POST /v1/admin/orders/{id}/fulfillments with buy_label ==========================================
CREATE OR REPLACE FUNCTION api.admin_create_labelled_fulfillment(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    target_id uuid;
    before uuid[];
    shipment shop.fulfillments;
    fields jsonb;
BEGIN
    fields := jsonb_strip_nulls(jsonb_build_object(
        'carrier', CASE WHEN jsonb_typeof(args -> 'carrier') IS DISTINCT FROM 'string'
            THEN 'is required to buy a label: a carrier code' END,
        'service', auth.text_field_error(args, 'service', FALSE, 100),
        'tracking_number', CASE WHEN args ? 'tracking_number' AND args -> 'tracking_number' <> 'null'
            THEN 'comes with the label: leave it out when buy_label is true' END
    ));
    PERFORM shop.fail_fields(fields);
    -- The order's lock first: no other shipment of it can be written until this one commits, so the one
    -- that is new below is ours.
    target_id := (shop.lock_order(shop.order_id_arg(args))).id;
    before := ARRAY(SELECT f.id FROM shop.fulfillments AS f WHERE f.order_id = target_id);
    -- Recorded first, exactly as without a label: stock leaves on_hand now, whatever the carrier says.
    PERFORM api.admin_create_fulfillment(args - 'service' - 'buy_label');
    UPDATE shop.fulfillments AS f
    SET label_status = 'pending', carrier_service = nullif(btrim(args ->> 'service'), '')
    WHERE f.order_id = target_id AND f.id <> ALL(before)
    RETURNING * INTO shipment;
    RETURN jsonb_build_object('order', shop.order_json(target_id), 'parcel', shop.fulfillment_parcel(shipment));
END
$$;
COMMENT ON FUNCTION api.admin_create_labelled_fulfillment(jsonb) IS
'POST /v1/admin/orders/{id}/fulfillments {items, carrier, service?, buy_label: true}, the database''s part '
'(order_manager): records the shipment exactly as api.admin_create_fulfillment does (stock leaves on_hand, '
'fulfillment.created) with label_status pending and the service asked, and returns {order, parcel} '
'(shop.fulfillment_parcel) for the layer to buy the label. Errors: those of api.admin_create_fulfillment; '
'422 validation_failed (carrier missing, service too long, a tracking_number given).';

-- == POST /v1/admin/fulfillments/{id}/label ==========================================================
CREATE OR REPLACE FUNCTION api.admin_prepare_label(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    shipment shop.fulfillments;
BEGIN
    IF NOT coalesce(args ->> 'id' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$', FALSE) THEN
        PERFORM shop.fail(
            404, 'fulfillment_not_found', jsonb_build_object('id', args ->> 'id'), 'There is no such fulfilment.'
        );
    END IF;
    shipment := shop.lock_fulfillment((args ->> 'id')::uuid);
    IF shipment.label_status = 'none' THEN
        PERFORM shop.fail(
            409, 'label_not_requested', jsonb_build_object('id', shipment.id, 'carrier', shipment.carrier),
            'This shipment was recorded without a carrier label; its tracking number is typed by staff.'
        );
    ELSIF shipment.label_status = 'purchased' THEN
        PERFORM shop.fail(
            409, 'label_already_purchased',
            jsonb_build_object('id', shipment.id, 'tracking_number', shipment.tracking_number, 'label_url', shipment.label_url),
            'This shipment has its label; it is never bought twice.'
        );
    END IF;
    UPDATE shop.fulfillments AS f SET label_status = 'pending', label_error = NULL, updated_at = now()
    WHERE f.id = shipment.id
    RETURNING * INTO shipment;
    RETURN jsonb_build_object('parcel', shop.fulfillment_parcel(shipment));
END
$$;
COMMENT ON FUNCTION api.admin_prepare_label(jsonb) IS
'POST /v1/admin/fulfillments/{id}/label, the database''s part (order_manager): a failed or pending label is '
'asked again; returns {parcel} (shop.fulfillment_parcel, with the label_attempt that makes the idempotency '
'key). 404 fulfillment_not_found; 409 label_not_requested (no carrier label was asked for this shipment), '
'label_already_purchased (details: tracking_number, label_url).';

REVOKE ALL ON FUNCTION api.admin_order_parcel(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.admin_create_labelled_fulfillment(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.admin_prepare_label(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.admin_order_parcel(jsonb) TO order_manager;
GRANT EXECUTE ON FUNCTION api.admin_create_labelled_fulfillment(jsonb) TO order_manager;
GRANT EXECUTE ON FUNCTION api.admin_prepare_label(jsonb) TO order_manager;
