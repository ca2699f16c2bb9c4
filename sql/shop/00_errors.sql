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

CREATE OR REPLACE FUNCTION shop.check_batch_size(p_batch_size integer)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    -- A worker task's call is one short transaction: small enough never to hold many row locks for long.
    IF p_batch_size IS NULL OR p_batch_size NOT BETWEEN 1 AND 10000 THEN
        PERFORM shop.fail(
            422, 'validation_failed',
            jsonb_build_object('fields', jsonb_build_object('batch_size', 'must be 1 to 10000')),
            'A worker task takes 1 to 10,000 rows per call.'
        );
    END IF;
END
$$;
COMMENT ON FUNCTION shop.check_batch_size(integer) IS
'The check every worker task function (sweeps, dispatch, refreshes, counts) makes of its batch size: PT422 '
'validation_failed naming batch_size unless it is 1 to 10000. Internal (no grants): the task functions call '
'it with the owner''s rights.';
REVOKE EXECUTE ON FUNCTION shop.check_batch_size(integer) FROM PUBLIC;
