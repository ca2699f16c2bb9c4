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

CREATE OR REPLACE TRIGGER accounts_set_updated_at
BEFORE UPDATE ON auth.accounts
FOR EACH ROW EXECUTE FUNCTION shop.tg__set_updated_at();

CREATE OR REPLACE FUNCTION auth.new_account(
    p_kind text, p_email text, p_password text, p_password_hash text, p_full_name text
)
RETURNS auth.accounts
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_args jsonb := jsonb_build_object('email', p_email, 'full_name', p_full_name, 'password', p_password);
    v_errors jsonb;
    v_email text := btrim(p_email);
    v_id uuid := gen_random_uuid();
    v_account auth.accounts;
BEGIN
    v_errors := jsonb_strip_nulls(jsonb_build_object(
        'email', coalesce(
            auth.text_field_error(v_args, 'email', TRUE, 254),
            CASE WHEN NOT auth.email_is_valid(v_email) THEN 'is not a valid e-mail address' END
        ),
        'full_name', auth.text_field_error(v_args, 'full_name', TRUE, 200),
        'password', CASE WHEN p_password IS NULL OR p_password = '' THEN 'is required' END,
        'password_hash', CASE
            WHEN p_password_hash IS NULL OR NOT starts_with(p_password_hash, '$argon2id$')
                THEN 'must be an argon2id hash'
        END
    ));
    IF v_errors <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed',
            jsonb_build_object('fields', v_errors),
            'Some fields are missing or invalid; see details.fields.'
        );
    END IF;
    IF char_length(p_password) < 10 OR lower(p_password) = lower(v_email) THEN
        PERFORM shop.fail(
            422, 'weak_password',
            jsonb_build_object('field', 'password'),
            'Choose a password of at least 10 characters that is not your e-mail address.'
        );
    END IF;

    BEGIN
        INSERT INTO auth.accounts (id, email, full_name, kind, db_role)
        VALUES (
            v_id, v_email, btrim(p_full_name), p_kind,
            CASE WHEN p_kind = 'staff' THEN 'postcart_staff_' || left(replace(v_id::text, '-', ''), 12) END
        )
        RETURNING * INTO v_account;
    EXCEPTION WHEN unique_violation THEN
        PERFORM shop.fail(
            409, 'email_taken',
            jsonb_build_object('field', 'email'),
            'An account with this e-mail address already exists.'
        );
    END;
    INSERT INTO auth.password_hashes (account_id, password_hash) VALUES (v_id, p_password_hash);
    RETURN v_account;
END
$$;
COMMENT ON FUNCTION auth.new_account(text, text, text, text, text) IS
'Validates and creates an account of kind customer or staff with its password hash (staff get their '
'db_role name, the role itself is created by auth.create_staff). Raises PT422 validation_failed, PT422 '
'weak_password or PT409 email_taken; returns the new auth.accounts row. Internal (SECURITY INVOKER, no '
'grants): called from the SECURITY DEFINER functions that register customers and create staff.';

REVOKE EXECUTE ON FUNCTION auth.to_rfc3339(timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.text_field_error(jsonb, text, boolean, integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.current_session_id() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.new_account(text, text, text, text, text) FROM PUBLIC;
-- Pure helpers the SECURITY INVOKER api functions call as the caller.
GRANT EXECUTE ON FUNCTION auth.to_rfc3339(timestamptz) TO postcart_customer;
GRANT EXECUTE ON FUNCTION auth.to_rfc3339(timestamptz) TO postcart_staff;
GRANT EXECUTE ON FUNCTION auth.text_field_error(jsonb, text, boolean, integer) TO postcart_customer;
GRANT EXECUTE ON FUNCTION auth.text_field_error(jsonb, text, boolean, integer) TO postcart_staff;
GRANT EXECUTE ON FUNCTION auth.current_session_id() TO postcart_customer;
GRANT EXECUTE ON FUNCTION auth.current_session_id() TO postcart_staff;
