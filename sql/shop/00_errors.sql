-- The one way our functions refuse a request: SQLSTATE 'PT' || HTTP status, MESSAGE a stable snake_case
-- code, DETAIL a JSON object, HINT a human sentence (DESIGN.md, "Errors"). The HTTP layer maps it.

CREATE OR REPLACE FUNCTION shop.fail(status integer, code text, details jsonb, hint text)
RETURNS void
LANGUAGE plpgsql
VOLATILE  -- never IMMUTABLE: the planner would fold (raise) constant calls while planning
AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'PT' || status::text,
        MESSAGE = code,
        DETAIL = coalesce(details, '{}')::text,
        HINT = hint;
END
$$;
COMMENT ON FUNCTION shop.fail(integer, text, jsonb, text) IS
'Raises the error the API answers with: HTTP status (400..599), snake_case code, details object and a '
'human hint. Never returns.';

REVOKE EXECUTE ON FUNCTION shop.fail(integer, text, jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.fail(integer, text, jsonb, text) TO postcart_anon;
GRANT EXECUTE ON FUNCTION shop.fail(integer, text, jsonb, text) TO postcart_customer;
GRANT EXECUTE ON FUNCTION shop.fail(integer, text, jsonb, text) TO postcart_staff;
