-- Accounts: customers and staff, their credentials, sessions, refresh tokens, login attempts and the
-- customers' address book. Tables, constraints, indexes, RLS policies, grants and the claim helpers the
-- policies read. Functions that implement the rules live in sql/auth and sql/api.
-- depends: 0001_roles_and_schemas

SET LOCAL ROLE postcart_owner;

-- ---------------------------------------------------------------------------------------------------
-- Claim helpers: who is calling, as the HTTP layer wrote it into request.claims for this transaction.
-- ---------------------------------------------------------------------------------------------------

CREATE FUNCTION auth.claims()
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT coalesce(nullif(current_setting('request.claims', TRUE), '')::jsonb, '{}'::jsonb)
$$;
COMMENT ON FUNCTION auth.claims() IS
'The caller''s claims from the request.claims setting as jsonb; an empty object when anonymous.';

CREATE FUNCTION auth.current_account_id()
RETURNS uuid
LANGUAGE sql
STABLE
AS $$
    SELECT nullif(auth.claims() ->> 'sub', '')::uuid
$$;
COMMENT ON FUNCTION auth.current_account_id() IS
'The calling account''s id (claims.sub), customer or staff; NULL when anonymous.';

CREATE FUNCTION auth.current_customer_id()
RETURNS uuid
LANGUAGE sql
STABLE
AS $$
    SELECT CASE WHEN auth.claims() ->> 'kind' = 'customer' THEN auth.current_account_id() END
$$;
COMMENT ON FUNCTION auth.current_customer_id() IS
'The calling customer''s account id; NULL unless the caller is a customer (claims.kind = customer).';

-- Used by the accounts.email CHECK and by the functions that validate input before inserting.
CREATE FUNCTION auth.email_is_valid(p_email text)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT char_length(p_email) <= 254
        AND p_email ~ '^[^@[:space:]]+@[^@[:space:].]+(\.[^@[:space:].]+)+$'
$$;
COMMENT ON FUNCTION auth.email_is_valid(text) IS
'Whether a string is a plausible e-mail address (local@domain.tld, no spaces, at most 254 characters); '
'returns boolean (NULL for NULL).';

REVOKE EXECUTE ON FUNCTION auth.claims() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.current_account_id() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.current_customer_id() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.email_is_valid(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.claims() TO postcart_anon;
GRANT EXECUTE ON FUNCTION auth.claims() TO postcart_customer;
GRANT EXECUTE ON FUNCTION auth.claims() TO postcart_staff;
GRANT EXECUTE ON FUNCTION auth.current_account_id() TO postcart_anon;
GRANT EXECUTE ON FUNCTION auth.current_account_id() TO postcart_customer;
GRANT EXECUTE ON FUNCTION auth.current_account_id() TO postcart_staff;
GRANT EXECUTE ON FUNCTION auth.current_customer_id() TO postcart_anon;
GRANT EXECUTE ON FUNCTION auth.current_customer_id() TO postcart_customer;
GRANT EXECUTE ON FUNCTION auth.current_customer_id() TO postcart_staff;
-- Checked whenever a row of auth.accounts is written, also by a customer changing its name.
GRANT EXECUTE ON FUNCTION auth.email_is_valid(text) TO postcart_anon;
GRANT EXECUTE ON FUNCTION auth.email_is_valid(text) TO postcart_customer;
GRANT EXECUTE ON FUNCTION auth.email_is_valid(text) TO postcart_staff;

-- ---------------------------------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------------------------------

CREATE TABLE auth.accounts (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email extensions.citext NOT NULL,
    full_name text NOT NULL,
    kind text NOT NULL DEFAULT 'customer',
    db_role name,
    totp_secret text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT accounts_email_key UNIQUE (email),
    CONSTRAINT accounts_db_role_key UNIQUE (db_role),
    CONSTRAINT accounts_email_check CHECK (auth.email_is_valid(email::text)),
    CONSTRAINT accounts_full_name_check CHECK (
        char_length(full_name) BETWEEN 1 AND 200 AND btrim(full_name) <> ''
    ),
    CONSTRAINT accounts_kind_check CHECK (kind IN ('customer', 'staff')),
    -- Staff members act through their own database role; customers share postcart_customer.
    CONSTRAINT accounts_db_role_check CHECK (
        (kind = 'staff' AND db_role IS NOT NULL) OR (kind = 'customer' AND db_role IS NULL)
    ),
    -- A base32 TOTP secret as pyotp makes them.
    CONSTRAINT accounts_totp_secret_check CHECK (totp_secret ~ '^[A-Z2-7]{16,128}=*$')
);
COMMENT ON TABLE auth.accounts IS
'Everyone who can log in: customers and staff. email is unique case-insensitively; a staff member acts '
'through its own database role (db_role); MFA is on when totp_secret is set.';
COMMENT ON COLUMN auth.accounts.db_role IS
'Staff only: the member''s own database role (postcart_staff_<12 hex>), holding its permission roles.';
COMMENT ON COLUMN auth.accounts.totp_secret IS
'Base32 TOTP secret; NULL when MFA is off. Never readable by application roles.';

CREATE TABLE auth.password_hashes (
    account_id uuid PRIMARY KEY REFERENCES auth.accounts (id) ON DELETE CASCADE,
    password_hash text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT password_hashes_password_hash_check CHECK (starts_with(password_hash, '$argon2id$'))
);
COMMENT ON TABLE auth.password_hashes IS
'argon2id password hashes, one per account, computed by the application. Only SECURITY DEFINER '
'functions in auth read or write them; they leave the schema only towards postcart_authenticator.';

CREATE TABLE auth.sessions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL REFERENCES auth.accounts (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    user_agent text,
    ip inet,
    CONSTRAINT sessions_expires_at_check CHECK (expires_at > created_at),
    CONSTRAINT sessions_user_agent_check CHECK (char_length(user_agent) <= 1000)
);
CREATE INDEX sessions_account_id_idx ON auth.sessions (account_id);
COMMENT ON TABLE auth.sessions IS
'One row per login. Access tokens name their session (claims.sid); a revoked or expired session makes '
'its access and refresh tokens stop working at once (auth.verify_session runs on every request).';

CREATE TABLE auth.refresh_tokens (
    token_hash bytea PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES auth.sessions (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    CONSTRAINT refresh_tokens_token_hash_check CHECK (octet_length(token_hash) = 32)
);
CREATE INDEX refresh_tokens_session_id_idx ON auth.refresh_tokens (session_id);
COMMENT ON TABLE auth.refresh_tokens IS
'Single-use refresh tokens, stored as the sha256 of the opaque token. Each use rotates to a new token; '
'presenting a used one again revokes its session (token theft).';

CREATE TABLE auth.login_attempts (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email extensions.citext NOT NULL,
    attempted_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    succeeded boolean NOT NULL
);
CREATE INDEX login_attempts_email_attempted_at_idx ON auth.login_attempts (email, attempted_at);
COMMENT ON TABLE auth.login_attempts IS
'Every login attempt by e-mail (known or not), for the lockout rule in auth.login_lookup.';

CREATE TABLE shop.addresses (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    customer_id uuid NOT NULL DEFAULT auth.current_customer_id() REFERENCES auth.accounts (id) ON DELETE CASCADE,
    full_name text NOT NULL,
    line1 text NOT NULL,
    line2 text,
    city text NOT NULL,
    postal_code text NOT NULL,
    country char(2) NOT NULL,
    phone text,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT addresses_full_name_check CHECK (char_length(full_name) BETWEEN 1 AND 200),
    CONSTRAINT addresses_line1_check CHECK (char_length(line1) BETWEEN 1 AND 200),
    CONSTRAINT addresses_line2_check CHECK (char_length(line2) BETWEEN 1 AND 200),
    CONSTRAINT addresses_city_check CHECK (char_length(city) BETWEEN 1 AND 100),
    CONSTRAINT addresses_postal_code_check CHECK (char_length(postal_code) BETWEEN 1 AND 20),
    CONSTRAINT addresses_country_check CHECK (country ~ '^[A-Z]{2}$'),
    CONSTRAINT addresses_phone_check CHECK (phone ~ '^[+(]?[0-9][0-9 ()./-]{2,30}$')
);
-- Leads with customer_id (the policy's filter) and serves the newest-first keyset pagination.
CREATE INDEX addresses_customer_id_created_at_id_idx ON shop.addresses (customer_id, created_at DESC, id DESC);
COMMENT ON TABLE shop.addresses IS
'A customer''s address book; country is an upper-case ISO 3166-1 alpha-2 code. Each customer sees and '
'changes only its own rows (RLS).';

-- ---------------------------------------------------------------------------------------------------
-- Row level security. FORCE applies the policies to the owner too, which SECURITY DEFINER functions run
-- as: the owner's policy says so explicitly.
-- ---------------------------------------------------------------------------------------------------

ALTER TABLE auth.accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.accounts FORCE ROW LEVEL SECURITY;
ALTER TABLE auth.password_hashes ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.password_hashes FORCE ROW LEVEL SECURITY;
ALTER TABLE auth.sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.sessions FORCE ROW LEVEL SECURITY;
ALTER TABLE auth.refresh_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.refresh_tokens FORCE ROW LEVEL SECURITY;
ALTER TABLE auth.login_attempts ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.login_attempts FORCE ROW LEVEL SECURITY;
ALTER TABLE shop.addresses ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.addresses FORCE ROW LEVEL SECURITY;

CREATE POLICY accounts_owner_all ON auth.accounts FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY accounts_select_self ON auth.accounts FOR SELECT TO postcart_customer, postcart_staff
USING (id = (SELECT auth.current_account_id()));
CREATE POLICY accounts_update_self ON auth.accounts FOR UPDATE TO postcart_customer, postcart_staff
USING (id = (SELECT auth.current_account_id()))
WITH CHECK (id = (SELECT auth.current_account_id()));

CREATE POLICY password_hashes_owner_all ON auth.password_hashes FOR ALL TO postcart_owner
USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY sessions_owner_all ON auth.sessions FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY refresh_tokens_owner_all ON auth.refresh_tokens FOR ALL TO postcart_owner
USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY login_attempts_owner_all ON auth.login_attempts FOR ALL TO postcart_owner
USING (TRUE) WITH CHECK (TRUE);

CREATE POLICY addresses_owner_all ON shop.addresses FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY addresses_customer_own ON shop.addresses FOR ALL TO postcart_customer
USING (customer_id = (SELECT auth.current_customer_id()))
WITH CHECK (customer_id = (SELECT auth.current_customer_id()));

-- ---------------------------------------------------------------------------------------------------
-- Grants, column by column. password_hashes, sessions, refresh_tokens and login_attempts get none:
-- only the SECURITY DEFINER functions in auth touch them.
-- ---------------------------------------------------------------------------------------------------

GRANT SELECT (id, email, full_name, kind, created_at, updated_at) ON auth.accounts TO postcart_customer;
GRANT SELECT (id, email, full_name, kind, created_at, updated_at) ON auth.accounts TO postcart_staff;
GRANT UPDATE (full_name) ON auth.accounts TO postcart_customer;
GRANT UPDATE (full_name) ON auth.accounts TO postcart_staff;

GRANT SELECT (id, customer_id, full_name, line1, line2, city, postal_code, country, phone, created_at)
ON shop.addresses TO postcart_customer;
GRANT INSERT (full_name, line1, line2, city, postal_code, country, phone) ON shop.addresses TO postcart_customer;
GRANT UPDATE (full_name, line1, line2, city, postal_code, country, phone) ON shop.addresses TO postcart_customer;
GRANT DELETE ON shop.addresses TO postcart_customer;

RESET ROLE;
