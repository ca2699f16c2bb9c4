-- Rate limits (docs/rate-limits.md): GCRA over integration.rate_limit_buckets, one conditional upsert per
-- rule, so requests from any number of server processes cannot pass the same last slot.

CREATE OR REPLACE FUNCTION integration.rate_limit_step(
    p_rule text, p_key_hash bytea, p_emission interval, p_burst integer, p_at timestamptz
)
RETURNS interval
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_tat timestamptz;
BEGIN
    -- Admitted when the new arrival time stays within p_burst emission intervals of p_at. The row lock
    -- ON CONFLICT takes makes the check and the advance one step: a racing request re-evaluates the WHERE
    -- on the row as the first one left it. A refused request writes nothing (no row comes back).
    INSERT INTO integration.rate_limit_buckets AS b (rule_name, key_hash, tat)
    VALUES (p_rule, p_key_hash, p_at + p_emission)
    ON CONFLICT (rule_name, key_hash) DO UPDATE
        SET tat = greatest(b.tat, p_at) + p_emission
        WHERE greatest(b.tat, p_at) + p_emission <= p_at + p_emission * p_burst
    RETURNING b.tat INTO v_tat;
    IF FOUND THEN
        RETURN NULL;
    END IF;
    -- A new statement sees the version the upsert just refused.
    SELECT b.tat INTO v_tat
    FROM integration.rate_limit_buckets AS b
    WHERE b.rule_name = p_rule AND b.key_hash = p_key_hash;
    RETURN greatest(v_tat + p_emission - (p_at + p_emission * p_burst), INTERVAL '0');
END
$$;
COMMENT ON FUNCTION integration.rate_limit_step(text, bytea, interval, integer, timestamptz) IS
'One GCRA step for the client p_key_hash under rule p_rule at time p_at: admits the request (advancing '
'its theoretical arrival time by p_emission, returns NULL) when at most p_burst requests are then '
'outstanding, else changes nothing and returns how long until it would be admitted. Internal to '
'auth.take_rate_limit: no grants.';

CREATE OR REPLACE FUNCTION integration.sweep_rate_limit_buckets(p_batch_size integer DEFAULT 1000)
RETURNS integer
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    -- A bucket whose arrival time has passed admits exactly as a missing one does.
    SELECT shop.sweep_rows('integration.rate_limit_buckets', 'tat', INTERVAL '0', p_batch_size)
$$;
COMMENT ON FUNCTION integration.sweep_rate_limit_buckets(integer) IS
'For postcart_worker: deletes up to p_batch_size (1 to 10000, default 1000) rate limit buckets whose '
'theoretical arrival time has passed (they limit nothing any more), skipping rows a request holds. '
'Returns the number deleted.';

REVOKE EXECUTE ON FUNCTION integration.rate_limit_step(text, bytea, interval, integer, timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION integration.sweep_rate_limit_buckets(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION integration.sweep_rate_limit_buckets(integer) TO postcart_worker;
