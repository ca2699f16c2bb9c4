-- Personal data (docs/privacy.md): re-sealing TOTP secrets, what an erased account's copies of an address
-- keep, and which outbox events are about a customer.

CREATE OR REPLACE FUNCTION auth.replace_totp_secret(p_account_id uuid, p_old text, p_new text)
RETURNS boolean
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    -- Compare and swap: a secret changed or removed since the server read it stays as it is now.
    WITH sealed AS (
        UPDATE auth.accounts AS a
        SET totp_secret = p_new
        WHERE
            a.id = p_account_id
            AND a.totp_secret = p_old
            AND p_new ~ '^enc:v1:[0-9a-f]{16}:[A-Za-z0-9_-]{40,255}$'
        RETURNING a.id
    )

    SELECT EXISTS (SELECT FROM sealed)
$$;
COMMENT ON FUNCTION auth.replace_totp_secret(uuid, text, text) IS
'Re-seal an account''s TOTP secret (a plain one from before migration 0037, or one sealed with a '
'previous key): sets totp_secret to p_new, which must be sealed (enc:v1:...), only while it still is '
'p_old; returns whether it did. For postcart_authenticator (after a verified login) and the '
'`postcart reencrypt-secrets` command.';

CREATE OR REPLACE FUNCTION auth.erased_address(p_address jsonb)
RETURNS jsonb
LANGUAGE sql
IMMUTABLE
AS $$
    -- Country and region decide the tax an order was charged: kept for the accounts. The rest names a
    -- person or a home.
    SELECT CASE WHEN p_address IS NOT NULL THEN jsonb_strip_nulls(jsonb_build_object(
        'full_name', 'Erased',
        'line1', 'Erased',
        'city', 'Erased',
        'postal_code', '',
        'country', p_address -> 'country',
        'region', p_address -> 'region'
    )) END
$$;
COMMENT ON FUNCTION auth.erased_address(jsonb) IS
'What an order''s or cart''s copy of an address keeps once its customer erased the account: the country '
'and region (the tax jurisdiction), every other member replaced by a placeholder; returns jsonb (NULL for '
'NULL).';

CREATE OR REPLACE FUNCTION auth.customer_subjects(p_customer_id uuid)
RETURNS uuid[]
LANGUAGE sql
STABLE
AS $$
    SELECT array_agg(s.id)
    FROM (
        SELECT p_customer_id AS id
        UNION ALL
        SELECT c.id FROM shop.carts AS c WHERE c.customer_id = p_customer_id
        UNION ALL
        SELECT o.id FROM shop.orders AS o WHERE o.customer_id = p_customer_id
        UNION ALL
        SELECT p.id FROM shop.payments AS p INNER JOIN shop.orders AS o ON p.order_id = o.id
        WHERE o.customer_id = p_customer_id
        UNION ALL
        SELECT f.id FROM shop.fulfillments AS f INNER JOIN shop.orders AS o ON f.order_id = o.id
        WHERE o.customer_id = p_customer_id
        UNION ALL
        SELECT r.id FROM shop.returns AS r INNER JOIN shop.orders AS o ON r.order_id = o.id
        WHERE o.customer_id = p_customer_id
    ) AS s
$$;
COMMENT ON FUNCTION auth.customer_subjects(uuid) IS
'The ids outbox events about a customer can have as subject: the account, its carts, its orders and their '
'payments, shipments and returns; returns uuid[]. Read as the caller: for the SECURITY DEFINER export '
'and erasure. Internal: no grants.';

REVOKE EXECUTE ON FUNCTION auth.customer_subjects(uuid) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.replace_totp_secret(uuid, text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.erased_address(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.replace_totp_secret(uuid, text, text) TO postcart_authenticator;
