-- Account helpers: timestamps, input checks shared by the api functions and account creation.

CREATE OR REPLACE FUNCTION auth.to_rfc3339(p_ts timestamptz)
RETURNS text
LANGUAGE sql
STABLE
AS $$
    SELECT to_char(p_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;
COMMENT ON FUNCTION auth.to_rfc3339(timestamptz) IS
'Formats a timestamptz for JSON: RFC 3339 in UTC with microseconds, e.g. 2026-01-31T12:00:00.000000Z; '
'returns text (NULL for NULL).';

CREATE OR REPLACE FUNCTION auth.text_field_error(
    p_args jsonb, p_key text, p_required boolean, p_max_length integer
)
RETURNS text
LANGUAGE sql
STABLE
AS $$
    SELECT CASE
        WHEN jsonb_typeof(p_args -> p_key) IS NULL OR jsonb_typeof(p_args -> p_key) = 'null'
            THEN CASE WHEN p_required THEN 'is required' END
        WHEN jsonb_typeof(p_args -> p_key) <> 'string' THEN 'must be a string'
        WHEN btrim(p_args ->> p_key) = ''
            THEN CASE WHEN p_required THEN 'is required' END
        WHEN char_length(btrim(p_args ->> p_key)) > p_max_length
            THEN format('must be at most %s characters', p_max_length)
    END
$$;
COMMENT ON FUNCTION auth.text_field_error(jsonb, text, boolean, integer) IS
'Validates one text member of an api argument object (present when required, a string, at most '
'p_max_length characters once trimmed); returns the problem as a short phrase, or NULL when fine.';

CREATE OR REPLACE FUNCTION auth.current_session_id()
RETURNS uuid
LANGUAGE sql
STABLE
AS $$
    SELECT nullif(auth.claims() ->> 'sid', '')::uuid
$$;
COMMENT ON FUNCTION auth.current_session_id() IS
'The caller''s session id (claims.sid); NULL when anonymous.';

CREATE OR REPLACE FUNCTION auth.account_role(p_kind text, p_db_role name)
RETURNS text
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT CASE WHEN p_kind = 'staff' THEN p_db_role::text ELSE 'postcart_customer' END
$$;
COMMENT ON FUNCTION auth.account_role(text, name) IS
'The database role an account acts as, from its kind and db_role: postcart_customer for customers, the '
'member''s own role for staff; returns its name. Internal: no grants.';

CREATE OR REPLACE TRIGGER accounts_set_updated_at
BEFORE UPDATE ON auth.accounts
FOR EACH ROW EXECUTE FUNCTION shop.tg__set_updated_at();

CREATE OR REPLACE FUNCTION auth.account_errors(p_args jsonb)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'email', coalesce(
            auth.text_field_error(p_args, 'email', TRUE, 254),
            CASE WHEN NOT auth.email_is_valid(btrim(p_args ->> 'email')) THEN 'is not a valid e-mail address' END
        ),
        'full_name', auth.text_field_error(p_args, 'full_name', TRUE, 200)
    ))
$$;
COMMENT ON FUNCTION auth.account_errors(jsonb) IS
'Validates the client''s members of a new account, {email, full_name}: returns {field: reason} for each '
'problem, {} when fine.';

CREATE OR REPLACE FUNCTION auth.check_new_account(p_args jsonb, p_derived jsonb)
RETURNS void
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    -- The application checked the password where its plain text is: it derived either its hash or the
    -- problem ({code, reason}) that keeps it from being used. Reported here with the other fields, so a
    -- client learns every problem at once.
    v_problem jsonb := p_derived -> 'password_problem';
    v_errors jsonb := auth.account_errors(p_args) || jsonb_strip_nulls(jsonb_build_object('password', CASE
        WHEN v_problem ->> 'code' = 'validation_failed' THEN v_problem ->> 'reason'
        WHEN v_problem IS NULL AND jsonb_typeof(p_derived -> 'password_hash') IS DISTINCT FROM 'string'
            THEN 'is required'
    END));
BEGIN
    IF v_errors <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed',
            jsonb_build_object('fields', v_errors),
            'Some fields are missing or invalid; see details.fields.'
        );
    END IF;
    IF v_problem IS NOT NULL THEN
        PERFORM shop.fail(
            422, 'weak_password',
            jsonb_build_object('fields', jsonb_build_object('password', v_problem ->> 'reason')),
            'Choose a password of 10 to 1024 characters that is not your e-mail address.'
        );
    END IF;
END
$$;
COMMENT ON FUNCTION auth.check_new_account(jsonb, jsonb) IS
'For api.register and api.create_staff: raises PT422 validation_failed naming every offending field the '
'client sent (email, full_name, and password when the server found it missing or not a string), else '
'PT422 weak_password when the server found the password too weak (derived.password_problem); returns '
'nothing when the account may be created with derived.password_hash.';

CREATE OR REPLACE FUNCTION auth.new_account(p_kind text, p_args jsonb, p_password_hash text)
RETURNS auth.accounts
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    -- Only what the client sent (email, full_name) is named; the password was checked where its plain
    -- text is, in the application, which passes only the hash.
    v_errors jsonb := auth.account_errors(p_args);
    v_email text := btrim(p_args ->> 'email');
    v_id uuid := gen_random_uuid();
    v_account auth.accounts;
BEGIN
    IF v_errors <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed',
            jsonb_build_object('fields', v_errors),
            'Some fields are missing or invalid; see details.fields.'
        );
    END IF;
    IF NOT auth.password_hash_is_valid(p_password_hash) THEN
        PERFORM shop.fail(
            422, 'invalid_password_hash',
            '{}'::jsonb,
            'The password hash must be an argon2id hash made with the server''s parameters (m=65536, t=3, '
            || 'p=4): let the application hash it (postcart create-staff), or invite the member instead.'
        );
    END IF;

    BEGIN
        INSERT INTO auth.accounts (id, email, full_name, kind, db_role)
        VALUES (
            v_id, v_email, btrim(p_args ->> 'full_name'), p_kind,
            CASE WHEN p_kind = 'staff' THEN 'postcart_staff_' || left(replace(v_id::text, '-', ''), 12) END
        )
        RETURNING * INTO v_account;
    EXCEPTION WHEN unique_violation THEN
        PERFORM shop.fail(
            409, 'email_taken',
            jsonb_build_object('fields', jsonb_build_object('email', 'is already registered')),
            'An account with this e-mail address already exists.'
        );
    END;
    IF p_password_hash IS NOT NULL THEN
        INSERT INTO auth.password_hashes (account_id, password_hash) VALUES (v_id, p_password_hash);
    END IF;
    RETURN v_account;
END
$$;
COMMENT ON FUNCTION auth.new_account(text, jsonb, text) IS
'Validates {email, full_name} of p_args and creates an account of kind customer or staff, with the '
'password hash the server computed (NULL: no password yet, an invited staff member; staff get their '
'db_role name, the role itself is created by auth.new_staff_member). Never sees a plain password. '
'Raises PT422 validation_failed (details.fields), PT422 invalid_password_hash, PT409 email_taken; '
'returns the new auth.accounts row. Internal (no grants): called from SECURITY DEFINER functions.';

REVOKE EXECUTE ON FUNCTION auth.to_rfc3339(timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.text_field_error(jsonb, text, boolean, integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.current_session_id() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.account_role(text, name) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.account_errors(jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.check_new_account(jsonb, jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.new_account(text, jsonb, text) FROM PUBLIC;
-- Pure helpers the SECURITY INVOKER api functions call as the caller.
GRANT EXECUTE ON FUNCTION auth.to_rfc3339(timestamptz) TO postcart_customer;
GRANT EXECUTE ON FUNCTION auth.to_rfc3339(timestamptz) TO postcart_staff;
GRANT EXECUTE ON FUNCTION auth.text_field_error(jsonb, text, boolean, integer) TO postcart_customer;
GRANT EXECUTE ON FUNCTION auth.text_field_error(jsonb, text, boolean, integer) TO postcart_staff;
GRANT EXECUTE ON FUNCTION auth.current_session_id() TO postcart_customer;
GRANT EXECUTE ON FUNCTION auth.current_session_id() TO postcart_staff;
