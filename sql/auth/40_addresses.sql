-- Helpers for the address book API (kept out of the api schema, whose functions are the routes).

CREATE OR REPLACE FUNCTION auth.address_json(p_address shop.addresses)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT jsonb_build_object(
        'id', p_address.id,
        'full_name', p_address.full_name,
        'line1', p_address.line1,
        'line2', p_address.line2,
        'city', p_address.city,
        'region', p_address.region,
        'postal_code', p_address.postal_code,
        'country', p_address.country,
        'phone', p_address.phone,
        'created_at', auth.to_rfc3339(p_address.created_at)
    )
$$;
COMMENT ON FUNCTION auth.address_json(shop.addresses) IS
'An address as the API shows it: returns {id, full_name, line1, line2, city, region, postal_code, country, '
'phone, created_at}.';

CREATE OR REPLACE FUNCTION auth.address_errors(p_args jsonb, p_partial boolean)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    -- For a partial update (p_partial) only the members present are checked, by the same rules.
    -- PL/pgSQL for its cached plan: a sql function that pins search_path is planned on every call.
    RETURN (
        WITH given AS (
            SELECT
                upper(btrim(p_args ->> 'country')) AS country,
                upper(nullif(btrim(p_args ->> 'region'), '')) AS region,
                nullif(btrim(p_args ->> 'phone'), '') AS phone
        )

        SELECT jsonb_strip_nulls(jsonb_build_object(
            'full_name', auth.text_field_error(p_args, 'full_name', NOT p_partial OR p_args ? 'full_name', 200),
            'line1', auth.text_field_error(p_args, 'line1', NOT p_partial OR p_args ? 'line1', 200),
            'line2', auth.text_field_error(p_args, 'line2', FALSE, 200),
            'city', auth.text_field_error(p_args, 'city', NOT p_partial OR p_args ? 'city', 100),
            -- the same pattern as the addresses_region_check constraint
            'region', coalesce(
                auth.text_field_error(p_args, 'region', FALSE, 3),
                CASE WHEN g.region !~ '^[A-Z0-9]{1,3}$' THEN 'must be an ISO 3166-2 subdivision code such as CA' END
            ),
            'postal_code', auth.text_field_error(p_args, 'postal_code', NOT p_partial OR p_args ? 'postal_code', 20),
            'country', coalesce(
                auth.text_field_error(p_args, 'country', NOT p_partial OR p_args ? 'country', 2),
                CASE
                    WHEN
                        g.country IS NOT NULL
                        AND NOT EXISTS (SELECT FROM shop.countries AS c WHERE c.code = g.country)
                        THEN 'is not an ISO 3166-1 alpha-2 country code'
                END
            ),
            -- the same pattern as the addresses_phone_check constraint
            'phone', coalesce(
                auth.text_field_error(p_args, 'phone', FALSE, 32),
                CASE WHEN g.phone !~ '^[+(]?[0-9][0-9 ()./-]{2,30}$' THEN 'is not a valid phone number' END
            )
        ))
        FROM given AS g
    );
END
$$;
COMMENT ON FUNCTION auth.address_errors(jsonb, boolean) IS
'Validates an address in an api argument object: full_name, line1, city, postal_code and country '
'required (unless p_partial, where only the members present are checked), country one of shop.countries '
'(ISO 3166-1 alpha-2, any case), region an ISO 3166-2 subdivision code without the country (CA), phone a '
'plausible number. Returns {field: reason} for '
'each problem, {} when fine.';

REVOKE EXECUTE ON FUNCTION auth.address_json(shop.addresses) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.address_errors(jsonb, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.address_errors(jsonb, boolean) TO postcart_customer;
GRANT EXECUTE ON FUNCTION auth.address_json(shop.addresses) TO postcart_customer;
