-- Price resolution: the one place that decides what a variant costs for a customer group, a quantity and
-- an instant (base price, price lists with quantity tiers, markdowns), the triggers that keep the price
-- rows' derived columns in step with their list, and the caller's customer group. Repeatable: applied
-- after the migrations on every deploy. docs/pricing.md gives the rules with worked examples.

-- == trigger functions ===============================================================================
CREATE OR REPLACE FUNCTION shop.tg_price_list_prices__from_list()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    list_starts timestamptz;
    list_ends timestamptz;
    lower_bound timestamptz;
    upper_bound timestamptz;
BEGIN
    SELECT l.customer_group_id, l.priority, l.starts_at, l.ends_at
    INTO NEW.customer_group_id, NEW.priority, list_starts, list_ends
    FROM shop.price_lists AS l
    WHERE l.id = NEW.price_list_id;
    IF NOT FOUND THEN
        PERFORM shop.fail(
            404, 'price_list_not_found', jsonb_build_object('id', NEW.price_list_id),
            'There is no price list with this id.'
        );
    END IF;
    -- greatest/least ignore NULLs: an unbounded side takes the other window's bound.
    lower_bound := greatest(list_starts, NEW.starts_at);
    upper_bound := least(list_ends, NEW.ends_at);
    IF lower_bound >= upper_bound THEN
        PERFORM shop.fail(
            422, 'price_outside_list_window',
            jsonb_build_object(
                'price_list_id', NEW.price_list_id, 'variant_id', NEW.variant_id,
                'list_starts_at', list_starts, 'list_ends_at', list_ends,
                'starts_at', NEW.starts_at, 'ends_at', NEW.ends_at
            ),
            'A price''s window must overlap its price list''s window.'
        );
    END IF;
    NEW.valid_during := tstzrange(lower_bound, upper_bound, '[)');
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION shop.tg_price_list_prices__from_list() IS
'BEFORE INSERT/UPDATE trigger on shop.price_list_prices: copies the list''s customer_group_id and '
'priority onto the row and sets valid_during to the list''s window intersected with the row''s own '
'[starts_at, ends_at). Raises PT404 price_list_not_found, or PT422 price_outside_list_window when the '
'intersection is empty. Returns the row.';

CREATE OR REPLACE FUNCTION shop.tg_price_lists__sync_prices()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    -- A no-op assignment: the rows' BEFORE trigger re-derives their columns, and the exclusion
    -- constraint rechecks the new windows.
    UPDATE shop.price_list_prices AS pp SET price_list_id = NEW.id WHERE pp.price_list_id = NEW.id;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION shop.tg_price_lists__sync_prices() IS
'AFTER UPDATE trigger on shop.price_lists (window, customer group or priority changed): re-derives the '
'copies on the list''s price rows through their BEFORE trigger. Returns NULL.';

-- == triggers ========================================================================================
CREATE OR REPLACE TRIGGER _900_updated_at
BEFORE UPDATE ON shop.price_lists
FOR EACH ROW EXECUTE FUNCTION shop.tg__set_updated_at();
-- Only when a copied value changes: a rename does not rewrite the list's prices.
CREATE OR REPLACE TRIGGER sync_prices
AFTER UPDATE OF customer_group_id, priority, starts_at, ends_at ON shop.price_lists
FOR EACH ROW
WHEN (
    old.customer_group_id IS DISTINCT FROM new.customer_group_id OR old.priority IS DISTINCT FROM new.priority
    OR old.starts_at IS DISTINCT FROM new.starts_at OR old.ends_at IS DISTINCT FROM new.ends_at
)
EXECUTE FUNCTION shop.tg_price_lists__sync_prices();

CREATE OR REPLACE TRIGGER _200_from_list
BEFORE INSERT OR UPDATE ON shop.price_list_prices
FOR EACH ROW EXECUTE FUNCTION shop.tg_price_list_prices__from_list();

-- == rounding ========================================================================================
CREATE OR REPLACE FUNCTION shop.apply_percent_off(amount bigint, percent_off numeric)
RETURNS bigint
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    -- numeric round() rounds halves away from zero; amounts are never negative, so halves go up.
    SELECT round(amount::numeric * (100 - percent_off) / 100)::bigint
$$;
COMMENT ON FUNCTION shop.apply_percent_off(bigint, numeric) IS
'An amount in minor units less percent_off percent, rounded to a whole minor unit, halves up '
'(999 less 50% = 499.5 -> 500). Returns bigint (NULL for NULL).';
REVOKE ALL ON FUNCTION shop.apply_percent_off(bigint, numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.apply_percent_off(bigint, numeric) TO postcart_anon;
GRANT EXECUTE ON FUNCTION shop.apply_percent_off(bigint, numeric) TO postcart_customer;
GRANT EXECUTE ON FUNCTION shop.apply_percent_off(bigint, numeric) TO postcart_staff;

-- == the caller's customer group =====================================================================
CREATE OR REPLACE FUNCTION shop.current_customer_group()
RETURNS uuid
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    -- Definer rights: customers cannot read the column (no grant), only learn their own group's id here.
    -- PL/pgSQL for its cached plan (see sql/shop/catalog_version.sql).
    RETURN (
        SELECT a.customer_group_id
        FROM auth.accounts AS a
        WHERE a.id = (SELECT auth.current_customer_id())
    );
END
$$;
COMMENT ON FUNCTION shop.current_customer_group() IS
'The calling customer''s customer group id; NULL for anonymous callers, staff and customers in no group. '
'Returns uuid.';
REVOKE ALL ON FUNCTION shop.current_customer_group() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.current_customer_group() TO postcart_anon;
GRANT EXECUTE ON FUNCTION shop.current_customer_group() TO postcart_customer;
GRANT EXECUTE ON FUNCTION shop.current_customer_group() TO postcart_staff;

-- == markdowns ======================================================================================
CREATE OR REPLACE FUNCTION shop.product_markdowns(p_at timestamptz)
RETURNS TABLE (product_id uuid, markdown_id uuid, percent_off numeric)
LANGUAGE sql
STABLE
AS $$
    WITH RECURSIVE active AS (
        SELECT m.id, m.percent_off, m.category_id, m.product_id, m.collection_id
        FROM shop.markdowns AS m
        WHERE m.active_during @> p_at
    ),

    -- The categories each active category markdown covers: its category and all descendants.
    covered (markdown_id, percent_off, category_id) AS (
        SELECT a.id, a.percent_off, a.category_id
        FROM active AS a
        WHERE a.category_id IS NOT NULL
        UNION
        SELECT cv.markdown_id, cv.percent_off, c.id
        FROM covered AS cv
        INNER JOIN shop.categories AS c ON cv.category_id = c.parent_id
    )

    -- The best markdown per product: the largest percentage, then the lowest id.
    SELECT DISTINCT ON (t.product_id)
        t.product_id,
        t.markdown_id,
        t.percent_off
    FROM (
        SELECT p.id AS product_id, cv.markdown_id, cv.percent_off
        FROM covered AS cv
        INNER JOIN shop.products AS p ON cv.category_id = p.category_id
        UNION ALL
        SELECT a.product_id, a.id, a.percent_off
        FROM active AS a
        WHERE a.product_id IS NOT NULL
        UNION ALL
        -- A collection markdown covers the products in the collection now.
        SELECT cp.product_id, a.id, a.percent_off
        FROM active AS a
        INNER JOIN shop.collection_products AS cp ON a.collection_id = cp.collection_id
    ) AS t
    ORDER BY t.product_id, t.percent_off DESC, t.markdown_id
$$;
COMMENT ON FUNCTION shop.product_markdowns(timestamptz) IS
'The markdown that applies to each product at the instant p_at: of the markdowns active then (starts_at '
'<= p_at < ends_at) on the product itself, on its category or an ancestor category, or on a collection '
'it is in, the largest '
'percent_off (then the lowest id). Returns (product_id, markdown_id, percent_off) for marked-down '
'products only. Internal (no grants): read through the resolution functions.';
REVOKE ALL ON FUNCTION shop.product_markdowns(timestamptz) FROM PUBLIC;

CREATE OR REPLACE FUNCTION shop.markdowns_of(p_product_ids uuid[], p_at timestamptz)
RETURNS TABLE (product_id uuid, markdown_id uuid, percent_off numeric)
LANGUAGE plpgsql
STABLE
AS $$
#variable_conflict use_column
BEGIN
    -- Most of the time no markdown is running at all: one index probe says so.
    IF NOT EXISTS (SELECT FROM shop.markdowns AS m WHERE m.active_during @> p_at) THEN
        RETURN;
    END IF;
    -- The same rule as shop.product_markdowns, walked from the given products up their category chains
    -- instead of from every active markdown down the whole tree: a cart or a product page reads a few rows.
    -- PL/pgSQL, so the query is planned once per session rather than on every call.
    RETURN QUERY
        WITH RECURSIVE ancestry (product_id, category_id) AS (
            SELECT p.id, p.category_id
            FROM shop.products AS p
            WHERE p.id = ANY(p_product_ids) AND p.category_id IS NOT NULL
            UNION
            SELECT a.product_id, c.parent_id
            FROM ancestry AS a
            INNER JOIN shop.categories AS c ON a.category_id = c.id
            WHERE c.parent_id IS NOT NULL
        )

        SELECT DISTINCT ON (t.product_id)
            t.product_id,
            t.markdown_id,
            t.percent_off
        FROM (
            SELECT a.product_id, m.id AS markdown_id, m.percent_off
            FROM ancestry AS a
            INNER JOIN shop.markdowns AS m ON a.category_id = m.category_id
            WHERE m.active_during @> p_at
            UNION ALL
            SELECT m.product_id, m.id, m.percent_off
            FROM shop.markdowns AS m
            WHERE m.product_id = ANY(p_product_ids) AND m.active_during @> p_at
            UNION ALL
            SELECT cp.product_id, m.id, m.percent_off
            FROM shop.collection_products AS cp
            INNER JOIN shop.markdowns AS m ON cp.collection_id = m.collection_id
            WHERE cp.product_id = ANY(p_product_ids) AND m.active_during @> p_at
        ) AS t
        ORDER BY t.product_id, t.percent_off DESC, t.markdown_id;
END
$$;
COMMENT ON FUNCTION shop.markdowns_of(uuid[], timestamptz) IS
'shop.product_markdowns restricted to the products p_product_ids: the markdown that applies to each at '
'p_at (its own, its category''s or an ancestor''s, or a collection''s; the largest percent_off, then the '
'lowest id). Returns (product_id, markdown_id, percent_off) for marked-down products only. Internal.';
REVOKE ALL ON FUNCTION shop.markdowns_of(uuid[], timestamptz) FROM PUBLIC;

-- == resolution ======================================================================================
CREATE OR REPLACE FUNCTION shop.resolve_prices(
    p_variant_ids uuid[], p_quantities integer[], p_currency char(3), p_customer_group uuid, p_at timestamptz
)
RETURNS TABLE (
    variant_id uuid,
    quantity integer,
    product_id uuid,
    base_amount bigint,
    amount bigint,
    line_amount bigint,
    source text,
    price_list_id uuid,
    markdown_id uuid,
    percent_off numeric
)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    -- Base and winning list price of each wanted variant. The winning list price: a customer group's list
    -- before a list for everyone, then the higher priority, then the largest tier the quantity reaches,
    -- then the lower amount, then the list id. Two queries of one rule (keep their ORDER BYs identical),
    -- each planned once per session (PL/pgSQL caches them): given variants probe the (variant_id, currency)
    -- index line by line and look up only their products' markdowns; the whole catalog (quantity 1) sorts
    -- the applicable prices once and hash-joins them. Only variants with a base price in the currency are
    -- sold in it.
    IF p_variant_ids IS NOT NULL THEN
        RETURN QUERY
            WITH priced AS (
                SELECT
                    vp.variant_id,
                    w.quantity,
                    vp.product_id,
                    vp.amount AS base_amount,
                    best.amount AS list_amount,
                    best.price_list_id
                FROM (
                    SELECT u.variant_id, greatest(coalesce(u.quantity, 1), 1) AS quantity
                    FROM unnest(p_variant_ids, p_quantities) AS u (variant_id, quantity)
                ) AS w
                INNER JOIN shop.variant_prices AS vp ON w.variant_id = vp.variant_id AND vp.currency = p_currency
                LEFT JOIN LATERAL (
                    SELECT pp.amount, pp.price_list_id
                    FROM shop.price_list_prices AS pp
                    WHERE
                        pp.variant_id = vp.variant_id
                        AND pp.currency = p_currency
                        AND pp.min_quantity <= w.quantity
                        AND pp.valid_during @> p_at
                        AND (pp.customer_group_id IS NULL OR pp.customer_group_id = p_customer_group)
                    ORDER BY pp.customer_group_id IS NULL, pp.priority DESC, pp.min_quantity DESC, pp.amount, pp.price_list_id
                    LIMIT 1
                ) AS best ON TRUE
            )

            SELECT
                r.variant_id,
                r.quantity,
                r.product_id,
                r.base_amount,
                coalesce(
                    shop.apply_percent_off(coalesce(r.list_amount, r.base_amount), m.percent_off),
                    r.list_amount,
                    r.base_amount
                ),
                coalesce(
                    shop.apply_percent_off(coalesce(r.list_amount, r.base_amount) * r.quantity, m.percent_off),
                    coalesce(r.list_amount, r.base_amount) * r.quantity
                ),
                CASE WHEN r.price_list_id IS NULL THEN 'base' ELSE 'price_list' END,
                r.price_list_id,
                m.markdown_id,
                m.percent_off
            FROM priced AS r
            LEFT JOIN shop.markdowns_of(
                ARRAY(SELECT vp.product_id FROM shop.variant_prices AS vp WHERE vp.variant_id = ANY(p_variant_ids)
                    AND vp.currency = p_currency),
                p_at
            ) AS m ON r.product_id = m.product_id;
    ELSE
        RETURN QUERY
            WITH priced AS (
                SELECT
                    vp.variant_id,
                    1 AS quantity,
                    vp.product_id,
                    vp.amount AS base_amount,
                    best.amount AS list_amount,
                    best.price_list_id
                FROM shop.variant_prices AS vp
                LEFT JOIN (
                    SELECT DISTINCT ON (pp.variant_id)
                        pp.variant_id,
                        pp.amount,
                        pp.price_list_id
                    FROM shop.price_list_prices AS pp
                    WHERE
                        pp.currency = p_currency
                        AND pp.min_quantity <= 1
                        AND pp.valid_during @> p_at
                        AND (pp.customer_group_id IS NULL OR pp.customer_group_id = p_customer_group)
                    ORDER BY
                        pp.variant_id, pp.customer_group_id IS NULL, pp.priority DESC, pp.min_quantity DESC, pp.amount,
                        pp.price_list_id
                ) AS best ON vp.variant_id = best.variant_id
                WHERE vp.currency = p_currency
            )

            SELECT
                r.variant_id,
                r.quantity,
                r.product_id,
                r.base_amount,
                coalesce(
                    shop.apply_percent_off(coalesce(r.list_amount, r.base_amount), m.percent_off),
                    r.list_amount,
                    r.base_amount
                ),
                coalesce(
                    shop.apply_percent_off(coalesce(r.list_amount, r.base_amount) * r.quantity, m.percent_off),
                    coalesce(r.list_amount, r.base_amount) * r.quantity
                ),
                CASE WHEN r.price_list_id IS NULL THEN 'base' ELSE 'price_list' END,
                r.price_list_id,
                m.markdown_id,
                m.percent_off
            FROM priced AS r
            LEFT JOIN shop.product_markdowns(p_at) AS m ON r.product_id = m.product_id;
    END IF;
END
$$;
COMMENT ON FUNCTION shop.resolve_prices(uuid[], integer[], char, uuid, timestamptz) IS
'THE price resolution (docs/pricing.md): what each variant costs in p_currency for a member of '
'p_customer_group (NULL: no group) buying p_quantities[i] units (NULL or < 1: 1) of p_variant_ids[i] at '
'the instant p_at. p_variant_ids NULL resolves every variant priced in the currency at quantity 1 (the '
'catalog). Precedence: the base price (shop.variant_prices; a variant without one is not sold in the '
'currency and is left out), replaced by the best applicable price list price (a customer group''s list '
'before one for everyone, then higher priority, then the largest min_quantity <= quantity, then the '
'lower amount), then the largest active markdown of the product, its category or an ancestor '
'category, or a collection holding it, taken off that, rounded half up. Windows are [starts_at, '
'ends_at). Returns one row per '
'resolved input: variant_id, quantity, product_id, base_amount, amount (unit price, rounded per unit), '
'line_amount (quantity x the unit price before the markdown, less the markdown, rounded once per line), '
'source (base or price_list), price_list_id, markdown_id, percent_off. Definer rights (it reads price '
'lists nobody else may): granted to staff only; storefront callers use shop.caller_prices.';
REVOKE ALL ON FUNCTION shop.resolve_prices(uuid[], integer[], char, uuid, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.resolve_prices(uuid[], integer[], char, uuid, timestamptz) TO postcart_staff;

CREATE OR REPLACE FUNCTION shop.resolve_price(
    p_variant_id uuid, p_currency char(3), p_customer_group uuid, p_quantity integer, p_at timestamptz
)
RETURNS bigint
LANGUAGE sql
STABLE
AS $$
    SELECT r.amount
    FROM shop.resolve_prices(ARRAY[p_variant_id], ARRAY[p_quantity], p_currency, p_customer_group, p_at) AS r
$$;
COMMENT ON FUNCTION shop.resolve_price(uuid, char, uuid, integer, timestamptz) IS
'The unit price of one variant from shop.resolve_prices for a customer group, quantity and instant; '
'NULL when the variant has no base price in the currency. Returns bigint minor units. Staff only.';
REVOKE ALL ON FUNCTION shop.resolve_price(uuid, char, uuid, integer, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.resolve_price(uuid, char, uuid, integer, timestamptz) TO postcart_staff;

CREATE OR REPLACE FUNCTION shop.caller_prices(p_variant_ids uuid[], p_quantities integer[], p_currency char(3))
RETURNS TABLE (
    variant_id uuid,
    quantity integer,
    product_id uuid,
    base_amount bigint,
    amount bigint,
    line_amount bigint,
    source text,
    price_list_id uuid,
    markdown_id uuid,
    percent_off numeric
)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    -- (No plan_cache_mode here: it would hold inside shop.resolve_prices too and re-plan its cached queries
    -- on every call. PL/pgSQL for its cached plan: see sql/shop/catalog_version.sql.)
    -- The caller's own group and the present instant only, so nobody learns another group's prices or
    -- a sale before it starts; published products only.
    -- The status looked up per row: a join, estimated for the function's default 1,000 rows, can be
    -- planned as a hash of every product (30 ms at 100,000 products instead of 3 index probes).
    RETURN QUERY
    SELECT r.*
    FROM shop.resolve_prices(p_variant_ids, p_quantities, p_currency, shop.current_customer_group(), now()) AS r
    WHERE (SELECT p.status FROM shop.products AS p WHERE p.id = r.product_id) = 'published';
END
$$;
COMMENT ON FUNCTION shop.caller_prices(uuid[], integer[], char) IS
'shop.resolve_prices for the caller, now: the caller''s own customer group (shop.current_customer_group), '
'the transaction''s now(), variants of published products only. Used by the catalog (and the cart and '
'checkout) for anonymous callers, customers and staff alike. Returns the same rows as '
'shop.resolve_prices.';
REVOKE ALL ON FUNCTION shop.caller_prices(uuid[], integer[], char) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.caller_prices(uuid[], integer[], char) TO postcart_anon;
GRANT EXECUTE ON FUNCTION shop.caller_prices(uuid[], integer[], char) TO postcart_customer;
GRANT EXECUTE ON FUNCTION shop.caller_prices(uuid[], integer[], char) TO postcart_staff;

CREATE OR REPLACE FUNCTION shop.caller_product_prices(p_currency char(3))
RETURNS TABLE (product_id uuid, amount bigint)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    caller_group uuid := shop.current_customer_group();
    touched_variants uuid[];
BEGIN
    -- The variants of every product a price list (for the caller, now, quantity 1) or an active markdown
    -- touches: only their prices can differ from the base.
    touched_variants := ARRAY(
        SELECT v.id
        FROM shop.product_variants AS v
        WHERE v.product_id IN (
            SELECT tv.product_id
            FROM shop.price_list_prices AS pp
            INNER JOIN shop.product_variants AS tv ON pp.variant_id = tv.id
            WHERE
                pp.currency = p_currency
                AND pp.min_quantity <= 1
                AND pp.valid_during @> now()
                AND (pp.customer_group_id IS NULL OR pp.customer_group_id = caller_group)
            UNION
            SELECT m.product_id FROM shop.product_markdowns(now()) AS m
        )
    );
    -- Resolving a variant through the index costs about a sixth of what one set-based pass over every
    -- variant costs per variant: past a third of the catalog (a group list over all of it), one pass.
    IF cardinality(touched_variants) * 3 > (
        SELECT c.reltuples FROM pg_catalog.pg_class AS c WHERE c.oid = 'shop.variant_prices'::regclass
    ) THEN
        RETURN QUERY
        SELECT r.product_id, min(r.amount)::bigint
        FROM shop.resolve_prices(NULL, NULL, p_currency, caller_group, now()) AS r
        WHERE r.product_id IN (SELECT p.id FROM shop.products AS p WHERE p.status = 'published')
        GROUP BY r.product_id;
        RETURN;
    END IF;
    IF cardinality(touched_variants) = 0 THEN
        -- Nothing applies now: every product's lowest base price, one aggregate.
        RETURN QUERY
        SELECT vp.product_id, min(vp.amount)::bigint
        FROM shop.variant_prices AS vp
        WHERE
            vp.currency = p_currency
            AND vp.product_id IN (SELECT p.id FROM shop.products AS p WHERE p.status = 'published')
        GROUP BY vp.product_id;
        RETURN;
    END IF;
    -- Otherwise the untouched products' lowest base price in one aggregate (what resolve_prices would
    -- give them), and the touched ones resolved variant by variant.
    RETURN QUERY
    SELECT l.product_id, l.amount
    FROM (
        SELECT vp.product_id, min(vp.amount)::bigint AS amount
        FROM shop.variant_prices AS vp
        WHERE vp.currency = p_currency AND vp.variant_id NOT IN (SELECT t.id FROM unnest(touched_variants) AS t (id))
        GROUP BY vp.product_id
        UNION ALL
        SELECT r.product_id, min(r.amount)::bigint
        FROM shop.resolve_prices(touched_variants, NULL, p_currency, caller_group, now()) AS r
        GROUP BY r.product_id
    ) AS l
    WHERE l.product_id IN (SELECT p.id FROM shop.products AS p WHERE p.status = 'published');
END
$$;
COMMENT ON FUNCTION shop.caller_product_prices(char) IS
'The catalog''s price of every published product priced in p_currency for the caller now: the lowest '
'unit price (quantity 1) shop.resolve_prices gives its variants for the caller''s customer group. Only '
'products a price list or markdown touches are resolved variant by variant (all at once, set-based, when '
'they are over a third of the catalog). Returns (product_id, amount).';
REVOKE ALL ON FUNCTION shop.caller_product_prices(char) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.caller_product_prices(char) TO postcart_anon;
GRANT EXECUTE ON FUNCTION shop.caller_product_prices(char) TO postcart_customer;
GRANT EXECUTE ON FUNCTION shop.caller_product_prices(char) TO postcart_staff;
