-- The batched delete every sweep is made of. The sweeps themselves live beside the tables they tidy
-- (sql/auth/50_sweeps.sql, sql/integration/sweeps.sql), each saying what it deletes and after how long,
-- and are run by the background worker (src/postcart/workers/).

CREATE OR REPLACE FUNCTION shop.sweep_rows(
    p_table regclass, p_ended_at text, p_retention interval, p_batch_size integer
)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_deleted integer;
BEGIN
    -- A batch is one short transaction: small enough never to hold many row locks for long.
    PERFORM shop.check_batch_size(p_batch_size);
    -- Oldest first through the index on p_ended_at; rows another transaction holds (a second worker in
    -- mid-batch, a request) are skipped, not waited for. A locked row cannot move, so its ctid stays
    -- valid until the DELETE.
    EXECUTE format(
        $sql$
        WITH gone AS (
            DELETE FROM %1$s
            WHERE ctid = ANY (ARRAY(
                SELECT ctid FROM %1$s
                WHERE %2$s < now() - $1
                ORDER BY %2$s
                LIMIT $2
                FOR UPDATE SKIP LOCKED
            ))
            RETURNING 1
        )
        SELECT count(*)::integer FROM gone
        $sql$,
        p_table, p_ended_at
    )
    INTO v_deleted
    USING p_retention, p_batch_size;
    RETURN v_deleted;
END
$$;
COMMENT ON FUNCTION shop.sweep_rows(regclass, text, interval, integer) IS
'Deletes up to p_batch_size (1 to 10000, else PT422 validation_failed naming batch_size) rows of p_table '
'whose p_ended_at (an SQL expression over its columns, matching an index, written by the calling sweep: '
'never input) lies more than p_retention in the past, oldest first, skipping rows another transaction '
'has locked; returns the number deleted. Internal (no grants): the sweep functions call it with the '
'owner''s rights.';

REVOKE EXECUTE ON FUNCTION shop.sweep_rows(regclass, text, interval, integer) FROM PUBLIC;
