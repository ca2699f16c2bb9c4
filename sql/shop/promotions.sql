-- Promotions and coupons over the tables of migration 0025: which lines a promotion reaches, what it is
-- worth for a cart, the stacking rule (one coupon plus the best automatic promotion), and redemption at
-- checkout, exact under any concurrency. docs/orders.md ("Promotions and coupons") has the rules with a
-- worked example. Repeatable: applied after the migrations on every deploy. Functions that call rules
-- defined in files applied later (tax, shipping, prices) are plpgsql, which binds names when it runs.

COMMENT ON COLUMN shop.promotions.times_used IS
'Live redemptions (orders not cancelled): +1 at checkout, -1 when the order is cancelled, with one '
'conditional UPDATE each. Maintained only for promotions with a usage_limit (0 otherwise: unlimited '
'promotions are not written at checkout, so they never serialise checkouts); setting a usage_limit '
'recounts it. Never above usage_limit (CHECK).';

-- == triggers ========================================================================================
CREATE OR REPLACE TRIGGER _900_updated_at
BEFORE UPDATE ON shop.promotions
FOR EACH ROW EXECUTE FUNCTION shop.tg__set_updated_at();

-- == splitting an amount over lines ==================================================================
CREATE OR REPLACE FUNCTION shop.split_amount(p_total bigint, p_weights bigint[])
RETURNS bigint[]
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    -- Each share is the floor of its exact proportion; the units left over go one each to the largest
    -- remainders (ties: the earlier position), so the shares always add up to p_total exactly.
    WITH w AS (
        SELECT
            u.n,
            u.weight,
            (p_total::numeric * u.weight) / nullif(sum(u.weight) OVER (), 0) AS exact
        FROM unnest(p_weights) WITH ORDINALITY AS u (weight, n)
    ),

    floored AS (
        SELECT
            w.n,
            w.weight,
            floor(coalesce(w.exact, 0))::bigint AS share,
            coalesce(w.exact - floor(w.exact), 0) AS rest
        FROM w
    ),

    ranked AS (
        SELECT
            f.n,
            f.weight,
            f.share,
            row_number() OVER (ORDER BY f.rest DESC, f.n) AS place,
            p_total - sum(f.share) OVER () AS left_over
        FROM floored AS f
    )

    SELECT coalesce(
        array_agg(r.share + CASE WHEN r.place <= r.left_over AND r.weight > 0 THEN 1 ELSE 0 END ORDER BY r.n),
        '{}'
    )
    FROM ranked AS r
$$;
COMMENT ON FUNCTION shop.split_amount(bigint, bigint[]) IS
'Splits p_total (minor units; callers cap it at the sum of the weights) over lines in proportion to '
'p_weights (their amounts), by largest remainder: each share is the floor of its exact proportion and the '
'units left over go one each to the largest fractional remainders, ties to the earlier line. No share '
'exceeds its weight, a line of weight 0 gets nothing, and the shares sum to p_total exactly (all 0 when '
'the weights sum to 0). Returns bigint[] in the order of p_weights.';
REVOKE ALL ON FUNCTION shop.split_amount(bigint, bigint[]) FROM PUBLIC;

-- == which lines a promotion reaches =================================================================
CREATE OR REPLACE FUNCTION shop.promotion_products(p_promotion_id uuid, p_product_ids uuid[])
RETURNS SETOF uuid
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    -- plpgsql, not sql: the recursive query cannot be inlined, and plpgsql keeps its plan for the session
    -- instead of planning it on every call (every promotion of every cart pricing).
    RETURN QUERY
    WITH RECURSIVE targets AS (
        SELECT t.category_id, t.collection_id, t.product_id
        FROM shop.promotion_targets AS t
        WHERE t.promotion_id = p_promotion_id
    ),

    -- Target categories and all their descendants.
    covered (category_id) AS (
        SELECT t.category_id FROM targets AS t WHERE t.category_id IS NOT NULL
        UNION
        SELECT c.id
        FROM covered AS cv
        INNER JOIN shop.categories AS c ON cv.category_id = c.parent_id
    )

    SELECT DISTINCT p.id
    FROM shop.products AS p
    WHERE p.id = ANY(p_product_ids)
        AND (
            NOT EXISTS (SELECT FROM targets)
            OR p.id IN (SELECT t.product_id FROM targets AS t)
            OR p.category_id IN (SELECT cv.category_id FROM covered AS cv)
            OR p.id IN (
                SELECT cp.product_id
                FROM shop.collection_products AS cp
                WHERE cp.collection_id IN (SELECT t.collection_id FROM targets AS t)
            )
        );
END
$$;
COMMENT ON FUNCTION shop.promotion_products(uuid, uuid[]) IS
'Of p_product_ids, the products promotion p_promotion_id reaches: all of them when it has no targets, '
'else those that are a target product, in a target category or any of its descendants, or in a target '
'collection. Returns a set of product ids.';
REVOKE ALL ON FUNCTION shop.promotion_products(uuid, uuid[]) FROM PUBLIC;

CREATE OR REPLACE FUNCTION shop.promotion_live_uses(
    p_promotion_id uuid, p_customer_id uuid, p_email extensions.citext
)
RETURNS bigint
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    -- Two index probes (by customer, by e-mail) rather than one OR over both.
    RETURN (SELECT count(*)
    FROM (
        SELECT r.id
        FROM shop.promotion_redemptions AS r
        WHERE r.promotion_id = p_promotion_id AND r.customer_id = p_customer_id AND r.released_at IS NULL
        UNION
        SELECT r.id
        FROM shop.promotion_redemptions AS r
        WHERE r.promotion_id = p_promotion_id AND r.email = p_email AND r.released_at IS NULL
    ) AS uses);
END
$$;
COMMENT ON FUNCTION shop.promotion_live_uses(uuid, uuid, extensions.citext) IS
'Live (not released) redemptions of a promotion by a customer: those of the account p_customer_id and '
'those made with the e-mail p_email (a guest is known by e-mail; either may be NULL). What '
'per_customer_limit caps. Returns bigint.';
REVOKE ALL ON FUNCTION shop.promotion_live_uses(uuid, uuid, extensions.citext) FROM PUBLIC;

-- == what a promotion is worth for a cart ============================================================
CREATE OR REPLACE FUNCTION shop.evaluate_promotion(
    p_promotion shop.promotions,
    p_currency char(3),
    p_lines jsonb,
    p_shipping_amount bigint,
    p_customer_id uuid,
    p_email extensions.citext
)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    eligible integer[];
    eligible_subtotal bigint;
    amount bigint;
    reason text;
BEGIN
    -- Lines reached: for sale (amount not null) and a product the targets cover. Indexes are 0-based.
    SELECT
        coalesce(array_agg(l.n - 1 ORDER BY l.n), '{}'),
        coalesce(sum((l.line ->> 'amount')::bigint), 0)
    INTO eligible, eligible_subtotal
    FROM jsonb_array_elements(p_lines) WITH ORDINALITY AS l (line, n)
    WHERE l.line ->> 'amount' IS NOT NULL
        AND (l.line ->> 'product_id')::uuid IN (
            SELECT shop.promotion_products(
                p_promotion.id,
                ARRAY(SELECT (e ->> 'product_id')::uuid FROM jsonb_array_elements(p_lines) AS e)
            )
        );

    reason := CASE
        WHEN NOT p_promotion.active THEN 'inactive'
        WHEN p_promotion.starts_at > now() THEN 'not_started'
        WHEN p_promotion.ends_at <= now() THEN 'ended'
        WHEN p_promotion.currency <> p_currency THEN 'currency'
        WHEN p_promotion.times_used >= p_promotion.usage_limit THEN 'usage_limit'
        WHEN p_promotion.per_customer_limit IS NOT NULL
            AND (p_customer_id IS NOT NULL OR p_email IS NOT NULL)
            AND shop.promotion_live_uses(p_promotion.id, p_customer_id, p_email) >= p_promotion.per_customer_limit
            THEN 'per_customer_limit'
        WHEN cardinality(eligible) = 0 THEN 'no_eligible_items'
        WHEN eligible_subtotal < p_promotion.min_subtotal THEN 'min_subtotal'
    END;

    amount := CASE p_promotion.kind
        -- Rounded once on the eligible subtotal, halves up (amounts are never negative).
        WHEN 'percent' THEN round(eligible_subtotal * p_promotion.value / 100)::bigint
        WHEN 'fixed' THEN least(p_promotion.value::bigint, eligible_subtotal)
        ELSE coalesce(p_shipping_amount, 0)
    END;

    RETURN jsonb_build_object(
        'promotion_id', p_promotion.id,
        'code', p_promotion.code,
        'name', p_promotion.name,
        'kind', p_promotion.kind,
        'created_at', p_promotion.created_at,
        'eligible', to_jsonb(eligible),
        'eligible_subtotal', eligible_subtotal,
        'min_subtotal', p_promotion.min_subtotal,
        'amount', CASE WHEN reason IS NULL THEN amount ELSE 0 END,
        'reason', reason
    );
END
$$;
COMMENT ON FUNCTION shop.evaluate_promotion(shop.promotions, char, jsonb, bigint, uuid, extensions.citext) IS
'What one promotion is worth for a cart now. p_lines: the cart''s lines in order, [{product_id, amount}] '
'with amount = quantity x unit price (NULL when the line is not for sale); p_shipping_amount: the chosen '
'method''s price (NULL: none yet); p_customer_id / p_email: whose per_customer_limit counts. Returns '
'{promotion_id, code, name, kind, created_at, eligible: [0-based line indexes], eligible_subtotal, '
'min_subtotal, amount, reason}: reason NULL when it applies, else inactive, not_started, ended, currency, '
'usage_limit, per_customer_limit, no_eligible_items or min_subtotal (then amount 0). amount: percent of '
'the eligible subtotal rounded half up, fixed value capped at the eligible subtotal, or the shipping '
'amount for free_shipping.';
REVOKE ALL ON FUNCTION shop.evaluate_promotion(
    shop.promotions, char, jsonb, bigint, uuid, extensions.citext
) FROM PUBLIC;

-- == the stacking rule ===============================================================================
CREATE OR REPLACE FUNCTION shop.cart_promotions(
    p_cart shop.carts, p_lines jsonb, p_shipping_amount bigint
)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    candidates jsonb := '[]';
    coupon_result jsonb;
    best jsonb;
    applied jsonb := '[]';
    problems jsonb := '[]';
    remaining bigint[];
    discounts bigint[];
    weights bigint[];
    shares bigint[];
    cap bigint;
    granted bigint;
    free_shipping boolean := FALSE;
    candidate jsonb;
BEGIN
    remaining := ARRAY(
        SELECT coalesce((l ->> 'amount')::bigint, 0) FROM jsonb_array_elements(p_lines) WITH ORDINALITY AS e (l, n)
        ORDER BY e.n
    );
    discounts := array_fill(0::bigint, ARRAY[cardinality(remaining)]);

    -- At most one coupon: the cart's, when it (still) applies; else a problem that blocks checkout.
    IF p_cart.coupon_id IS NOT NULL THEN
        SELECT shop.evaluate_promotion(p, p_cart.currency, p_lines, p_shipping_amount, p_cart.customer_id, p_cart.email)
        INTO coupon_result
        FROM shop.promotions AS p
        WHERE p.id = p_cart.coupon_id;
        IF coupon_result ->> 'reason' IS NULL THEN
            candidates := candidates || jsonb_build_array(coupon_result);
        ELSE
            problems := problems || jsonb_build_array(jsonb_build_object(
                'code', CASE WHEN coupon_result ->> 'reason' IN ('usage_limit', 'per_customer_limit')
                    THEN 'coupon_exhausted' ELSE 'coupon_not_applicable' END,
                'coupon_code', coupon_result ->> 'code',
                'reason', coupon_result ->> 'reason'
            ));
        END IF;
    END IF;

    -- Plus the single best automatic promotion: the largest amount, ties by the earliest created.
    SELECT e.result
    INTO best
    FROM (
        SELECT shop.evaluate_promotion(
            p, p_cart.currency, p_lines, p_shipping_amount, p_cart.customer_id, p_cart.email
        ) AS result
        FROM shop.promotions AS p
        WHERE p.code IS NULL AND p.active
            AND (p.starts_at IS NULL OR p.starts_at <= now())
            AND (p.ends_at IS NULL OR p.ends_at > now())
            AND (p.currency IS NULL OR p.currency = p_cart.currency)
    ) AS e
    WHERE e.result ->> 'reason' IS NULL
    ORDER BY (e.result ->> 'amount')::bigint DESC, (e.result ->> 'created_at')::timestamptz, e.result ->> 'promotion_id'
    LIMIT 1;
    IF best IS NOT NULL THEN
        candidates := candidates || jsonb_build_array(best);
    END IF;

    -- Each takes its amount from what its lines have left, split in proportion to those amounts, so
    -- the discounts never exceed a line (nor, in sum, the subtotal) and add up exactly.
    FOR candidate IN SELECT c FROM jsonb_array_elements(candidates) AS c LOOP
        IF candidate ->> 'kind' = 'free_shipping' THEN
            free_shipping := TRUE;
            granted := (candidate ->> 'amount')::bigint;
        ELSE
            weights := ARRAY(
                SELECT CASE WHEN candidate -> 'eligible' @> to_jsonb(i - 1) THEN remaining[i] ELSE 0 END
                FROM generate_subscripts(remaining, 1) AS i
                ORDER BY i
            );
            cap := (SELECT coalesce(sum(w), 0) FROM unnest(weights) AS w);
            granted := least((candidate ->> 'amount')::bigint, cap);
            shares := shop.split_amount(granted, weights);
            remaining := ARRAY(SELECT remaining[i] - shares[i] FROM generate_subscripts(remaining, 1) AS i ORDER BY i);
            discounts := ARRAY(SELECT discounts[i] + shares[i] FROM generate_subscripts(discounts, 1) AS i ORDER BY i);
        END IF;
        applied := applied || jsonb_build_array(jsonb_build_object(
            'promotion_id', candidate -> 'promotion_id',
            'code', candidate -> 'code',
            'name', candidate -> 'name',
            'kind', candidate -> 'kind',
            'amount', granted
        ));
    END LOOP;

    RETURN jsonb_build_object(
        'promotions', applied,
        'line_discounts', to_jsonb(discounts),
        'free_shipping', free_shipping,
        'problems', problems
    );
END
$$;
COMMENT ON FUNCTION shop.cart_promotions(shop.carts, jsonb, bigint) IS
'The stacking rule (docs/orders.md): the cart''s coupon when it applies, plus the single best automatic '
'promotion that applies (largest amount, ties by earliest created), each valued on its eligible lines at '
'their undiscounted prices (shop.evaluate_promotion). The coupon, then the automatic one, takes its amount '
'from what its eligible lines have left, split over them in proportion by largest remainder '
'(shop.split_amount): no line goes below 0 and the sum is capped at the subtotal. free_shipping makes '
'shipping free. p_lines as for shop.evaluate_promotion. Returns {promotions: [{promotion_id, code, name, '
'kind, amount}], line_discounts: [bigint per line], free_shipping, problems: [{code: coupon_not_applicable '
'| coupon_exhausted, coupon_code, reason}]}.';
REVOKE ALL ON FUNCTION shop.cart_promotions(shop.carts, jsonb, bigint) FROM PUBLIC;

-- == redemption at checkout, release at cancellation =================================================
CREATE OR REPLACE FUNCTION shop.redeem_promotions(
    p_order_id uuid, p_customer_id uuid, p_email extensions.citext, p_promotions jsonb
)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    applied jsonb;
    promotion shop.promotions;
    redeemed integer := 0;
BEGIN
    -- In promotion id order, so two checkouts redeeming the same two promotions lock them alike.
    FOR applied IN
        SELECT a FROM jsonb_array_elements(coalesce(p_promotions, '[]')) AS a ORDER BY a ->> 'promotion_id'
    LOOP
        SELECT * INTO promotion FROM shop.promotions AS p WHERE p.id = (applied ->> 'promotion_id')::uuid;
        IF NOT FOUND THEN
            PERFORM shop.fail(
                409, 'coupon_not_applicable',
                jsonb_build_object('code', applied ->> 'code', 'reason', 'deleted'),
                'The promotion no longer exists; review the cart.'
            );
        END IF;
        IF promotion.usage_limit IS NOT NULL THEN
            -- One conditional UPDATE takes a use: of concurrent checkouts, exactly usage_limit get one.
            -- Its row lock (held to commit) also serialises the per-customer count below.
            UPDATE shop.promotions AS p
            SET times_used = p.times_used + 1
            WHERE p.id = promotion.id AND p.times_used < p.usage_limit;
            IF NOT FOUND THEN
                PERFORM shop.fail(
                    409, 'coupon_exhausted',
                    jsonb_build_object('code', promotion.code, 'reason', 'usage_limit'),
                    'This coupon has been used as often as it may be.'
                );
            END IF;
        ELSIF promotion.per_customer_limit IS NOT NULL THEN
            -- No usage limit, so no row to lock: lock this customer's uses of this promotion only (by
            -- e-mail, then account; keys in a fixed order), so other customers' checkouts do not wait.
            PERFORM pg_advisory_xact_lock(k.key)
            FROM (
                SELECT hashtextextended('promotion:' || promotion.id || ':email:' || lower(p_email::text), 0) AS key
                UNION
                SELECT hashtextextended('promotion:' || promotion.id || ':customer:' || p_customer_id, 0)
                WHERE p_customer_id IS NOT NULL
            ) AS k
            ORDER BY k.key;
        END IF;
        -- Counted after the lock, in a statement that sees every use committed before it was granted.
        IF promotion.per_customer_limit IS NOT NULL
            AND shop.promotion_live_uses(promotion.id, p_customer_id, p_email) >= promotion.per_customer_limit THEN
            PERFORM shop.fail(
                409, 'coupon_exhausted',
                jsonb_build_object('code', promotion.code, 'reason', 'per_customer_limit'),
                'You have used this coupon as often as one customer may.'
            );
        END IF;
        INSERT INTO shop.promotion_redemptions (promotion_id, order_id, customer_id, email, amount)
        VALUES (promotion.id, p_order_id, p_customer_id, p_email, coalesce((applied ->> 'amount')::bigint, 0));
        redeemed := redeemed + 1;
    END LOOP;
    RETURN redeemed;
END
$$;
COMMENT ON FUNCTION shop.redeem_promotions(uuid, uuid, extensions.citext, jsonb) IS
'For checkout, inside its transaction (READ COMMITTED): records the use of each promotion of p_promotions '
'(shop.price_cart''s promotions: [{promotion_id, code, kind, amount}]) by order p_order_id of customer '
'p_customer_id (NULL: a guest) with e-mail p_email. A promotion with a usage_limit takes a use with one '
'conditional UPDATE of times_used (none left: PT409 coupon_exhausted, reason usage_limit); its '
'per_customer_limit is then checked under that row lock, or, without a usage_limit, under transaction '
'advisory locks on (promotion, e-mail) and (promotion, account) (reached: PT409 coupon_exhausted, reason '
'per_customer_limit). Inserts one shop.promotion_redemptions row each. Returns how many were redeemed. '
'No grants: called by the checkout''s definer functions.';
REVOKE ALL ON FUNCTION shop.redeem_promotions(uuid, uuid, extensions.citext, jsonb) FROM PUBLIC;

CREATE OR REPLACE FUNCTION shop.release_promotions(p_order_id uuid)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    released integer;
BEGIN
    WITH gone AS (
        UPDATE shop.promotion_redemptions AS r
        SET released_at = now()
        WHERE r.order_id = p_order_id AND r.released_at IS NULL
        RETURNING r.promotion_id
    ),

    given_back AS (
        UPDATE shop.promotions AS p
        SET times_used = greatest(p.times_used - 1, 0)
        WHERE p.id IN (SELECT g.promotion_id FROM gone AS g) AND p.usage_limit IS NOT NULL
        RETURNING p.id
    )

    SELECT count(*) INTO released FROM gone;
    RETURN released;
END
$$;
COMMENT ON FUNCTION shop.release_promotions(uuid) IS
'For cancellation: releases the live redemptions of order p_order_id (released_at := now()) and gives '
'each use back (times_used - 1 for promotions with a usage_limit). A second call releases nothing. '
'Returns how many redemptions were released. No grants: called by the orders'' definer functions.';
REVOKE ALL ON FUNCTION shop.release_promotions(uuid) FROM PUBLIC;
