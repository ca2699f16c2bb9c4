-- Tax and shipping rules over the tables of migration 0024: the store setting, tax per line of a cart or
-- order (shop.compute_tax) and the shipping methods that apply to an address, a weight and a subtotal
-- (shop.shipping_options). The cart and checkout call these as their caller (SECURITY INVOKER: every API
-- role may read rates, zones and active methods). docs/tax-and-shipping.md has the rules and worked
-- examples. Repeatable: applied after the migrations on every deploy.

-- == trigger functions ===============================================================================
CREATE OR REPLACE FUNCTION shop.tg_store_settings__keep_row()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    PERFORM shop.fail(
        409, 'store_settings_required', '{}',
        'The store settings row cannot be removed; change its values with UPDATE shop.store_settings.'
    );
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION shop.tg_store_settings__keep_row() IS
'BEFORE DELETE/TRUNCATE statement trigger on shop.store_settings: refuses (PT409 store_settings_required), '
'so the one settings row always exists. Never returns.';

-- == triggers ========================================================================================
CREATE OR REPLACE TRIGGER _900_updated_at
BEFORE UPDATE ON shop.tax_rates
FOR EACH ROW EXECUTE FUNCTION shop.tg__set_updated_at();
CREATE OR REPLACE TRIGGER _900_updated_at
BEFORE UPDATE ON shop.store_settings
FOR EACH ROW EXECUTE FUNCTION shop.tg__set_updated_at();
CREATE OR REPLACE TRIGGER _900_updated_at
BEFORE UPDATE ON shop.shipping_zones
FOR EACH ROW EXECUTE FUNCTION shop.tg__set_updated_at();
CREATE OR REPLACE TRIGGER _900_updated_at
BEFORE UPDATE ON shop.shipping_methods
FOR EACH ROW EXECUTE FUNCTION shop.tg__set_updated_at();

CREATE OR REPLACE TRIGGER keep_row
BEFORE DELETE ON shop.store_settings
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg_store_settings__keep_row();
CREATE OR REPLACE TRIGGER keep_row_truncate
BEFORE TRUNCATE ON shop.store_settings
FOR EACH STATEMENT EXECUTE FUNCTION shop.tg_store_settings__keep_row();

-- == the store setting ===============================================================================
CREATE OR REPLACE FUNCTION shop.prices_include_tax()
RETURNS boolean
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    -- PL/pgSQL keeps the plan: a scalar sql function reading a table is parsed and planned on every call.
    RETURN (SELECT s.prices_include_tax FROM shop.store_settings AS s WHERE s.id);
END
$$;
COMMENT ON FUNCTION shop.prices_include_tax() IS
'The store setting shop.store_settings.prices_include_tax: TRUE when catalog prices include tax (EU '
'style), FALSE when tax is added on top (US style). Returns boolean.';
REVOKE ALL ON FUNCTION shop.prices_include_tax() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.prices_include_tax() TO postcart_anon;
GRANT EXECUTE ON FUNCTION shop.prices_include_tax() TO postcart_customer;
GRANT EXECUTE ON FUNCTION shop.prices_include_tax() TO postcart_staff;

CREATE OR REPLACE FUNCTION shop.require_tax_class(code text)
RETURNS void
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM shop.tax_classes AS tc WHERE tc.code = require_tax_class.code) THEN
        PERFORM shop.fail(
            404, 'tax_class_not_found',
            jsonb_build_object('fields', jsonb_build_object('tax_class', 'no tax class has this code')),
            'No tax class has this code.'
        );
    END IF;
END
$$;
COMMENT ON FUNCTION shop.require_tax_class(text) IS
'For the admin API: raises PT404 tax_class_not_found (details.fields.tax_class) unless a tax class has this '
'code. Returns nothing.';
REVOKE ALL ON FUNCTION shop.require_tax_class(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.require_tax_class(text) TO postcart_staff;

-- == tax per line ====================================================================================
CREATE OR REPLACE FUNCTION shop.compute_tax(
    amounts bigint[],
    tax_classes text[],
    country char(2),
    region text,
    prices_include_tax boolean,
    at timestamptz DEFAULT now()
)
RETURNS TABLE (
    line integer,
    amount bigint,
    tax_class text,
    tax_rate_id uuid,
    tax_name text,
    rate_percent numeric,
    net bigint,
    tax bigint,
    gross bigint,
    net_total bigint,
    tax_total bigint,
    gross_total bigint
)
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    fields jsonb := '{}';
BEGIN
    -- -- validate every argument, then report all problems at once ------------------------------------
    IF compute_tax.amounts IS NULL THEN
        fields := fields || '{"amounts": "is required: one amount per line (empty for no lines)"}';
    END IF;
    IF compute_tax.tax_classes IS NULL THEN
        fields := fields || '{"tax_classes": "is required: one tax class per line"}';
    ELSIF cardinality(compute_tax.tax_classes) <> cardinality(compute_tax.amounts) THEN
        fields := fields || '{"tax_classes": "must name one tax class per amount"}';
    END IF;
    IF compute_tax.country IS NULL THEN
        fields := fields || '{"country": "is required"}';
    END IF;
    IF compute_tax.prices_include_tax IS NULL THEN
        fields := fields || '{"prices_include_tax": "must be true or false"}';
    END IF;
    IF compute_tax.at IS NULL THEN
        fields := fields || '{"at": "is required"}';
    END IF;
    SELECT fields || coalesce(jsonb_object_agg(p.field, p.problem), '{}')
    INTO fields
    FROM (
        SELECT format('amounts[%s]', a.n) AS field, 'must be a whole number of minor units, 0 or more' AS problem
        FROM unnest(compute_tax.amounts) WITH ORDINALITY AS a (amount, n)
        WHERE a.amount IS NULL OR a.amount < 0
        UNION ALL
        SELECT format('tax_classes[%s]', c.n), 'is not a tax class'
        FROM unnest(compute_tax.tax_classes) WITH ORDINALITY AS c (code, n)
        WHERE NOT EXISTS (SELECT FROM shop.tax_classes AS tc WHERE tc.code = c.code)
    ) AS p;
    IF fields <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed', jsonb_build_object('fields', fields),
            'Some arguments of the tax computation are invalid; details.fields says which and why.'
        );
    END IF;

    -- -- one rate per line: the region's, else the country's, else none (0 %) --------------------------
    -- The tax is rounded once per line, halves up (numeric round() rounds halves away from zero and
    -- amounts are never negative); net and gross follow from it exactly, so net + tax = gross always.
    RETURN QUERY
    WITH taxed AS (
        SELECT
            u.n::integer AS n,
            u.line_amount,
            u.line_class,
            r.id AS rate_id,
            r.name AS rate_name,
            coalesce(r.rate_percent, 0) AS pct,
            round(
                CASE
                    WHEN compute_tax.prices_include_tax
                        THEN u.line_amount * coalesce(r.rate_percent, 0) / (100 + coalesce(r.rate_percent, 0))
                    ELSE u.line_amount * coalesce(r.rate_percent, 0) / 100
                END
            )::bigint AS line_tax
        FROM unnest(compute_tax.amounts, compute_tax.tax_classes) WITH ORDINALITY AS u (line_amount, line_class, n)
        LEFT JOIN LATERAL (
            SELECT tr.id, tr.name, tr.rate_percent
            FROM shop.tax_rates AS tr
            WHERE tr.country = compute_tax.country
                AND tr.tax_class = u.line_class
                AND (tr.region = compute_tax.region OR tr.region IS NULL)
                AND tr.valid_during @> compute_tax.at
            ORDER BY tr.region IS NULL
            LIMIT 1
        ) AS r ON TRUE
    ),

    lines AS (
        SELECT
            t.n,
            t.line_amount,
            t.line_class,
            t.rate_id,
            t.rate_name,
            t.pct,
            CASE WHEN compute_tax.prices_include_tax THEN t.line_amount - t.line_tax ELSE t.line_amount END
            AS line_net,
            t.line_tax,
            CASE WHEN compute_tax.prices_include_tax THEN t.line_amount ELSE t.line_amount + t.line_tax END
            AS line_gross
        FROM taxed AS t
    )

    SELECT
        l.n,
        l.line_amount,
        l.line_class,
        l.rate_id,
        l.rate_name,
        l.pct,
        l.line_net,
        l.line_tax,
        l.line_gross,
        (sum(l.line_net) OVER ())::bigint,
        (sum(l.line_tax) OVER ())::bigint,
        (sum(l.line_gross) OVER ())::bigint
    FROM lines AS l
    ORDER BY l.n;
END
$$;
COMMENT ON FUNCTION shop.compute_tax(bigint[], text[], char, text, boolean, timestamptz) IS
'Tax for a set of lines shipped to country (and region, e.g. CA; NULL for none) at an instant (default '
'now()). amounts[i] is line i''s amount in minor units after discounts; tax_classes[i] its class. With '
'prices_include_tax (pass shop.prices_include_tax()) the amount is gross and the tax is taken out of it '
'(tax = amount x rate / (100 + rate)); without, it is net and the tax is added (tax = amount x rate / 100). '
'The rate is the region''s for the class, else the country''s, else 0 % (tax_rate_id NULL). The tax is '
'rounded per line to a whole minor unit, halves up; net + tax = gross on every line. Returns one row per '
'line in input order (line 1, 2, ...): amount, tax_class, tax_rate_id, tax_name, rate_percent, net, tax, '
'gross, and on every row the totals net_total, tax_total, gross_total (sums of the rounded lines); no '
'lines, no rows. Errors: PT422 validation_failed (details.fields: amounts[i], tax_classes[i], country, '
'prices_include_tax, at).';
REVOKE ALL ON FUNCTION shop.compute_tax(bigint[], text[], char, text, boolean, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.compute_tax(bigint[], text[], char, text, boolean, timestamptz) TO postcart_anon;
GRANT EXECUTE ON FUNCTION shop.compute_tax(bigint[], text[], char, text, boolean, timestamptz) TO postcart_customer;
GRANT EXECUTE ON FUNCTION shop.compute_tax(bigint[], text[], char, text, boolean, timestamptz) TO postcart_staff;

-- == shipping methods for an address =================================================================
CREATE OR REPLACE FUNCTION shop.shipping_options(
    country char(2),
    region text,
    weight_grams bigint,
    subtotal bigint,
    currency char(3)
)
RETURNS TABLE (
    method_id uuid,
    code text,
    name text,
    zone_code text,
    rate_kind text,
    amount bigint,
    free_from_subtotal bigint,
    tax_class text
)
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    fields jsonb := '{}';
BEGIN
    IF shipping_options.country IS NULL THEN
        fields := fields || '{"country": "is required"}';
    END IF;
    IF shipping_options.weight_grams IS NULL OR shipping_options.weight_grams < 0 THEN
        fields := fields || '{"weight_grams": "must be a whole number of grams, 0 or more"}';
    END IF;
    IF shipping_options.subtotal IS NULL OR shipping_options.subtotal < 0 THEN
        fields := fields || '{"subtotal": "must be a whole number of minor units, 0 or more"}';
    END IF;
    IF shipping_options.currency IS NULL THEN
        fields := fields || '{"currency": "is required"}';
    END IF;
    IF fields <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed', jsonb_build_object('fields', fields),
            'Some arguments of the shipping query are invalid; details.fields says which and why.'
        );
    END IF;

    RETURN QUERY
    WITH zone AS (
        -- A place is in at most one zone: the region's entry if there is one, else the country's.
        SELECT zc.zone_id
        FROM shop.shipping_zone_countries AS zc
        WHERE zc.country = shipping_options.country
            AND (zc.region = shipping_options.region OR zc.region IS NULL)
        ORDER BY zc.region IS NULL
        LIMIT 1
    ),

    priced AS (
        SELECT
            m.id,
            m.code AS method_code,
            m.name AS method_name,
            z.code AS method_zone,
            m.rate_kind AS kind,
            m.position AS method_position,
            m.free_from_subtotal AS free_from,
            m.tax_class AS method_class,
            CASE
                WHEN shipping_options.subtotal >= m.free_from_subtotal THEN 0
                WHEN m.rate_kind = 'flat' THEN m.flat_amount
                ELSE t.amount
            END AS price
        FROM zone
        INNER JOIN shop.shipping_zones AS z ON zone.zone_id = z.id
        INNER JOIN shop.shipping_methods AS m ON z.id = m.zone_id
        LEFT JOIN shop.shipping_method_tiers AS t
            ON m.id = t.method_id AND t.weights @> shipping_options.weight_grams
        WHERE m.active
            AND m.currency = shipping_options.currency
            -- A weight-tiered method with no tier covering the weight cannot carry the parcel.
            AND (m.rate_kind = 'flat' OR t.method_id IS NOT NULL)
    )

    SELECT p.id, p.method_code, p.method_name, p.method_zone, p.kind, p.price, p.free_from, p.method_class
    FROM priced AS p
    ORDER BY p.price, p.method_position, p.method_code;
END
$$;
COMMENT ON FUNCTION shop.shipping_options(char, text, bigint, bigint, char) IS
'The shipping methods that apply to a parcel of weight_grams going to country (and region, e.g. HI; NULL '
'for none), for an order of subtotal (minor units of currency), cheapest first (then position, code). The '
'address''s zone is the one listing its region, else the one listing its whole country; no zone, no '
'methods. Active methods of that zone in that currency apply: flat ones at flat_amount, weight_tiered ones '
'at the amount of the tier covering the weight (both bounds inclusive), left out when no tier covers it. '
'From a subtotal of free_from_subtotal (inclusive) a method costs 0. Returns (method_id, code, name, '
'zone_code, rate_kind, amount, free_from_subtotal, tax_class); the cart checks a chosen code by filtering '
'on it. Errors: PT422 validation_failed (details.fields: country, weight_grams, subtotal, currency).';
REVOKE ALL ON FUNCTION shop.shipping_options(char, text, bigint, bigint, char) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.shipping_options(char, text, bigint, bigint, char) TO postcart_anon;
GRANT EXECUTE ON FUNCTION shop.shipping_options(char, text, bigint, bigint, char) TO postcart_customer;
GRANT EXECUTE ON FUNCTION shop.shipping_options(char, text, bigint, bigint, char) TO postcart_staff;
