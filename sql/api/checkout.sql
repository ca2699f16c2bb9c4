-- POST /v1/carts/{id}/checkout (docs/orders.md, "Checkout"): the whole of placing an order, in the one
-- transaction of the request. The order of work is chosen for correctness under races and for short lock
-- holds: the cart row first (two checkouts of one cart queue), then the stock rows (in one global order),
-- then the promotions' usage, and the order-number counter last of all.

CREATE OR REPLACE FUNCTION api.checkout(args jsonb, derived jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    cart shop.carts;
    quote jsonb;
    fields jsonb := '{}';
    method shop.payment_methods;
    buyer_id uuid := auth.current_customer_id();
    buyer_email extensions.citext;
    new_order_id uuid := gen_random_uuid();
    item_ids uuid[];
    blocker text;
    coupon extensions.citext;
    event_items jsonb;
    placed shop.orders;
    response jsonb;
BEGIN
    -- -- the client's arguments ----------------------------------------------------------------------
    IF jsonb_typeof(args -> 'payment_method') IS DISTINCT FROM 'string' THEN
        fields := fields || '{"payment_method": "is required: manual, cash_on_delivery or card"}';
    ELSE
        SELECT pm.* INTO method FROM shop.payment_methods AS pm
        WHERE pm.code = args ->> 'payment_method' AND pm.active;
        IF method.code IS NULL THEN
            fields := fields || jsonb_build_object(
                'payment_method', 'is not a payment method of this store: '
                || (SELECT string_agg(pm.code, ', ' ORDER BY pm.code) FROM shop.payment_methods AS pm WHERE pm.active)
            );
        END IF;
    END IF;
    IF args ? 'email' AND (
        jsonb_typeof(args -> 'email') <> 'string' OR NOT auth.email_is_valid(args ->> 'email')
    ) THEN
        fields := fields || '{"email": "is not a valid e-mail address"}';
    END IF;
    PERFORM shop.fail_fields(fields);

    -- -- the cart: the caller's own, open; locked so a second checkout of it waits and then finds it ordered
    cart := shop.request_cart(args, derived, TRUE);

    IF buyer_id IS NOT NULL THEN
        SELECT a.email INTO buyer_email FROM auth.accounts AS a WHERE a.id = buyer_id;
    ELSE
        buyer_email := coalesce(args ->> 'email', cart.email);
        IF buyer_email IS NULL THEN
            PERFORM shop.fail_fields('{"email": "is required for a guest checkout"}');
        END IF;
    END IF;

    -- -- the current prices, discounts, shipping and tax, and what blocks the order --------------------
    -- shop.price_cart lists every problem; the first kind (in the order a customer fixes them) is the
    -- error's code, with every problem of that kind in details.items and all of them in details.problems.
    quote := shop.price_cart(cart.id);
    SELECT p ->> 'code' INTO blocker
    FROM jsonb_array_elements(quote -> 'problems') AS p
    ORDER BY array_position(
        ARRAY[
            'cart_empty', 'not_for_sale', 'shipping_address_required', 'shipping_method_required',
            'shipping_method_unavailable', 'coupon_not_applicable', 'coupon_exhausted', 'price_changed'
        ],
        p ->> 'code'
    ) NULLS LAST
    LIMIT 1;
    IF blocker IS NOT NULL THEN
        PERFORM shop.fail(
            409, blocker,
            jsonb_build_object(
                'items', (
                    -- Prices as money, like everywhere else in the API.
                    SELECT jsonb_agg(p - 'code' || CASE WHEN p ? 'unit_price' THEN jsonb_build_object(
                        'quoted_unit_price', shop.money_json((p ->> 'quoted_unit_price')::bigint, cart.currency),
                        'unit_price', shop.money_json((p ->> 'unit_price')::bigint, cart.currency)
                    ) ELSE '{}' END)
                    FROM jsonb_array_elements(quote -> 'problems') AS p
                    WHERE p ->> 'code' = blocker
                ),
                'problems', quote -> 'problems'
            ),
            CASE blocker
                WHEN 'cart_empty' THEN 'Add something to the cart before checking out.'
                WHEN 'not_for_sale' THEN 'Some lines are no longer sold in this currency; remove them.'
                WHEN 'shipping_address_required' THEN 'Set the cart''s shipping address before checking out.'
                WHEN 'shipping_method_required'
                    THEN 'Choose one of GET /v1/carts/{id}/shipping-methods with PUT /v1/carts/{id}/shipping-method.'
                WHEN 'shipping_method_unavailable'
                    THEN 'The chosen shipping method no longer applies to this cart; choose another.'
                WHEN 'price_changed'
                    THEN 'Prices changed since the cart was last shown; show the cart again and confirm.'
                ELSE 'The cart''s coupon can no longer be used; remove it or try another.'
            END
        );
    END IF;

    -- -- a tax service's quote (derived.tax_quote: only the layer sets it, only when one is configured)
    IF derived ? 'tax_quote' THEN
        quote := shop.apply_tax_quote(quote, cart.shipping_address, derived -> 'tax_quote');
    END IF;

    -- -- stock: every line or none (PT409 out_of_stock names each short cart item) ------------------
    -- Line i of the quote becomes order item item_ids[i]. The order row is written last (see the top), so
    -- the foreign keys to it wait until then.
    item_ids := ARRAY(SELECT gen_random_uuid() FROM jsonb_array_elements(quote -> 'lines'));
    SET CONSTRAINTS
    shop.order_items_order_id_fkey,
    shop.order_allocations_order_item_id_fkey,
    shop.promotion_redemptions_order_id_fkey
    DEFERRED;
    INSERT INTO shop.order_allocations (order_item_id, warehouse_id, variant_id, quantity)
    SELECT item_ids[r.line], r.warehouse_id, r.variant_id, r.quantity
    FROM shop.reserve_stock(
        ARRAY(SELECT (l ->> 'variant_id')::uuid FROM jsonb_array_elements(quote -> 'lines') AS l),
        ARRAY(SELECT (l ->> 'quantity')::integer FROM jsonb_array_elements(quote -> 'lines') AS l),
        ARRAY(SELECT (l ->> 'item_id')::uuid FROM jsonb_array_elements(quote -> 'lines') AS l)
    ) AS r;

    -- -- the snapshot -----------------------------------------------------------------------------------
    INSERT INTO shop.order_items (
        id, order_id, position, variant_id, product_id, sku, name, quantity, unit_price, discount, line_total,
        tax_class, tax_rate_percent, tax
    )
    SELECT
        item_ids[l.n], new_order_id, l.n, (l.line ->> 'variant_id')::uuid, (l.line ->> 'product_id')::uuid,
        l.line ->> 'sku', l.line ->> 'name', (l.line ->> 'quantity')::integer, (l.line ->> 'unit_price')::bigint,
        (l.line ->> 'discount')::bigint, (l.line ->> 'line_total')::bigint, l.line ->> 'tax_class',
        coalesce((l.line ->> 'tax_rate_percent')::numeric, 0), coalesce((l.line ->> 'tax')::bigint, 0)
    FROM jsonb_array_elements(quote -> 'lines') WITH ORDINALITY AS l (line, n);

    -- Usage limits: one conditional UPDATE per limited promotion (PT409 coupon_exhausted when used up).
    PERFORM shop.redeem_promotions(new_order_id, buyer_id, buyer_email, quote -> 'promotions');

    -- The cart row is already locked (request_cart); it now points at the order, written just below.
    -- Whatever can be worked out before the number is, to keep the counter's lock short.
    coupon := (SELECT p.code FROM shop.promotions AS p WHERE p.id = cart.coupon_id);
    event_items := (
        SELECT jsonb_agg(jsonb_build_object('sku', l ->> 'sku', 'quantity', (l ->> 'quantity')::integer))
        FROM jsonb_array_elements(quote -> 'lines') AS l
    );
    UPDATE shop.carts AS c
    SET status = 'ordered', order_id = new_order_id, email = buyer_email, updated_at = now()
    WHERE c.id = cart.id;

    -- The order row, and the response built from it, before the number: from the number on, every other
    -- checkout waits for this one's commit, so that stretch holds only the insert and the event.
    -- Every column with a value is set here, defaults included, and the row is inserted whole, so the
    -- response shows exactly the row written (a new column of shop.orders needs its value here; the
    -- response test compares checkout's answer with GET /v1/orders/{id}).
    placed.id := new_order_id;
    placed.number := 0;  -- taken last, below
    placed.customer_id := buyer_id;
    placed.cart_id := cart.id;
    placed.email := buyer_email;
    placed.currency := cart.currency;
    placed.status := 'pending_payment';
    placed.payment_status := 'unpaid';
    placed.fulfillment_status := 'unfulfilled';
    placed.payment_method := method.code;
    placed.prices_include_tax := (quote ->> 'prices_include_tax')::boolean;
    placed.subtotal := (quote ->> 'subtotal')::bigint;
    placed.discount_total := (quote ->> 'discount_total')::bigint;
    placed.shipping_total := (quote ->> 'shipping_total')::bigint;
    placed.tax_total := (quote ->> 'tax_total')::bigint;
    placed.total := (quote ->> 'total')::bigint;
    placed.paid_amount := 0;
    placed.refunded_amount := 0;
    placed.shipping_address := cart.shipping_address;
    placed.shipping_method_id := (quote -> 'shipping' ->> 'method_id')::uuid;
    placed.shipping_method_code := quote -> 'shipping' ->> 'code';
    placed.shipping_method_name := quote -> 'shipping' ->> 'name';
    placed.shipping_tax := coalesce((quote -> 'shipping' ->> 'tax')::bigint, 0);
    placed.coupon_code := coupon;
    placed.tax_source := coalesce(quote ->> 'tax_source', 'builtin');
    placed.tax_fallback_reason := quote ->> 'tax_fallback_reason';
    placed.payment_due_at := now() + method.unpaid_cancel_after;
    placed.created_at := now();
    placed.updated_at := now();
    response := shop.order_json_of(placed);
    -- For the recommendations, counted later by the worker (shop.update_recommendations): an append here,
    -- before the number, rather than pair counts that would make checkouts of popular products wait.
    INSERT INTO shop.recommendation_inputs (order_id) VALUES (new_order_id);

    -- Last: the number (the counter's row lock is held from here to commit) and the order row.
    placed.number := shop.next_order_number();
    INSERT INTO shop.orders SELECT placed.*;
    SET CONSTRAINTS
    shop.order_items_order_id_fkey,
    shop.order_allocations_order_item_id_fkey,
    shop.promotion_redemptions_order_id_fkey
    IMMEDIATE;

    PERFORM integration.emit('order.created', new_order_id, jsonb_build_object(
        'order_id', new_order_id, 'number', placed.number, 'customer_id', buyer_id, 'email', buyer_email,
        'currency', cart.currency, 'total', placed.total, 'payment_method', method.code,
        'items', event_items
    ));

    RETURN jsonb_build_object('order', response || jsonb_build_object('number', placed.number));
END
$$;
COMMENT ON FUNCTION api.checkout(jsonb, jsonb) IS
'POST /v1/carts/{id}/checkout {payment_method, email?} (+ Idempotency-Key; X-Cart-Token for a guest cart): '
'places the caller''s open cart as an order in one transaction. Checks: a known active payment method, '
'an e-mail (the customer''s own, else email or the cart''s), a non-empty cart with a shipping address and '
'method, every line still for sale, no problem reported by shop.price_cart, and every quoted price still '
'current. Then reserves stock for every line or none (shop.reserve_stock: warehouse priority, lines may '
'split), snapshots lines, discounts, tax and totals, redeems the promotions within their usage limits, takes '
'the next gapless order number and emits order.created. Returns 201 {order}. Errors: PT422 '
'validation_failed (details.fields: payment_method, email), PT404 cart_not_found, PT409 cart_not_open; '
'PT409 with the first of shop.price_cart''s problems as the code (cart_empty, not_for_sale, '
'shipping_address_required, shipping_method_required, shipping_method_unavailable, coupon_not_applicable, '
'coupon_exhausted, price_changed), details.items the problems of that kind (price_changed: item_id, sku, '
'quoted_unit_price, unit_price) and details.problems all of them; PT409 out_of_stock (details.items: '
'item_id, variant_id, sku, requested, available) and coupon_exhausted when the stock or the coupon''s uses '
'ran out under a race. With a tax service configured, derived.tax_quote (the layer''s, never the client''s) '
'replaces the built-in tax when it priced exactly these lines and address (shop.apply_tax_quote); otherwise '
'the order keeps the built-in tax and is flagged tax_source builtin_fallback.';
REVOKE ALL ON FUNCTION api.checkout(jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.checkout(jsonb, jsonb) TO postcart_anon, postcart_customer;
