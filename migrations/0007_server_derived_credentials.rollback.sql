-- Back to 0005's schema: the new functions and the view go, the old prefix-only CHECK returns (the
-- hashes deleted by 0007 stay deleted). The previous release's sql/ recreates its own functions.
SET LOCAL ROLE postcart_owner;

DROP VIEW IF EXISTS auth.staff_members;

DROP FUNCTION IF EXISTS api.register(jsonb, jsonb);
DROP FUNCTION IF EXISTS api.create_staff(jsonb, jsonb);
DROP FUNCTION IF EXISTS api.enable_totp(jsonb, jsonb);
DROP FUNCTION IF EXISTS api.disable_totp(jsonb, jsonb);
DROP FUNCTION IF EXISTS api.accept_staff_invitation(jsonb, jsonb);
DROP FUNCTION IF EXISTS auth.create_staff(text, text, text, text[]);
DROP FUNCTION IF EXISTS auth.invite_staff(text, text, text[]);
DROP FUNCTION IF EXISTS auth.reinvite_staff(text);
DROP FUNCTION IF EXISTS auth.staff_invitation_email(bytea);
DROP FUNCTION IF EXISTS auth.new_staff_invitation(uuid);
DROP FUNCTION IF EXISTS auth.new_staff_member(jsonb, text[], text);
DROP FUNCTION IF EXISTS auth.new_account(text, jsonb, text);
DROP FUNCTION IF EXISTS auth.reauth_lookup(uuid);
DROP FUNCTION IF EXISTS auth.spend_recovery_code(uuid, bytea);
DROP FUNCTION IF EXISTS auth.new_recovery_code();
DROP FUNCTION IF EXISTS auth.recovery_code_hash(text);
-- auth.count_login_attempt stays: auth.login_lookup calls it until the previous release's sql/ replaces
-- login_lookup, so logins keep working in between (0002's rollback drops the schema's functions).

DROP TABLE IF EXISTS auth.staff_invitations;
DROP TABLE IF EXISTS auth.recovery_codes;

ALTER TABLE auth.password_hashes DROP CONSTRAINT password_hashes_password_hash_check;
ALTER TABLE auth.password_hashes ADD CONSTRAINT password_hashes_password_hash_check
CHECK (starts_with(password_hash, '$argon2id$'));
DROP FUNCTION IF EXISTS auth.password_hash_is_valid(text);
COMMENT ON TABLE auth.password_hashes IS
'argon2id password hashes, one per account, computed by the application. Only SECURITY DEFINER '
'functions in auth read or write them; they leave the schema only towards postcart_authenticator.';

RESET ROLE;
