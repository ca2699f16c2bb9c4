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

REVOKE EXECUTE ON FUNCTION auth.address_json(shop.addresses) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.address_json(shop.addresses) TO postcart_customer;
