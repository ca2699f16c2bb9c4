-- Undoes 0021: the precomputed claims go, with the triggers that keep them and the request functions
-- that read them; `postcart migrate` of the release before re-creates auth.session_claims as it was.
SET LOCAL ROLE postcart_owner;

DROP TRIGGER IF EXISTS accounts_session_claims ON auth.accounts;
DROP TRIGGER IF EXISTS sessions_claims ON auth.sessions;
DROP FUNCTION IF EXISTS auth.call_api(text, jsonb, jsonb, uuid, text);
DROP FUNCTION IF EXISTS auth.act_as(uuid, text);
DROP FUNCTION IF EXISTS auth.session_claims(uuid);
DROP FUNCTION IF EXISTS auth.tg_accounts__session_claims();
DROP FUNCTION IF EXISTS auth.tg_sessions__claims();
DROP FUNCTION IF EXISTS auth.account_role(text, name);
ALTER TABLE auth.sessions DROP COLUMN IF EXISTS claims;
ALTER TABLE auth.sessions DROP COLUMN IF EXISTS role_name;

RESET ROLE;
