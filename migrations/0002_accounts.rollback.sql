-- Drops what 0002_accounts created and the sql/ functions built on it. Staff members' database roles
-- (postcart_staff_*) stay: roles are cluster-wide; a DBA drops them by hand if wanted.
SET LOCAL ROLE postcart_owner;

DROP VIEW IF EXISTS reporting.customer_signups;

DROP FUNCTION IF EXISTS api.register(jsonb);
DROP FUNCTION IF EXISTS api.logout(jsonb);
DROP FUNCTION IF EXISTS api.me(jsonb);
DROP FUNCTION IF EXISTS api.update_me(jsonb);
DROP FUNCTION IF EXISTS api.list_addresses(jsonb);
DROP FUNCTION IF EXISTS api.add_address(jsonb);
DROP FUNCTION IF EXISTS api.enable_totp(jsonb);
DROP FUNCTION IF EXISTS api.disable_totp(jsonb);
DROP FUNCTION IF EXISTS api.create_staff(jsonb);
DROP FUNCTION IF EXISTS auth.verify_session(uuid);
DROP FUNCTION IF EXISTS auth.login_lookup(text);
DROP FUNCTION IF EXISTS auth.login_succeeded(uuid, bytea, interval, text, inet);
DROP FUNCTION IF EXISTS auth.refresh_session(bytea, bytea, interval);
DROP FUNCTION IF EXISTS auth.create_staff(text, text, text, text, text[]);
DROP FUNCTION IF EXISTS auth.grant_staff_role(text, text);
DROP FUNCTION IF EXISTS auth.revoke_staff_role(text, text);
DROP FUNCTION IF EXISTS auth.staff_json(uuid);
DROP FUNCTION IF EXISTS auth.staff_account(text);
DROP FUNCTION IF EXISTS auth.check_permission_role(text);
DROP FUNCTION IF EXISTS auth.permission_roles();
DROP FUNCTION IF EXISTS auth.session_json(uuid);
DROP FUNCTION IF EXISTS auth.address_json(shop.addresses);
DROP FUNCTION IF EXISTS auth.new_account(text, text, text, text, text);
DROP FUNCTION IF EXISTS auth.current_session_id();
DROP FUNCTION IF EXISTS auth.text_field_error(jsonb, text, boolean, integer);
DROP FUNCTION IF EXISTS auth.to_rfc3339(timestamptz);

DROP TABLE IF EXISTS shop.addresses;
DROP TABLE IF EXISTS auth.login_attempts;
DROP TABLE IF EXISTS auth.refresh_tokens;
DROP TABLE IF EXISTS auth.sessions;
DROP TABLE IF EXISTS auth.password_hashes;
DROP TABLE IF EXISTS auth.accounts;

DROP FUNCTION IF EXISTS auth.email_is_valid(text);
DROP FUNCTION IF EXISTS auth.current_customer_id();
DROP FUNCTION IF EXISTS auth.current_account_id();
DROP FUNCTION IF EXISTS auth.claims();

RESET ROLE;
