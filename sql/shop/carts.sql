-- Carts over the tables of migration 0025: who may see and change a cart (its customer, or the holder of
-- its guest token), what it costs (shop.price_cart: the one pricing of a cart, also what checkout
-- snapshots), its JSON, the re-quote every write does, the merge of a guest cart at login, and the
-- sweep of abandoned carts. docs/orders.md ("Carts") has the rules. Repeatable: applied after the
-- migrations on every deploy. The functions that call rules of files applied later (prices, tax,
-- shipping, auth) are plpgsql, which binds names when it runs.

-- == triggers ========================================================================================
CREATE OR REPLACE TRIGGER _900_updated_at
BEFORE UPDATE ON shop.carts
FOR EACH ROW EXECUTE FUNCTION shop.tg__set_updated_at();
CREATE OR REPLACE TRIGGER _900_updated_at
BEFORE UPDATE ON shop.cart_items
FOR EACH ROW EXECUTE FUNCTION shop.tg__set_updated_at();

-- == limits ==========================================================================================
CREATE OR REPLACE FUNCTION shop.cart_max_lines()
RETURNS integer
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT 100
$$;
COMMENT ON FUNCTION shop.cart_max_lines() IS
'How many lines a cart may hold (100): one more is PT409 cart_full. Returns integer.';
REVOKE ALL ON FUNCTION shop.cart_max_lines() FROM PUBLIC;

CREATE OR REPLACE FUNCTION shop.cart_lifetime()
RETURNS interval
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT interval '30 days'
$$;
COMMENT ON FUNCTION shop.cart_lifetime() IS
'How long an open cart lives after its last change (30 days): every write sets expires_at to now() plus '
'this; past it the worker marks the cart abandoned. Returns interval.';
REVOKE ALL ON FUNCTION shop.cart_lifetime() FROM PUBLIC;

-- == availability ====================================================================================
CREATE OR REPLACE FUNCTION shop.orderable_quantities(p_variant_ids uuid[])
RETURNS TABLE (variant_id uuid, available bigint)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    -- shop.stock_available is the one definition of what a stock row can still sell; a backorder limit
    -- lets each warehouse holding the variant promise that many units more.
    RETURN QUERY
    SELECT ids.id, greatest(coalesce(sum(shop.stock_available(s.on_hand, s.reserved) + s.backorder_limit), 0), 0)::bigint
    FROM unnest(p_variant_ids) AS ids (id)
    LEFT JOIN shop.stock_levels AS s ON ids.id = s.variant_id
    GROUP BY ids.id;
END
$$;
COMMENT ON FUNCTION shop.orderable_quantities(uuid[]) IS
'How many units of each given variant a cart may hold: the sum over its warehouses of what each stock row '
'can still sell (shop.stock_available: on_hand - reserved) plus its backorder_limit, never below 0 (0 '
'without stock rows). Returns one (variant_id, available) per distinct id.';
REVOKE ALL ON FUNCTION shop.orderable_quantities(uuid[]) FROM PUBLIC;

-- == access ==========================================================================================
CREATE OR REPLACE FUNCTION shop.caller_cart(p_cart_id uuid, p_token_sha256 bytea, p_lock boolean)
RETURNS shop.carts
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    customer uuid := auth.current_customer_id();
    found_cart shop.carts;
BEGIN
    -- A customer's cart is theirs by account; a guest cart by its token. Anything else, existing or not,
    -- gets the same answer, so a cart id reveals nothing.
    IF p_lock THEN
        SELECT c.* INTO found_cart
        FROM shop.carts AS c
        WHERE c.id = p_cart_id
            AND (c.customer_id = customer OR (c.customer_id IS NULL AND c.token_hash = p_token_sha256))
        FOR NO KEY UPDATE;
    ELSE
        SELECT c.* INTO found_cart
        FROM shop.carts AS c
        WHERE c.id = p_cart_id
            AND (c.customer_id = customer OR (c.customer_id IS NULL AND c.token_hash = p_token_sha256));
    END IF;
    IF found_cart.id IS NULL THEN
        PERFORM shop.fail(
            404, 'cart_not_found', jsonb_build_object('id', p_cart_id),
            'There is no such cart, or it is not yours (a guest cart needs its X-Cart-Token).'
        );
    END IF;
    IF p_lock AND found_cart.status <> 'open' THEN
        PERFORM shop.fail(
            409, 'cart_not_open', jsonb_build_object('id', p_cart_id, 'status', found_cart.status),
            'This cart can no longer change (it was ordered, merged or abandoned); start a new cart.'
        );
    END IF;
    RETURN found_cart;
END
$$;
COMMENT ON FUNCTION shop.caller_cart(uuid, bytea, boolean) IS
'The cart p_cart_id when the caller may use it: a signed-in customer''s own cart, or a guest cart '
'(no customer) whose token_hash equals p_token_sha256 (sha256 of the X-Cart-Token the layer hashed). '
'Otherwise PT404 cart_not_found, the same whether the cart exists or not. With p_lock, for a change '
'(or checkout): locks the row (FOR NO KEY UPDATE) and requires status open (else PT409 cart_not_open). '
'Returns the shop.carts row.';
-- No grants: the cart routes and checkout (definer functions) call it.
REVOKE ALL ON FUNCTION shop.caller_cart(uuid, bytea, boolean) FROM PUBLIC;

-- == pricing =========================================================================================
CREATE OR REPLACE FUNCTION shop.price_cart(p_cart_id uuid)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    cart shop.carts;
    include_tax boolean := shop.prices_include_tax();
    country char(2);
    region text;
    lines jsonb;
    subtotal bigint;
    weight bigint;
    method_id uuid;
    method_code text;
    method_name text;
    method_tax_class text;
    shipping_amount bigint;
    promos jsonb;
    taxes jsonb;
    shipping_tax bigint := 0;
    problems jsonb := '[]';
    priced_lines jsonb;
    discount_total bigint;
    tax_total bigint;
    shipping_json jsonb;
BEGIN
    SELECT * INTO cart FROM shop.carts AS c WHERE c.id = p_cart_id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    country := upper(cart.shipping_address ->> 'country');
    region := nullif(cart.shipping_address ->> 'region', '');

    -- -- lines at the caller's prices now (customer group, tiers for the quantity, markdowns) ----------
    SELECT coalesce(jsonb_agg(jsonb_build_object(
        'item_id', l.id,
        'variant_id', l.variant_id,
        'product_id', l.product_id,
        'sku', l.sku,
        'name', l.product_name,
        'variant_name', l.variant_name,
        'quantity', l.quantity,
        'quoted_unit_price', l.quoted_unit_price,
        'unit_price', l.amount,
        'amount', l.amount * l.quantity,
        'tax_class', l.tax_class,
        'weight_grams', l.weight_grams * l.quantity
    ) ORDER BY l.created_at, l.id), '[]')
    INTO lines
    FROM (
        SELECT
            ci.id, ci.variant_id, v.product_id, v.sku, p.name AS product_name, v.name AS variant_name,
            ci.quantity, ci.quoted_unit_price, r.amount, p.tax_class, v.weight_grams, ci.created_at
        FROM shop.cart_items AS ci
        INNER JOIN shop.product_variants AS v ON ci.variant_id = v.id
        INNER JOIN shop.products AS p ON v.product_id = p.id
        LEFT JOIN shop.caller_prices(
            ARRAY(SELECT i.variant_id FROM shop.cart_items AS i WHERE i.cart_id = cart.id ORDER BY i.variant_id),
            ARRAY(SELECT i.quantity FROM shop.cart_items AS i WHERE i.cart_id = cart.id ORDER BY i.variant_id),
            cart.currency
        ) AS r ON ci.variant_id = r.variant_id
        WHERE ci.cart_id = cart.id
    ) AS l;

    SELECT
        coalesce(sum((l ->> 'amount')::bigint), 0),
        coalesce(sum((l ->> 'weight_grams')::bigint) FILTER (WHERE l ->> 'amount' IS NOT NULL), 0)
    INTO subtotal, weight
    FROM jsonb_array_elements(lines) AS l;

    SELECT problems || coalesce(jsonb_agg(p.problem ORDER BY p.n), '[]')
    INTO problems
    FROM (
        SELECT e.n, jsonb_build_object('code', 'not_for_sale', 'item_id', e.l -> 'item_id', 'sku', e.l -> 'sku') AS problem
        FROM jsonb_array_elements(lines) WITH ORDINALITY AS e (l, n)
        WHERE e.l ->> 'unit_price' IS NULL
        UNION ALL
        SELECT e.n, jsonb_build_object(
            'code', 'price_changed', 'item_id', e.l -> 'item_id', 'sku', e.l -> 'sku',
            'quoted_unit_price', e.l -> 'quoted_unit_price', 'unit_price', e.l -> 'unit_price'
        )
        FROM jsonb_array_elements(lines) WITH ORDINALITY AS e (l, n)
        WHERE (e.l ->> 'unit_price')::bigint <> (e.l ->> 'quoted_unit_price')::bigint
    ) AS p;
    IF jsonb_array_length(lines) = 0 THEN
        problems := problems || '[{"code": "cart_empty"}]';
    END IF;

    -- -- shipping: the chosen method, priced for the address, weight and subtotal (before discounts) ----
    IF cart.shipping_address IS NULL THEN
        problems := problems || '[{"code": "shipping_address_required"}]';
    ELSIF cart.shipping_method_id IS NULL THEN
        problems := problems || '[{"code": "shipping_method_required"}]';
    ELSE
        SELECT o.method_id, o.code, o.name, o.tax_class, o.amount
        INTO method_id, method_code, method_name, method_tax_class, shipping_amount
        FROM shop.shipping_options(country, region, weight, subtotal, cart.currency) AS o
        WHERE o.method_id = cart.shipping_method_id;
        IF method_id IS NULL THEN
            problems := problems || jsonb_build_array(jsonb_build_object(
                'code', 'shipping_method_unavailable',
                'method', (SELECT m.code FROM shop.shipping_methods AS m WHERE m.id = cart.shipping_method_id)
            ));
        END IF;
    END IF;

    -- -- promotions: one coupon plus the best automatic one (shop.cart_promotions) ----------------------
    promos := shop.cart_promotions(cart, lines, shipping_amount);
    problems := problems || (promos -> 'problems');
    IF (promos ->> 'free_shipping')::boolean AND shipping_amount IS NOT NULL THEN
        shipping_amount := 0;
    END IF;

    -- -- tax per line on the amounts after discount, and on shipping as its method's class -------------
    IF country IS NOT NULL THEN
    WITH discounted AS (
        SELECT
            e.n,
            coalesce((e.l ->> 'amount')::bigint, 0) - (promos -> 'line_discounts' ->> (e.n::integer - 1))::bigint AS amount,
            e.l ->> 'tax_class' AS tax_class
        FROM jsonb_array_elements(lines) WITH ORDINALITY AS e (l, n)
        UNION ALL
        SELECT jsonb_array_length(lines) + 1, shipping_amount, method_tax_class
        WHERE shipping_amount IS NOT NULL
    )

    SELECT jsonb_agg(jsonb_build_object('rate_percent', t.rate_percent, 'tax', t.tax) ORDER BY t.line)
    INTO taxes
    FROM shop.compute_tax(
        ARRAY(SELECT d.amount FROM discounted AS d ORDER BY d.n),
        ARRAY(SELECT d.tax_class FROM discounted AS d ORDER BY d.n),
        country, region, include_tax
    ) AS t;
    END IF;
    IF shipping_amount IS NOT NULL AND taxes IS NOT NULL THEN
        shipping_tax := (taxes -> jsonb_array_length(lines) ->> 'tax')::bigint;
    END IF;

    SELECT
        coalesce(jsonb_agg(e.l - 'amount' || jsonb_build_object(
            'discount', d.discount,
            'line_total', CASE WHEN e.l ->> 'amount' IS NOT NULL THEN (e.l ->> 'amount')::bigint - d.discount END,
            'tax_rate_percent', coalesce((taxes -> (e.n::integer - 1) ->> 'rate_percent')::numeric, 0),
            'tax', coalesce((taxes -> (e.n::integer - 1) ->> 'tax')::bigint, 0)
        ) ORDER BY e.n), '[]'),
        coalesce(sum(d.discount), 0),
        coalesce(sum((taxes -> (e.n::integer - 1) ->> 'tax')::bigint), 0)
    INTO priced_lines, discount_total, tax_total
    FROM jsonb_array_elements(lines) WITH ORDINALITY AS e (l, n)
    CROSS JOIN LATERAL (
        SELECT (promos -> 'line_discounts' ->> (e.n::integer - 1))::bigint AS discount
    ) AS d;
    tax_total := tax_total + shipping_tax;

    IF shipping_amount IS NOT NULL THEN
        shipping_json := jsonb_build_object(
            'method_id', method_id, 'code', method_code, 'name', method_name,
            'amount', shipping_amount, 'tax', shipping_tax, 'tax_class', method_tax_class
        );
    END IF;

    RETURN jsonb_build_object(
        'cart_id', cart.id,
        'currency', cart.currency,
        'lines', priced_lines,
        'subtotal', subtotal,
        'discount_total', discount_total,
        'shipping', shipping_json,
        'shipping_total', coalesce(shipping_amount, 0),
        'tax_total', tax_total,
        'total', subtotal - discount_total + coalesce(shipping_amount, 0)
        + CASE WHEN include_tax THEN 0 ELSE tax_total END,
        'weight_grams', weight,
        'prices_include_tax', include_tax,
        -- Tax needs the destination: without an address it is 0 for now, and says so.
        'tax_calculated', country IS NOT NULL,
        'promotions', (
            SELECT coalesce(jsonb_agg(p - 'name' ORDER BY n), '[]')
            FROM jsonb_array_elements(promos -> 'promotions') WITH ORDINALITY AS x (p, n)
        ),
        'problems', problems
    );
END
$$;
COMMENT ON FUNCTION shop.price_cart(uuid) IS
'THE pricing of a cart (checkout snapshots it; the cart JSON renders it), for the caller now: unit prices '
'from shop.caller_prices (customer group, quantity tiers, markdowns), promotions by the stacking rule '
'(shop.cart_promotions), the chosen shipping method priced by shop.shipping_options for the address, '
'weight and subtotal before discounts (free_shipping makes it 0), tax per line by shop.compute_tax on '
'each line after its discount and on shipping as its method''s tax class (0 without an address: '
'tax_calculated false). All amounts are bigint minor units. Returns NULL for an unknown cart, else '
'{cart_id, currency, lines: [{item_id, variant_id, product_id, sku, name, variant_name, quantity, '
'quoted_unit_price, unit_price (NULL: not for sale), discount, line_total (quantity x unit_price - '
'discount; NULL when not for sale), tax_class, tax_rate_percent, tax, weight_grams (of the line)}], '
'subtotal, discount_total, shipping: {method_id, code, name, amount, tax, tax_class} | null, '
'shipping_total, tax_total, total (subtotal - discount_total + shipping_total, + tax_total when prices '
'exclude tax), weight_grams, prices_include_tax, tax_calculated, promotions: [{promotion_id, code, kind, '
'amount}], problems: [{code, ...}]}. problems lists what blocks checkout: cart_empty, not_for_sale '
'(item_id, sku), price_changed (item_id, sku, quoted_unit_price, unit_price), shipping_address_required, '
'shipping_method_required, shipping_method_unavailable (method), coupon_not_applicable / '
'coupon_exhausted (coupon_code, reason). Lines not for sale count in no total. Does not check access: '
'callers go through shop.caller_cart first.';
REVOKE ALL ON FUNCTION shop.price_cart(uuid) FROM PUBLIC;

-- == the cart as the API shows it ====================================================================
CREATE OR REPLACE FUNCTION shop.cart_json(p_cart_id uuid)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    cart shop.carts;
    priced jsonb := shop.price_cart(p_cart_id);
    cur char(3);
BEGIN
    SELECT * INTO cart FROM shop.carts AS c WHERE c.id = p_cart_id;
    cur := cart.currency;
    RETURN jsonb_build_object(
        'id', cart.id,
        'currency', cur,
        'status', cart.status,
        'email', cart.email,
        'items', (
            SELECT coalesce(jsonb_agg(jsonb_build_object(
                'id', l -> 'item_id',
                'variant_id', l -> 'variant_id',
                'product_id', l -> 'product_id',
                'sku', l -> 'sku',
                'name', l -> 'name',
                'variant_name', l -> 'variant_name',
                'quantity', l -> 'quantity',
                'unit_price', CASE WHEN l ->> 'unit_price' IS NOT NULL
                    THEN shop.money_json((l ->> 'unit_price')::bigint, cur) END,
                'line_total', CASE WHEN l ->> 'line_total' IS NOT NULL
                    THEN shop.money_json((l ->> 'line_total')::bigint, cur) END,
                'discount', shop.money_json((l ->> 'discount')::bigint, cur),
                'tax', shop.money_json((l ->> 'tax')::bigint, cur),
                'quoted_unit_price', shop.money_json((l ->> 'quoted_unit_price')::bigint, cur),
                'price_changed', (l ->> 'unit_price')::bigint IS DISTINCT FROM (l ->> 'quoted_unit_price')::bigint,
                'available_quantity', a.available
            ) ORDER BY e.n), '[]')
            FROM jsonb_array_elements(priced -> 'lines') WITH ORDINALITY AS e (l, n)
            LEFT JOIN shop.orderable_quantities(
                ARRAY(SELECT (x ->> 'variant_id')::uuid FROM jsonb_array_elements(priced -> 'lines') AS x)
            ) AS a ON (e.l ->> 'variant_id')::uuid = a.variant_id
        ),
        'subtotal', shop.money_json((priced ->> 'subtotal')::bigint, cur),
        'discount_total', shop.money_json((priced ->> 'discount_total')::bigint, cur),
        'shipping_total', shop.money_json((priced ->> 'shipping_total')::bigint, cur),
        'tax_total', shop.money_json((priced ->> 'tax_total')::bigint, cur),
        'total', shop.money_json((priced ->> 'total')::bigint, cur),
        'prices_include_tax', priced -> 'prices_include_tax',
        'tax_calculated', priced -> 'tax_calculated',
        'coupon_code', (SELECT p.code FROM shop.promotions AS p WHERE p.id = cart.coupon_id),
        'promotions', (
            SELECT coalesce(jsonb_agg(jsonb_build_object(
                'code', p -> 'code', 'name', pr.name, 'kind', p -> 'kind',
                'amount', shop.money_json((p ->> 'amount')::bigint, cur)
            ) ORDER BY n), '[]')
            FROM jsonb_array_elements(priced -> 'promotions') WITH ORDINALITY AS x (p, n)
            LEFT JOIN shop.promotions AS pr ON (x.p ->> 'promotion_id')::uuid = pr.id
        ),
        'shipping_address', cart.shipping_address,
        'shipping_method', CASE WHEN priced -> 'shipping' <> 'null' THEN jsonb_build_object(
            'code', priced -> 'shipping' -> 'code',
            'name', priced -> 'shipping' -> 'name',
            'amount', shop.money_json((priced -> 'shipping' ->> 'amount')::bigint, cur)
        ) END,
        'weight_grams', priced -> 'weight_grams',
        'problems', priced -> 'problems',
        'created_at', to_char(cart.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'updated_at', to_char(cart.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'expires_at', to_char(cart.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
    );
END
$$;
COMMENT ON FUNCTION shop.cart_json(uuid) IS
'A cart as the API shows it, rendered from shop.price_cart: {id, currency, status, email, items: [{id, '
'variant_id, product_id, sku, name, variant_name, quantity, unit_price, line_total, discount, tax, '
'quoted_unit_price, price_changed, available_quantity}], subtotal, discount_total, shipping_total, '
'tax_total, total, prices_include_tax, tax_calculated, coupon_code, promotions: [{code, name, kind, '
'amount}], shipping_address, shipping_method: {code, name, amount} | null, weight_grams, problems, '
'created_at, updated_at, expires_at}; every amount money {amount, currency} (unit_price and line_total '
'null for a line no longer for sale). Does not check access.';
REVOKE ALL ON FUNCTION shop.cart_json(uuid) FROM PUBLIC;

-- == every write: re-quote and push the expiry =======================================================
CREATE OR REPLACE FUNCTION shop.touch_cart(p_cart_id uuid)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    cart_currency char(3);
BEGIN
    UPDATE shop.carts AS c
    SET expires_at = now() + shop.cart_lifetime()
    WHERE c.id = p_cart_id
    RETURNING c.currency INTO cart_currency;
    -- The customer has now been shown the current prices (lines no longer for sale keep their quote).
    UPDATE shop.cart_items AS ci
    SET quoted_unit_price = r.amount
    FROM shop.caller_prices(
        ARRAY(SELECT i.variant_id FROM shop.cart_items AS i WHERE i.cart_id = p_cart_id ORDER BY i.variant_id),
        ARRAY(SELECT i.quantity FROM shop.cart_items AS i WHERE i.cart_id = p_cart_id ORDER BY i.variant_id),
        cart_currency
    ) AS r
    WHERE ci.cart_id = p_cart_id AND ci.variant_id = r.variant_id AND ci.quoted_unit_price <> r.amount;
END
$$;
COMMENT ON FUNCTION shop.touch_cart(uuid) IS
'Called at the end of every cart write: pushes expires_at to now() + shop.cart_lifetime() and re-quotes '
'every line still for sale (quoted_unit_price := the caller''s current unit price for its quantity). '
'Returns nothing.';
REVOKE ALL ON FUNCTION shop.touch_cart(uuid) FROM PUBLIC;

-- == merge at login ==================================================================================
CREATE OR REPLACE FUNCTION shop.merge_cart_at_login(p_account_id uuid, p_token_sha256 bytea)
RETURNS uuid
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    guest shop.carts;
    target shop.carts;
    caller_claims text;
BEGIN
    IF p_account_id IS NULL OR p_token_sha256 IS NULL
        OR NOT EXISTS (SELECT FROM auth.accounts AS a WHERE a.id = p_account_id AND a.kind = 'customer') THEN
        RETURN NULL;
    END IF;
    -- The guest cart first, then the customer's: every merge locks in this order.
    SELECT c.* INTO guest
    FROM shop.carts AS c
    WHERE c.token_hash = p_token_sha256 AND c.customer_id IS NULL AND c.status = 'open'
    FOR NO KEY UPDATE;
    IF guest.id IS NULL THEN
        RETURN NULL;  -- unknown, foreign, already merged or ordered: nothing to merge, the login goes on
    END IF;
    -- One merge per customer at a time, so two logins cannot both adopt a guest cart.
    PERFORM pg_advisory_xact_lock(hashtextextended('cart-owner:' || p_account_id, 0));
    SELECT c.* INTO target
    FROM shop.carts AS c
    WHERE c.customer_id = p_account_id AND c.status = 'open'
    FOR NO KEY UPDATE;

    IF target.id IS NULL THEN
        -- No cart of their own: the guest cart becomes theirs, and its token stops working. A cart the
        -- customer made meanwhile (POST /v1/carts elsewhere) wins the one-open-cart index: merge into it.
        BEGIN
            UPDATE shop.carts AS c
            SET customer_id = p_account_id, token_hash = NULL
            WHERE c.id = guest.id;
            target := guest;
        EXCEPTION WHEN unique_violation THEN
            SELECT c.* INTO target
            FROM shop.carts AS c
            WHERE c.customer_id = p_account_id AND c.status = 'open'
            FOR NO KEY UPDATE;
        END;
    END IF;
    IF target.id IS DISTINCT FROM guest.id THEN
        -- Same variant: quantities add up, capped at 999 and at what can be ordered (but never below what
        -- the customer's cart already held); new lines while the cart has room for them.
        WITH wanted AS (
            SELECT g.variant_id, g.quantity AS add_quantity, g.quoted_unit_price, g.created_at, t.quantity AS held
            FROM shop.cart_items AS g
            LEFT JOIN shop.cart_items AS t ON t.cart_id = target.id AND g.variant_id = t.variant_id
            WHERE g.cart_id = guest.id
        ),

        capped AS (
            SELECT
                w.variant_id,
                w.quoted_unit_price,
                w.held,
                least(coalesce(w.held, 0) + w.add_quantity, 999, greatest(a.available, coalesce(w.held, 0))) AS quantity,
                row_number() OVER (PARTITION BY w.held IS NULL ORDER BY w.created_at, w.variant_id) AS new_rank
            FROM wanted AS w
            INNER JOIN shop.orderable_quantities(ARRAY(SELECT w2.variant_id FROM wanted AS w2)) AS a
                ON w.variant_id = a.variant_id
        )

        INSERT INTO shop.cart_items AS ci (cart_id, variant_id, quantity, quoted_unit_price)
        SELECT target.id, c.variant_id, c.quantity, c.quoted_unit_price
        FROM capped AS c
        WHERE c.quantity > 0
            AND (
                c.held IS NOT NULL
                OR c.new_rank <= shop.cart_max_lines()
                - (SELECT count(*) FROM shop.cart_items AS i WHERE i.cart_id = target.id)
            )
        ON CONFLICT (cart_id, variant_id) DO UPDATE SET quantity = excluded.quantity;

        UPDATE shop.carts AS c
        SET
            coupon_id = coalesce(c.coupon_id, guest.coupon_id),
            email = coalesce(c.email, guest.email),
            shipping_address = coalesce(c.shipping_address, guest.shipping_address),
            shipping_method_id = CASE WHEN c.shipping_address IS NULL THEN guest.shipping_method_id
                ELSE c.shipping_method_id END
        WHERE c.id = target.id;
        UPDATE shop.carts AS c SET status = 'merged', merged_into = target.id WHERE c.id = guest.id;
    END IF;

    -- Quote the customer's own prices (their group's) through the one re-quote, as the customer.
    caller_claims := current_setting('request.claims', TRUE);
    PERFORM set_config('request.claims', jsonb_build_object('sub', p_account_id, 'kind', 'customer')::text, TRUE);
    PERFORM shop.touch_cart(target.id);
    PERFORM set_config('request.claims', coalesce(caller_claims, ''), TRUE);
    RETURN target.id;
END
$$;
COMMENT ON FUNCTION shop.merge_cart_at_login(uuid, bytea) IS
'For the login step (postcart_authenticator, in the login''s transaction): merges the open guest cart whose '
'token_hash is p_token_sha256 into customer p_account_id''s open cart. Without one, the guest cart becomes '
'theirs (its token stops working). Else lines of the same variant add up, capped at 999 and at the '
'orderable quantity (never below what the customer''s cart held), other lines are added while there is '
'room (100 lines), and the customer''s cart takes the guest''s coupon, e-mail and address (with its '
'method) when it has none; the guest cart becomes merged (merged_into). The customer''s cart is then '
'written as any cart write (shop.touch_cart under the customer''s claims: re-quoted at their prices, expiry '
'pushed). A bad, foreign or used token, or a staff account, merges nothing and raises nothing. '
'Returns the customer''s cart id, or NULL when nothing was merged.';
REVOKE ALL ON FUNCTION shop.merge_cart_at_login(uuid, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.merge_cart_at_login(uuid, bytea) TO postcart_authenticator;

-- == abandoned carts =================================================================================
CREATE OR REPLACE FUNCTION shop.sweep_abandoned_carts(p_batch_size integer DEFAULT 1000)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    swept integer;
BEGIN
    PERFORM shop.check_batch_size(p_batch_size);
    -- Oldest first; carts a request holds are skipped (a write is about to push their expiry anyway),
    -- and the UPDATE rechecks the expiry on the row as it is now.
    WITH due AS (
        SELECT c.id
        FROM shop.carts AS c
        WHERE c.status = 'open' AND c.expires_at < now()
        ORDER BY c.expires_at
        LIMIT p_batch_size
        FOR UPDATE SKIP LOCKED
    ),

    gone AS (
        UPDATE shop.carts AS c
        SET status = 'abandoned', abandoned_at = now()
        WHERE c.id IN (SELECT d.id FROM due AS d) AND c.status = 'open' AND c.expires_at < now()
        RETURNING c.id, c.email, c.currency
    ),

    emitted AS (
        SELECT integration.emit('cart.abandoned', g.id, jsonb_build_object(
            'cart_id', g.id,
            'email', g.email,
            'currency', g.currency,
            'items', (
                SELECT jsonb_agg(jsonb_build_object(
                    'variant_id', ci.variant_id, 'sku', v.sku, 'name', p.name, 'quantity', ci.quantity,
                    'unit_price', ci.quoted_unit_price
                ) ORDER BY ci.created_at, ci.id)
                FROM shop.cart_items AS ci
                INNER JOIN shop.product_variants AS v ON ci.variant_id = v.id
                INNER JOIN shop.products AS p ON v.product_id = p.id
                WHERE ci.cart_id = g.id
            ),
            'total', (
                SELECT shop.money_json(sum(ci.quantity * ci.quoted_unit_price)::bigint, g.currency)
                FROM shop.cart_items AS ci WHERE ci.cart_id = g.id
            )
        )) AS event_id
        FROM gone AS g
        WHERE g.email IS NOT NULL AND EXISTS (SELECT FROM shop.cart_items AS ci WHERE ci.cart_id = g.id)
    )

    SELECT count(*) INTO swept FROM gone
    -- Referenced so the emitting CTE runs for every row (and before the count is returned).
    WHERE (SELECT count(*) FROM emitted) >= 0;
    RETURN swept;
END
$$;
COMMENT ON FUNCTION shop.sweep_abandoned_carts(integer) IS
'For postcart_worker: marks up to p_batch_size (1 to 10000, else PT422 validation_failed) open carts past '
'expires_at abandoned (abandoned_at := now()), oldest first, skipping carts another transaction holds, and '
'for each that held an e-mail and items emits cart.abandoned {cart_id, email, currency, items: [{variant_id, '
'sku, name, quantity, unit_price}], total: money} (last quoted prices) in the same transaction. Returns '
'the number of carts marked.';
REVOKE ALL ON FUNCTION shop.sweep_abandoned_carts(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.sweep_abandoned_carts(integer) TO postcart_worker;
