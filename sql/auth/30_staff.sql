-- Staff accounts: one database role per member (postcart_staff_<12 hex of the account id>), member of
-- postcart_staff and of the permission roles it was given, and switchable-to by the pool.

CREATE OR REPLACE FUNCTION auth.permission_roles()
RETURNS text[]
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT ARRAY['catalog_manager', 'inventory_manager', 'order_manager', 'support_agent', 'store_admin']
$$;
COMMENT ON FUNCTION auth.permission_roles() IS
'The permission roles a staff member may be given; returns them as text[].';

CREATE OR REPLACE FUNCTION auth.staff_json(p_account_id uuid)
RETURNS jsonb
LANGUAGE sql
STABLE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    SELECT jsonb_build_object('staff', jsonb_build_object(
        'id', a.id,
        'email', a.email,
        'full_name', a.full_name,
        'roles', coalesce((
            SELECT jsonb_agg(DISTINCT g.rolname::text ORDER BY g.rolname::text)
            FROM pg_catalog.pg_auth_members AS m
            INNER JOIN pg_catalog.pg_roles AS g ON m.roleid = g.oid
            INNER JOIN pg_catalog.pg_roles AS u ON m.member = u.oid
            WHERE u.rolname = a.db_role AND g.rolname::text = ANY(auth.permission_roles())
        ), '[]'::jsonb),
        'active', a.deactivated_at IS NULL,
        'state', CASE
            WHEN a.deactivated_at IS NOT NULL THEN 'deactivated'
            WHEN EXISTS (SELECT FROM auth.password_hashes AS p WHERE p.account_id = a.id) THEN 'active'
            ELSE 'invited'
        END,
        'mfa_enabled', a.totp_secret IS NOT NULL,
        'created_at', auth.to_rfc3339(a.created_at),
        'deactivated_at', auth.to_rfc3339(a.deactivated_at)
    ))
    FROM auth.accounts AS a
    WHERE a.id = p_account_id AND a.kind = 'staff'
$$;
COMMENT ON FUNCTION auth.staff_json(uuid) IS
'Describes a staff member: returns {"staff": {id, email, full_name, roles, active, state, mfa_enabled, '
'created_at, deactivated_at}}, roles being the permission roles its database role is a direct member of, '
'sorted, and state invited (no password yet), active or deactivated. Internal: no grants.';

CREATE OR REPLACE FUNCTION auth.check_permission_role(p_role text)
RETURNS void
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    IF p_role IS NULL OR NOT p_role = ANY(auth.permission_roles()) THEN
        PERFORM shop.fail(
            422, 'unknown_role',
            jsonb_build_object(
                'fields', jsonb_build_object('roles', format('%s is not a permission role', coalesce(p_role, 'null'))),
                'allowed', to_jsonb(auth.permission_roles())
            ),
            'Staff can only be given catalog_manager, inventory_manager, order_manager, support_agent '
            || 'or store_admin.'
        );
    END IF;
END
$$;
COMMENT ON FUNCTION auth.check_permission_role(text) IS
'Raises PT422 unknown_role (details.fields.roles, details.allowed) unless p_role is one of '
'auth.permission_roles(); returns nothing.';

CREATE OR REPLACE FUNCTION auth.staff_account(p_email text)
RETURNS auth.accounts
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_account auth.accounts;
BEGIN
    SELECT a.* INTO v_account
    FROM auth.accounts AS a
    WHERE a.email = btrim(p_email)::extensions.citext AND a.kind = 'staff';
    IF NOT FOUND THEN
        PERFORM shop.fail(
            404, 'staff_not_found',
            jsonb_build_object('email', p_email),
            'There is no staff member with this e-mail address.'
        );
    END IF;
    RETURN v_account;
END
$$;
COMMENT ON FUNCTION auth.staff_account(text) IS
'Finds a staff member by e-mail (case-insensitively); returns its auth.accounts row or raises PT404 '
'staff_not_found. Internal: no grants.';

CREATE OR REPLACE FUNCTION auth.new_staff_member(p_args jsonb, p_roles text[], p_password_hash text)
RETURNS uuid
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_roles text[];
    v_role text;
    v_account auth.accounts;
BEGIN
    FOREACH v_role IN ARRAY coalesce(p_roles, '{}') LOOP
        PERFORM auth.check_permission_role(v_role);
    END LOOP;
    SELECT coalesce(array_agg(DISTINCT r), '{}') INTO v_roles FROM unnest(p_roles) AS r;

    v_account := auth.new_account('staff', p_args, p_password_hash);

    -- postcart_owner has CREATEROLE and ADMIN OPTION on postcart_staff and the permission roles (0001);
    -- from PostgreSQL 16 on it also gets ADMIN OPTION on the roles it creates, which the last GRANT needs.
    EXECUTE format('CREATE ROLE %I NOLOGIN INHERIT', v_account.db_role);
    EXECUTE format('COMMENT ON ROLE %I IS %L', v_account.db_role, 'postcart staff member ' || v_account.id);
    EXECUTE format('GRANT postcart_staff TO %I', v_account.db_role);
    FOREACH v_role IN ARRAY v_roles LOOP
        EXECUTE format('GRANT %I TO %I', v_role, v_account.db_role);
    END LOOP;
    EXECUTE format('GRANT %I TO postcart_authenticator', v_account.db_role);
    RETURN v_account.id;
END
$$;
COMMENT ON FUNCTION auth.new_staff_member(jsonb, text[], text) IS
'Creates a staff account from p_args {email, full_name} with the server-computed password hash (NULL: '
'invited, no password yet) and its own NOLOGIN role postcart_staff_<12 hex of the id>, member of '
'postcart_staff and of each requested permission role, granted to postcart_authenticator. Raises PT422 '
'validation_failed / unknown_role / invalid_password_hash, PT409 email_taken; returns the account id. '
'Internal (no grants): called from auth.create_staff, auth.invite_staff and api.create_staff.';

CREATE OR REPLACE FUNCTION auth.create_staff(
    p_email text, p_password_hash text, p_full_name text, p_roles text[]
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_account_id uuid;
BEGIN
    IF p_password_hash IS NULL THEN
        PERFORM shop.fail(
            422, 'validation_failed',
            jsonb_build_object('fields', jsonb_build_object('password', 'is required')),
            'Pass the argon2id hash of the password, or use auth.invite_staff to let the member choose one.'
        );
    END IF;
    v_account_id := auth.new_staff_member(
        jsonb_build_object('email', p_email, 'full_name', p_full_name), p_roles, p_password_hash
    );
    -- A statement of its own: the STABLE staff_json sees the rows of earlier statements only.
    RETURN auth.staff_json(v_account_id);
END
$$;
COMMENT ON FUNCTION auth.create_staff(text, text, text, text[]) IS
'For `postcart create-staff` (and DBAs with a hash in hand): creates a staff account with an argon2id '
'hash made with the server''s parameters (the application checks the password policy and hashes; the '
'plain password never reaches the database) and the given permission roles. Raises PT422 '
'validation_failed / unknown_role / invalid_password_hash, PT409 email_taken; returns {"staff": {id, '
'email, full_name, roles}}. Without a hash in hand, use auth.invite_staff.';

CREATE OR REPLACE FUNCTION auth.new_staff_invitation(p_account_id uuid)
RETURNS text
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    -- Two version-4 UUIDs: 244 random bits from the server's strong random source, hashed into 64 hex
    -- digits. Only the token's own sha256 is kept.
    v_token text := encode(sha256(uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid())), 'hex');
BEGIN
    -- A new invitation replaces the member's earlier ones.
    UPDATE auth.staff_invitations AS i
    SET used_at = now()
    WHERE i.account_id = p_account_id AND i.used_at IS NULL;
    INSERT INTO auth.staff_invitations (token_hash, account_id, expires_at)
    VALUES (sha256(convert_to(v_token, 'UTF8')), p_account_id, now() + INTERVAL '7 days');
    RETURN v_token;
END
$$;
COMMENT ON FUNCTION auth.new_staff_invitation(uuid) IS
'Makes a single-use invitation token (64 hex digits, 244 random bits) for a staff account, valid 7 days, '
'storing only its sha256 and retiring the account''s earlier invitations; returns the token (shown '
'once). Internal: no grants.';

CREATE OR REPLACE FUNCTION auth.invite_staff(p_email text, p_full_name text, p_roles text[])
RETURNS text
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    RETURN auth.new_staff_invitation(auth.new_staff_member(
        jsonb_build_object('email', p_email, 'full_name', p_full_name), p_roles, NULL
    ));
END
$$;
COMMENT ON FUNCTION auth.invite_staff(text, text, text[]) IS
'For DBAs: creates a staff account without a password (state ''invited'' in auth.staff_members) and its '
'role with the given permission roles, and returns a single-use invitation token, valid 7 days and shown '
'only this once (the database keeps its sha256). The member redeems it with POST '
'/v1/auth/staff-invitations/accept {token, password}. Raises PT422 validation_failed / unknown_role, '
'PT409 email_taken.';

CREATE OR REPLACE FUNCTION auth.reinvite_staff(p_email text)
RETURNS text
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_account auth.accounts := auth.staff_account(p_email);
BEGIN
    IF EXISTS (SELECT FROM auth.password_hashes AS p WHERE p.account_id = v_account.id) THEN
        PERFORM shop.fail(
            409, 'staff_already_active',
            jsonb_build_object('email', v_account.email),
            'This staff member has set a password already; invitations are for members who have not.'
        );
    END IF;
    RETURN auth.new_staff_invitation(v_account.id);
END
$$;
COMMENT ON FUNCTION auth.reinvite_staff(text) IS
'For DBAs, when an invitation expired or was lost: a new single-use token for a staff member (by e-mail) '
'who has no password yet, valid 7 days; earlier tokens stop working. Raises PT404 staff_not_found, PT409 '
'staff_already_active; returns the token (shown once).';

CREATE OR REPLACE FUNCTION auth.staff_invitation_email(p_token_hash bytea)
RETURNS text
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    SELECT a.email::text
    FROM auth.staff_invitations AS i
    INNER JOIN auth.accounts AS a ON i.account_id = a.id
    WHERE i.token_hash = p_token_hash AND i.used_at IS NULL AND i.expires_at > now()
$$;
COMMENT ON FUNCTION auth.staff_invitation_email(bytea) IS
'For postcart_authenticator, before it hashes an invited member''s first password: the e-mail address '
'of the open invitation with this token sha256 (the password must differ from it); NULL when the token '
'is unknown, used or expired.';

-- ---------------------------------------------------------------------------------------------------
-- For DBAs: who the staff are
-- ---------------------------------------------------------------------------------------------------

CREATE OR REPLACE VIEW auth.staff_members AS
SELECT
    a.id,
    a.email,
    a.full_name,
    coalesce((
        SELECT array_agg(DISTINCT g.rolname::text ORDER BY g.rolname::text)
        FROM pg_catalog.pg_auth_members AS m
        INNER JOIN pg_catalog.pg_roles AS g ON m.roleid = g.oid
        INNER JOIN pg_catalog.pg_roles AS u ON m.member = u.oid
        WHERE u.rolname = a.db_role AND g.rolname::text = any(auth.permission_roles())
    ), '{}') AS roles,
    CASE
        WHEN a.deactivated_at IS NOT NULL THEN 'deactivated'
        WHEN p.account_id IS NULL THEN 'invited'
        ELSE 'active'
    END AS state,
    a.totp_secret IS NOT NULL AS mfa_enabled,
    a.created_at,
    a.deactivated_at
FROM auth.accounts AS a
LEFT JOIN auth.password_hashes AS p ON a.id = p.account_id
WHERE a.kind = 'staff';
COMMENT ON VIEW auth.staff_members IS
'Staff members for DBAs (SELECT * FROM auth.staff_members): id, email, full_name, roles (the permission '
'roles its database role holds), state (''invited'' until a password is set, then ''active''; '
'''deactivated'' after auth.deactivate_staff), mfa_enabled, created_at and deactivated_at. Runs with its '
'owner''s rights, so DBAs need no access to the accounts or password tables themselves, and it shows no '
'credential.';

CREATE OR REPLACE FUNCTION auth.grant_staff_role(p_email text, p_role text)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_account auth.accounts;
BEGIN
    PERFORM auth.check_permission_role(p_role);
    v_account := auth.staff_account(p_email);
    EXECUTE format('GRANT %I TO %I', p_role, v_account.db_role);
    RETURN auth.staff_json(v_account.id);
END
$$;
COMMENT ON FUNCTION auth.grant_staff_role(text, text) IS
'For DBAs: gives a staff member (by e-mail) one more permission role; a no-op when it already has it. '
'Raises PT404 staff_not_found, PT422 unknown_role; returns {"staff": {id, email, full_name, roles}}.';

CREATE OR REPLACE FUNCTION auth.revoke_staff_role(p_email text, p_role text)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_account auth.accounts;
BEGIN
    PERFORM auth.check_permission_role(p_role);
    v_account := auth.staff_account(p_email);
    EXECUTE format('REVOKE %I FROM %I', p_role, v_account.db_role);
    RETURN auth.staff_json(v_account.id);
END
$$;
COMMENT ON FUNCTION auth.revoke_staff_role(text, text) IS
'For DBAs: takes a permission role away from a staff member (by e-mail); a no-op when it lacks it. '
'Raises PT404 staff_not_found, PT422 unknown_role; returns {"staff": {id, email, full_name, roles}}.';

-- ---------------------------------------------------------------------------------------------------
-- Deactivation and the whole set of roles: shared by the DBA functions and PATCH /v1/admin/staff/{id}
-- ---------------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION auth.set_staff_active(p_account_id uuid, p_active boolean)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_db_role name;
BEGIN
    -- The UPDATE locks the account row first: a login opening a session at the same moment reads it FOR
    -- SHARE (auth.tg_sessions__claims), so it either commits before this and is revoked below, or waits
    -- and is refused.
    IF p_active THEN
        UPDATE auth.accounts AS a SET deactivated_at = NULL, updated_at = now()
        WHERE a.id = p_account_id AND a.kind = 'staff'
        RETURNING a.db_role INTO v_db_role;
        EXECUTE format('GRANT %I TO postcart_authenticator', v_db_role);
    ELSE
        UPDATE auth.accounts AS a SET deactivated_at = coalesce(a.deactivated_at, now()), updated_at = now()
        WHERE a.id = p_account_id AND a.kind = 'staff'
        RETURNING a.db_role INTO v_db_role;
        UPDATE auth.sessions AS s SET revoked_at = now()
        WHERE s.account_id = p_account_id AND s.revoked_at IS NULL;
        -- Belt and braces: the pool can no longer even switch to the member's role.
        EXECUTE format('REVOKE %I FROM postcart_authenticator', v_db_role);
    END IF;
END
$$;
COMMENT ON FUNCTION auth.set_staff_active(uuid, boolean) IS
'Deactivates (p_active false) or reactivates a staff account by id. Deactivation stamps deactivated_at, '
'revokes every session of the member (their access and refresh tokens fail on the very next request) and '
'takes the member''s role away from postcart_authenticator; reactivation undoes the last two (old '
'sessions stay revoked: the member logs in again). Returns nothing. Internal: no grants.';

CREATE OR REPLACE FUNCTION auth.set_staff_roles(p_account_id uuid, p_roles text[])
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_db_role name := (SELECT a.db_role FROM auth.accounts AS a WHERE a.id = p_account_id AND a.kind = 'staff');
    v_role text;
BEGIN
    FOREACH v_role IN ARRAY coalesce(p_roles, '{}') LOOP
        PERFORM auth.check_permission_role(v_role);
    END LOOP;
    FOREACH v_role IN ARRAY auth.permission_roles() LOOP
        IF v_role = ANY(p_roles) THEN
            EXECUTE format('GRANT %I TO %I', v_role, v_db_role);
        ELSE
            EXECUTE format('REVOKE %I FROM %I', v_role, v_db_role);
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION auth.set_staff_roles(uuid, text[]) IS
'Makes a staff member''s permission roles exactly p_roles (grants the missing ones, revokes the others). '
'Raises PT422 unknown_role; returns nothing. Internal: no grants.';

CREATE OR REPLACE FUNCTION auth.deactivate_staff(p_email text)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_account auth.accounts := auth.staff_account(p_email);
BEGIN
    PERFORM auth.set_staff_active(v_account.id, FALSE);
    RETURN auth.staff_json(v_account.id);
END
$$;
COMMENT ON FUNCTION auth.deactivate_staff(text) IS
'For DBAs: deactivates a staff member (by e-mail): no new login, every session ended at once, the pool '
'can no longer act as their role; their roles and history stay. Idempotent. Raises PT404 '
'staff_not_found; returns {"staff": {...}} with active false.';

CREATE OR REPLACE FUNCTION auth.reactivate_staff(p_email text)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_account auth.accounts := auth.staff_account(p_email);
BEGIN
    PERFORM auth.set_staff_active(v_account.id, TRUE);
    RETURN auth.staff_json(v_account.id);
END
$$;
COMMENT ON FUNCTION auth.reactivate_staff(text) IS
'For DBAs: lets a deactivated staff member (by e-mail) log in again, with the roles they had. Idempotent. '
'Raises PT404 staff_not_found; returns {"staff": {...}} with active true.';

REVOKE EXECUTE ON FUNCTION auth.permission_roles() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.staff_json(uuid) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.check_permission_role(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.staff_account(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.new_staff_member(jsonb, text[], text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.create_staff(text, text, text, text[]) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.new_staff_invitation(uuid) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.invite_staff(text, text, text[]) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.reinvite_staff(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.staff_invitation_email(bytea) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.grant_staff_role(text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.revoke_staff_role(text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.set_staff_active(uuid, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.set_staff_roles(uuid, text[]) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.deactivate_staff(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.reactivate_staff(text) FROM PUBLIC;
-- auth.staff_members calls it with the rights of whoever reads the view.
GRANT EXECUTE ON FUNCTION auth.permission_roles() TO postcart_dba;
GRANT EXECUTE ON FUNCTION auth.create_staff(text, text, text, text[]) TO postcart_dba;
GRANT EXECUTE ON FUNCTION auth.invite_staff(text, text, text[]) TO postcart_dba;
GRANT EXECUTE ON FUNCTION auth.reinvite_staff(text) TO postcart_dba;
GRANT EXECUTE ON FUNCTION auth.staff_invitation_email(bytea) TO postcart_authenticator;
GRANT EXECUTE ON FUNCTION auth.grant_staff_role(text, text) TO postcart_dba;
GRANT EXECUTE ON FUNCTION auth.revoke_staff_role(text, text) TO postcart_dba;
GRANT EXECUTE ON FUNCTION auth.deactivate_staff(text) TO postcart_dba;
GRANT EXECUTE ON FUNCTION auth.reactivate_staff(text) TO postcart_dba;
REVOKE ALL ON auth.staff_members FROM PUBLIC;
GRANT SELECT ON auth.staff_members TO postcart_dba;
