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
        'postal_code', p_address.postal_code,
        'country', p_address.country,
        'phone', p_address.phone,
        'created_at', auth.to_rfc3339(p_address.created_at)
    )
$$;
COMMENT ON FUNCTION auth.address_json(shop.addresses) IS
'An address as the API shows it: returns {id, full_name, line1, line2, city, postal_code, country, phone, '
'created_at}.';

CREATE OR REPLACE FUNCTION auth.page_cursor(p_created_at timestamptz, p_id uuid)
RETURNS text
LANGUAGE sql
STABLE
AS $$
    -- base64url without padding of "<RFC 3339 UTC time>|<id>"
    SELECT translate(
        encode(convert_to(auth.to_rfc3339(p_created_at) || '|' || p_id::text, 'UTF8'), 'base64'),
        E'+/=\n', '-_'
    )
$$;
COMMENT ON FUNCTION auth.page_cursor(timestamptz, uuid) IS
'Encodes a (created_at, id) keyset position as an opaque URL-safe cursor; returns text.';

REVOKE EXECUTE ON FUNCTION auth.address_json(shop.addresses) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.page_cursor(timestamptz, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.address_json(shop.addresses) TO postcart_customer;
GRANT EXECUTE ON FUNCTION auth.page_cursor(timestamptz, uuid) TO postcart_customer;
