-- What every sweep shares. The sweeps themselves live beside the tables they tidy (sql/auth/50_sweeps.sql,
-- sql/integration/sweeps.sql) and are run by the background worker (src/postcart/workers/).

CREATE OR REPLACE FUNCTION shop.sweep_batch_size(p_batch_size integer)
RETURNS integer
LANGUAGE plpgsql
STABLE  -- not IMMUTABLE: it may raise, and a constant call must not be folded while planning
AS $$
BEGIN
    -- A batch is one short transaction: small enough never to hold many row locks for long.
    IF p_batch_size IS NULL OR p_batch_size NOT BETWEEN 1 AND 10000 THEN
        PERFORM shop.fail(
            422, 'validation_failed',
            jsonb_build_object('fields', jsonb_build_object('batch_size', 'must be 1 to 10000')),
            'A sweep deletes 1 to 10,000 rows per call.'
        );
    END IF;
    RETURN p_batch_size;
END
$$;
COMMENT ON FUNCTION shop.sweep_batch_size(integer) IS
'The batch size a sweep function was given, checked: returns it when it is 1 to 10000, else raises PT422 '
'validation_failed (details.fields.batch_size). Internal (no grants): the sweeps call it with the owner''s '
'rights.';

REVOKE EXECUTE ON FUNCTION shop.sweep_batch_size(integer) FROM PUBLIC;
