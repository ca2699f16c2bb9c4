-- The claims of a session, precomputed on its row: the per-request lookup (auth.session_claims) becomes
-- one primary-key probe returning ready text, with no join and no JSON built per request. Triggers in
-- sql/auth/20_sessions.sql keep both columns equal to what the account says (docs/architecture.md,
-- "Per-request claims"); existing sessions are filled here.
-- depends: 0006_request_context

SET LOCAL ROLE postcart_owner;

ALTER TABLE auth.sessions
ADD COLUMN role_name text,
ADD COLUMN claims text;

UPDATE auth.sessions AS s
SET role_name = CASE WHEN a.kind = 'staff' THEN a.db_role::text ELSE 'postcart_customer' END
FROM auth.accounts AS a
WHERE s.account_id = a.id;
UPDATE auth.sessions AS s
SET claims = jsonb_build_object('sub', a.id, 'sid', s.id, 'kind', a.kind, 'role', s.role_name)::text
FROM auth.accounts AS a
WHERE s.account_id = a.id;

ALTER TABLE auth.sessions
ALTER COLUMN role_name SET NOT NULL,
ALTER COLUMN claims SET NOT NULL;

COMMENT ON COLUMN auth.sessions.role_name IS
'The database role this session''s requests run as: postcart_customer, or a staff member''s own role. '
'Written only by triggers, from the account.';
COMMENT ON COLUMN auth.sessions.claims IS
'The request.claims of this session''s requests, as JSON text {sub, sid, kind, role}. Written only by '
'triggers, from the account, whenever the session is created or the account''s kind or role changes.';

-- Its result type changes (the claims are returned as the stored text); sql/auth re-creates it.
DROP FUNCTION IF EXISTS auth.session_claims(uuid);

RESET ROLE;
