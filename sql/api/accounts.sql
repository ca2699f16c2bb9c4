-- Accounts API: registration, the caller's profile, session end, MFA, the address book and staff
-- creation. Each function takes the request's merged arguments as one jsonb and returns the body.

-- ---------------------------------------------------------------------------------------------------
-- Registration and session end
-- ---------------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION api.register(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_account auth.accounts;
BEGIN
    v_account := auth.new_account(
        'customer', args ->> 'email', args ->> 'password', args ->> 'password_hash', args ->> 'full_name'
    );
    RETURN jsonb_build_object('customer', jsonb_build_object(
        'id', v_account.id, 'email', v_account.email, 'full_name', v_account.full_name
    ));
END
$$;
COMMENT ON FUNCTION api.register(jsonb) IS
'Register a customer account: {email, password, full_name} (+ password_hash from the server) → '
'{customer: {id, email, full_name}}; 409 email_taken, 422 weak_password / validation_failed.';

CREATE OR REPLACE FUNCTION api.logout(args jsonb)
RETURNS jsonb
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    WITH ended AS (
        UPDATE auth.sessions AS s
        SET revoked_at = coalesce(s.revoked_at, now())
        WHERE s.id = auth.current_session_id() AND s.account_id = auth.current_account_id()
        RETURNING s.id
    )

    UPDATE auth.refresh_tokens AS t
    SET expires_at = least(t.expires_at, now())
    FROM ended
    WHERE t.session_id = ended.id AND t.used_at IS NULL;

    SELECT NULL::jsonb;
$$;
COMMENT ON FUNCTION api.logout(jsonb) IS
'Log out: end the caller''s session; its access and refresh tokens stop working at once → null (204).';

-- ---------------------------------------------------------------------------------------------------
-- The caller's profile and MFA
-- ---------------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION api.me(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_me jsonb;
BEGIN
    SELECT jsonb_build_object(
        'id', a.id, 'email', a.email, 'full_name', a.full_name, 'created_at', auth.to_rfc3339(a.created_at)
    )
    INTO v_me
    FROM auth.accounts AS a
    WHERE a.id = auth.current_account_id();
    IF v_me IS NULL THEN
        PERFORM shop.fail(
            404, 'account_not_found',
            '{}'::jsonb,
            'The account of this token no longer exists.'
        );
    END IF;
    RETURN v_me;
END
$$;
COMMENT ON FUNCTION api.me(jsonb) IS
'The caller''s own profile (customer or staff) → {id, email, full_name, created_at}.';

CREATE OR REPLACE FUNCTION api.update_me(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_error text := auth.text_field_error(args, 'full_name', TRUE, 200);
BEGIN
    IF v_error IS NOT NULL THEN
        PERFORM shop.fail(
            422, 'validation_failed',
            jsonb_build_object('fields', jsonb_build_object('full_name', v_error)),
            'Some fields are missing or invalid; see details.fields.'
        );
    END IF;
    UPDATE auth.accounts AS a
    SET full_name = btrim(args ->> 'full_name')
    WHERE a.id = auth.current_account_id();
    RETURN api.me(args);  -- the same shape, and the same 404 should the account be gone
END
$$;
COMMENT ON FUNCTION api.update_me(jsonb) IS
'Change the caller''s own name: {full_name} → {id, email, full_name, created_at}.';

CREATE OR REPLACE FUNCTION api.enable_totp(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_secret text := upper(btrim(args ->> 'totp_secret'));
    v_has_secret boolean;
BEGIN
    IF jsonb_typeof(args -> 'totp_secret') IS DISTINCT FROM 'string' OR v_secret !~ '^[A-Z2-7]{16,128}=*$' THEN
        PERFORM shop.fail(
            422, 'validation_failed',
            jsonb_build_object('fields', jsonb_build_object(
                'totp_secret', 'must be a base32 secret of at least 16 characters'
            )),
            'Some fields are missing or invalid; see details.fields.'
        );
    END IF;
    UPDATE auth.accounts AS a
    SET totp_secret = v_secret
    WHERE a.id = auth.current_account_id() AND a.totp_secret IS NULL;
    IF NOT FOUND THEN
        SELECT a.totp_secret IS NOT NULL INTO v_has_secret
        FROM auth.accounts AS a
        WHERE a.id = auth.current_account_id();
        IF v_has_secret THEN
            PERFORM shop.fail(
                409, 'totp_already_enabled',
                '{}'::jsonb,
                'Two-factor authentication is already on; turn it off first to change the secret.'
            );
        END IF;
        PERFORM shop.fail(
            404, 'account_not_found',
            '{}'::jsonb,
            'The account of this token no longer exists.'
        );
    END IF;
    RETURN jsonb_build_object('mfa_enabled', TRUE);
END
$$;
COMMENT ON FUNCTION api.enable_totp(jsonb) IS
'Turn on TOTP two-factor login for the caller: {totp_secret} (verified by the server first) → '
'{mfa_enabled: true}; 409 totp_already_enabled.';

CREATE OR REPLACE FUNCTION api.disable_totp(args jsonb)
RETURNS jsonb
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    UPDATE auth.accounts AS a
    SET totp_secret = NULL
    WHERE a.id = auth.current_account_id() AND a.totp_secret IS NOT NULL;

    SELECT jsonb_build_object('mfa_enabled', FALSE);
$$;
COMMENT ON FUNCTION api.disable_totp(jsonb) IS
'Turn off TOTP two-factor login for the caller → {mfa_enabled: false}.';

-- ---------------------------------------------------------------------------------------------------
-- Address book (SECURITY INVOKER: RLS on shop.addresses is the protection)
-- ---------------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION api.list_addresses(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_limit_text text := btrim(args ->> 'limit');
    v_limit integer := 20;
    v_cursor text := nullif(btrim(args ->> 'cursor'), '');
    v_key jsonb;
    v_after_at timestamptz := 'infinity';
    v_after_id uuid := 'ffffffff-ffff-ffff-ffff-ffffffffffff';
    v_result jsonb;
BEGIN
    IF v_limit_text IS NOT NULL THEN
        IF v_limit_text ~ '^[0-9]{1,3}$' THEN
            v_limit := v_limit_text::integer;
        END IF;
        IF v_limit_text !~ '^[0-9]{1,3}$' OR v_limit NOT BETWEEN 1 AND 100 THEN
            PERFORM shop.fail(
                400, 'validation_failed',
                jsonb_build_object('fields', jsonb_build_object(
                    'limit', 'must be an integer between 1 and 100'
                )),
                'limit must be a whole number from 1 to 100.'
            );
        END IF;
    END IF;

    IF v_cursor IS NOT NULL THEN
        v_key := shop.decode_cursor(v_cursor);  -- PT400 invalid_cursor when it is no cursor at all
        BEGIN
            v_after_at := (v_key ->> 'created_at')::timestamptz;
            v_after_id := (v_key ->> 'id')::uuid;
        EXCEPTION WHEN OTHERS THEN
            v_after_at := NULL;
        END;
        IF v_after_at IS NULL OR v_after_id IS NULL THEN
            PERFORM shop.fail(
                400, 'invalid_cursor',
                jsonb_build_object('fields', jsonb_build_object('cursor', 'is not a cursor from this list')),
                'Pass back a next_cursor value exactly as a previous page returned it.'
            );
        END IF;
    END IF;

    WITH page AS (
        SELECT
            a AS address,
            a.created_at,
            a.id,
            row_number() OVER (ORDER BY a.created_at DESC, a.id DESC) AS n
        FROM shop.addresses AS a
        WHERE (a.created_at, a.id) < (v_after_at, v_after_id)
        ORDER BY a.created_at DESC, a.id DESC
        LIMIT v_limit + 1
    )

    SELECT jsonb_build_object(
        'items', coalesce(
            jsonb_agg(auth.address_json(page.address) ORDER BY page.n) FILTER (WHERE page.n <= v_limit),
            '[]'::jsonb
        ),
        'next_cursor', CASE
            WHEN count(*) > v_limit
                THEN max(CASE WHEN page.n = v_limit THEN shop.encode_cursor(jsonb_build_object(
                    'created_at', auth.to_rfc3339(page.created_at), 'id', page.id
                )) END)
        END
    )
    INTO v_result
    FROM page;
    RETURN v_result;
END
$$;
COMMENT ON FUNCTION api.list_addresses(jsonb) IS
'The caller''s addresses, newest first: {limit?, cursor?} → {items: [address], next_cursor}; '
'400 validation_failed (limit not 1..100), 400 invalid_cursor.';

CREATE OR REPLACE FUNCTION api.add_address(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_country text := upper(btrim(args ->> 'country'));
    v_phone text := nullif(btrim(args ->> 'phone'), '');
    v_errors jsonb;
    v_address shop.addresses;
BEGIN
    v_errors := jsonb_strip_nulls(jsonb_build_object(
        'full_name', auth.text_field_error(args, 'full_name', TRUE, 200),
        'line1', auth.text_field_error(args, 'line1', TRUE, 200),
        'line2', auth.text_field_error(args, 'line2', FALSE, 200),
        'city', auth.text_field_error(args, 'city', TRUE, 100),
        'postal_code', auth.text_field_error(args, 'postal_code', TRUE, 20),
        'country', coalesce(
            auth.text_field_error(args, 'country', TRUE, 2),
            CASE WHEN v_country !~ '^[A-Z]{2}$' THEN 'must be an ISO 3166-1 alpha-2 country code' END
        ),
        -- the same pattern as the addresses_phone_check constraint
        'phone', coalesce(
            auth.text_field_error(args, 'phone', FALSE, 32),
            CASE WHEN v_phone !~ '^[+(]?[0-9][0-9 ()./-]{2,30}$' THEN 'is not a valid phone number' END
        )
    ));
    IF v_errors <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed',
            jsonb_build_object('fields', v_errors),
            'Some fields are missing or invalid; see details.fields.'
        );
    END IF;

    INSERT INTO shop.addresses (full_name, line1, line2, city, postal_code, country, phone)
    VALUES (
        btrim(args ->> 'full_name'),
        btrim(args ->> 'line1'),
        nullif(btrim(args ->> 'line2'), ''),
        btrim(args ->> 'city'),
        btrim(args ->> 'postal_code'),
        v_country,
        v_phone
    )
    RETURNING * INTO v_address;
    RETURN auth.address_json(v_address);
END
$$;
COMMENT ON FUNCTION api.add_address(jsonb) IS
'Add an address to the caller''s address book: {full_name, line1, line2?, city, postal_code, country, '
'phone?} → the address {id, full_name, line1, line2, city, postal_code, country, phone, created_at}.';

-- ---------------------------------------------------------------------------------------------------
-- Staff
-- ---------------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION api.create_staff(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_roles text[] := '{}';
BEGIN
    IF args ? 'roles' AND jsonb_typeof(args -> 'roles') <> 'null' THEN
        IF jsonb_typeof(args -> 'roles') <> 'array' OR EXISTS (
            SELECT FROM jsonb_array_elements(args -> 'roles') AS r (v) WHERE jsonb_typeof(r.v) <> 'string'
        ) THEN
            PERFORM shop.fail(
                422, 'validation_failed',
                jsonb_build_object('fields', jsonb_build_object(
                    'roles', 'must be an array of role names'
                )),
                'Some fields are missing or invalid; see details.fields.'
            );
        END IF;
        SELECT coalesce(array_agg(r.v), '{}') INTO v_roles FROM jsonb_array_elements_text(args -> 'roles') AS r (v);
    END IF;
    RETURN auth.create_staff(
        args ->> 'email', args ->> 'password', args ->> 'password_hash', args ->> 'full_name', v_roles
    );
END
$$;
COMMENT ON FUNCTION api.create_staff(jsonb) IS
'Create a staff account (store_admin): {email, full_name, password, roles} (+ password_hash from the '
'server) → {staff: {id, email, full_name, roles}}; 409 email_taken, 422 weak_password / unknown_role.';

-- ---------------------------------------------------------------------------------------------------
-- Who may call what
-- ---------------------------------------------------------------------------------------------------

REVOKE EXECUTE ON FUNCTION api.register(jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION api.logout(jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION api.me(jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION api.update_me(jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION api.enable_totp(jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION api.disable_totp(jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION api.list_addresses(jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION api.add_address(jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION api.create_staff(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.register(jsonb) TO postcart_anon;
GRANT EXECUTE ON FUNCTION api.logout(jsonb) TO postcart_customer;
GRANT EXECUTE ON FUNCTION api.logout(jsonb) TO postcart_staff;
GRANT EXECUTE ON FUNCTION api.me(jsonb) TO postcart_customer;
GRANT EXECUTE ON FUNCTION api.me(jsonb) TO postcart_staff;
GRANT EXECUTE ON FUNCTION api.update_me(jsonb) TO postcart_customer;
GRANT EXECUTE ON FUNCTION api.update_me(jsonb) TO postcart_staff;
GRANT EXECUTE ON FUNCTION api.enable_totp(jsonb) TO postcart_customer;
GRANT EXECUTE ON FUNCTION api.enable_totp(jsonb) TO postcart_staff;
GRANT EXECUTE ON FUNCTION api.disable_totp(jsonb) TO postcart_customer;
GRANT EXECUTE ON FUNCTION api.disable_totp(jsonb) TO postcart_staff;
GRANT EXECUTE ON FUNCTION api.list_addresses(jsonb) TO postcart_customer;
GRANT EXECUTE ON FUNCTION api.add_address(jsonb) TO postcart_customer;
GRANT EXECUTE ON FUNCTION api.create_staff(jsonb) TO store_admin;
