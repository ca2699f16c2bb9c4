-- Abuse limits (issue 9): per-client rate limits on the auth and checkout routes, shared by every server
-- process because they live here. The rules are configuration a store admin or DBA edits in SQL
-- (docs/rate-limits.md); the buckets are GCRA state (one theoretical arrival time per rule and client
-- key), written only through auth.take_rate_limit (sql/auth/45_rate_limits.sql).
-- depends: 0031_mail

SET LOCAL ROLE postcart_owner;

CREATE TABLE integration.rate_limit_rules (
    name text PRIMARY KEY,
    functions text[] NOT NULL,
    client_key text NOT NULL,
    requests integer NOT NULL,
    per interval NOT NULL,
    burst integer NOT NULL,
    enabled boolean NOT NULL DEFAULT TRUE,
    CONSTRAINT rate_limit_rules_name_format CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    CONSTRAINT rate_limit_rules_functions_named CHECK (
        cardinality(functions) > 0 AND array_position(functions, NULL) IS NULL
    ),
    CONSTRAINT rate_limit_rules_client_key_known CHECK (client_key IN ('ip', 'email', 'session')),
    CONSTRAINT rate_limit_rules_requests_positive CHECK (requests > 0),
    CONSTRAINT rate_limit_rules_per_positive CHECK (per > interval '0'),
    CONSTRAINT rate_limit_rules_burst_positive CHECK (burst > 0)
);
COMMENT ON TABLE integration.rate_limit_rules IS
'Rate limits (docs/rate-limits.md): a request to one of `functions` (api function names, or login for '
'POST /v1/auth/login) may pass `requests` times per `per` for each value of `client_key` (ip: the client '
'address; email: the e-mail the request names; session: the signed-in session), up to `burst` at once. '
'Every enabled rule naming the function applies; a request without the key (a guest has no session) '
'skips that rule. Edited in SQL by store admins; takes effect on the next request.';
COMMENT ON COLUMN integration.rate_limit_rules.functions IS
'The api functions (routes) the rule limits, by name; login stands for POST /v1/auth/login.';
COMMENT ON COLUMN integration.rate_limit_rules.client_key IS
'Whose requests are counted together: ip, email (lower-cased) or session.';
COMMENT ON COLUMN integration.rate_limit_rules.requests IS
'The sustained rate: this many requests per `per` (one every per / requests).';
COMMENT ON COLUMN integration.rate_limit_rules.burst IS
'How many requests may arrive at once after a quiet spell (the bucket''s depth).';

INSERT INTO integration.rate_limit_rules (name, functions, client_key, requests, per, burst) VALUES
-- Credential stuffing from one address; the per-e-mail lockout (auth.count_login_attempt) stays as well.
('login_per_ip', '{login}', 'ip', 60, '1 hour', 20),
('login_per_email', '{login}', 'email', 30, '1 hour', 10),
('register_per_ip', '{register}', 'ip', 20, '1 hour', 5),
-- Mail bombing: reset and verification mails to one address, or from one client.
('account_mail_per_ip', '{request_password_reset,request_email_verification}', 'ip', 20, '1 hour', 5),
('password_reset_per_email', '{request_password_reset}', 'email', 5, '1 hour', 3),
('account_tokens_per_ip', '{confirm_password_reset,confirm_email_verification,accept_staff_invitation}', 'ip',
 30, '1 hour', 10),
('mfa_per_session', '{enable_totp,disable_totp}', 'session', 10, '1 hour', 5),
-- Card testing and order spam; generous enough for a shop behind one office NAT.
('checkout_per_ip', '{checkout,create_payment}', 'ip', 120, '1 hour', 30),
('checkout_per_session', '{checkout,create_payment}', 'session', 30, '1 hour', 10);

-- UNLOGGED: no WAL for a row written on every limited request; a crash empties it, which only forgives
-- the clients counted so far. Not replicated to standbys either (they serve no writes). No index on tat,
-- so every update stays HOT (the sweeper scans the small table); fillfactor leaves room for that.
CREATE UNLOGGED TABLE integration.rate_limit_buckets (
    rule_name text NOT NULL,
    key_hash bytea NOT NULL,
    tat timestamptz NOT NULL,
    PRIMARY KEY (rule_name, key_hash)
) WITH (fillfactor = 70);
COMMENT ON TABLE integration.rate_limit_buckets IS
'GCRA state of the rate limits: per rule and client, the theoretical arrival time (tat) of the next '
'request; a request passes when tat stays within burst emission intervals of now. Keys are SHA-256 '
'hashes (no addresses or e-mails stored). Unlogged: emptied by a crash, which is harmless. Rows whose tat '
'has passed equal no row and are swept by integration.sweep_rate_limit_buckets.';
COMMENT ON COLUMN integration.rate_limit_buckets.key_hash IS
'SHA-256 of the client key (address, lower-cased e-mail or session id).';

ALTER TABLE integration.rate_limit_rules ENABLE ROW LEVEL SECURITY;
ALTER TABLE integration.rate_limit_rules FORCE ROW LEVEL SECURITY;
ALTER TABLE integration.rate_limit_buckets ENABLE ROW LEVEL SECURITY;
ALTER TABLE integration.rate_limit_buckets FORCE ROW LEVEL SECURITY;

CREATE POLICY rate_limit_rules_owner_all ON integration.rate_limit_rules
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY rate_limit_rules_store_admin ON integration.rate_limit_rules
FOR ALL TO store_admin USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY rate_limit_buckets_owner_all ON integration.rate_limit_buckets
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);

-- Store admins tune the rules; the buckets are the functions' alone.
GRANT SELECT (name, functions, client_key, requests, per, burst, enabled) ON TABLE integration.rate_limit_rules
TO store_admin;
GRANT INSERT (name, functions, client_key, requests, per, burst, enabled) ON TABLE integration.rate_limit_rules
TO store_admin;
GRANT DELETE ON TABLE integration.rate_limit_rules TO store_admin;
GRANT UPDATE (functions, client_key, requests, per, burst, enabled) ON TABLE integration.rate_limit_rules
TO store_admin;

RESET ROLE;
