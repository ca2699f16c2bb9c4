-- Cart routes (/v1/carts...). Each takes the client's arguments and what the layer derived: derived
-- carries cart_token_sha256, the hex sha256 of the X-Cart-Token header (null without one); the plain
-- token never reaches the database. SECURITY DEFINER: shop.caller_cart decides who may use a cart (its
-- customer, or the holder of a guest cart's token); anonymous callers and customers may call them, staff
-- may not. Every write re-quotes the lines and pushes the expiry (shop.touch_cart) and answers with the
-- cart (shop.cart_json). docs/orders.md ("Carts") has the rules.

-- == helpers =========================================================================================
CREATE OR REPLACE FUNCTION shop.request_cart(args jsonb, derived jsonb, p_lock boolean)
RETURNS shop.carts
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    -- A malformed id or token is simply not found.
    RETURN shop.caller_cart(
        shop.uuid_or_null(args ->> 'id'),
        CASE WHEN derived ->> 'cart_token_sha256' ~ '^[0-9a-f]{64}$'
            THEN decode(derived ->> 'cart_token_sha256', 'hex') END,
        p_lock
    );
END
$$;
COMMENT ON FUNCTION shop.request_cart(jsonb, jsonb, boolean) IS
'The cart a cart route names (args.id) for the caller, through shop.caller_cart with the token hash the '
'layer derived (derived.cart_token_sha256, 64 hex digits). p_lock: for a change (locked, open). Raises '
'PT404 cart_not_found / PT409 cart_not_open. Returns the shop.carts row.';
REVOKE ALL ON FUNCTION shop.request_cart(jsonb, jsonb, boolean) FROM PUBLIC;

CREATE OR REPLACE FUNCTION shop.fail_fields(fields jsonb)
RETURNS void
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    IF fields IS NOT NULL AND fields <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed', jsonb_build_object('fields', fields),
            'Some fields are missing or invalid; details.fields says which and why.'
        );
    END IF;
END
$$;
COMMENT ON FUNCTION shop.fail_fields(jsonb) IS
'Raises PT422 validation_failed with details.fields when fields (a {name: reason} object) is not empty; '
'returns nothing otherwise.';
REVOKE ALL ON FUNCTION shop.fail_fields(jsonb) FROM PUBLIC;
-- The staff routes of promotions run as their caller.
GRANT EXECUTE ON FUNCTION shop.fail_fields(jsonb) TO postcart_staff;

CREATE OR REPLACE FUNCTION shop.cart_variant(args jsonb, p_currency char(3), p_quantity integer)
RETURNS shop.product_variants
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    by_id boolean := coalesce(jsonb_typeof(args -> 'variant_id'), 'null') <> 'null';
    variant shop.product_variants;
BEGIN
    IF by_id THEN
        SELECT v.* INTO variant FROM shop.product_variants AS v WHERE v.id = shop.uuid_or_null(args ->> 'variant_id');
    ELSE
        SELECT v.* INTO variant FROM shop.product_variants AS v WHERE v.sku = args ->> 'sku';
    END IF;
    IF variant.id IS NULL THEN
        PERFORM shop.fail(
            404, 'variant_not_found',
            jsonb_build_object('fields', CASE WHEN by_id
                THEN '{"variant_id": "no variant has this id"}'::jsonb
                ELSE '{"sku": "no variant has this SKU"}'::jsonb END),
            'There is no such variant.'
        );
    END IF;
    IF NOT EXISTS (SELECT FROM shop.caller_prices(ARRAY[variant.id], ARRAY[p_quantity], p_currency)) THEN
        PERFORM shop.fail(
            409, 'not_for_sale',
            jsonb_build_object('variant_id', variant.id, 'sku', variant.sku, 'currency', p_currency),
            'This item is not for sale (not published, or not priced in the cart''s currency).'
        );
    END IF;
    RETURN variant;
END
$$;
COMMENT ON FUNCTION shop.cart_variant(jsonb, char, integer) IS
'The variant an add-to-cart names (args.variant_id, else args.sku) when it is for sale to the caller in '
'p_currency at p_quantity (shop.caller_prices: a published product priced in it). Raises PT404 '
'variant_not_found (details.fields names variant_id or sku) or PT409 not_for_sale. Returns the variant row.';
REVOKE ALL ON FUNCTION shop.cart_variant(jsonb, char, integer) FROM PUBLIC;

CREATE OR REPLACE FUNCTION shop.require_orderable(p_variant shop.product_variants, p_quantity integer)
RETURNS void
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    available bigint;
BEGIN
    SELECT a.available INTO available FROM shop.orderable_quantities(ARRAY[p_variant.id]) AS a;
    IF p_quantity > available THEN
        PERFORM shop.fail(
            409, 'out_of_stock',
            jsonb_build_object(
                'variant_id', p_variant.id, 'sku', p_variant.sku, 'requested', p_quantity, 'available', available
            ),
            format('Only %s of this item can be ordered.', available)
        );
    END IF;
END
$$;
COMMENT ON FUNCTION shop.require_orderable(shop.product_variants, integer) IS
'Raises PT409 out_of_stock (details: variant_id, sku, requested, available) when a cart line of '
'p_quantity units of the variant exceeds shop.orderable_quantities; returns nothing otherwise.';
REVOKE ALL ON FUNCTION shop.require_orderable(shop.product_variants, integer) FROM PUBLIC;

CREATE OR REPLACE FUNCTION shop.cart_address(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    fields jsonb;
    region text := upper(btrim(args ->> 'region'));
    address shop.addresses;
BEGIN
    IF args ? 'address_id' THEN
        -- From the caller's own address book (a guest has none).
        SELECT a.* INTO address
        FROM shop.addresses AS a
        WHERE a.id = shop.uuid_or_null(args ->> 'address_id') AND a.customer_id = auth.current_customer_id();
        IF address.id IS NULL THEN
            PERFORM shop.fail(
                404, 'address_not_found', '{"fields": {"address_id": "is not one of your addresses"}}',
                'There is no such address in your address book.'
            );
        END IF;
        RETURN jsonb_build_object(
            'full_name', address.full_name, 'line1', address.line1, 'line2', address.line2,
            'city', address.city, 'region', address.region, 'postal_code', address.postal_code,
            'country', address.country, 'phone', address.phone
        );
    END IF;
    fields := auth.address_errors(args, FALSE) || jsonb_strip_nulls(jsonb_build_object(
        'region', coalesce(
            auth.text_field_error(args, 'region', FALSE, 3),
            CASE WHEN region !~ '^[A-Z0-9]{1,3}$' THEN 'must be an ISO 3166-2 subdivision code such as CA' END
        )
    ));
    PERFORM shop.fail_fields(fields);
    RETURN jsonb_build_object(
        'full_name', btrim(args ->> 'full_name'),
        'line1', btrim(args ->> 'line1'),
        'line2', nullif(btrim(args ->> 'line2'), ''),
        'city', btrim(args ->> 'city'),
        'region', nullif(region, ''),
        'postal_code', btrim(args ->> 'postal_code'),
        'country', upper(btrim(args ->> 'country')),
        'phone', nullif(btrim(args ->> 'phone'), '')
    );
END
$$;
COMMENT ON FUNCTION shop.cart_address(jsonb) IS
'The shipping address a PUT /v1/carts/{id}/shipping-address sends, checked and normalised: {address_id} '
'of the caller''s address book (else PT404 address_not_found), or {full_name, line1, line2?, city, '
'region?, postal_code, country, phone?} validated like an address book entry plus region (else PT422 '
'validation_failed). Returns {full_name, line1, line2, city, region, postal_code, country, phone}.';
REVOKE ALL ON FUNCTION shop.cart_address(jsonb) FROM PUBLIC;

-- == POST /v1/carts ==================================================================================
CREATE OR REPLACE FUNCTION api.create_cart(args jsonb, derived jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    customer uuid := auth.current_customer_id();
    wanted text := upper(btrim(args ->> 'currency'));
    cart_id uuid;
BEGIN
    IF coalesce(jsonb_typeof(args -> 'currency'), 'null') NOT IN ('null', 'string') THEN
        PERFORM shop.fail_fields('{"currency": "must be a string"}');
    END IF;
    -- The default, or a currency some variant is priced in (index probe on variant_prices (currency, ...)).
    -- Compared as char(3), the column's type: as text it would read every price row.
    IF wanted <> 'EUR' AND (
        wanted !~ '^[A-Z]{3}$' OR NOT EXISTS (SELECT FROM shop.variant_prices AS vp WHERE vp.currency = wanted::char(3))
    ) THEN
        PERFORM shop.fail_fields('{"currency": "is not a currency the store sells in"}');
    END IF;
    IF customer IS NOT NULL THEN
        -- One open cart per customer: theirs if they have one (in the currency asked for), else a new one.
        INSERT INTO shop.carts AS c (customer_id, currency)
        VALUES (customer, coalesce(wanted, 'EUR'))
        ON CONFLICT (customer_id) WHERE status = 'open' DO NOTHING
        RETURNING c.id INTO cart_id;
        IF cart_id IS NULL THEN
            UPDATE shop.carts AS c
            SET currency = coalesce(wanted, c.currency)
            WHERE c.customer_id = customer AND c.status = 'open'
            RETURNING c.id INTO cart_id;
        END IF;
    ELSIF derived ->> 'cart_token_sha256' ~ '^[0-9a-f]{64}$' THEN
        INSERT INTO shop.carts AS c (token_hash, currency)
        VALUES (decode(derived ->> 'cart_token_sha256', 'hex'), coalesce(wanted, 'EUR'))
        RETURNING c.id INTO cart_id;
    ELSE
        PERFORM shop.fail(
            400, 'cart_token_missing', '{}', 'A guest cart is made by the HTTP layer, which derives its token.'
        );
    END IF;
    PERFORM shop.touch_cart(cart_id);
    RETURN shop.cart_json(cart_id);
END
$$;
COMMENT ON FUNCTION api.create_cart(jsonb, jsonb) IS
'POST /v1/carts {currency?} (EUR, the default, or a currency some variant is priced in, else PT422 '
'validation_failed naming currency): a signed-in customer gets their open cart (switched to the currency '
'when one is given) or a new one; a guest gets a new cart whose token hash is derived.cart_token_sha256 '
'(the layer returns the plain token once, as cart_token). Returns the cart (shop.cart_json).';
REVOKE ALL ON FUNCTION api.create_cart(jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.create_cart(jsonb, jsonb) TO postcart_anon, postcart_customer;

-- == GET /v1/carts/{id} ==============================================================================
CREATE OR REPLACE FUNCTION api.get_cart(args jsonb, derived jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    RETURN shop.cart_json((shop.request_cart(args, derived, FALSE)).id);
END
$$;
COMMENT ON FUNCTION api.get_cart(jsonb, jsonb) IS
'GET /v1/carts/{id}: the caller''s cart (a guest''s with its X-Cart-Token), priced now: {id, currency, '
'status, email, items: [{id, variant_id, product_id, sku, name, variant_name, quantity, unit_price, '
'line_total, discount, tax, quoted_unit_price, price_changed, available_quantity}], subtotal, '
'discount_total, shipping_total, tax_total, total, coupon_code, promotions, shipping_address, '
'shipping_method, weight_grams, problems, expires_at, ...}. Errors: PT404 cart_not_found.';
REVOKE ALL ON FUNCTION api.get_cart(jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.get_cart(jsonb, jsonb) TO postcart_anon, postcart_customer;

-- == POST /v1/carts/{id}/items =======================================================================
CREATE OR REPLACE FUNCTION api.add_cart_item(args jsonb, derived jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    cart shop.carts := shop.request_cart(args, derived, TRUE);
    quantity integer;
    held integer;
    variant shop.product_variants;
BEGIN
    PERFORM shop.fail_fields(jsonb_strip_nulls(jsonb_build_object(
        'variant_id', CASE
            WHEN coalesce(jsonb_typeof(args -> 'variant_id'), 'null') = 'null'
                AND coalesce(jsonb_typeof(args -> 'sku'), 'null') = 'null' THEN 'variant_id or sku is required'
            WHEN coalesce(jsonb_typeof(args -> 'variant_id'), 'string') <> 'string' THEN 'must be a string'
        END,
        'sku', CASE WHEN coalesce(jsonb_typeof(args -> 'sku'), 'string') NOT IN ('string', 'null')
            THEN 'must be a string' END,
        'quantity', shop.whole_number_error(args, 'quantity', TRUE, 1, 999)
    )));
    quantity := (args ->> 'quantity')::integer;
    variant := shop.cart_variant(args, cart.currency, quantity);
    SELECT ci.quantity INTO held FROM shop.cart_items AS ci WHERE ci.cart_id = cart.id AND ci.variant_id = variant.id;
    IF coalesce(held, 0) + quantity > 999 THEN
        PERFORM shop.fail_fields(jsonb_build_object(
            'quantity', format('would make the line %s units; a line holds at most 999', held + quantity)
        ));
    END IF;
    IF held IS NULL AND (SELECT count(*) FROM shop.cart_items AS ci WHERE ci.cart_id = cart.id) >= shop.cart_max_lines() THEN
        PERFORM shop.fail(
            409, 'cart_full', jsonb_build_object('max_lines', shop.cart_max_lines()),
            format('A cart holds at most %s different items.', shop.cart_max_lines())
        );
    END IF;
    PERFORM shop.require_orderable(variant, coalesce(held, 0) + quantity);
    INSERT INTO shop.cart_items AS ci (cart_id, variant_id, quantity, quoted_unit_price)
    VALUES (cart.id, variant.id, coalesce(held, 0) + quantity, 0)
    ON CONFLICT (cart_id, variant_id) DO UPDATE SET quantity = excluded.quantity;
    PERFORM shop.touch_cart(cart.id);
    RETURN shop.cart_json(cart.id);
END
$$;
COMMENT ON FUNCTION api.add_cart_item(jsonb, jsonb) IS
'POST /v1/carts/{id}/items {variant_id or sku, quantity (1 to 999)}: adds units of a variant, to its line '
'when the cart has one. Errors: PT422 validation_failed (variant_id, sku, quantity: also when the line '
'would pass 999), PT404 variant_not_found, PT409 not_for_sale (unpublished, or not priced in the cart''s '
'currency), PT409 cart_full (100 lines), PT409 out_of_stock (details.available: what can be ordered), '
'PT404 cart_not_found, PT409 cart_not_open. Returns the cart (201).';
REVOKE ALL ON FUNCTION api.add_cart_item(jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.add_cart_item(jsonb, jsonb) TO postcart_anon, postcart_customer;

-- == PATCH / DELETE /v1/carts/{id}/items/{item_id} ====================================================
CREATE OR REPLACE FUNCTION shop.request_cart_item(cart shop.carts, args jsonb)
RETURNS shop.cart_items
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    item shop.cart_items;
BEGIN
    SELECT ci.* INTO item
    FROM shop.cart_items AS ci
    WHERE ci.id = shop.uuid_or_null(args ->> 'item_id') AND ci.cart_id = cart.id;
    IF item.id IS NULL THEN
        PERFORM shop.fail(
            404, 'cart_item_not_found', jsonb_build_object('item_id', args ->> 'item_id'),
            'This cart has no such line.'
        );
    END IF;
    RETURN item;
END
$$;
COMMENT ON FUNCTION shop.request_cart_item(shop.carts, jsonb) IS
'The line args.item_id of the given cart, else PT404 cart_item_not_found. Returns the shop.cart_items row.';
REVOKE ALL ON FUNCTION shop.request_cart_item(shop.carts, jsonb) FROM PUBLIC;

CREATE OR REPLACE FUNCTION api.update_cart_item(args jsonb, derived jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    cart shop.carts := shop.request_cart(args, derived, TRUE);
    item shop.cart_items := shop.request_cart_item(cart, args);
    wanted integer;
    variant shop.product_variants;
BEGIN
    PERFORM shop.fail_fields(jsonb_strip_nulls(jsonb_build_object(
        'quantity', shop.whole_number_error(args, 'quantity', TRUE, 0, 999)
    )));
    wanted := (args ->> 'quantity')::integer;
    IF wanted = 0 THEN
        DELETE FROM shop.cart_items AS ci WHERE ci.id = item.id;
    ELSE
        -- More units must be for sale and orderable; fewer are always fine.
        IF wanted > item.quantity THEN
            variant := shop.cart_variant(jsonb_build_object('variant_id', item.variant_id), cart.currency, wanted);
            PERFORM shop.require_orderable(variant, wanted);
        END IF;
        UPDATE shop.cart_items AS ci SET quantity = wanted WHERE ci.id = item.id;
    END IF;
    PERFORM shop.touch_cart(cart.id);
    RETURN shop.cart_json(cart.id);
END
$$;
COMMENT ON FUNCTION api.update_cart_item(jsonb, jsonb) IS
'PATCH /v1/carts/{id}/items/{item_id} {quantity (0 to 999; 0 removes the line)}. Raising a quantity '
'requires the variant still for sale and orderable. Errors: PT422 validation_failed (quantity), PT404 '
'cart_item_not_found, PT409 not_for_sale, PT409 out_of_stock (details.available), PT404 cart_not_found, '
'PT409 cart_not_open. Returns the cart.';
REVOKE ALL ON FUNCTION api.update_cart_item(jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.update_cart_item(jsonb, jsonb) TO postcart_anon, postcart_customer;

CREATE OR REPLACE FUNCTION api.delete_cart_item(args jsonb, derived jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    cart shop.carts := shop.request_cart(args, derived, TRUE);
    item shop.cart_items := shop.request_cart_item(cart, args);
BEGIN
    DELETE FROM shop.cart_items AS ci WHERE ci.id = item.id;
    PERFORM shop.touch_cart(cart.id);
    RETURN shop.cart_json(cart.id);
END
$$;
COMMENT ON FUNCTION api.delete_cart_item(jsonb, jsonb) IS
'DELETE /v1/carts/{id}/items/{item_id}: removes the line. Errors: PT404 cart_item_not_found, PT404 '
'cart_not_found, PT409 cart_not_open. Returns the cart.';
REVOKE ALL ON FUNCTION api.delete_cart_item(jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.delete_cart_item(jsonb, jsonb) TO postcart_anon, postcart_customer;

-- == PUT / DELETE /v1/carts/{id}/coupon ==============================================================
CREATE OR REPLACE FUNCTION api.set_cart_coupon(args jsonb, derived jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    cart shop.carts := shop.request_cart(args, derived, TRUE);
    coupon shop.promotions;
    priced jsonb;
    verdict jsonb;
BEGIN
    PERFORM shop.fail_fields(jsonb_strip_nulls(jsonb_build_object(
        'code', auth.text_field_error(args, 'code', TRUE, 64)
    )));
    SELECT p.* INTO coupon FROM shop.promotions AS p WHERE p.code = btrim(args ->> 'code')::citext AND p.active;
    IF coupon.id IS NULL THEN
        PERFORM shop.fail(
            404, 'coupon_not_found', '{"fields": {"code": "is not a valid coupon code"}}',
            'There is no such coupon, or it is no longer valid.'
        );
    END IF;
    priced := shop.price_cart(cart.id);
    verdict := shop.evaluate_promotion(
        coupon, cart.currency,
        (
            SELECT coalesce(jsonb_agg(jsonb_build_object(
                'product_id', l -> 'product_id',
                'amount', (l ->> 'unit_price')::bigint * (l ->> 'quantity')::bigint
            ) ORDER BY n), '[]')
            FROM jsonb_array_elements(priced -> 'lines') WITH ORDINALITY AS e (l, n)
        ),
        (priced -> 'shipping' ->> 'amount')::bigint, cart.customer_id, cart.email
    );
    IF verdict ->> 'reason' IN ('usage_limit', 'per_customer_limit') THEN
        PERFORM shop.fail(
            409, 'coupon_exhausted', jsonb_build_object('code', coupon.code, 'reason', verdict ->> 'reason'),
            'This coupon has been used as often as it may be.'
        );
    ELSIF verdict ->> 'reason' IS NOT NULL THEN
        PERFORM shop.fail(
            409, 'coupon_not_applicable',
            jsonb_strip_nulls(jsonb_build_object(
                'code', coupon.code,
                'reason', verdict ->> 'reason',
                'starts_at', CASE WHEN verdict ->> 'reason' = 'not_started' THEN coupon.starts_at END,
                'ends_at', CASE WHEN verdict ->> 'reason' = 'ended' THEN coupon.ends_at END,
                'currency', CASE WHEN verdict ->> 'reason' = 'currency' THEN coupon.currency END,
                'min_subtotal', CASE WHEN verdict ->> 'reason' = 'min_subtotal' THEN coupon.min_subtotal END,
                'eligible_subtotal', CASE WHEN verdict ->> 'reason' = 'min_subtotal'
                    THEN (verdict ->> 'eligible_subtotal')::bigint END
            )),
            'This coupon does not apply to this cart; details.reason says why.'
        );
    END IF;
    UPDATE shop.carts AS c SET coupon_id = coupon.id WHERE c.id = cart.id;
    PERFORM shop.touch_cart(cart.id);
    RETURN shop.cart_json(cart.id);
END
$$;
COMMENT ON FUNCTION api.set_cart_coupon(jsonb, jsonb) IS
'PUT /v1/carts/{id}/coupon {code}: applies a coupon (case-insensitive), replacing the cart''s previous one. '
'Errors: PT422 validation_failed (code), PT404 coupon_not_found (unknown or inactive), PT409 '
'coupon_exhausted (details.reason usage_limit or per_customer_limit), PT409 coupon_not_applicable '
'(details.reason: not_started, ended, currency, min_subtotal, no_eligible_items), PT404 cart_not_found, '
'PT409 cart_not_open. Returns the cart with the discount.';
REVOKE ALL ON FUNCTION api.set_cart_coupon(jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.set_cart_coupon(jsonb, jsonb) TO postcart_anon, postcart_customer;

CREATE OR REPLACE FUNCTION api.remove_cart_coupon(args jsonb, derived jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    cart shop.carts := shop.request_cart(args, derived, TRUE);
BEGIN
    UPDATE shop.carts AS c SET coupon_id = NULL WHERE c.id = cart.id;
    PERFORM shop.touch_cart(cart.id);
    RETURN shop.cart_json(cart.id);
END
$$;
COMMENT ON FUNCTION api.remove_cart_coupon(jsonb, jsonb) IS
'DELETE /v1/carts/{id}/coupon: removes the cart''s coupon (none: no change). Errors: PT404 cart_not_found, '
'PT409 cart_not_open. Returns the cart.';
REVOKE ALL ON FUNCTION api.remove_cart_coupon(jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.remove_cart_coupon(jsonb, jsonb) TO postcart_anon, postcart_customer;

-- == PUT /v1/carts/{id}/shipping-address, PATCH /v1/carts/{id} ========================================
CREATE OR REPLACE FUNCTION api.set_cart_shipping_address(args jsonb, derived jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    cart shop.carts := shop.request_cart(args, derived, TRUE);
BEGIN
    UPDATE shop.carts AS c SET shipping_address = shop.cart_address(args) WHERE c.id = cart.id;
    PERFORM shop.touch_cart(cart.id);
    RETURN shop.cart_json(cart.id);
END
$$;
COMMENT ON FUNCTION api.set_cart_shipping_address(jsonb, jsonb) IS
'PUT /v1/carts/{id}/shipping-address: {full_name, line1, line2?, city, region?, postal_code, country, '
'phone?}, or {address_id} of the signed-in customer''s address book. Tax and shipping follow the country '
'and region. Errors: PT422 validation_failed (details.fields), PT404 address_not_found, PT404 '
'cart_not_found, PT409 cart_not_open. Returns the cart.';
REVOKE ALL ON FUNCTION api.set_cart_shipping_address(jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.set_cart_shipping_address(jsonb, jsonb) TO postcart_anon, postcart_customer;

CREATE OR REPLACE FUNCTION api.update_cart(args jsonb, derived jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    cart shop.carts := shop.request_cart(args, derived, TRUE);
    new_email text := nullif(btrim(args ->> 'email'), '');
BEGIN
    IF args ? 'email' THEN
        PERFORM shop.fail_fields(jsonb_strip_nulls(jsonb_build_object(
            'email', coalesce(
                auth.text_field_error(args, 'email', FALSE, 254),
                CASE WHEN NOT auth.email_is_valid(new_email) THEN 'is not a valid e-mail address' END
            )
        )));
        UPDATE shop.carts AS c SET email = new_email WHERE c.id = cart.id;
    END IF;
    PERFORM shop.touch_cart(cart.id);
    RETURN shop.cart_json(cart.id);
END
$$;
COMMENT ON FUNCTION api.update_cart(jsonb, jsonb) IS
'PATCH /v1/carts/{id} {email}: the e-mail for checkout and the abandoned-cart mail (null or "" clears it). '
'Errors: PT422 validation_failed (email), PT404 cart_not_found, PT409 cart_not_open. Returns the cart.';
REVOKE ALL ON FUNCTION api.update_cart(jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.update_cart(jsonb, jsonb) TO postcart_anon, postcart_customer;

-- == shipping methods ================================================================================
CREATE OR REPLACE FUNCTION shop.cart_shipping_options(cart shop.carts)
RETURNS TABLE (method_id uuid, code text, name text, amount bigint, free_from_subtotal bigint)
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    priced jsonb;
BEGIN
    IF cart.shipping_address IS NULL THEN
        PERFORM shop.fail(
            409, 'shipping_address_required', '{}',
            'Set the cart''s shipping address first (PUT /v1/carts/{id}/shipping-address).'
        );
    END IF;
    priced := shop.price_cart(cart.id);
    RETURN QUERY
    SELECT o.method_id, o.code, o.name, o.amount, o.free_from_subtotal
    FROM shop.shipping_options(
        (cart.shipping_address ->> 'country')::char(2), cart.shipping_address ->> 'region',
        (priced ->> 'weight_grams')::bigint, (priced ->> 'subtotal')::bigint, cart.currency
    ) AS o;
END
$$;
COMMENT ON FUNCTION shop.cart_shipping_options(shop.carts) IS
'The shipping methods that apply to a cart: shop.shipping_options for its address''s country and region, '
'its weight and its subtotal before discounts (as shop.price_cart prices them), cheapest first. Raises '
'PT409 shipping_address_required without an address. Returns (method_id, code, name, amount, '
'free_from_subtotal).';
REVOKE ALL ON FUNCTION shop.cart_shipping_options(shop.carts) FROM PUBLIC;

CREATE OR REPLACE FUNCTION api.list_cart_shipping_methods(args jsonb, derived jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    cart shop.carts := shop.request_cart(args, derived, FALSE);
BEGIN
    RETURN jsonb_build_object('items', (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
            'code', o.code,
            'name', o.name,
            'amount', shop.money_json(o.amount, cart.currency),
            'free_from_subtotal', CASE WHEN o.free_from_subtotal IS NOT NULL
                THEN shop.money_json(o.free_from_subtotal, cart.currency) END,
            'selected', o.method_id IS NOT DISTINCT FROM cart.shipping_method_id
        ) ORDER BY n), '[]')
        FROM shop.cart_shipping_options(cart) WITH ORDINALITY AS o (method_id, code, name, amount, free_from_subtotal, n)
    ));
END
$$;
COMMENT ON FUNCTION api.list_cart_shipping_methods(jsonb, jsonb) IS
'GET /v1/carts/{id}/shipping-methods: the methods that apply to the cart''s address, weight and subtotal, '
'cheapest first: {items: [{code, name, amount: money, free_from_subtotal: money | null, selected}]}. '
'Errors: PT409 shipping_address_required, PT404 cart_not_found.';
REVOKE ALL ON FUNCTION api.list_cart_shipping_methods(jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.list_cart_shipping_methods(jsonb, jsonb) TO postcart_anon, postcart_customer;

CREATE OR REPLACE FUNCTION api.set_cart_shipping_method(args jsonb, derived jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    cart shop.carts := shop.request_cart(args, derived, TRUE);
    chosen uuid;
BEGIN
    PERFORM shop.fail_fields(jsonb_strip_nulls(jsonb_build_object(
        'code', auth.text_field_error(args, 'code', TRUE, 64)
    )));
    SELECT o.method_id INTO chosen FROM shop.cart_shipping_options(cart) AS o WHERE o.code = btrim(args ->> 'code');
    IF chosen IS NULL THEN
        PERFORM shop.fail(
            409, 'shipping_method_unavailable',
            jsonb_build_object(
                'fields', '{"code": "is not a shipping method for this cart"}'::jsonb,
                'available', (SELECT coalesce(jsonb_agg(o.code), '[]') FROM shop.cart_shipping_options(cart) AS o)
            ),
            'This shipping method does not serve the cart''s address and weight; details.available lists those that do.'
        );
    END IF;
    UPDATE shop.carts AS c SET shipping_method_id = chosen WHERE c.id = cart.id;
    PERFORM shop.touch_cart(cart.id);
    RETURN shop.cart_json(cart.id);
END
$$;
COMMENT ON FUNCTION api.set_cart_shipping_method(jsonb, jsonb) IS
'PUT /v1/carts/{id}/shipping-method {code}: chooses one of the methods GET .../shipping-methods lists. '
'Errors: PT422 validation_failed (code), PT409 shipping_address_required, PT409 '
'shipping_method_unavailable (details.available: the codes that apply), PT404 cart_not_found, PT409 '
'cart_not_open. Returns the cart.';
REVOKE ALL ON FUNCTION api.set_cart_shipping_method(jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.set_cart_shipping_method(jsonb, jsonb) TO postcart_anon, postcart_customer;
