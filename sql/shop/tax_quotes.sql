-- An external tax service's quote at checkout (migration 0032, docs/carriers.md "External tax service").
-- The layer asks the service for the cart's lines before the checkout call (api.checkout_tax_basis gives it
-- what to ask about) and hands the answer to api.checkout in the server-derived namespace; checkout charges
-- the quote only when it is for exactly what it is about to charge (shop.tax_basis of its own pricing),
-- else the built-in rates, and flags the order (tax_source builtin_fallback). Without a tax service
-- checkout never calls anything here.

-- == what a quote is about ===========================================================================
CREATE OR REPLACE FUNCTION shop.tax_basis(p_quote jsonb, p_address jsonb)
RETURNS jsonb
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    SELECT jsonb_build_object(
        'currency', p_quote -> 'currency',
        'prices_include_tax', p_quote -> 'prices_include_tax',
        'to', jsonb_build_object(
            'country', upper(p_address ->> 'country'), 'region', nullif(p_address ->> 'region', ''),
            'postal_code', p_address ->> 'postal_code', 'city', p_address ->> 'city', 'line1', p_address ->> 'line1'
        ),
        -- Each line's amount after its discount: what tax is computed on.
        'lines', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'id', e.l -> 'item_id', 'sku', e.l -> 'sku', 'quantity', e.l -> 'quantity',
                'amount', e.l -> 'line_total', 'tax_class', e.l -> 'tax_class'
            ) ORDER BY e.n)
            FROM jsonb_array_elements(p_quote -> 'lines') WITH ORDINALITY AS e (l, n)
        ), '[]'),
        'shipping', CASE WHEN jsonb_typeof(p_quote -> 'shipping') = 'object' THEN jsonb_build_object(
            'amount', p_quote -> 'shipping' -> 'amount', 'tax_class', p_quote -> 'shipping' -> 'tax_class'
        ) END
    )
$$;
COMMENT ON FUNCTION shop.tax_basis(jsonb, jsonb) IS
'What a tax quote is about, from a cart''s pricing (shop.price_cart) and its shipping address: {currency, '
'prices_include_tax, to: {country, region, postal_code, city, line1}, lines: [{id, sku, quantity, amount '
'(after discount), tax_class}], shipping: {amount, tax_class} | null}. A quote keyed to it applies only to '
'exactly these lines, amounts and address. Owner only.';
REVOKE ALL ON FUNCTION shop.tax_basis(jsonb, jsonb) FROM PUBLIC;

-- == using it ========================================================================================
CREATE OR REPLACE FUNCTION shop.whole_amount(p_value jsonb)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    SELECT coalesce(
        jsonb_typeof(p_value) = 'number'
        AND (p_value #>> '{}')::numeric BETWEEN 0 AND 100000000000
        AND (p_value #>> '{}')::numeric = trunc((p_value #>> '{}')::numeric),
        FALSE
    )
$$;
COMMENT ON FUNCTION shop.whole_amount(jsonb) IS
'Whether a JSON value is a whole, non-negative amount of minor units (at most 10^11). Returns boolean.';
REVOKE ALL ON FUNCTION shop.whole_amount(jsonb) FROM PUBLIC;

CREATE OR REPLACE FUNCTION shop.apply_tax_quote(p_quote jsonb, p_address jsonb, p_tax jsonb)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    include_tax boolean := (p_quote ->> 'prices_include_tax')::boolean;
    has_shipping boolean := jsonb_typeof(p_quote -> 'shipping') = 'object';
    reason text;
    lines jsonb;
    line_tax bigint;
    shipping_tax bigint := 0;
    tax_total bigint;
BEGIN
    IF p_tax ? 'error' THEN
        reason := coalesce(nullif(left(p_tax ->> 'error', 100), ''), 'tax_service_error');
    ELSIF p_tax -> 'basis' IS DISTINCT FROM shop.tax_basis(p_quote, p_address) THEN
        -- Priced for other lines, amounts or address than what is being charged (the cart changed between
        -- the two calls): never charge a quote for something else.
        reason := 'quote_mismatch';
    ELSIF jsonb_typeof(p_tax -> 'lines') IS DISTINCT FROM 'array'
        OR jsonb_array_length(p_tax -> 'lines') <> jsonb_array_length(p_quote -> 'lines')
        OR EXISTS (
            SELECT
            FROM jsonb_array_elements(p_quote -> 'lines') WITH ORDINALITY AS e (l, n)
            INNER JOIN jsonb_array_elements(p_tax -> 'lines') WITH ORDINALITY AS t (q, n) USING (n)
            WHERE NOT shop.whole_amount(t.q -> 'tax')
                OR jsonb_typeof(t.q -> 'rate_percent') IS DISTINCT FROM 'number'
                OR (t.q ->> 'rate_percent')::numeric NOT BETWEEN 0 AND 100
                -- Included tax is a share of the amount, never more.
                OR (include_tax AND (t.q ->> 'tax')::bigint > (e.l ->> 'line_total')::bigint)
        )
        OR (has_shipping AND (
            NOT shop.whole_amount(p_tax -> 'shipping_tax')
            OR (include_tax AND (p_tax ->> 'shipping_tax')::bigint > (p_quote -> 'shipping' ->> 'amount')::bigint)
        )) THEN
        reason := 'bad_answer';
    END IF;
    IF reason IS NOT NULL THEN
        RETURN p_quote || jsonb_build_object('tax_source', 'builtin_fallback', 'tax_fallback_reason', reason);
    END IF;

    SELECT
        jsonb_agg(e.l || jsonb_build_object(
            'tax', (t.q ->> 'tax')::bigint, 'tax_rate_percent', (t.q ->> 'rate_percent')::numeric
        ) ORDER BY e.n),
        coalesce(sum((t.q ->> 'tax')::bigint), 0)
    INTO lines, line_tax
    FROM jsonb_array_elements(p_quote -> 'lines') WITH ORDINALITY AS e (l, n)
    INNER JOIN jsonb_array_elements(p_tax -> 'lines') WITH ORDINALITY AS t (q, n) USING (n);
    IF has_shipping THEN
        shipping_tax := (p_tax ->> 'shipping_tax')::bigint;
    END IF;
    tax_total := coalesce(line_tax, 0) + shipping_tax;
    -- The totals rule of shop.orders (its CHECK): tax is inside the amounts or added to them.
    RETURN p_quote || jsonb_build_object(
        'lines', coalesce(lines, '[]'),
        'shipping', CASE WHEN has_shipping THEN p_quote -> 'shipping' || jsonb_build_object('tax', shipping_tax) END,
        'tax_total', tax_total,
        'total', (p_quote ->> 'subtotal')::bigint - (p_quote ->> 'discount_total')::bigint
        + (p_quote ->> 'shipping_total')::bigint + CASE WHEN include_tax THEN 0 ELSE tax_total END,
        'tax_source', 'external'
    );
END
$$;
COMMENT ON FUNCTION shop.apply_tax_quote(jsonb, jsonb, jsonb) IS
'A cart''s pricing (shop.price_cart) with a tax service''s answer p_tax applied: {basis (shop.tax_basis it '
'priced), lines: [{tax, rate_percent}] in line order, shipping_tax} replaces each line''s tax, the shipping '
'tax, tax_total and total (tax_source external) only when basis is exactly shop.tax_basis(p_quote, '
'p_address) and every amount is whole, non-negative and (prices including tax) within its line. Otherwise, '
'or when p_tax is {error}, the built-in pricing is kept with tax_source builtin_fallback and '
'tax_fallback_reason (the error, quote_mismatch or bad_answer). Owner only.';
REVOKE ALL ON FUNCTION shop.apply_tax_quote(jsonb, jsonb, jsonb) FROM PUBLIC;

-- == the flag is part of the snapshot ================================================================
-- shop.tg_orders__snapshot refuses the change (PT409 order_snapshot_immutable), as for the tax amounts.
CREATE OR REPLACE TRIGGER _110_tax_source_snapshot
BEFORE UPDATE ON shop.orders
FOR EACH ROW
WHEN ((old.tax_source, old.tax_fallback_reason) IS DISTINCT FROM (new.tax_source, new.tax_fallback_reason))
EXECUTE FUNCTION shop.tg_orders__snapshot();
