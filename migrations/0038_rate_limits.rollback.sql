-- Undoes 0038. The functions of sql/integration/rate_limits.sql and the request entry points that take a
-- client key go first; the previous sql/auth/50_requests.sql creates the old ones again when applied.
SET LOCAL ROLE postcart_owner;

DROP FUNCTION IF EXISTS auth.call_api(text, jsonb, jsonb, uuid, text, jsonb);
DROP FUNCTION IF EXISTS auth.call_api_keyed(text, jsonb, jsonb, uuid, text, jsonb, text, bytea, text, integer);
DROP FUNCTION IF EXISTS auth.take_rate_limit(text, jsonb, jsonb, uuid);
DROP FUNCTION IF EXISTS auth.client_error(text, text, text, text, text, text);
DROP FUNCTION IF EXISTS integration.rate_limit_step(text, bytea, interval, integer, timestamptz);
DROP FUNCTION IF EXISTS integration.sweep_rate_limit_buckets(integer);
DROP TABLE integration.rate_limit_buckets;
DROP TABLE integration.rate_limit_rules;

RESET ROLE;
