-- Credentials only the server makes. Password hashes must be argon2id with the server's parameters: a
-- client-chosen hash (say m=1 GiB, to make every login cost seconds) no longer fits in the table, and
-- hashes already stored that do not conform are deleted (those accounts reset their password). MFA gets
-- single-use recovery codes and staff get invitations, both kept only as sha256 digests. The api and
-- auth functions whose signatures change (the plain password no longer reaches the database; the
-- server's derived values arrive apart from the client's arguments) are dropped so none lingers; sql/
-- creates their successors.
-- depends: 0005_totp_last_step

SET LOCAL ROLE postcart_owner;

-- ---------------------------------------------------------------------------------------------------
-- Password hashes: exactly what argon2-cffi's PasswordHasher() makes (RFC 9106 low-memory profile)
-- ---------------------------------------------------------------------------------------------------

CREATE FUNCTION auth.password_hash_is_valid(p_hash text)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT p_hash ~ '^\$argon2id\$v=19\$m=65536,t=3,p=4\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$'
$$;
COMMENT ON FUNCTION auth.password_hash_is_valid(text) IS
'Whether a string is an argon2id hash made with the server''s parameters: version 19, m=65536 KiB, t=3, '
'p=4, a 16-byte salt and a 32-byte hash in unpadded base64 (argon2-cffi''s PasswordHasher defaults); '
'returns boolean (NULL for NULL). Used by the password_hashes CHECK.';
REVOKE EXECUTE ON FUNCTION auth.password_hash_is_valid(text) FROM PUBLIC;

DELETE FROM auth.password_hashes AS p
WHERE NOT auth.password_hash_is_valid(p.password_hash);

ALTER TABLE auth.password_hashes DROP CONSTRAINT password_hashes_password_hash_check;
ALTER TABLE auth.password_hashes ADD CONSTRAINT password_hashes_password_hash_check
CHECK (auth.password_hash_is_valid(password_hash));
COMMENT ON TABLE auth.password_hashes IS
'argon2id password hashes, one per account, computed by the application with the server''s parameters '
'(CHECK auth.password_hash_is_valid). An account without a row has no password yet (an invited staff '
'member). Only SECURITY DEFINER functions in auth read or write them; they leave the schema only '
'towards postcart_authenticator.';

-- ---------------------------------------------------------------------------------------------------
-- MFA recovery codes
-- ---------------------------------------------------------------------------------------------------

CREATE TABLE auth.recovery_codes (
    account_id uuid NOT NULL REFERENCES auth.accounts (id) ON DELETE CASCADE,
    code_hash bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    used_at timestamptz,
    PRIMARY KEY (account_id, code_hash),
    CONSTRAINT recovery_codes_code_hash_check CHECK (octet_length(code_hash) = 32)
);
COMMENT ON TABLE auth.recovery_codes IS
'Ten single-use MFA recovery codes per account with TOTP on, as the sha256 of the code''s 16 characters '
'without dashes. Made when TOTP is turned on (replacing older ones), deleted when it is turned off; '
'used_at is set by the one login or MFA change that spends the code.';

-- ---------------------------------------------------------------------------------------------------
-- Staff invitations
-- ---------------------------------------------------------------------------------------------------

CREATE TABLE auth.staff_invitations (
    token_hash bytea PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES auth.accounts (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    CONSTRAINT staff_invitations_token_hash_check CHECK (octet_length(token_hash) = 32),
    CONSTRAINT staff_invitations_expires_at_check CHECK (expires_at > created_at)
);
CREATE INDEX staff_invitations_account_id_idx ON auth.staff_invitations (account_id);
COMMENT ON TABLE auth.staff_invitations IS
'Single-use tokens with which an invited staff member sets a first password over HTTP, stored as the '
'sha256 of the token (made by auth.invite_staff, shown once). Valid until expires_at; used_at is set '
'when one is redeemed, or when the member''s other invitations are.';

ALTER TABLE auth.recovery_codes ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.recovery_codes FORCE ROW LEVEL SECURITY;
ALTER TABLE auth.staff_invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.staff_invitations FORCE ROW LEVEL SECURITY;
-- No grants: only the SECURITY DEFINER functions in auth and api (running as the owner) touch them.
CREATE POLICY recovery_codes_owner_all ON auth.recovery_codes FOR ALL TO postcart_owner
USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY staff_invitations_owner_all ON auth.staff_invitations FOR ALL TO postcart_owner
USING (TRUE) WITH CHECK (TRUE);

-- ---------------------------------------------------------------------------------------------------
-- Signatures that change: sql/ defines the successors
-- ---------------------------------------------------------------------------------------------------

DROP FUNCTION IF EXISTS api.register(jsonb);
DROP FUNCTION IF EXISTS api.create_staff(jsonb);
DROP FUNCTION IF EXISTS api.enable_totp(jsonb);
DROP FUNCTION IF EXISTS api.disable_totp(jsonb);
DROP FUNCTION IF EXISTS auth.create_staff(text, text, text, text, text[]);
DROP FUNCTION IF EXISTS auth.new_account(text, text, text, text, text);

RESET ROLE;
