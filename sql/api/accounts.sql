-- Accounts API: registration, the caller's profile, session end, MFA, the address book and staff
-- creation. Each function takes the request's merged arguments (args: what the client sent) and returns
-- the body. Routes with a server-side preparation also get `derived`: what the server computed (a
-- password hash, a verified TOTP secret, a re-authentication), which a client can never supply.

-- ---------------------------------------------------------------------------------------------------
-- Registration and session end
-- ---------------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION api.register(args jsonb, derived jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_account auth.accounts;
BEGIN
    PERFORM auth.check_new_account(args, derived);
    v_account := auth.new_account('customer', args, derived ->> 'password_hash');
    PERFORM integration.emit('customer.created', v_account.id, jsonb_build_object(
        'customer_id', v_account.id, 'email', v_account.email, 'full_name', v_account.full_name,
        'created_at', auth.to_rfc3339(v_account.created_at)
    ));
    PERFORM auth.new_account_request('email_verification', v_account.id);  -- mailed by the worker
    RETURN jsonb_build_object('customer', jsonb_build_object(
        'id', v_account.id, 'email', v_account.email, 'full_name', v_account.full_name
    ));
END
$$;
COMMENT ON FUNCTION api.register(jsonb, jsonb) IS
'Register a customer account: {email, password, full_name} → {customer: {id, email, full_name}}; 409 '
'email_taken, 422 weak_password / validation_failed (details.fields names every problem). The server '
'checks the password policy and hashes the password; the database receives only derived.password_hash '
'(argon2id with the server''s parameters) or the policy''s verdict (derived.password_problem), never the '
'password, and ignores any hash in the client''s arguments. Emits customer.created {customer_id, email, '
'full_name, created_at} and an e-mail verification request (customer.email_verification_requested).';

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
        'id', a.id, 'email', a.email, 'full_name', a.full_name, 'created_at', auth.to_rfc3339(a.created_at),
        'email_verified', a.email_verified_at IS NOT NULL,
        'marketing_emails', coalesce(integration.caller_marketing_emails(), FALSE)
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
'The caller''s own profile (customer or staff) → {id, email, full_name, created_at, email_verified, '
'marketing_emails (whether marketing mail goes to it now: integration.marketing_allowed)}.';

CREATE OR REPLACE FUNCTION api.update_me(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    -- Each member is optional; at least one must be sent.
    v_errors jsonb := jsonb_strip_nulls(jsonb_build_object(
        'full_name', auth.text_field_error(args, 'full_name', args ? 'full_name' OR NOT args ? 'marketing_emails', 200),
        'marketing_emails', CASE
            WHEN args ? 'marketing_emails' AND jsonb_typeof(args -> 'marketing_emails') <> 'boolean'
                THEN 'must be true or false'
        END
    ));
BEGIN
    IF v_errors <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed',
            jsonb_build_object('fields', v_errors),
            'Some fields are missing or invalid; see details.fields.'
        );
    END IF;
    IF args ? 'full_name' THEN
        UPDATE auth.accounts AS a
        SET full_name = btrim(args ->> 'full_name')
        WHERE a.id = auth.current_account_id();
    END IF;
    IF args ? 'marketing_emails' THEN
        PERFORM integration.set_marketing_consent((args ->> 'marketing_emails')::boolean);
    END IF;
    RETURN api.me(args);  -- the same shape, and the same 404 should the account be gone
END
$$;
COMMENT ON FUNCTION api.update_me(jsonb) IS
'Change the caller''s own profile: {full_name?, marketing_emails?: boolean} (at least one) → the profile '
'as api.me shows it. marketing_emails records the caller''s consent to marketing mail (false also '
'suppresses the address, true lifts an earlier unsubscribe).';

CREATE OR REPLACE FUNCTION api.enable_totp(args jsonb, derived jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_secret text := btrim(derived ->> 'totp_secret');
    v_step bigint;
    v_account auth.accounts;
    v_codes text[];
BEGIN
    IF derived -> 'reauthenticated' IS DISTINCT FROM 'true'::jsonb THEN
        PERFORM shop.fail(
            401, 'reauthentication_required',
            '{}'::jsonb,
            'Send your password to change two-factor authentication.'
        );
    END IF;
    -- Sealed by the server (enc:v1:..., docs/privacy.md); a plain base32 secret is still accepted from
    -- callers in SQL, as rows from before migration 0037 hold, and is re-sealed at its first use.
    IF v_secret !~ '^enc:v1:' THEN
        v_secret := upper(v_secret);
    END IF;
    IF
        jsonb_typeof(derived -> 'totp_secret') IS DISTINCT FROM 'string'
        OR NOT (v_secret ~ '^enc:v1:[0-9a-f]{16}:[A-Za-z0-9_-]{40,255}$' OR v_secret ~ '^[A-Z2-7]{16,128}=*$')
        THEN
        PERFORM shop.fail(
            422, 'validation_failed',
            jsonb_build_object('fields', jsonb_build_object(
                'secret', 'must be a base32 secret of at least 16 characters'
            )),
            'Some fields are missing or invalid; see details.fields.'
        );
    END IF;
    IF jsonb_typeof(derived -> 'totp_step') = 'number' THEN
        v_step := (derived ->> 'totp_step')::bigint;
    END IF;

    -- The confirming code's time step counts as used: it cannot sign in afterwards.
    UPDATE auth.accounts AS a
    SET totp_secret = v_secret, totp_last_step = greatest(a.totp_last_step, v_step)
    WHERE a.id = auth.current_account_id() AND a.totp_secret IS NULL
    RETURNING a.* INTO v_account;
    IF NOT FOUND THEN
        IF EXISTS (
            SELECT FROM auth.accounts AS a WHERE a.id = auth.current_account_id() AND a.totp_secret IS NOT NULL
        ) THEN
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

    -- Ten new recovery codes replace any earlier ones; only their sha256 is kept.
    DELETE FROM auth.recovery_codes AS r WHERE r.account_id = v_account.id;
    SELECT array_agg(auth.new_recovery_code()) INTO v_codes FROM generate_series(1, 10);
    INSERT INTO auth.recovery_codes (account_id, code_hash)
    SELECT v_account.id, auth.recovery_code_hash(c.code) FROM unnest(v_codes) AS c (code);
    -- The password was right: a success, which ends the failure count of the login lockout.
    INSERT INTO auth.login_attempts (email, succeeded) VALUES (v_account.email, TRUE);
    RETURN jsonb_build_object('recovery_codes', to_jsonb(v_codes));
END
$$;
COMMENT ON FUNCTION api.enable_totp(jsonb, jsonb) IS
'Turn on TOTP two-factor login for the caller: {secret, otp, password} → {recovery_codes: [10 codes]}, '
'shown this once (the database keeps their sha256); each signs in once in place of a TOTP code. The '
'server first checks the password (401 reauthentication_required; wrong passwords count toward the '
'login lockout, 429) and that otp matches secret (422 invalid_otp), then passes derived {totp_secret '
'(sealed by the server: docs/privacy.md), totp_step, reauthenticated}. 409 totp_already_enabled.';

CREATE OR REPLACE FUNCTION api.disable_totp(args jsonb, derived jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_account auth.accounts;
    v_step bigint;
    v_proved boolean := FALSE;
BEGIN
    IF derived -> 'reauthenticated' IS DISTINCT FROM 'true'::jsonb THEN
        PERFORM shop.fail(
            401, 'reauthentication_required',
            '{}'::jsonb,
            'Send your password and a current one-time code (or a recovery code) to turn two-factor '
            || 'authentication off.'
        );
    END IF;
    SELECT a.* INTO v_account
    FROM auth.accounts AS a
    WHERE a.id = auth.current_account_id()
    FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM shop.fail(
            404, 'account_not_found',
            '{}'::jsonb,
            'The account of this token no longer exists.'
        );
    END IF;

    IF v_account.totp_secret IS NOT NULL THEN
        -- The second proof, spent once: a TOTP time step later than the last one used, or an unused
        -- recovery code of this account.
        IF jsonb_typeof(derived -> 'totp_step') = 'number' THEN
            v_step := (derived ->> 'totp_step')::bigint;
            UPDATE auth.accounts AS a
            SET totp_last_step = v_step
            WHERE a.id = v_account.id AND (a.totp_last_step IS NULL OR a.totp_last_step < v_step);
            v_proved := FOUND;
        ELSIF derived ->> 'recovery_code_hash' ~ '^[0-9a-f]{64}$' THEN
            UPDATE auth.recovery_codes AS r
            SET used_at = now()
            WHERE
                r.account_id = v_account.id
                AND r.code_hash = decode(derived ->> 'recovery_code_hash', 'hex')
                AND r.used_at IS NULL;
            v_proved := FOUND;
        END IF;
        IF NOT v_proved THEN
            PERFORM shop.fail(
                401, 'reauthentication_required',
                '{}'::jsonb,
                'Send a current one-time code (otp) or an unused recovery code (recovery_code) with your '
                || 'password to turn two-factor authentication off.'
            );
        END IF;
        UPDATE auth.accounts AS a SET totp_secret = NULL WHERE a.id = v_account.id;
        DELETE FROM auth.recovery_codes AS r WHERE r.account_id = v_account.id;
    END IF;
    INSERT INTO auth.login_attempts (email, succeeded) VALUES (v_account.email, TRUE);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION api.disable_totp(jsonb, jsonb) IS
'Turn off TOTP two-factor login for the caller: {password, otp} or {password, recovery_code} → null '
'(204); its recovery codes are deleted. The server checks the password first (wrong passwords count '
'toward the login lockout) and passes derived {reauthenticated, totp_step or recovery_code_hash}; a '
'missing or wrong proof, or one already used, is 401 reauthentication_required and changes nothing. '
'Without TOTP on it changes nothing.';

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
    v_limit integer := shop.page_size(args);
    v_cursor text := nullif(btrim(args ->> 'cursor'), '');
    v_key jsonb;
    v_after_at timestamptz := 'infinity';
    v_after_id uuid := 'ffffffff-ffff-ffff-ffff-ffffffffffff';
    v_result jsonb;
BEGIN
    IF v_limit IS NULL THEN
        PERFORM shop.fail(
            400, 'validation_failed',
            jsonb_build_object('fields', jsonb_build_object(
                'limit', 'must be an integer between 1 and 100'
            )),
            'limit must be a whole number from 1 to 100.'
        );
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
    v_errors jsonb := auth.address_errors(args, FALSE);
    v_address shop.addresses;
BEGIN
    IF v_errors <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed',
            jsonb_build_object('fields', v_errors),
            'Some fields are missing or invalid; see details.fields.'
        );
    END IF;

    INSERT INTO shop.addresses (full_name, line1, line2, city, region, postal_code, country, phone)
    VALUES (
        btrim(args ->> 'full_name'),
        btrim(args ->> 'line1'),
        nullif(btrim(args ->> 'line2'), ''),
        btrim(args ->> 'city'),
        upper(nullif(btrim(args ->> 'region'), '')),
        btrim(args ->> 'postal_code'),
        upper(btrim(args ->> 'country')),
        nullif(btrim(args ->> 'phone'), '')
    )
    RETURNING * INTO v_address;
    RETURN auth.address_json(v_address);
END
$$;
COMMENT ON FUNCTION api.add_address(jsonb) IS
'Add an address to the caller''s address book: {full_name, line1, line2?, city, region?, postal_code, '
'country, phone?} → the address {id, full_name, line1, line2, city, region, postal_code, country, phone, '
'created_at}; region is an ISO 3166-2 subdivision code without the country (CA), for tax and shipping; '
'country is an ISO 3166-1 alpha-2 code (shop.countries, any case); 422 validation_failed names each '
'offending field in details.fields.';

CREATE OR REPLACE FUNCTION api.update_address(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_id uuid;
    v_errors jsonb;
    v_address shop.addresses;
BEGIN
    IF args ->> 'id' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        v_id := (args ->> 'id')::uuid;
    END IF;
    v_errors := auth.address_errors(args, TRUE);
    IF v_errors <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed',
            jsonb_build_object('fields', v_errors),
            'Some fields are missing or invalid; see details.fields.'
        );
    END IF;

    -- RLS decides whose address this may be: another customer's row is simply not found.
    UPDATE shop.addresses AS a
    SET
        full_name = CASE WHEN args ? 'full_name' THEN btrim(args ->> 'full_name') ELSE a.full_name END,
        line1 = CASE WHEN args ? 'line1' THEN btrim(args ->> 'line1') ELSE a.line1 END,
        line2 = CASE WHEN args ? 'line2' THEN nullif(btrim(args ->> 'line2'), '') ELSE a.line2 END,
        city = CASE WHEN args ? 'city' THEN btrim(args ->> 'city') ELSE a.city END,
        region = CASE WHEN args ? 'region' THEN upper(nullif(btrim(args ->> 'region'), '')) ELSE a.region END,
        postal_code = CASE WHEN args ? 'postal_code' THEN btrim(args ->> 'postal_code') ELSE a.postal_code END,
        country = CASE WHEN args ? 'country' THEN upper(btrim(args ->> 'country')) ELSE a.country END,
        phone = CASE WHEN args ? 'phone' THEN nullif(btrim(args ->> 'phone'), '') ELSE a.phone END
    WHERE a.id = v_id
    RETURNING a.* INTO v_address;
    IF NOT FOUND THEN
        PERFORM shop.fail(
            404, 'address_not_found',
            jsonb_build_object('id', args ->> 'id'),
            'You have no address with this id.'
        );
    END IF;
    RETURN auth.address_json(v_address);
END
$$;
COMMENT ON FUNCTION api.update_address(jsonb) IS
'Change one of the caller''s addresses: {id (path), full_name?, line1?, line2?, city?, region?, '
'postal_code?, country?, phone?}, only the members sent, by the same rules as add_address (null or "" '
'clears line2, region and phone) → the address; 404 address_not_found for an unknown id or another '
'customer''s address (RLS); 422 validation_failed.';

CREATE OR REPLACE FUNCTION api.delete_address(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_id uuid;
BEGIN
    IF args ->> 'id' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        v_id := (args ->> 'id')::uuid;
    END IF;
    -- RLS decides whose address this may be: another customer's row is simply not found.
    DELETE FROM shop.addresses AS a WHERE a.id = v_id;
    IF NOT FOUND THEN
        PERFORM shop.fail(
            404, 'address_not_found',
            jsonb_build_object('id', args ->> 'id'),
            'You have no address with this id.'
        );
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION api.delete_address(jsonb) IS
'Remove one of the caller''s addresses: {id (path)} → null (204); 404 address_not_found for an unknown '
'id or another customer''s address (RLS).';

-- ---------------------------------------------------------------------------------------------------
-- Staff
-- ---------------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION api.create_staff(args jsonb, derived jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_roles text[] := '{}';
    v_account_id uuid;
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
    PERFORM auth.check_new_account(args, derived);
    v_account_id := auth.new_staff_member(args, v_roles, derived ->> 'password_hash');
    -- A statement of its own: the STABLE staff_json sees the rows of earlier statements only.
    RETURN auth.staff_json(v_account_id);
END
$$;
COMMENT ON FUNCTION api.create_staff(jsonb, jsonb) IS
'Create a staff account (store_admin): {email, full_name, password, roles} → {staff: {id, email, '
'full_name, roles}}; 409 email_taken, 422 weak_password / validation_failed / unknown_role. The server '
'checks the password policy and passes only derived.password_hash (or derived.password_problem).';

CREATE OR REPLACE FUNCTION api.admin_list_staff(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    page_size integer;
    after_email text;
    after_id uuid;
    want_role text := nullif(args ->> 'role', '');
    want_active boolean;
    result jsonb;
BEGIN
    SELECT k.page_size, k.after_name, k.after_id INTO page_size, after_email, after_id FROM shop.name_keyset(args) AS k;
    IF want_role IS NOT NULL THEN
        PERFORM auth.check_permission_role(want_role);
    END IF;
    IF nullif(args ->> 'active', '') IS NOT NULL THEN
        IF lower(args ->> 'active') NOT IN ('true', 'false') THEN
            PERFORM shop.fail(
                400, 'validation_failed',
                jsonb_build_object('fields', jsonb_build_object('active', 'must be true or false')),
                'Some query parameters are invalid; details.fields says which and why.'
            );
        END IF;
        want_active := lower(args ->> 'active')::boolean;
    END IF;

    WITH page AS (
        SELECT a.id, a.email::text AS email, row_number() OVER (ORDER BY a.email::text, a.id) AS n
        FROM auth.accounts AS a
        WHERE
            a.kind = 'staff'
            AND (after_id IS NULL OR (a.email::text, a.id) > (after_email, after_id))
            AND (want_active IS NULL OR (a.deactivated_at IS NULL) = want_active)
            AND (want_role IS NULL OR pg_has_role(a.db_role, want_role, 'MEMBER'))
        ORDER BY a.email::text, a.id
        LIMIT page_size + 1
    )

    SELECT jsonb_build_object(
        'items', coalesce((
            SELECT jsonb_agg(auth.staff_json(page.id) -> 'staff' ORDER BY page.n) FROM page WHERE page.n <= page_size
        ), '[]'),
        'next_cursor', (
            SELECT shop.encode_cursor(jsonb_build_object('name', page.email, 'id', page.id))
            FROM page
            WHERE page.n = page_size AND EXISTS (SELECT FROM page AS more WHERE more.n > page_size)
        )
    )
    INTO result;
    RETURN result;
END
$$;
COMMENT ON FUNCTION api.admin_list_staff(jsonb) IS
'GET /v1/admin/staff (store_admin): the staff, by e-mail, in keyset pages (limit 1..100, default 20; '
'cursor), optionally only those holding a permission role (role) or only active or deactivated ones '
'(active=true|false). Returns {items: [{id, email, full_name, roles, active, state, mfa_enabled, '
'created_at, deactivated_at}], next_cursor}. Errors: PT400 validation_failed, PT400 invalid_cursor, PT422 '
'unknown_role.';

CREATE OR REPLACE FUNCTION api.update_staff(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_id uuid;
    v_roles text[];
    v_active boolean;
    fields jsonb := '{}';
BEGIN
    IF args ->> 'id' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        v_id := (args ->> 'id')::uuid;
    END IF;
    IF v_id IS NULL OR NOT EXISTS (SELECT FROM auth.accounts AS a WHERE a.id = v_id AND a.kind = 'staff') THEN
        PERFORM shop.fail(
            404, 'staff_not_found',
            jsonb_build_object('id', args ->> 'id'),
            'There is no staff member with this id.'
        );
    END IF;
    IF args ? 'roles' THEN
        IF jsonb_typeof(args -> 'roles') <> 'array' OR EXISTS (
            SELECT FROM jsonb_array_elements(args -> 'roles') AS r (v) WHERE jsonb_typeof(r.v) <> 'string'
        ) THEN
            fields := fields || '{"roles": "must be an array of role names"}';
        ELSE
            SELECT coalesce(array_agg(r.v), '{}') INTO v_roles FROM jsonb_array_elements_text(args -> 'roles') AS r (v);
        END IF;
    END IF;
    IF args ? 'active' THEN
        IF jsonb_typeof(args -> 'active') <> 'boolean' THEN
            fields := fields || '{"active": "must be true or false"}';
        ELSE
            v_active := (args ->> 'active')::boolean;
        END IF;
    END IF;
    IF fields <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed',
            jsonb_build_object('fields', fields),
            'Some fields are missing or invalid; see details.fields.'
        );
    END IF;
    -- A store administrator cannot lock themselves out; another one (or a DBA) can.
    IF v_id = auth.current_account_id() AND (v_active = FALSE OR NOT 'store_admin' = ANY(coalesce(v_roles, '{store_admin}'))) THEN
        PERFORM shop.fail(
            409, 'cannot_lock_self_out',
            jsonb_build_object('id', v_id),
            'You cannot deactivate yourself or give up store_admin yourself; ask another store administrator.'
        );
    END IF;
    IF v_roles IS NOT NULL THEN
        PERFORM auth.set_staff_roles(v_id, v_roles);
    END IF;
    IF v_active IS NOT NULL THEN
        PERFORM auth.set_staff_active(v_id, v_active);
    END IF;
    RETURN auth.staff_json(v_id);
END
$$;
COMMENT ON FUNCTION api.update_staff(jsonb) IS
'PATCH /v1/admin/staff/{id} (store_admin): {roles?, active?} → {staff: {...}}. roles replaces the member''s '
'permission roles with exactly these; active false deactivates them (every session ends at once, no new '
'login), true reactivates. 404 staff_not_found; 422 validation_failed / unknown_role; 409 '
'cannot_lock_self_out when a store administrator would deactivate themselves or drop their own '
'store_admin.';

CREATE OR REPLACE FUNCTION api.accept_staff_invitation(args jsonb, derived jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_account_id uuid;
BEGIN
    IF jsonb_typeof(derived -> 'password_hash') IS DISTINCT FROM 'string' THEN
        PERFORM shop.fail(
            422, 'validation_failed',
            jsonb_build_object('fields', jsonb_build_object('password', 'is required')),
            'Some fields are missing or invalid; see details.fields.'
        );
    END IF;
    -- Spent by one conditional UPDATE: of two parallel redemptions, one wins.
    IF derived ->> 'token_hash' ~ '^[0-9a-f]{64}$' THEN
        UPDATE auth.staff_invitations AS i
        SET used_at = now()
        WHERE
            i.token_hash = decode(derived ->> 'token_hash', 'hex')
            AND i.used_at IS NULL
            AND i.expires_at > now()
        RETURNING i.account_id INTO v_account_id;
    END IF;
    IF v_account_id IS NULL THEN
        PERFORM shop.fail(
            400, 'invalid_token',
            '{}'::jsonb,
            'This invitation is unknown, used or expired; ask a DBA for a new one (auth.reinvite_staff).'
        );
    END IF;
    INSERT INTO auth.password_hashes (account_id, password_hash)
    VALUES (v_account_id, derived ->> 'password_hash')
    ON CONFLICT (account_id) DO UPDATE SET password_hash = excluded.password_hash, updated_at = now();
    -- Any other open invitation of the member stops working too.
    UPDATE auth.staff_invitations AS i
    SET used_at = now()
    WHERE i.account_id = v_account_id AND i.used_at IS NULL;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION api.accept_staff_invitation(jsonb, jsonb) IS
'Redeem a staff invitation (from auth.invite_staff): {token, password} → null (204); the member can '
'then log in. The server checks the password policy and passes only derived {token_hash (sha256 of the '
'token), password_hash}; neither plain value reaches the database. 400 invalid_token when the token is '
'unknown, used or expired; 422 weak_password.';

-- ---------------------------------------------------------------------------------------------------
-- Who may call what
-- ---------------------------------------------------------------------------------------------------

REVOKE EXECUTE ON FUNCTION api.register(jsonb, jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION api.logout(jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION api.me(jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION api.update_me(jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION api.enable_totp(jsonb, jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION api.disable_totp(jsonb, jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION api.list_addresses(jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION api.add_address(jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION api.update_address(jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION api.delete_address(jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION api.create_staff(jsonb, jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION api.accept_staff_invitation(jsonb, jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION api.admin_list_staff(jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION api.update_staff(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.register(jsonb, jsonb) TO postcart_anon;
GRANT EXECUTE ON FUNCTION api.accept_staff_invitation(jsonb, jsonb) TO postcart_anon;
GRANT EXECUTE ON FUNCTION api.logout(jsonb) TO postcart_customer;
GRANT EXECUTE ON FUNCTION api.logout(jsonb) TO postcart_staff;
GRANT EXECUTE ON FUNCTION api.me(jsonb) TO postcart_customer;
GRANT EXECUTE ON FUNCTION api.me(jsonb) TO postcart_staff;
GRANT EXECUTE ON FUNCTION api.update_me(jsonb) TO postcart_customer;
GRANT EXECUTE ON FUNCTION api.update_me(jsonb) TO postcart_staff;
GRANT EXECUTE ON FUNCTION api.enable_totp(jsonb, jsonb) TO postcart_customer;
GRANT EXECUTE ON FUNCTION api.enable_totp(jsonb, jsonb) TO postcart_staff;
GRANT EXECUTE ON FUNCTION api.disable_totp(jsonb, jsonb) TO postcart_customer;
GRANT EXECUTE ON FUNCTION api.disable_totp(jsonb, jsonb) TO postcart_staff;
GRANT EXECUTE ON FUNCTION api.list_addresses(jsonb) TO postcart_customer;
GRANT EXECUTE ON FUNCTION api.add_address(jsonb) TO postcart_customer;
GRANT EXECUTE ON FUNCTION api.update_address(jsonb) TO postcart_customer;
GRANT EXECUTE ON FUNCTION api.delete_address(jsonb) TO postcart_customer;
GRANT EXECUTE ON FUNCTION api.create_staff(jsonb, jsonb) TO store_admin;
GRANT EXECUTE ON FUNCTION api.admin_list_staff(jsonb) TO store_admin;
GRANT EXECUTE ON FUNCTION api.update_staff(jsonb) TO store_admin;
