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
        ), '[]'::jsonb)
    ))
    FROM auth.accounts AS a
    WHERE a.id = p_account_id AND a.kind = 'staff'
$$;
COMMENT ON FUNCTION auth.staff_json(uuid) IS
'Describes a staff member: returns {"staff": {id, email, full_name, roles}}, roles being the permission '
'roles its database role is a direct member of, sorted. Internal: no grants.';

CREATE OR REPLACE FUNCTION auth.check_permission_role(p_role text)
RETURNS void
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    IF p_role IS NULL OR NOT p_role = ANY(auth.permission_roles()) THEN
        PERFORM shop.fail(
            422, 'unknown_role',
            jsonb_build_object('field', 'roles', 'role', p_role, 'allowed', to_jsonb(auth.permission_roles())),
            'Staff can only be given catalog_manager, inventory_manager, order_manager, support_agent '
            || 'or store_admin.'
        );
    END IF;
END
$$;
COMMENT ON FUNCTION auth.check_permission_role(text) IS
'Raises PT422 unknown_role unless p_role is one of auth.permission_roles(); returns nothing.';

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

CREATE OR REPLACE FUNCTION auth.create_staff(
    p_email text, p_password text, p_password_hash text, p_full_name text, p_roles text[]
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
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

    v_account := auth.new_account('staff', p_email, p_password, p_password_hash, p_full_name);

    -- postcart_owner has CREATEROLE and ADMIN OPTION on postcart_staff and the permission roles (0001);
    -- from PostgreSQL 16 on it also gets ADMIN OPTION on the roles it creates, which the last GRANT needs.
    EXECUTE format('CREATE ROLE %I NOLOGIN INHERIT', v_account.db_role);
    EXECUTE format('COMMENT ON ROLE %I IS %L', v_account.db_role, 'postcart staff member ' || v_account.id);
    EXECUTE format('GRANT postcart_staff TO %I', v_account.db_role);
    FOREACH v_role IN ARRAY v_roles LOOP
        EXECUTE format('GRANT %I TO %I', v_role, v_account.db_role);
    END LOOP;
    EXECUTE format('GRANT %I TO postcart_authenticator', v_account.db_role);

    RETURN auth.staff_json(v_account.id);
END
$$;
COMMENT ON FUNCTION auth.create_staff(text, text, text, text, text[]) IS
'For DBAs (and api.create_staff): creates a staff account with its argon2id hash and its own NOLOGIN '
'role postcart_staff_<12 hex of the id>, member of postcart_staff and of each requested permission '
'role, granted to postcart_authenticator. Raises PT422 validation_failed / weak_password / unknown_role, '
'PT409 email_taken; returns {"staff": {id, email, full_name, roles}}.';

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

REVOKE EXECUTE ON FUNCTION auth.permission_roles() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.staff_json(uuid) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.check_permission_role(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.staff_account(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.create_staff(text, text, text, text, text[]) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.grant_staff_role(text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.revoke_staff_role(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.create_staff(text, text, text, text, text[]) TO postcart_dba;
GRANT EXECUTE ON FUNCTION auth.grant_staff_role(text, text) TO postcart_dba;
GRANT EXECUTE ON FUNCTION auth.revoke_staff_role(text, text) TO postcart_dba;
