-- Two-factor login: single-use recovery codes, made here from the server's strong random source and
-- kept only as their sha256 (the plain codes leave once, in the response that enables TOTP).

CREATE OR REPLACE FUNCTION auth.new_recovery_code()
RETURNS text
LANGUAGE sql
VOLATILE
AS $$
    -- 80 bits (the first 20 hex digits of the sha256 of a version-4 UUID's 122 random bits), written as
    -- 16 characters of Crockford's base32 alphabet (no i, l, o, u) in groups of four: xxxx-xxxx-xxxx-xxxx.
    WITH random AS (
        SELECT ('x' || left(encode(sha256(uuid_send(gen_random_uuid())), 'hex'), 20))::bit(80) AS bits
    )

    SELECT string_agg(
        CASE WHEN i.n IN (4, 8, 12) THEN '-' ELSE '' END
        || substr('0123456789abcdefghjkmnpqrstvwxyz', substring(r.bits FROM i.n * 5 + 1 FOR 5)::integer + 1, 1),
        '' ORDER BY i.n
    )
    FROM random AS r
    CROSS JOIN generate_series(0, 15) AS i (n)
$$;
COMMENT ON FUNCTION auth.new_recovery_code() IS
'A new MFA recovery code: 80 random bits as 16 lower-case Crockford base32 characters in four groups, '
'e.g. 3kq9-x2mz-h7bd-0c4e; returns text. Stored as auth.recovery_code_hash(code). Internal: no grants.';

CREATE OR REPLACE FUNCTION auth.recovery_code_hash(p_code text)
RETURNS bytea
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT sha256(convert_to(replace(p_code, '-', ''), 'UTF8'))
$$;
COMMENT ON FUNCTION auth.recovery_code_hash(text) IS
'The stored form of a recovery code made by auth.new_recovery_code: the sha256 of its 16 characters '
'without dashes (the application normalizes what a user types the same way); returns bytea. Internal.';

REVOKE EXECUTE ON FUNCTION auth.new_recovery_code() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth.recovery_code_hash(text) FROM PUBLIC;
